package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/holdfast/holdfast/internal/audit"
	"github.com/holdfast/holdfast/internal/store"
	"github.com/holdfast/holdfast/internal/vault"
)

const jobColumns = `id, state, filter, metadata, hold_id, destination, wait_ms, bag_name, created_at, started_at, finished_at, created_by,
	package, error, cancel_requested, hold_audit_index, export_audit_index`

func scanJob(sc rowScanner) (store.ExportWork, error) {
	var w store.ExportWork
	j := &w.Job
	var filter, meta, dest, pkg string
	var waitMS, created int64
	var started, finished sql.NullInt64
	var cancel int
	if err := sc.Scan(&j.ID, &j.State, &filter, &meta, &j.HoldID, &dest, &waitMS, &w.BagName, &created, &started, &finished, &j.CreatedBy,
		&pkg, &j.Error, &cancel, &w.HoldAuditIndex, &w.ExportAuditIndex); err != nil {
		return w, err
	}
	if err := json.Unmarshal([]byte(filter), &j.Filter); err != nil {
		return w, fmt.Errorf("job %s filter: %w", j.ID, err)
	}
	if err := json.Unmarshal([]byte(meta), &j.Metadata); err != nil {
		return w, fmt.Errorf("job %s metadata: %w", j.ID, err)
	}
	if err := json.Unmarshal([]byte(dest), &j.Destination); err != nil {
		return w, fmt.Errorf("job %s destination: %w", j.ID, err)
	}
	if pkg != "" {
		j.Package = &vault.ExportPackage{}
		if err := json.Unmarshal([]byte(pkg), j.Package); err != nil {
			return w, fmt.Errorf("job %s package: %w", j.ID, err)
		}
	}
	w.WaitForProcessing = time.Duration(waitMS) * time.Millisecond
	j.Options.WaitForProcessing = vault.ShortDuration(w.WaitForProcessing)
	j.CreatedAt, j.StartedAt, j.FinishedAt = fromNanos(created), ptrTime(started), ptrTime(finished)
	w.CancelRequested = cancel != 0
	j.Failures = []vault.ExportFailure{}
	return w, nil
}

// CreateExportJob fixes the job's recordings and, with legal_hold, places
// its hold in the same transaction.
func (s *Store) CreateExportJob(ctx context.Context, p store.CreateExportJobParams) (vault.ExportJob, error) {
	var verr error
	req := p.Request
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if verr, err = s.checkRecordIDs(ctx, tx, req.Filter.RecordIDs); verr != nil {
			return verr
		} else if err != nil {
			return err
		}
		// Each legal-hold export places its own hold, and only over a
		// set that is not empty: a filter matching nothing holds nothing.
		holdIndex, holdID := int64(-1), ""
		if req.Metadata.LegalHold {
			n, err := s.countMatching(ctx, tx, req.Filter)
			if err != nil {
				return err
			}
			if n > 0 {
				holdID = p.HoldID
			}
		}
		if holdID != "" {
			holdIndex, verr, err = s.createHoldTx(ctx, tx, store.CreateHoldParams{HoldID: p.HoldID, Spec: p.HoldSpec, Filter: req.Filter, Actor: p.Actor, Now: p.Now,
				Extra: map[string]any{"export_job_id": p.JobID}})
			if verr != nil {
				return verr
			} else if err != nil {
				return err
			}
		}
		caseID := req.Metadata.CaseID
		if caseID == "" {
			caseID = req.Filter.CaseID
		}
		filter, _ := json.Marshal(req.Filter)
		meta, _ := json.Marshal(req.Metadata)
		dest, _ := json.Marshal(req.Destination)
		if _, err := tx.ExecContext(ctx, `INSERT INTO export_jobs (id, state, filter, metadata, hold_id, destination, wait_ms, bag_name, created_at, created_by, hold_audit_index, case_id)
			VALUES ($1, 'queued', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			p.JobID, string(filter), string(meta), holdID, string(dest), req.Options.WaitForProcessing.Milliseconds(), vault.BagName(req.Metadata.CaseID, p.JobID),
			nanos(p.Now), p.Actor, holdIndex, caseID); err != nil {
			return err
		}
		// One statement fixes the job's items, numbered in id order (so
		// item order is the set's bytewise order); the set's root is then
		// streamed back from them.
		f := req.Filter
		var a args
		lp := store.ListRecordingsParams{From: f.From, To: f.To, CaseID: f.CaseID, IDs: f.RecordIDs}
		sel := `SELECT CAST(` + a.add(p.JobID) + ` AS TEXT), ROW_NUMBER() OVER (ORDER BY id) - 1, id, 'pending' FROM recordings`
		if _, err := tx.ExecContext(ctx, `INSERT INTO export_items (job_id, seq, recording_id, state) `+sel+s.recordingWhere(&a, f.MediaType, &lp, nil), a.v...); err != nil {
			return err
		}
		n, root, err := setRoot(ctx, tx, `SELECT recording_id FROM export_items WHERE job_id = $1 ORDER BY seq`, p.JobID)
		if err != nil {
			return err
		}
		e, err := s.appendAudit(ctx, tx, store.AuditEvent{Time: p.Now, Type: "export.created", Actor: p.Actor, Subject: p.JobID,
			Data: map[string]any{"job_id": p.JobID, "filter": req.Filter, "metadata": req.Metadata, "hold_id": holdID,
				"recording_count": n, "recordings_root": audit.FormatSetRoot(root), "bag_name": vault.BagName(req.Metadata.CaseID, p.JobID)}})
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE export_jobs SET export_audit_index = $1, matched = $2 WHERE id = $3`, e.Index, n, p.JobID); err != nil {
			return err
		}
		return completeIdempotency(ctx, tx, p.Idempotency, p.JobID)
	})
	if verr != nil {
		return vault.ExportJob{}, verr
	}
	if err != nil {
		return vault.ExportJob{}, fmt.Errorf("%s: create export job: %w", s.d.Name, err)
	}
	return s.GetExportJob(ctx, p.JobID)
}

// countMatching counts the recordings a filter selects.
func (s *Store) countMatching(ctx context.Context, tx *sql.Tx, f vault.RecordingFilter) (int64, error) {
	var a args
	lp := store.ListRecordingsParams{From: f.From, To: f.To, CaseID: f.CaseID, IDs: f.RecordIDs}
	var n int64
	err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM recordings`+s.recordingWhere(&a, f.MediaType, &lp, nil), a.v...).Scan(&n)
	return n, err
}

// fillProgress reads a job's progress from the counters the job row
// keeps (set when the items are fixed, moved in the transaction that
// finishes each item), so it costs the same for ten recordings as for ten
// million; the failures are listed through the (job_id, state, seq) index.
func (s *Store) fillProgress(ctx context.Context, j *vault.ExportJob) error {
	p := &j.Progress
	if err := s.db.QueryRowContext(ctx, `SELECT matched, exported, failed, bytes_exported FROM export_jobs WHERE id = $1`, j.ID).
		Scan(&p.Matched, &p.Exported, &p.Failed, &p.BytesExported); err != nil {
		return err
	}
	p.Pending = p.Matched - p.Exported - p.Failed
	if p.Matched > 0 {
		p.Percent = (p.Exported + p.Failed) * 100 / p.Matched
	} else if vault.ExportFinished(j.State) {
		p.Percent = 100
	}
	frows, err := s.db.QueryContext(ctx, `SELECT recording_id, failure_code, failure_message FROM export_items WHERE job_id = $1 AND state = 'failed' ORDER BY seq`, j.ID)
	if err != nil {
		return err
	}
	defer frows.Close()
	for frows.Next() {
		var f vault.ExportFailure
		if err := frows.Scan(&f.RecordingID, &f.Code, &f.Message); err != nil {
			return err
		}
		j.Failures = append(j.Failures, f)
	}
	return frows.Err()
}

// GetExportJob returns a job with progress and failures.
func (s *Store) GetExportJob(ctx context.Context, id string) (vault.ExportJob, error) {
	w, err := scanJob(s.db.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM export_jobs WHERE id = $1`, id))
	if isNoRows(err) {
		return vault.ExportJob{}, vault.ErrNotFound
	}
	if err != nil {
		return vault.ExportJob{}, fmt.Errorf("%s: get export job: %w", s.d.Name, err)
	}
	if err := s.fillProgress(ctx, &w.Job); err != nil {
		return vault.ExportJob{}, fmt.Errorf("%s: get export job: %w", s.d.Name, err)
	}
	return w.Job, nil
}

// ListExportJobs returns one page of jobs.
func (s *Store) ListExportJobs(ctx context.Context, limit int, cursor string) ([]vault.ExportJob, string, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id FROM export_jobs WHERE id > $1 ORDER BY id LIMIT $2`, cursor, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("%s: list export jobs: %w", s.d.Name, err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, "", err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("%s: list export jobs: %w", s.d.Name, err)
	}
	next := ""
	if len(ids) > limit {
		ids = ids[:limit]
		next = ids[limit-1]
	}
	out := []vault.ExportJob{}
	for _, id := range ids {
		j, err := s.GetExportJob(ctx, id)
		if err != nil {
			return nil, "", err
		}
		out = append(out, j)
	}
	return out, next, nil
}

// CancelExportJob asks a job to stop.
func (s *Store) CancelExportJob(ctx context.Context, id, actor string, now time.Time) (vault.ExportJob, error) {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var state string
		err := tx.QueryRowContext(ctx, `SELECT state FROM export_jobs WHERE id = $1`+s.d.ForUpdate, id).Scan(&state)
		if isNoRows(err) {
			return vault.ErrNotFound
		}
		if err != nil || vault.ExportFinished(state) {
			return err
		}
		if state == vault.ExportQueued {
			// A queued job may already be claimed (the engine sets running
			// after claiming): end its lease too, so the engine cannot
			// resume or complete a job that is already cancelled.
			if _, err := tx.ExecContext(ctx, `UPDATE export_jobs SET state = 'cancelled', cancel_requested = 1, finished_at = $1, lease_owner = '', lease_until = 0
				WHERE id = $2`, nanos(now), id); err != nil {
				return err
			}
			_, err := s.appendAudit(ctx, tx, store.AuditEvent{Time: now, Type: "export.cancelled", Actor: actor, Subject: id, Data: map[string]any{"job_id": id}})
			return err
		}
		if _, err = tx.ExecContext(ctx, `UPDATE export_jobs SET cancel_requested = 1 WHERE id = $1`, id); err != nil {
			return err
		}
		_, err = s.appendAudit(ctx, tx, store.AuditEvent{Time: now, Type: "export.cancel_requested", Actor: actor, Subject: id, Data: map[string]any{"job_id": id, "state": state}})
		return err
	})
	if err == vault.ErrNotFound {
		return vault.ExportJob{}, err
	}
	if err != nil {
		return vault.ExportJob{}, fmt.Errorf("%s: cancel export job: %w", s.d.Name, err)
	}
	return s.GetExportJob(ctx, id)
}

// ClaimExportJob leases the oldest runnable job.
func (s *Store) ClaimExportJob(ctx context.Context, owner string, now time.Time, lease time.Duration) (store.ExportWork, bool, error) {
	var w store.ExportWork
	found := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		w, err = scanJob(tx.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM export_jobs
			WHERE state IN ('queued', 'running', 'waiting_for_recordings') AND lease_until < $1 ORDER BY id LIMIT 1`+s.d.ForUpdate, nanos(now)))
		if isNoRows(err) {
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		_, err = tx.ExecContext(ctx, `UPDATE export_jobs SET lease_owner = $1, lease_until = $2 WHERE id = $3`, owner, nanos(now.Add(lease)), w.Job.ID)
		return err
	})
	if err != nil {
		return w, false, fmt.Errorf("%s: claim export job: %w", s.d.Name, err)
	}
	return w, found, nil
}

// RenewExportLease extends owner's lease and reports whether the job's
// cancellation was requested.
func (s *Store) RenewExportLease(ctx context.Context, id, owner string, until time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE export_jobs SET lease_until = $1 WHERE id = $2 AND lease_owner = $3`, nanos(until), id, owner)
	if err != nil {
		return false, fmt.Errorf("%s: renew export lease: %w", s.d.Name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, vault.ErrNotFound
	}
	var cancel int
	if err := s.db.QueryRowContext(ctx, `SELECT cancel_requested FROM export_jobs WHERE id = $1`, id).Scan(&cancel); err != nil {
		return false, fmt.Errorf("%s: renew export lease: %w", s.d.Name, err)
	}
	return cancel != 0, nil
}

// ExpireExportLeases ends every lease.
func (s *Store) ExpireExportLeases(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE export_jobs SET lease_until = 0, lease_owner = '' WHERE lease_until > 0`); err != nil {
		return fmt.Errorf("%s: expire export leases: %w", s.d.Name, err)
	}
	return nil
}

// ExportItems returns a page of items in seq order.
func (s *Store) ExportItems(ctx context.Context, jobID string, afterSeq, limit int) ([]store.ExportItem, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT seq, recording_id, state, path, size_bytes, sha256, sha512, ingest_sha256, meta_path, meta_size, meta_sha256, meta_sha512,
		index_row, failure_code, failure_message FROM export_items WHERE job_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, jobID, afterSeq, limit)
	if err != nil {
		return nil, fmt.Errorf("%s: export items: %w", s.d.Name, err)
	}
	defer rows.Close()
	var out []store.ExportItem
	for rows.Next() {
		var it store.ExportItem
		var row string
		if err := rows.Scan(&it.Seq, &it.RecordingID, &it.State, &it.Path, &it.Digests.Size, &it.Digests.SHA256, &it.Digests.SHA512, &it.IngestSHA256,
			&it.MetaPath, &it.MetaDigests.Size, &it.MetaDigests.SHA256, &it.MetaDigests.SHA512, &row, &it.FailureCode, &it.FailureMsg); err != nil {
			return nil, fmt.Errorf("%s: export items: %w", s.d.Name, err)
		}
		if row != "" {
			if err := json.Unmarshal([]byte(row), &it.IndexRow); err != nil {
				return nil, fmt.Errorf("%s: export item %d index row: %w", s.d.Name, it.Seq, err)
			}
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// FinishExportItem records one item's outcome, if owner still holds the
// job's lease.
func (s *Store) FinishExportItem(ctx context.Context, p store.FinishExportItemParams) error {
	it := p.Item
	row, _ := json.Marshal(it.IndexRow)
	if it.IndexRow == nil {
		row = nil
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.checkLease(ctx, tx, p.JobID, p.Owner, false); err != nil {
			return err
		}
		var was string
		var wasBytes int64
		if err := tx.QueryRowContext(ctx, `SELECT state, size_bytes + meta_size FROM export_items WHERE job_id = $1 AND seq = $2`, p.JobID, it.Seq).Scan(&was, &wasBytes); err != nil {
			if isNoRows(err) {
				return vault.ErrNotFound
			}
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE export_items SET state = $1, path = $2, size_bytes = $3, sha256 = $4, sha512 = $5, ingest_sha256 = $6,
			meta_path = $7, meta_size = $8, meta_sha256 = $9, meta_sha512 = $10, index_row = $11, failure_code = $12, failure_message = $13
			WHERE job_id = $14 AND seq = $15`,
			it.State, it.Path, it.Digests.Size, it.Digests.SHA256, it.Digests.SHA512, it.IngestSHA256, it.MetaPath, it.MetaDigests.Size, it.MetaDigests.SHA256,
			it.MetaDigests.SHA512, string(row), it.FailureCode, it.FailureMsg, p.JobID, it.Seq); err != nil {
			return err
		}
		// Move the job's counters by the item's change of state.
		var dExported, dFailed, dBytes int64
		switch was {
		case store.ItemExported:
			dExported, dBytes = -1, -wasBytes
		case store.ItemFailed:
			dFailed = -1
		}
		switch it.State {
		case store.ItemExported:
			dExported++
			dBytes += it.Digests.Size + it.MetaDigests.Size
		case store.ItemFailed:
			dFailed++
		}
		_, err := tx.ExecContext(ctx, `UPDATE export_jobs SET exported = exported + $1, failed = failed + $2, bytes_exported = bytes_exported + $3 WHERE id = $4`,
			dExported, dFailed, dBytes, p.JobID)
		return err
	})
	if err == vault.ErrNotFound {
		return err
	}
	if err != nil {
		return fmt.Errorf("%s: finish export item: %w", s.d.Name, err)
	}
	return nil
}

// checkLease locks the job and reports vault.ErrNotFound unless owner
// holds its lease and the job is unfinished. The empty owner holds no
// lease: it is accepted only with unleasedQueued, for a queued job that
// nobody has claimed.
func (s *Store) checkLease(ctx context.Context, tx *sql.Tx, id, owner string, unleasedQueued bool) error {
	var cur, state string
	err := tx.QueryRowContext(ctx, `SELECT lease_owner, state FROM export_jobs WHERE id = $1`+s.d.ForUpdate, id).Scan(&cur, &state)
	if isNoRows(err) {
		return vault.ErrNotFound
	}
	if err != nil {
		return err
	}
	if cur != owner || vault.ExportFinished(state) || (owner == "" && (!unleasedQueued || state != vault.ExportQueued)) {
		return vault.ErrNotFound
	}
	return nil
}

// SetExportState moves a job between running and waiting.
func (s *Store) SetExportState(ctx context.Context, id, owner, state string, now time.Time) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.checkLease(ctx, tx, id, owner, false); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE export_jobs SET state = $1, started_at = COALESCE(started_at, $2) WHERE id = $3`, state, nanos(now), id)
		return err
	})
	if err == vault.ErrNotFound {
		return err
	}
	if err != nil {
		return fmt.Errorf("%s: set export state: %w", s.d.Name, err)
	}
	return nil
}

// CompleteExportJob ends a job and audits its outcome.
func (s *Store) CompleteExportJob(ctx context.Context, p store.CompleteExportJobParams) (vault.ExportJob, error) {
	pkg := ""
	if p.Package != nil {
		b, _ := json.Marshal(p.Package)
		pkg = string(b)
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.checkLease(ctx, tx, p.JobID, p.Owner, true); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE export_jobs SET state = $1, package = $2, error = $3, finished_at = $4, started_at = COALESCE(started_at, $4),
			lease_owner = '', lease_until = 0 WHERE id = $5`, p.State, pkg, p.Error, nanos(p.Now), p.JobID); err != nil {
			return err
		}
		typ := "export.finished"
		if p.State == vault.ExportCancelled {
			typ = "export.cancelled"
		}
		data := map[string]any{"job_id": p.JobID, "state": p.State}
		if p.Package != nil {
			data["package"] = p.Package
		}
		if p.Error != "" {
			data["error"] = p.Error
		}
		_, err := s.appendAudit(ctx, tx, store.AuditEvent{Time: p.Now, Type: typ, Actor: p.Actor, Subject: p.JobID, Data: data})
		return err
	})
	if err == vault.ErrNotFound {
		return vault.ExportJob{}, err
	}
	if err != nil {
		return vault.ExportJob{}, fmt.Errorf("%s: complete export job: %w", s.d.Name, err)
	}
	return s.GetExportJob(ctx, p.JobID)
}

package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"iter"
	"sort"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/holdfast/holdfast/internal/audit"

	"github.com/holdfast/holdfast/internal/store"
	"github.com/holdfast/holdfast/internal/vault"
)

const holdColumns = `id, case_id, hold_reason, hold_date, applied_at, applied_by, released_at, released_by, release_reason, filter, include_future, recording_count`

func scanHold(sc rowScanner) (vault.Hold, error) {
	var h vault.Hold
	var hd, at int64
	var rel sql.NullInt64
	var filter sql.NullString
	var future int
	if err := sc.Scan(&h.HoldID, &h.CaseID, &h.HoldReason, &hd, &at, &h.AppliedBy, &rel, &h.ReleasedBy, &h.ReleaseReason, &filter, &future, &h.RecordingCount); err != nil {
		return h, err
	}
	h.HoldDate, h.AppliedAt = fromNanos(hd), fromNanos(at)
	h.ReleasedAt = ptrTime(rel)
	h.Active = h.ReleasedAt == nil
	h.IncludeFuture = future != 0
	if filter.Valid && filter.String != "" {
		var f vault.RecordingFilter
		if err := json.Unmarshal([]byte(filter.String), &f); err != nil {
			return h, fmt.Errorf("hold %s filter: %w", h.HoldID, err)
		}
		h.Filter = &f
	}
	return h, nil
}

// lockRecordings locks the listed recordings (where the dialect can) and
// returns which of them exist.
func (s *Store) lockRecordings(ctx context.Context, tx *sql.Tx, ids []string) (map[string]bool, error) {
	found := map[string]bool{}
	const chunk = 500
	for start := 0; start < len(ids); start += chunk {
		part := ids[start:min(start+chunk, len(ids))]
		var a args
		rows, err := tx.QueryContext(ctx, `SELECT id FROM recordings WHERE id IN `+a.in(part)+` ORDER BY id`+s.d.ForUpdate, a.v...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			found[id] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return found, nil
}

func (s *Store) insertHold(ctx context.Context, tx *sql.Tx, id string, spec store.HoldSpec, filter *vault.RecordingFilter, future bool, actor string, now int64) error {
	var fj sql.NullString
	if filter != nil {
		b, err := json.Marshal(filter)
		if err != nil {
			return err
		}
		fj = sql.NullString{String: string(b), Valid: true}
	}
	fut := 0
	if future {
		fut = 1
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO holds (`+holdColumns+`) VALUES ($1, $2, $3, $4, $5, $6, NULL, '', '', $7, $8, 0)`,
		id, spec.CaseID, spec.HoldReason, nanos(spec.HoldDate), now, actor, fj, fut)
	return err
}

// ApplyRecordingHolds places (or releases) holds per recording, atomically:
// an unknown id rejects the whole request and changes nothing. Items that
// share the same case, reason and date share one new hold.
func (s *Store) ApplyRecordingHolds(ctx context.Context, p store.ApplyRecordingHoldsParams) (store.ApplyRecordingHoldsResult, error) {
	res := store.ApplyRecordingHoldsResult{Results: make([]store.RecordingHoldResult, len(p.Items))}
	var verr error
	err := s.tx(ctx, func(tx *sql.Tx) error {
		ids := make([]string, 0, len(p.Items))
		for _, it := range p.Items {
			ids = append(ids, it.RecordingID)
		}
		found, err := s.lockRecordings(ctx, tx, ids)
		if err != nil {
			return err
		}
		var probs vault.Problems
		for i, it := range p.Items {
			if !found[it.RecordingID] {
				probs.Add(fmt.Sprintf("recordings[%d].id", i), "not_found", fmt.Sprintf("no recording has id %q; list recordings with GET /api/v2/recordings", it.RecordingID))
			}
		}
		if verr = probs.Err(); verr != nil {
			return verr
		}
		now := nanos(p.Now)
		newHolds := map[store.HoldSpec]string{}
		type pending struct{ holdID, recID string }
		var adds []pending
		for i, it := range p.Items {
			active, err := s.activeHoldRefs(ctx, tx, it.RecordingID)
			if err != nil {
				return err
			}
			r := &res.Results[i]
			r.ID = it.RecordingID
			if it.Release {
				r.Status = "not_held"
				for _, h := range active {
					if h.CaseID != it.Spec.CaseID {
						continue
					}
					if _, err := tx.ExecContext(ctx, `UPDATE hold_recordings SET released_at = $1, released_by = $2, release_reason = $3 WHERE hold_id = $4 AND recording_id = $5`,
						now, p.Actor, it.ReleaseReason, h.HoldID, it.RecordingID); err != nil {
						return err
					}
					if _, err := tx.ExecContext(ctx, `UPDATE holds SET recording_count = recording_count - 1 WHERE id = $1`, h.HoldID); err != nil {
						return err
					}
					n, root := audit.SetOf([]string{it.RecordingID})
					if _, err := s.appendAudit(ctx, tx, store.AuditEvent{Time: p.Now, Type: "hold.released", Actor: p.Actor, Subject: h.HoldID,
						Data: map[string]any{"hold_id": h.HoldID, "case_id": h.CaseID, "recording_id": it.RecordingID, "recording_count": n, "recordings_root": audit.FormatSetRoot(root),
							"release_reason": it.ReleaseReason}}); err != nil {
						return err
					}
					r.Status, r.HoldID = "released", h.HoldID
				}
				continue
			}
			already := ""
			for _, h := range active {
				if h.CaseID == it.Spec.CaseID && (h.CaseID != "" || h.HoldReason == it.Spec.HoldReason) {
					already = h.HoldID
					break
				}
			}
			if already != "" {
				r.Status, r.HoldID = "already_held", already
				continue
			}
			hid, ok := newHolds[it.Spec]
			if !ok {
				hid = p.NewID()
				if err := s.insertHold(ctx, tx, hid, it.Spec, nil, false, p.Actor, now); err != nil {
					return err
				}
				newHolds[it.Spec] = hid
			}
			adds = append(adds, pending{hid, it.RecordingID})
			r.Status, r.HoldID = "held", hid
			res.Held++
		}
		byHold := map[string][]string{}
		for _, a := range adds {
			if _, err := tx.ExecContext(ctx, `INSERT INTO hold_recordings (hold_id, recording_id, applied_at) VALUES ($1, $2, $3)`, a.holdID, a.recID, now); err != nil {
				return err
			}
			byHold[a.holdID] = append(byHold[a.holdID], a.recID)
		}
		specs := make([]store.HoldSpec, 0, len(newHolds))
		for spec := range newHolds {
			specs = append(specs, spec)
		}
		sort.Slice(specs, func(i, j int) bool { return newHolds[specs[i]] < newHolds[specs[j]] })
		for _, spec := range specs {
			hid := newHolds[spec]
			n, root := audit.SetOf(byHold[hid])
			e, err := s.appendAudit(ctx, tx, store.AuditEvent{Time: p.Now, Type: "hold.applied", Actor: p.Actor, Subject: hid,
				Data: holdAuditData(hid, spec, nil, false, n, root, nil)})
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE holds SET recording_count = $1, audit_index = $2 WHERE id = $3`, n, e.Index, hid); err != nil {
				return err
			}
		}
		return nil
	})
	if verr != nil {
		return store.ApplyRecordingHoldsResult{}, verr
	}
	if err != nil {
		return store.ApplyRecordingHoldsResult{}, fmt.Errorf("%s: apply recording holds: %w", s.d.Name, err)
	}
	return res, nil
}

// holdAuditData is the data of a hold.applied entry: the hold and its
// recording set's count and root, never the ids themselves.
func holdAuditData(id string, spec store.HoldSpec, f *vault.RecordingFilter, future bool, n int64, root tlog.Hash, extra map[string]any) map[string]any {
	d := map[string]any{"hold_id": id, "case_id": spec.CaseID, "hold_reason": spec.HoldReason, "hold_date": vault.FormatTime(spec.HoldDate),
		"include_future": future, "recording_count": n, "recordings_root": audit.FormatSetRoot(root)}
	if f != nil {
		d["filter"] = f
	}
	for k, v := range extra {
		d[k] = v
	}
	return d
}

// CreateHold places a hold on every recording the filter matches, in one
// transaction. Unknown ids in filter.record_ids reject the request.
func (s *Store) CreateHold(ctx context.Context, p store.CreateHoldParams) (vault.Hold, error) {
	var verr error
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		_, verr, err = s.createHoldTx(ctx, tx, p)
		if verr != nil {
			return verr
		}
		if err != nil {
			return err
		}
		return completeIdempotency(ctx, tx, p.Idempotency, p.HoldID)
	})
	if verr != nil {
		return vault.Hold{}, verr
	}
	if err != nil {
		return vault.Hold{}, fmt.Errorf("%s: create hold: %w", s.d.Name, err)
	}
	return s.GetHold(ctx, p.HoldID)
}

// checkRecordIDs reports unknown ids of filter.record_ids as field errors,
// locking the known ones.
func (s *Store) checkRecordIDs(ctx context.Context, tx *sql.Tx, ids []string) (verr error, err error) {
	if len(ids) == 0 {
		return nil, nil
	}
	found, err := s.lockRecordings(ctx, tx, ids)
	if err != nil {
		return nil, err
	}
	var probs vault.Problems
	for i, id := range ids {
		if !found[id] {
			probs.Add(fmt.Sprintf("filter.record_ids[%d]", i), "not_found", fmt.Sprintf("no recording has id %q; list recordings with GET /api/v2/recordings", id))
		}
	}
	return probs.Err(), nil
}

// createHoldTx is CreateHold inside an open transaction, so an export job
// can place its hold in the transaction that creates the job. It returns
// the index of the hold's audit entry, and a validation error separately
// from backend failures.
//
// The recordings are held by one INSERT … SELECT, whatever their number;
// the audit entry's recordings_root is then computed by streaming the new
// rows back in id order, so nothing proportional to the set is held in
// memory. Concurrent deletes cannot interleave: every write transaction
// takes the writers' lock first (see [Dialect.LockWriters]).
func (s *Store) createHoldTx(ctx context.Context, tx *sql.Tx, p store.CreateHoldParams) (auditIndex int64, verr error, err error) {
	f := p.Filter
	if verr, err := s.checkRecordIDs(ctx, tx, f.RecordIDs); verr != nil || err != nil {
		return -1, verr, err
	}
	now := nanos(p.Now)
	if err := s.insertHold(ctx, tx, p.HoldID, p.Spec, &f, p.IncludeFuture, p.Actor, now); err != nil {
		return -1, nil, err
	}
	var a args
	sel := `SELECT CAST(` + a.add(p.HoldID) + ` AS TEXT), id, CAST(` + a.add(now) + ` AS BIGINT) FROM recordings`
	lp := store.ListRecordingsParams{From: f.From, To: f.To, CaseID: f.CaseID, IDs: f.RecordIDs}
	if _, err := tx.ExecContext(ctx, `INSERT INTO hold_recordings (hold_id, recording_id, applied_at) `+sel+s.recordingWhere(&a, f.MediaType, &lp, nil), a.v...); err != nil {
		return -1, nil, err
	}
	n, root, err := setRoot(ctx, tx, `SELECT recording_id FROM hold_recordings WHERE hold_id = $1 ORDER BY recording_id`, p.HoldID)
	if err != nil {
		return -1, nil, err
	}
	e, err := s.appendAudit(ctx, tx, store.AuditEvent{Time: p.Now, Type: "hold.applied", Actor: p.Actor, Subject: p.HoldID,
		Data: holdAuditData(p.HoldID, p.Spec, &f, p.IncludeFuture, n, root, p.Extra)})
	if err != nil {
		return -1, nil, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE holds SET recording_count = $1, audit_index = $2 WHERE id = $3`, n, e.Index, p.HoldID); err != nil {
		return -1, nil, err
	}
	return e.Index, nil, nil
}

// setRoot streams the ids a query returns (which must be in bytewise
// order) and returns the set's count and root.
func setRoot(ctx context.Context, q querier, query string, args ...any) (int64, tlog.Hash, error) {
	var b audit.SetBuilder
	for id, err := range streamIDs(ctx, q, query, args...) {
		if err != nil {
			return 0, tlog.Hash{}, err
		}
		if err := b.Add(id); err != nil {
			return 0, tlog.Hash{}, err
		}
	}
	return b.Count(), b.Root(), nil
}

// streamIDs yields the single text column a query returns, row by row.
func streamIDs(ctx context.Context, q querier, query string, args ...any) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		rows, err := q.QueryContext(ctx, query, args...)
		if err != nil {
			yield("", err)
			return
		}
		defer rows.Close()
		var id string
		for rows.Next() {
			if err := rows.Scan(&id); err != nil {
				yield("", err)
				return
			}
			if !yield(id, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield("", err)
		}
	}
}

// matchIDs returns the ids of every recording a filter selects, in id
// order. It is for short, explicitly listed sets; filters over many
// recordings are matched inside INSERT … SELECT statements instead.
func (s *Store) matchIDs(ctx context.Context, q querier, f vault.RecordingFilter) ([]string, error) {
	lp := store.ListRecordingsParams{From: f.From, To: f.To, CaseID: f.CaseID, IDs: f.RecordIDs}
	var a args
	ids := []string{}
	for id, err := range streamIDs(ctx, q, `SELECT id FROM recordings`+s.recordingWhere(&a, f.MediaType, &lp, nil)+` ORDER BY id`, a.v...) {
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// releaseHoldTx releases one active hold inside tx and audits it as
// hold.released with the set it covered; extra is added to the entry.
func (s *Store) releaseHoldTx(ctx context.Context, tx *sql.Tx, holdID, caseID string, p store.ReleaseHoldParams, extra map[string]any) error {
	if _, err := tx.ExecContext(ctx, `UPDATE holds SET released_at = $1, released_by = $2, release_reason = $3 WHERE id = $4`, nanos(p.Now), p.Actor, p.Reason, holdID); err != nil {
		return err
	}
	n, root, err := setRoot(ctx, tx, `SELECT recording_id FROM hold_recordings WHERE hold_id = $1 AND released_at IS NULL ORDER BY recording_id`, holdID)
	if err != nil {
		return err
	}
	data := map[string]any{"hold_id": holdID, "case_id": caseID, "release_reason": p.Reason, "recording_count": n, "recordings_root": audit.FormatSetRoot(root)}
	for k, v := range extra {
		data[k] = v
	}
	_, err = s.appendAudit(ctx, tx, store.AuditEvent{Time: p.Now, Type: "hold.released", Actor: p.Actor, Subject: holdID, Data: data})
	return err
}

// ReleaseHold releases one hold. Releasing an already released hold is
// not an error; it returns the hold as it is.
func (s *Store) ReleaseHold(ctx context.Context, p store.ReleaseHoldParams) (vault.Hold, error) {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		h, err := scanHold(tx.QueryRowContext(ctx, `SELECT `+holdColumns+` FROM holds WHERE id = $1`+s.d.ForUpdate, p.HoldID))
		if isNoRows(err) {
			return vault.ErrNotFound
		}
		if err != nil {
			return err
		}
		if !h.Active {
			return nil
		}
		return s.releaseHoldTx(ctx, tx, h.HoldID, h.CaseID, p, nil)
	})
	if err == vault.ErrNotFound {
		return vault.Hold{}, err
	}
	if err != nil {
		return vault.Hold{}, fmt.Errorf("%s: release hold: %w", s.d.Name, err)
	}
	return s.GetHold(ctx, p.HoldID)
}

// GetHold returns a hold and how many recordings it still covers.
func (s *Store) GetHold(ctx context.Context, id string) (vault.Hold, error) {
	h, err := scanHold(s.db.QueryRowContext(ctx, `SELECT `+holdColumns+` FROM holds WHERE id = $1`, id))
	if isNoRows(err) {
		return vault.Hold{}, vault.ErrNotFound
	}
	if err != nil {
		return vault.Hold{}, fmt.Errorf("%s: get hold: %w", s.d.Name, err)
	}
	return h, nil
}

// ListHolds returns one page of holds in id order (keyset paged: the
// cursor is the last id of the previous page).
func (s *Store) ListHolds(ctx context.Context, p store.ListHoldsParams) ([]vault.Hold, string, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = 100
	}
	var a args
	q := `SELECT ` + holdColumns + ` FROM holds WHERE 1 = 1`
	if p.CaseID != "" {
		q += ` AND case_id = ` + a.add(p.CaseID)
	}
	if p.Cursor != "" {
		q += ` AND id > ` + a.add(p.Cursor)
	}
	q += ` ORDER BY id LIMIT ` + a.add(limit+1)
	rows, err := s.db.QueryContext(ctx, q, a.v...)
	if err != nil {
		return nil, "", fmt.Errorf("%s: list holds: %w", s.d.Name, err)
	}
	defer rows.Close()
	out := []vault.Hold{}
	for rows.Next() {
		h, err := scanHold(rows)
		if err != nil {
			return nil, "", fmt.Errorf("%s: list holds: %w", s.d.Name, err)
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("%s: list holds: %w", s.d.Name, err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].HoldID
	}
	return out, next, nil
}

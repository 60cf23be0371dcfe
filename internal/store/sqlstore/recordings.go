package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/holdfast/holdfast/internal/audit"
	"github.com/holdfast/holdfast/internal/jobs"
	"github.com/holdfast/holdfast/internal/store"
	"github.com/holdfast/holdfast/internal/vault"
)

const recordingColumns = `id, media_type, status, failure_reason, call_id, started_at, ended_at, duration_ms, direction, participants, labels,
	size_bytes, sha256, sha512, media_format, codec, sample_rate, channels, ingested_at, completed_at`

type rowScanner interface{ Scan(dest ...any) error }

func scanRecording(sc rowScanner) (vault.Recording, error) {
	var r vault.Recording
	var status, parts, labels string
	var started, ingested int64
	var ended, completed, dur sql.NullInt64
	err := sc.Scan(&r.ID, &r.MediaType, &status, &r.FailureReason, &r.CallID, &started, &ended, &dur, &r.Direction, &parts, &labels,
		&r.Content.SizeBytes, &r.Content.SHA256, &r.Content.SHA512, &r.Content.MediaFormat, &r.Content.Codec, &r.Content.SampleRate, &r.Content.Channels,
		&ingested, &completed)
	if err != nil {
		return r, err
	}
	r.Status = vault.Status(status)
	r.StartedAt = fromNanos(started)
	r.EndedAt = ptrTime(ended)
	if dur.Valid {
		d := dur.Int64
		r.DurationMS = &d
	}
	r.IngestedAt = fromNanos(ingested)
	r.CompletedAt = ptrTime(completed)
	if err := json.Unmarshal([]byte(parts), &r.Participants); err != nil {
		return r, fmt.Errorf("recording %s participants: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(labels), &r.Labels); err != nil {
		return r, fmt.Errorf("recording %s labels: %w", r.ID, err)
	}
	return r, nil
}

// CreateRecording stores a new recording and attaches matching
// include_future holds, all in one transaction with its audit entries.
func (s *Store) CreateRecording(ctx context.Context, p store.CreateRecordingParams) (vault.Recording, error) {
	r := p.Recording
	r.Normalize()
	parts, _ := json.Marshal(r.Participants)
	labels, _ := json.Marshal(r.Labels)
	var dur sql.NullInt64
	if r.DurationMS != nil {
		dur = sql.NullInt64{Int64: *r.DurationMS, Valid: true}
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO recordings (`+recordingColumns+`, participant_text) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)`,
			r.ID, r.MediaType, string(r.Status), r.FailureReason, r.CallID, nanos(r.StartedAt), nullNanos(r.EndedAt), dur, r.Direction, string(parts), string(labels),
			r.Content.SizeBytes, r.Content.SHA256, r.Content.SHA512, r.Content.MediaFormat, r.Content.Codec, r.Content.SampleRate, r.Content.Channels,
			nanos(r.IngestedAt), nullNanos(r.CompletedAt), vault.ParticipantSearchText(r.Participants))
		if err != nil {
			return err
		}
		if err := countStatus(ctx, tx, r.Status, 1); err != nil {
			return err
		}
		if p.BlobVersion != "" {
			if _, err := tx.ExecContext(ctx, `UPDATE recordings SET blob_version = $1 WHERE id = $2`, p.BlobVersion, r.ID); err != nil {
				return err
			}
		}
		if err := insertLabels(ctx, tx, r.ID, r.Labels); err != nil {
			return err
		}
		held, err := s.futureHoldsFor(ctx, tx, r)
		if err != nil {
			return err
		}
		heldIDs := make([]string, len(held))
		for i, h := range held {
			heldIDs[i] = h.id
		}
		if _, err := s.appendAudit(ctx, tx, store.AuditEvent{Time: r.IngestedAt, Type: "recording.ingested", Actor: p.Actor, Subject: r.ID,
			Data: map[string]any{"media_type": r.MediaType, "call_id": r.CallID, "started_at": vault.FormatTime(r.StartedAt),
				"size_bytes": r.Content.SizeBytes, "sha256": r.Content.SHA256, "sha512": r.Content.SHA512, "hold_ids": heldIDs}}); err != nil {
			return err
		}
		if err := s.attachFutureHolds(ctx, tx, r, held, p.Actor); err != nil {
			return err
		}
		// The recording's processing job commits with it, so no recording
		// is ever left in processing without one.
		args, err := json.Marshal(jobs.ProcessRecordingArgs{RecordingID: r.ID})
		if err != nil {
			return err
		}
		if _, err := s.jobInsert(ctx, tx, &jobs.InsertParams{ID: jobID(jobs.KindProcessRecording, r.ID), Kind: jobs.KindProcessRecording, Args: args,
			MaxAttempts: processAttempts, UniqueKey: jobs.KindProcessRecording + ":" + r.ID, Now: r.IngestedAt}); err != nil {
			return err
		}
		return completeIdempotency(ctx, tx, p.Idempotency, r.ID)
	})
	if err != nil {
		return vault.Recording{}, fmt.Errorf("%s: create recording: %w", s.d.Name, err)
	}
	return s.GetRecording(ctx, r.ID)
}

// futureHold is an active include_future hold a new recording falls under.
type futureHold struct {
	id     string
	caseID string
	filter string
}

// attachFutureHolds adds the new recording to each of holds. Each addition
// is its own change with its own hold.extended audit entry, whose
// recording set is the one recording, so that the recording's membership
// in the hold can be proved against it as against a hold.applied entry.
func (s *Store) attachFutureHolds(ctx context.Context, tx *sql.Tx, r vault.Recording, holds []futureHold, actor string) error {
	for _, h := range holds {
		n, root := audit.SetOf([]string{r.ID})
		e, err := s.appendAudit(ctx, tx, store.AuditEvent{Time: r.IngestedAt, Type: "hold.extended", Actor: actor, Subject: h.id,
			Data: map[string]any{"hold_id": h.id, "case_id": h.caseID, "recording_id": r.ID, "recording_count": n, "recordings_root": audit.FormatSetRoot(root)}})
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO hold_recordings (hold_id, recording_id, applied_at, audit_index) VALUES ($1, $2, $3, $4)`,
			h.id, r.ID, nanos(r.IngestedAt), e.Index); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE holds SET recording_count = recording_count + 1 WHERE id = $1`, h.id); err != nil {
			return err
		}
	}
	return nil
}

// futureHoldsFor returns every active include_future hold whose filter
// matches a new recording, in id order.
func (s *Store) futureHoldsFor(ctx context.Context, tx *sql.Tx, r vault.Recording) ([]futureHold, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, case_id, filter FROM holds WHERE include_future = 1 AND released_at IS NULL ORDER BY id`)
	if err != nil {
		return nil, err
	}
	type cand = futureHold
	var cands []cand
	for rows.Next() {
		var c cand
		if err := rows.Scan(&c.id, &c.caseID, &c.filter); err != nil {
			rows.Close()
			return nil, err
		}
		cands = append(cands, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	filters := make([]vault.RecordingFilter, len(cands))
	for i, c := range cands {
		if err := json.Unmarshal([]byte(c.filter), &filters[i]); err != nil {
			return nil, fmt.Errorf("hold %s filter: %w", c.id, err)
		}
	}
	// The filter's ids and case are matched here, as matchIDs matches them
	// for existing recordings: a new recording is in record_ids only if
	// listed, and under a case only through a hold attached just now (so
	// repeat until no more holds attach).
	held := []futureHold{}
	attached := make([]bool, len(cands))
	underCase := map[string]bool{}
	for changed := true; changed; {
		changed = false
		for i, c := range cands {
			f := filters[i]
			switch {
			case attached[i], !f.Matches(r.MediaType, r.StartedAt):
				continue
			case len(f.RecordIDs) > 0 && !slices.Contains(f.RecordIDs, r.ID):
				continue
			case f.CaseID != "" && !underCase[f.CaseID]:
				continue
			}
			attached[i], changed = true, true
			if c.caseID != "" {
				underCase[c.caseID] = true
			}
			held = append(held, c)
		}
	}
	return held, nil
}

// GetRecording returns one recording with its active holds.
func (s *Store) GetRecording(ctx context.Context, id string) (vault.Recording, error) {
	r, err := scanRecording(s.db.QueryRowContext(ctx, `SELECT `+recordingColumns+` FROM recordings WHERE id = $1`, id))
	if isNoRows(err) {
		return vault.Recording{}, vault.ErrNotFound
	}
	if err != nil {
		return vault.Recording{}, fmt.Errorf("%s: get recording: %w", s.d.Name, err)
	}
	recs := []vault.Recording{r}
	if err := s.loadHolds(ctx, s.db, recs); err != nil {
		return vault.Recording{}, fmt.Errorf("%s: get recording: %w", s.d.Name, err)
	}
	return recs[0], nil
}

// loadHolds fills the active holds of each recording.
func (s *Store) loadHolds(ctx context.Context, q querier, recs []vault.Recording) error {
	if len(recs) == 0 {
		return nil
	}
	ids := make([]string, len(recs))
	pos := make(map[string]int, len(recs))
	for i, r := range recs {
		ids[i] = r.ID
		pos[r.ID] = i
	}
	var a args
	rows, err := q.QueryContext(ctx, `SELECT hr.recording_id, h.id, h.case_id, h.hold_reason, h.hold_date, hr.applied_at
		FROM hold_recordings hr JOIN holds h ON h.id = hr.hold_id
		WHERE hr.recording_id IN `+a.in(ids)+` AND hr.released_at IS NULL AND h.released_at IS NULL
		ORDER BY hr.applied_at, h.id`, a.v...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var rid string
		var h vault.HoldRef
		var hd, at int64
		if err := rows.Scan(&rid, &h.HoldID, &h.CaseID, &h.HoldReason, &hd, &at); err != nil {
			return err
		}
		h.HoldDate, h.AppliedAt = fromNanos(hd), fromNanos(at)
		i := pos[rid]
		recs[i].Holds = append(recs[i].Holds, h)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for i := range recs {
		recs[i].Normalize()
	}
	return nil
}

// activeHoldOn is the condition that a recording is under an active hold.
const activeHoldOn = `EXISTS (SELECT 1 FROM hold_recordings hr JOIN holds h ON h.id = hr.hold_id
	WHERE hr.recording_id = recordings.id AND hr.released_at IS NULL AND h.released_at IS NULL)`

// recordingWhere builds the WHERE clause shared by listing and hold
// filters. plan says how membership filters (case, labels) are written;
// nil writes them as IN (subquery), right for set-based statements that
// read every match anyway.
func (s *Store) recordingWhere(a *args, mediaType string, f *store.ListRecordingsParams, plan *filterPlan) string {
	var conds []string
	if mediaType != "" {
		conds = append(conds, "media_type = "+a.add(mediaType))
	}
	if f.From != nil {
		conds = append(conds, "started_at >= "+a.add(nanos(*f.From)))
	}
	if f.To != nil {
		conds = append(conds, "started_at < "+a.add(nanos(*f.To)))
	}
	if f.Status != "" {
		conds = append(conds, "status = "+a.add(f.Status))
	}
	if f.CaseID != "" {
		conds = append(conds, member(plan.dense(0), `hold_recordings hr JOIN holds h ON h.id = hr.hold_id`, `hr.recording_id`,
			`h.case_id = `+a.add(f.CaseID)+` AND hr.released_at IS NULL AND h.released_at IS NULL`))
	}
	if len(f.IDs) > 0 {
		conds = append(conds, "id IN "+a.in(f.IDs))
	}
	for i, l := range f.Labels {
		conds = append(conds, member(plan.dense(2+i), `recording_labels rl`, `rl.recording_id`, `rl.name = `+a.add(l.Key)+` AND rl.value = `+a.add(l.Value)))
	}
	if f.CallID != "" {
		conds = append(conds, "call_id = "+a.add(f.CallID))
	}
	if f.Participant != "" {
		match := s.d.ParticipantMatch
		if plan.participantDense && s.d.ParticipantScan != nil {
			match = s.d.ParticipantScan
		}
		cond, arg := match(a.next(), strings.ToLower(f.Participant))
		a.add(arg)
		conds = append(conds, cond)
	}
	if f.LegalHold != nil {
		if *f.LegalHold {
			conds = append(conds, member(plan.dense(1), `hold_recordings hr JOIN holds h ON h.id = hr.hold_id`, `hr.recording_id`,
				`hr.released_at IS NULL AND h.released_at IS NULL`))
		} else {
			conds = append(conds, "NOT "+activeHoldOn)
		}
	}
	if f.Cursor != "" {
		conds = append(conds, "id > "+a.add(f.Cursor))
	}
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

// member writes "the recording is among the rows of from whose column
// col matches where". Sparse, it is IN (subquery): the few matches are
// collected once and looked up by id. Dense, it is a correlated EXISTS:
// the page walks recordings in id order from the cursor and checks each
// by index, stopping after a page of matches, where IN would collect
// every match on every page.
func member(dense bool, from, col, where string) string {
	if dense {
		return `EXISTS (SELECT 1 FROM ` + from + ` WHERE ` + col + ` = recordings.id AND ` + where + `)`
	}
	return `id IN (SELECT ` + col + ` FROM ` + from + ` WHERE ` + where + `)`
}

// filterPlan records which membership filters of one list query are
// dense (see [Store.planFilters]): index 0 the case, 1 legal_hold=true,
// 2+i label i; participantDense the participant search.
type filterPlan struct {
	denseAt          []bool
	participantDense bool
}

func (p *filterPlan) dense(i int) bool { return p != nil && i < len(p.denseAt) && p.denseAt[i] }

// planFilters decides, for a page of at most limit recordings, whether
// each membership filter is dense enough that walking recordings in id
// order finds a page sooner than collecting every match. Walking costs
// about limit × total / matches index probes, collecting costs matches,
// so a filter is dense when matches² > limit × total. Matches are counted
// only up to that bound (the case's from its holds' counters), so
// planning costs at most the cheaper plan's work.
func (s *Store) planFilters(ctx context.Context, p store.ListRecordingsParams, limit int) (*filterPlan, error) {
	holdFilter := p.LegalHold != nil && *p.LegalHold
	if p.CaseID == "" && len(p.Labels) == 0 && !holdFilter && p.Participant == "" {
		return nil, nil
	}
	var total int64
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(n), 0) FROM recording_counts`).Scan(&total); err != nil {
		return nil, err
	}
	bound := int64(math.Sqrt(float64(limit)*float64(total))) + 1
	plan := &filterPlan{denseAt: make([]bool, 2+len(p.Labels))}
	// Holds count their recordings; their sum bounds the matches from above.
	for i, want := range []bool{p.CaseID != "", holdFilter} {
		if !want {
			continue
		}
		q, args := `SELECT COALESCE(SUM(recording_count), 0) FROM holds WHERE released_at IS NULL`, []any{}
		if i == 0 {
			q, args = q+` AND case_id = $1`, []any{p.CaseID}
		}
		var n int64
		if err := s.db.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
			return nil, err
		}
		plan.denseAt[i] = n > bound
	}
	for i, l := range p.Labels {
		var n int64
		if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM recording_labels WHERE name = $1 AND value = $2 LIMIT $3) m`, l.Key, l.Value, bound+1).Scan(&n); err != nil {
			return nil, err
		}
		plan.denseAt[2+i] = n > bound
	}
	if p.Participant != "" && s.d.ParticipantScan != nil {
		dense, err := s.participantDense(ctx, p, limit, total)
		if err != nil {
			return nil, err
		}
		plan.participantDense = dense
	}
	return plan, nil
}

// participantSample is how many recordings, in id order from the cursor,
// [Store.participantDense] reads to estimate how dense a participant
// search is.
const participantSample = 1000

// participantDense estimates the density of a participant search from
// the next participantSample recordings a walk would read: with m matches
// among n rows, a walk reads about limit × n / m rows for a page, and
// collecting through the index reads about m × total / n matches, so the
// walk wins when m² × total > limit × n². The sample costs a bounded
// scan, where counting matches through the index costs as many as it
// counts. A wrong guess costs time, never a wrong answer.
func (s *Store) participantDense(ctx context.Context, p store.ListRecordingsParams, limit int, total int64) (bool, error) {
	cond, arg := s.d.ParticipantScan("$1", strings.ToLower(p.Participant))
	var n, m int64
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN `+cond+` THEN 1 ELSE 0 END), 0) FROM
		(SELECT id, participant_text FROM recordings WHERE id > $2 ORDER BY id LIMIT $3) recordings`,
		arg, p.Cursor, participantSample).Scan(&n, &m)
	if err != nil {
		return false, err
	}
	if n == 0 || m == 0 {
		return false, nil
	}
	return float64(m)*float64(m)*float64(total) > float64(limit)*float64(n)*float64(n), nil
}

// ListRecordings returns one page of recordings in id order and the cursor
// of the next page ("" on the last).
func (s *Store) ListRecordings(ctx context.Context, p store.ListRecordingsParams) ([]vault.Recording, string, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = 100
	}
	plan, err := s.planFilters(ctx, p, limit)
	if err != nil {
		return nil, "", fmt.Errorf("%s: list recordings: %w", s.d.Name, err)
	}
	var a args
	q := `SELECT ` + recordingColumns + ` FROM recordings` + s.recordingWhere(&a, p.MediaType, &p, plan) + ` ORDER BY id LIMIT ` + a.add(limit+1)
	rows, err := s.db.QueryContext(ctx, q, a.v...)
	if err != nil {
		return nil, "", fmt.Errorf("%s: list recordings: %w", s.d.Name, err)
	}
	var recs []vault.Recording
	for rows.Next() {
		r, err := scanRecording(rows)
		if err != nil {
			rows.Close()
			return nil, "", fmt.Errorf("%s: list recordings: %w", s.d.Name, err)
		}
		recs = append(recs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("%s: list recordings: %w", s.d.Name, err)
	}
	next := ""
	if len(recs) > limit {
		recs = recs[:limit]
		next = recs[limit-1].ID
	}
	if err := s.loadHolds(ctx, s.db, recs); err != nil {
		return nil, "", fmt.Errorf("%s: list recordings: %w", s.d.Name, err)
	}
	if recs == nil {
		recs = []vault.Recording{}
	}
	return recs, next, nil
}

// ProcessingIDs returns the ids of recordings still processing.
func (s *Store) ProcessingIDs(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id FROM recordings WHERE status = 'processing' ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("%s: processing ids: %w", s.d.Name, err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("%s: processing ids: %w", s.d.Name, err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// FinishProcessing records the probe result of a processing recording.
func (s *Store) FinishProcessing(ctx context.Context, p store.FinishProcessingParams) (vault.Recording, error) {
	res := p.Result
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.fenceTx(ctx, tx, p.Fence); err != nil {
			return err
		}
		var status string
		err := tx.QueryRowContext(ctx, `SELECT status FROM recordings WHERE id = $1`+s.d.ForUpdate, p.ID).Scan(&status)
		if isNoRows(err) {
			return vault.ErrNotFound
		}
		if err != nil {
			return err
		}
		if status != string(vault.StatusProcessing) {
			return nil
		}
		to := vault.StatusCompleted
		if !res.OK {
			to = vault.StatusFailed
		}
		if err := countStatus(ctx, tx, vault.StatusProcessing, -1); err != nil {
			return err
		}
		if err := countStatus(ctx, tx, to, 1); err != nil {
			return err
		}
		if res.OK {
			_, err = tx.ExecContext(ctx, `UPDATE recordings SET status = 'completed', media_format = $1, codec = $2, sample_rate = $3, channels = $4, duration_ms = $5, completed_at = $6 WHERE id = $7`,
				res.MediaFormat, res.Codec, res.SampleRate, res.Channels, res.DurationMS, nanos(p.Now), p.ID)
		} else {
			_, err = tx.ExecContext(ctx, `UPDATE recordings SET status = 'failed', failure_reason = $1, completed_at = $2 WHERE id = $3`, res.FailureReason, nanos(p.Now), p.ID)
		}
		if err != nil {
			return err
		}
		ev := store.AuditEvent{Time: p.Now, Type: "recording.processed", Actor: "system", Subject: p.ID,
			Data: map[string]any{"status": "completed", "media_format": res.MediaFormat, "codec": res.Codec, "sample_rate": res.SampleRate, "channels": res.Channels, "duration_ms": res.DurationMS}}
		if !res.OK {
			ev.Type = "recording.failed"
			ev.Data = map[string]any{"status": "failed", "failure_reason": res.FailureReason}
		}
		_, err = s.appendAudit(ctx, tx, ev)
		return err
	})
	if err == vault.ErrNotFound {
		return vault.Recording{}, err
	}
	if err != nil {
		return vault.Recording{}, fmt.Errorf("%s: finish processing: %w", s.d.Name, err)
	}
	return s.GetRecording(ctx, p.ID)
}

// activeHoldRefs returns the active holds on one recording, inside tx.
func (s *Store) activeHoldRefs(ctx context.Context, tx *sql.Tx, id string) ([]vault.HoldRef, error) {
	recs := []vault.Recording{{ID: id}}
	if err := s.loadHolds(ctx, tx, recs); err != nil {
		return nil, err
	}
	return recs[0].Holds, nil
}

// DeleteRecording removes a recording unless a hold is active on it. The
// recording row is locked first, so a hold being placed concurrently either
// sees the recording gone or blocks this delete until it commits.
func (s *Store) DeleteRecording(ctx context.Context, p store.DeleteRecordingParams) (bool, error) {
	var refused *vault.LegalHoldActiveError
	var stillUsed bool
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var sha, status string
		err := tx.QueryRowContext(ctx, `SELECT sha256, status FROM recordings WHERE id = $1`+s.d.ForUpdate, p.ID).Scan(&sha, &status)
		if isNoRows(err) {
			return vault.ErrNotFound
		}
		if err != nil {
			return err
		}
		holds, err := s.activeHoldRefs(ctx, tx, p.ID)
		if err != nil {
			return err
		}
		if len(holds) > 0 {
			refused = &vault.LegalHoldActiveError{RecordingID: p.ID, Holds: holds}
			ids := make([]string, len(holds))
			for i, h := range holds {
				ids[i] = h.HoldID
			}
			_, err := s.appendAudit(ctx, tx, store.AuditEvent{Time: p.Now, Type: "recording.delete_refused", Actor: p.Actor, Subject: p.ID,
				Data: map[string]any{"hold_ids": ids}})
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM recordings WHERE id = $1`, p.ID); err != nil {
			return err
		}
		if err := countStatus(ctx, tx, vault.Status(status), -1); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM recording_labels WHERE recording_id = $1`, p.ID); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM recordings WHERE sha256 = $1`, sha).Scan(&n); err != nil {
			return err
		}
		stillUsed = n > 0
		_, err = s.appendAudit(ctx, tx, store.AuditEvent{Time: p.Now, Type: "recording.deleted", Actor: p.Actor, Subject: p.ID,
			Data: map[string]any{"sha256": sha}})
		return err
	})
	if err == vault.ErrNotFound {
		return false, err
	}
	if err != nil {
		return false, fmt.Errorf("%s: delete recording: %w", s.d.Name, err)
	}
	if refused != nil {
		return true, refused
	}
	return stillUsed, nil
}

// BlobReferenced reports whether any recording refers to the blob.
func (s *Store) BlobReferenced(ctx context.Context, sha256 string) (bool, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM recordings WHERE sha256 = $1`, sha256).Scan(&n); err != nil {
		return false, fmt.Errorf("%s: blob referenced: %w", s.d.Name, err)
	}
	return n > 0, nil
}

// CountRecordingsByStatus counts recordings per status.
func (s *Store) CountRecordingsByStatus(ctx context.Context) (map[vault.Status]int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT status, n FROM recording_counts`)
	if err != nil {
		return nil, fmt.Errorf("%s: count recordings: %w", s.d.Name, err)
	}
	defer rows.Close()
	out := map[vault.Status]int{vault.StatusProcessing: 0, vault.StatusCompleted: 0, vault.StatusFailed: 0}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("%s: count recordings: %w", s.d.Name, err)
		}
		out[vault.Status(st)] = n
	}
	return out, rows.Err()
}

// countStatus adds delta to the count of recordings in status, inside the
// transaction that changes them (see migration 9).
func countStatus(ctx context.Context, tx *sql.Tx, status vault.Status, delta int) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO recording_counts (status, n) VALUES ($1, $2)
		ON CONFLICT (status) DO UPDATE SET n = recording_counts.n + $2`, string(status), delta)
	if err != nil {
		return fmt.Errorf("count recordings by status: %w", err)
	}
	return nil
}

// insertLabels stores a recording's labels as rows of recording_labels.
func insertLabels(ctx context.Context, tx *sql.Tx, id string, labels map[string]string) error {
	for k, v := range labels {
		if _, err := tx.ExecContext(ctx, `INSERT INTO recording_labels (name, value, recording_id) VALUES ($1, $2, $3)`, k, v, id); err != nil {
			return err
		}
	}
	return nil
}

// backfillLabels fills recording_labels from the labels column of every
// recording stored before the table existed.
func backfillLabels(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, labels FROM recordings WHERE labels <> '{}' AND labels <> 'null' ORDER BY id`)
	if err != nil {
		return err
	}
	all := map[string]map[string]string{}
	for rows.Next() {
		var id, raw string
		if err := rows.Scan(&id, &raw); err != nil {
			rows.Close()
			return err
		}
		var labels map[string]string
		if err := json.Unmarshal([]byte(raw), &labels); err != nil {
			rows.Close()
			return fmt.Errorf("recording %s labels: %w", id, err)
		}
		all[id] = labels
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for id, labels := range all {
		if err := insertLabels(ctx, tx, id, labels); err != nil {
			return err
		}
	}
	return nil
}

package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"iter"

	"github.com/holdfast/holdfast/internal/store"
	"github.com/holdfast/holdfast/internal/vault"
)

// ListHoldRecordings returns one page of a hold's recordings in id order,
// keyset paged on the hold_recordings primary key, so a page deep in a
// hold of millions costs what the first does. A recording's released_at
// is its own release, or else the whole hold's.
func (s *Store) ListHoldRecordings(ctx context.Context, p store.ListHoldRecordingsParams) ([]vault.HoldRecording, string, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = 100
	}
	var holdReleased sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT released_at FROM holds WHERE id = $1`, p.HoldID).Scan(&holdReleased)
	if isNoRows(err) {
		return nil, "", vault.ErrNotFound
	}
	if err != nil {
		return nil, "", fmt.Errorf("%s: list hold recordings: %w", s.d.Name, err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT recording_id, applied_at, released_at FROM hold_recordings
		WHERE hold_id = $1 AND recording_id > $2 ORDER BY recording_id LIMIT $3`, p.HoldID, p.Cursor, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("%s: list hold recordings: %w", s.d.Name, err)
	}
	defer rows.Close()
	out := []vault.HoldRecording{}
	for rows.Next() {
		var hr vault.HoldRecording
		var at int64
		var rel sql.NullInt64
		if err := rows.Scan(&hr.RecordingID, &at, &rel); err != nil {
			return nil, "", fmt.Errorf("%s: list hold recordings: %w", s.d.Name, err)
		}
		if !rel.Valid {
			rel = holdReleased
		}
		hr.AppliedAt, hr.ReleasedAt = fromNanos(at), ptrTime(rel)
		out = append(out, hr)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("%s: list hold recordings: %w", s.d.Name, err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].RecordingID
	}
	return out, next, nil
}

// RecordingSetOf names the set, and the audit entry recording it, that
// put a recording into a hold or an export.
func (s *Store) RecordingSetOf(ctx context.Context, p store.RecordingSetParams) (store.RecordingSet, error) {
	set, err := s.recordingSetOf(ctx, p)
	if err == vault.ErrNotFound {
		return set, err
	}
	if err != nil {
		return set, fmt.Errorf("%s: recording set: %w", s.d.Name, err)
	}
	return set, nil
}

func (s *Store) recordingSetOf(ctx context.Context, p store.RecordingSetParams) (store.RecordingSet, error) {
	var set store.RecordingSet
	if p.JobID != "" {
		set.JobID = p.JobID
		err := s.db.QueryRowContext(ctx, `SELECT export_audit_index FROM export_jobs WHERE id = $1`, p.JobID).Scan(&set.EntryIndex)
		if isNoRows(err) {
			return set, vault.ErrNotFound
		}
		if err != nil {
			return set, err
		}
		if p.RecordingID != "" {
			var one int
			err := s.db.QueryRowContext(ctx, `SELECT 1 FROM export_items WHERE job_id = $1 AND recording_id = $2`, p.JobID, p.RecordingID).Scan(&one)
			if isNoRows(err) {
				return set, vault.ErrNotFound
			}
			if err != nil {
				return set, err
			}
		}
		if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM export_items WHERE job_id = $1`, p.JobID).Scan(&set.Count); err != nil {
			return set, err
		}
		return set, nil
	}
	var own sql.NullInt64
	var holdIndex int64
	err := s.db.QueryRowContext(ctx, `SELECT hr.audit_index, h.audit_index FROM hold_recordings hr JOIN holds h ON h.id = hr.hold_id
		WHERE hr.hold_id = $1 AND hr.recording_id = $2`, p.HoldID, p.RecordingID).Scan(&own, &holdIndex)
	if isNoRows(err) {
		return set, vault.ErrNotFound
	}
	if err != nil {
		return set, err
	}
	if own.Valid {
		return store.RecordingSet{EntryIndex: own.Int64, Count: 1, Only: p.RecordingID}, nil
	}
	if holdIndex < 0 {
		return set, vault.ErrNotFound // placed before holds recorded set roots
	}
	set = store.RecordingSet{EntryIndex: holdIndex, HoldID: p.HoldID}
	err = s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM hold_recordings WHERE hold_id = $1 AND audit_index IS NULL`, p.HoldID).Scan(&set.Count)
	return set, err
}

// RecordingSetIDs streams a set's ids in bytewise order: a hold's from
// its primary key, an export's in item order (items are numbered in id
// order when the job is created).
func (s *Store) RecordingSetIDs(ctx context.Context, set store.RecordingSet) iter.Seq2[string, error] {
	switch {
	case set.Only != "":
		return func(yield func(string, error) bool) { yield(set.Only, nil) }
	case set.JobID != "":
		return streamIDs(ctx, s.db, `SELECT recording_id FROM export_items WHERE job_id = $1 ORDER BY seq`, set.JobID)
	default:
		return streamIDs(ctx, s.db, `SELECT recording_id FROM hold_recordings WHERE hold_id = $1 AND audit_index IS NULL ORDER BY recording_id`, set.HoldID)
	}
}

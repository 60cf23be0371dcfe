package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/holdfast/holdfast/internal/store"
)

// ScrubCursor returns the id after which the next scrub pass starts (""
// for the beginning).
func (s *Store) ScrubCursor(ctx context.Context) (string, error) {
	var c string
	if err := s.db.QueryRowContext(ctx, `SELECT cursor FROM scrub_state WHERE id = 1`).Scan(&c); err != nil {
		return "", fmt.Errorf("%s: scrub cursor: %w", s.d.Name, err)
	}
	return c, nil
}

// RecordScrub saves one pass's results in one transaction: the cursor, each
// new mismatch with a recording.scrub_mismatch audit entry, and the
// clearing of mismatches whose blobs match again.
func (s *Store) RecordScrub(ctx context.Context, p store.RecordScrubParams) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE scrub_state SET cursor = $1 WHERE id = 1`, p.Cursor); err != nil {
			return err
		}
		for _, m := range p.Mismatches {
			res, err := tx.ExecContext(ctx, `INSERT INTO scrub_mismatches (recording_id, expected, actual, found_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
				m.RecordingID, m.Expected, m.Actual, nanos(m.FoundAt))
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				continue // already reported
			}
			if _, err := s.appendAudit(ctx, tx, store.AuditEvent{Time: p.Now, Type: "recording.scrub_mismatch", Actor: "system", Subject: m.RecordingID,
				Data: map[string]string{"expected_sha256": m.Expected, "actual_sha256": m.Actual}}); err != nil {
				return err
			}
		}
		if len(p.Matched) > 0 {
			var a args
			if _, err := tx.ExecContext(ctx, `DELETE FROM scrub_mismatches WHERE recording_id IN `+a.in(p.Matched), a.v...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s: record scrub: %w", s.d.Name, err)
	}
	return nil
}

// ScrubMismatches lists the recordings whose blobs do not match, by id.
func (s *Store) ScrubMismatches(ctx context.Context) ([]store.ScrubMismatch, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT recording_id, expected, actual, found_at FROM scrub_mismatches ORDER BY recording_id`)
	if err != nil {
		return nil, fmt.Errorf("%s: scrub mismatches: %w", s.d.Name, err)
	}
	defer rows.Close()
	var out []store.ScrubMismatch
	for rows.Next() {
		var m store.ScrubMismatch
		var at int64
		if err := rows.Scan(&m.RecordingID, &m.Expected, &m.Actual, &at); err != nil {
			return nil, fmt.Errorf("%s: scrub mismatches: %w", s.d.Name, err)
		}
		m.FoundAt = fromNanos(at)
		out = append(out, m)
	}
	return out, rows.Err()
}

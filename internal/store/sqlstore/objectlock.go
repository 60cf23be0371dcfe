package sqlstore

import (
	"context"
	"fmt"

	"github.com/holdfast/holdfast/internal/store"
)

// heldExpr is true for a recording (aliased r) under any active hold.
const heldExpr = `EXISTS (SELECT 1 FROM hold_recordings hr JOIN holds h ON h.id = hr.hold_id
	WHERE hr.recording_id = r.id AND hr.released_at IS NULL AND h.released_at IS NULL)`

// pendingLocks selects versioned blobs whose S3 legal hold is not yet in
// line with their recording's holds.
const pendingLocks = `FROM recordings r WHERE r.blob_version <> '' AND (
	(r.object_lock_on = 0 AND ` + heldExpr + `) OR (r.object_lock_on = 1 AND NOT ` + heldExpr + `))`

// ObjectLocksPending returns up to limit recordings whose blob version's
// legal hold must change, with the state it must reach.
func (s *Store) ObjectLocksPending(ctx context.Context, limit int) ([]store.ObjectLock, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT r.id, r.sha256, r.blob_version, r.object_lock_on `+pendingLocks+` ORDER BY r.id LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("%s: pending object locks: %w", s.d.Name, err)
	}
	defer rows.Close()
	var out []store.ObjectLock
	for rows.Next() {
		var l store.ObjectLock
		var on int
		if err := rows.Scan(&l.RecordingID, &l.SHA256, &l.Version, &on); err != nil {
			return nil, fmt.Errorf("%s: pending object locks: %w", s.d.Name, err)
		}
		l.Hold = on == 0 // it is pending, so it must flip
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: pending object locks: %w", s.d.Name, err)
	}
	return out, nil
}

// CountObjectLocksPending counts the blobs ObjectLocksPending would list.
func (s *Store) CountObjectLocksPending(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) `+pendingLocks).Scan(&n); err != nil {
		return 0, fmt.Errorf("%s: count pending object locks: %w", s.d.Name, err)
	}
	return n, nil
}

// SetObjectLockState records the legal hold state just written to S3 for
// a recording's blob version.
func (s *Store) SetObjectLockState(ctx context.Context, p store.SetObjectLockStateParams) error {
	on := 0
	if p.On {
		on = 1
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE recordings SET object_lock_on = $1 WHERE id = $2 AND blob_version = $3`, on, p.RecordingID, p.Version); err != nil {
		return fmt.Errorf("%s: set object lock state: %w", s.d.Name, err)
	}
	return nil
}

package sqlstore

import (
	"context"
	"fmt"

	"github.com/holdfast/holdfast/internal/store"
)

// CountActive counts active holds and unfinished export jobs. Both tables
// grow with matters and jobs, never with recordings.
func (s *Store) CountActive(ctx context.Context) (store.ActiveCounts, error) {
	var c store.ActiveCounts
	err := s.db.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM holds WHERE released_at IS NULL),
		(SELECT COUNT(*) FROM export_jobs WHERE state IN ('queued', 'running', 'waiting_for_recordings'))`).Scan(&c.Holds, &c.Exports)
	if err != nil {
		return store.ActiveCounts{}, fmt.Errorf("%s: count active: %w", s.d.Name, err)
	}
	return c, nil
}

// Package objectlock brings S3 Object Lock legal holds into line with the
// database's legal holds: every blob version of a recording under an
// active hold carries an S3 legal hold (ON), so not even a holder of the
// bucket's credentials can delete it, and the last release turns it OFF.
//
// The database is the source of truth. It is for `holdfast serve` with an
// S3 blob store, which registers a [Syncer] as the worker of
// [jobs.KindSyncObjectLocks] (one sync at a time across replicas) and
// reports [Syncer.Pending] as the holdfast_object_lock_pending gauge and in
// /readyz.
package objectlock

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/holdfast/holdfast/internal/jobs"
	"github.com/holdfast/holdfast/internal/store"
)

// Store is what the sync needs of the metadata store.
type Store interface {
	// ObjectLocksPending lists blob versions whose legal hold must change.
	ObjectLocksPending(ctx context.Context, limit int) ([]store.ObjectLock, error)
	// CountObjectLocksPending counts them.
	CountObjectLocksPending(ctx context.Context) (int, error)
	// SetObjectLockState records the state just written to S3.
	SetObjectLockState(ctx context.Context, p store.SetObjectLockStateParams) error
}

// Locker sets the legal hold of one object version; setting the state it
// already has is not an error.
type Locker interface {
	SetLegalHold(ctx context.Context, sha256, version string, on bool) error
}

// Syncer is the [jobs.Worker] of [jobs.KindSyncObjectLocks]. It is safe
// for concurrent use, though the engine runs one sync at a time.
type Syncer struct {
	Store  Store
	Locker Locker
	Logger *slog.Logger
	// Batch is how many versions are read per query (default 200).
	Batch int
}

var _ jobs.Worker = (*Syncer)(nil)

// Work writes every pending legal hold to S3 and records it, until none
// is pending. Each step is idempotent, so a failed or repeated attempt
// only does the same again.
func (s *Syncer) Work(ctx context.Context, _ *jobs.Job) error {
	batch := s.Batch
	if batch <= 0 {
		batch = 200
	}
	for {
		pending, err := s.Store.ObjectLocksPending(ctx, batch)
		if err != nil {
			return fmt.Errorf("objectlock: %w", err)
		}
		if len(pending) == 0 {
			return nil
		}
		for _, l := range pending {
			if err := s.Locker.SetLegalHold(ctx, l.SHA256, l.Version, l.Hold); err != nil {
				return fmt.Errorf("objectlock: recording %s: %w", l.RecordingID, err)
			}
			if err := s.Store.SetObjectLockState(ctx, store.SetObjectLockStateParams{RecordingID: l.RecordingID, Version: l.Version, On: l.Hold}); err != nil {
				return fmt.Errorf("objectlock: %w", err)
			}
			if s.Logger != nil {
				s.Logger.Debug("object legal hold set", "recording", l.RecordingID, "version", l.Version, "on", l.Hold)
			}
		}
	}
}

// Pending counts blob versions whose legal hold is not yet in line.
func (s *Syncer) Pending(ctx context.Context) (int, error) {
	return s.Store.CountObjectLocksPending(ctx)
}

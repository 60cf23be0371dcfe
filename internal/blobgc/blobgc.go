// Package blobgc removes blobs that no recording refers to: content left
// by uploads that were rejected or interrupted, or by deletes that
// crashed between the database and the blob store.
//
// It never removes content a recording refers to, and so never removes
// the content of a recording under a legal hold: a held recording cannot
// be deleted (the store refuses), so its row, and its reference, stays.
package blobgc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/holdfast/holdfast/internal/blob"
	"github.com/holdfast/holdfast/internal/jobs"
)

// References answers whether any recording refers to a blob.
type References interface {
	BlobReferenced(ctx context.Context, sha256 string) (bool, error)
}

// Sweep deletes every blob older than minAge that nothing refers to, and
// returns how many it deleted. minAge protects uploads in flight: an
// upload stores its blob before it commits the recording that refers to
// it.
func Sweep(ctx context.Context, blobs blob.Store, refs References, now time.Time, minAge time.Duration) (int, error) {
	w, ok := blobs.(blob.Walker)
	if !ok {
		return 0, nil
	}
	var orphans []string
	err := w.Walk(ctx, func(sum string, stored time.Time) error {
		if now.Sub(stored) < minAge {
			return nil
		}
		used, err := refs.BlobReferenced(ctx, sum)
		if err != nil {
			return err
		}
		if !used {
			orphans = append(orphans, sum)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("blobgc: walk: %w", err)
	}
	removed := 0
	for _, sum := range orphans {
		// Check again right before deleting: an identical upload may have
		// been committed since the walk.
		used, err := refs.BlobReferenced(ctx, sum)
		if err != nil {
			return removed, fmt.Errorf("blobgc: %w", err)
		}
		if used {
			continue
		}
		err = blobs.Delete(ctx, sum)
		if errors.Is(err, blob.ErrLocked) {
			// A version is under an S3 legal hold: the store did not
			// try to delete it, and neither do we.
			continue
		}
		if err != nil {
			return removed, fmt.Errorf("blobgc: %w", err)
		}
		removed++
	}
	return removed, nil
}

// Worker is the [jobs.Worker] of [jobs.KindSweepBlobs]: one sweep per job,
// scheduled periodically by the engine, so one replica sweeps at a time.
type Worker struct {
	Blobs  blob.Store
	Refs   References
	Clock  interface{ Now() time.Time }
	MinAge time.Duration
	Logger *slog.Logger
}

// Work runs one sweep.
func (w *Worker) Work(ctx context.Context, _ *jobs.Job) error {
	n, err := Sweep(ctx, w.Blobs, w.Refs, w.Clock.Now(), w.MinAge)
	if err != nil {
		return err
	}
	if n > 0 && w.Logger != nil {
		w.Logger.Info("removed unreferenced blobs", "count", n)
	}
	return nil
}

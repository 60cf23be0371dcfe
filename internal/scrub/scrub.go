// Package scrub re-hashes stored blobs against the SHA-256 recorded when
// each recording was ingested, at a bounded rate, so bytes changed on disk
// or in S3 behind holdfast's back are found and reported by recording id:
// in the audit log (recording.scrub_mismatch), the holdfast_scrub_mismatches
// gauge and /readyz.
//
// It is for `holdfast serve`, which registers a [Worker] for
// [jobs.KindScrubBlobs] as a periodic job (one pass at a time across
// replicas). Each job continues where the previous one stopped and starts
// over after the last recording.
package scrub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"golang.org/x/time/rate"

	"github.com/holdfast/holdfast/internal/blob"
	"github.com/holdfast/holdfast/internal/jobs"
	"github.com/holdfast/holdfast/internal/store"
	"github.com/holdfast/holdfast/internal/vault"
)

// Store is what scrubbing needs of the metadata store.
type Store interface {
	// ListRecordings pages recordings in id order.
	ListRecordings(ctx context.Context, p store.ListRecordingsParams) ([]vault.Recording, string, error)
	// ScrubCursor returns where the next pass starts.
	ScrubCursor(ctx context.Context) (string, error)
	// RecordScrub saves a pass's results (and audits new mismatches).
	RecordScrub(ctx context.Context, p store.RecordScrubParams) error
	// ScrubMismatches lists the recordings whose blobs do not match.
	ScrubMismatches(ctx context.Context) ([]store.ScrubMismatch, error)
}

// Worker is the [jobs.Worker] of [jobs.KindScrubBlobs].
type Worker struct {
	Store Store
	Blobs blob.Store
	Clock vault.Clock
	// Rate bounds the bytes re-hashed per second (required, > 0).
	Rate int64
	// PassBytes bounds the bytes one job re-hashes (default Rate × 10 s),
	// so a job ends and the next one continues.
	PassBytes int64
	Logger    *slog.Logger
}

var _ jobs.Worker = (*Worker)(nil)

// Work re-hashes the next recordings' blobs, up to PassBytes.
func (w *Worker) Work(ctx context.Context, _ *jobs.Job) error {
	budget := w.PassBytes
	if budget <= 0 {
		budget = w.Rate * 10
	}
	cursor, err := w.Store.ScrubCursor(ctx)
	if err != nil {
		return fmt.Errorf("scrub: %w", err)
	}
	lim := rate.NewLimiter(rate.Limit(w.Rate), int(min(w.Rate, 1<<20)))
	res := store.RecordScrubParams{Cursor: cursor}
	var done int64
	for done < budget {
		page, next, err := w.Store.ListRecordings(ctx, store.ListRecordingsParams{Limit: 50, Cursor: res.Cursor})
		if err != nil {
			return fmt.Errorf("scrub: %w", err)
		}
		if len(page) == 0 {
			res.Cursor = "" // past the last recording: start over next time
			break
		}
		for _, r := range page {
			if done >= budget {
				break
			}
			actual, n, err := w.hash(ctx, lim, r.Content.SHA256)
			if err != nil {
				return err
			}
			done += n
			res.Cursor = r.ID
			if actual == r.Content.SHA256 {
				res.Matched = append(res.Matched, r.ID)
				continue
			}
			res.Mismatches = append(res.Mismatches, store.ScrubMismatch{RecordingID: r.ID, Expected: r.Content.SHA256, Actual: actual, FoundAt: w.Clock.Now()})
			if w.Logger != nil {
				w.Logger.Error("STORED BLOB DOES NOT MATCH ITS INGEST SHA-256", "recording", r.ID, "expected", r.Content.SHA256, "actual", actual)
			}
		}
		if next == "" && res.Cursor == page[len(page)-1].ID {
			res.Cursor = ""
			break
		}
	}
	res.Now = w.Clock.Now()
	if err := w.Store.RecordScrub(ctx, res); err != nil {
		return fmt.Errorf("scrub: %w", err)
	}
	return nil
}

// hash streams a blob through SHA-256 at the limiter's rate; a missing
// blob hashes to "".
func (w *Worker) hash(ctx context.Context, lim *rate.Limiter, sum string) (string, int64, error) {
	o, err := w.Blobs.Open(ctx, sum)
	if errors.Is(err, blob.ErrNotFound) {
		return "", 0, nil
	}
	if err != nil {
		return "", 0, fmt.Errorf("scrub: open %s: %w", sum, err)
	}
	defer o.Close()
	h := sha256.New()
	buf := make([]byte, 64<<10)
	var n int64
	for {
		k, rerr := o.Read(buf)
		if k > 0 {
			if err := lim.WaitN(ctx, min(k, lim.Burst())); err != nil {
				return "", n, err
			}
			h.Write(buf[:k])
			n += int64(k)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return "", n, fmt.Errorf("scrub: read %s: %w", sum, rerr)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// Status is the /readyz check: an error naming every recording whose blob
// does not match.
func Status(ctx context.Context, st Store) (string, error) {
	ms, err := st.ScrubMismatches(ctx)
	if err != nil {
		return "", err
	}
	if len(ms) == 0 {
		return "ok", nil
	}
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.RecordingID
	}
	return "", fmt.Errorf("%d stored blob(s) no longer match their ingest SHA-256: recordings %v", len(ms), ids)
}

// Every is how often a scrub job starts.
const Every = 10 * time.Second

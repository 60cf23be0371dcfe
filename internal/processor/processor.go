// Package processor takes uploaded recordings from processing to
// completed or failed by probing their media.
//
// It is for `holdfast serve`, which registers a [Worker] with the job
// engine for [jobs.KindProcessRecording]. The ingest transaction enqueues
// that job with the recording, so a recording is never left in processing
// without one: if the replica working it dies, another replica's engine
// rescues the job when its lease expires.
package processor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/holdfast/holdfast/internal/blob"
	"github.com/holdfast/holdfast/internal/jobs"
	"github.com/holdfast/holdfast/internal/media"
	"github.com/holdfast/holdfast/internal/store"
	"github.com/holdfast/holdfast/internal/vault"
)

// Store is what processing needs of the metadata store.
type Store interface {
	// GetRecording returns a recording, or vault.ErrNotFound.
	GetRecording(ctx context.Context, id string) (vault.Recording, error)
	// FinishProcessing records the probe result (a no-op if the recording
	// already left processing); with a fence it commits only while the
	// job's lease is its own.
	FinishProcessing(ctx context.Context, p store.FinishProcessingParams) (vault.Recording, error)
}

// Counter counts jobs of a kind in a state, for the queue-depth metric.
type Counter interface {
	JobCount(ctx context.Context, kind string, state jobs.State) (int, error)
}

// Config wires a Worker.
type Config struct {
	Store  Store
	Blobs  blob.Store
	Clock  vault.Clock
	Logger *slog.Logger
	// Delay keeps each recording in processing for at least this long
	// after ingest (fault injection's processing_delay).
	Delay time.Duration
	// Jobs counts pending processing jobs for QueueDepth; Notify wakes the
	// engine after an ingest. Both optional.
	Jobs   Counter
	Notify func()
	// OnFinish, if set, is called after each recording is finished (for
	// metrics and tests).
	OnFinish func(vault.Recording)
}

// Worker probes recordings; it is the [jobs.Worker] of
// [jobs.KindProcessRecording]. It is safe for concurrent use.
type Worker struct{ cfg Config }

var _ jobs.Worker = (*Worker)(nil)

// New returns a Worker.
func New(cfg Config) *Worker {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Worker{cfg: cfg}
}

// Enqueue is called by the API after an ingest committed (with its job):
// it only wakes the engine, so this replica starts on it at once.
func (w *Worker) Enqueue(id string, ingestedAt time.Time) {
	if w.cfg.Notify != nil {
		w.cfg.Notify()
	}
}

// QueueDepth is the number of recordings waiting to be probed or being
// probed, on every replica.
func (w *Worker) QueueDepth() int64 {
	if w.cfg.Jobs == nil {
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var n int
	for _, st := range []jobs.State{jobs.StateAvailable, jobs.StateRunning} {
		c, err := w.cfg.Jobs.JobCount(ctx, jobs.KindProcessRecording, st)
		if err != nil {
			return -1
		}
		n += c
	}
	return int64(n)
}

// Work probes the job's recording and records the result under the job's
// fence. Media problems make the recording failed; store and blob-store
// errors fail the attempt, so the engine retries it.
func (w *Worker) Work(ctx context.Context, job *jobs.Job) error {
	var args jobs.ProcessRecordingArgs
	if err := json.Unmarshal(job.Args, &args); err != nil || args.RecordingID == "" {
		return jobs.Discard(fmt.Sprintf("processor: args %s name no recording", job.Args))
	}
	r, err := w.cfg.Store.GetRecording(ctx, args.RecordingID)
	if errors.Is(err, vault.ErrNotFound) {
		return nil // deleted meanwhile
	}
	if err != nil {
		return fmt.Errorf("processor: %w", err)
	}
	if r.Status != vault.StatusProcessing {
		return nil
	}
	if wait := r.IngestedAt.Add(w.cfg.Delay).Sub(w.cfg.Clock.Now()); w.cfg.Delay > 0 && wait > 0 {
		return jobs.Snooze(wait)
	}
	res, err := w.probe(ctx, r)
	if err != nil {
		return err
	}
	fence := job.Fence()
	done, err := w.cfg.Store.FinishProcessing(ctx, store.FinishProcessingParams{ID: r.ID, Result: res, Now: w.cfg.Clock.Now(), Fence: &fence})
	if errors.Is(err, vault.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("processor: %w", err)
	}
	w.cfg.Logger.Debug("recording processed", "recording", r.ID, "status", done.Status)
	if w.cfg.OnFinish != nil {
		w.cfg.OnFinish(done)
	}
	return nil
}

func (w *Worker) probe(ctx context.Context, r vault.Recording) (vault.ProbeResult, error) {
	obj, err := w.cfg.Blobs.Open(ctx, r.Content.SHA256)
	if errors.Is(err, blob.ErrNotFound) {
		return vault.ProbeResult{FailureReason: "media content is missing from the blob store"}, nil
	}
	if err != nil {
		return vault.ProbeResult{}, fmt.Errorf("processor: open media: %w", err)
	}
	defer obj.Close()
	info, err := media.Probe(obj, obj.Size())
	if err != nil {
		return vault.ProbeResult{FailureReason: "media could not be probed: " + err.Error()}, nil
	}
	return vault.ProbeResult{OK: true, MediaFormat: info.Format, Codec: info.Codec, SampleRate: info.SampleRate, Channels: info.Channels, DurationMS: info.DurationMS}, nil
}

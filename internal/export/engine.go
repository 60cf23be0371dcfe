// Package export runs bulk export jobs: it copies each recording of a job
// into a BagIt bag while hashing it, records every finished item in the
// store so a crash resumes where it stopped, and seals the bag with
// manifests, a custody report with audit proofs, and an Ed25519 signature.
//
// It is for `holdfast serve`, which runs one Engine in the background.
package export

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/holdfast/holdfast/internal/auditlog"
	"github.com/holdfast/holdfast/internal/blob"
	"github.com/holdfast/holdfast/internal/store"
	"github.com/holdfast/holdfast/internal/vault"
)

// Config wires an Engine.
type Config struct {
	Store  store.Store
	Blobs  blob.Store
	Audit  *auditlog.Log
	Dest   Destination
	Clock  vault.Clock
	Logger *slog.Logger
	// S3, if set, writes bags whose destination is s3 (after they are
	// sealed in Dest, which still serves their download).
	S3 S3Uploader
	// Owner names this engine in job leases.
	Owner string
	// Workers is how many jobs run at once (default 1).
	Workers int
	// ItemWorkers is how many recordings of a job are copied at once
	// (default: the number of CPUs).
	ItemWorkers int
	// Yield, if set, is called between chunks of copied data; it blocks
	// briefly while API requests are in flight, so exports run at lower
	// priority than the API.
	Yield func(ctx context.Context)
	// Poll is how often idle workers look for jobs and waiting jobs look
	// at their recordings again (default 500ms).
	Poll time.Duration
}

// Engine runs export jobs. It is safe for concurrent use.
type Engine struct {
	cfg  Config
	wake chan struct{}
}

const leaseFor = 15 * time.Second

// maxAttempts is how often a job is tried after errors that may be
// transient (database, blob store, disk) before it is marked failed.
const maxAttempts = 5

// errCancelled ends a job whose cancellation was requested.
var errCancelled = errors.New("export: job cancelled")

// errLeaseLost ends a job another engine took over.
var errLeaseLost = errors.New("export: lease lost")

// New returns an Engine.
func New(cfg Config) *Engine {
	if cfg.Workers <= 0 {
		cfg.Workers = 1
	}
	if cfg.ItemWorkers <= 0 {
		cfg.ItemWorkers = runtime.NumCPU()
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 500 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Yield == nil {
		cfg.Yield = func(context.Context) {}
	}
	return &Engine{cfg: cfg, wake: make(chan struct{}, 1)}
}

// Notify wakes an idle worker, for example after a job was created.
func (e *Engine) Notify() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Run works jobs until ctx ends.
func (e *Engine) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for range e.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.worker(ctx)
		}()
	}
	wg.Wait()
}

func (e *Engine) worker(ctx context.Context) {
	for ctx.Err() == nil {
		w, ok, err := e.cfg.Store.ClaimExportJob(ctx, e.cfg.Owner, e.cfg.Clock.Now(), leaseFor)
		if err != nil && ctx.Err() == nil {
			e.cfg.Logger.Error("claiming an export job failed", "err", err)
		}
		if !ok || err != nil {
			select {
			case <-ctx.Done():
				return
			case <-e.wake:
			case <-time.After(e.cfg.Poll):
			}
			continue
		}
		e.Notify() // another worker may find another job
		e.runJob(ctx, w)
	}
}

// runJob runs one claimed job to its end, or until ctx ends (then the
// lease lapses and the job resumes later).
func (e *Engine) runJob(ctx context.Context, w store.ExportWork) {
	log := e.cfg.Logger.With("job", w.Job.ID)
	jctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go e.heartbeat(jctx, cancel, w.Job.ID)
	if w.CancelRequested {
		cancel(errCancelled)
	}
	var err error
	for attempt := 1; ; attempt++ {
		err = e.execute(jctx, w, log)
		if err == nil || jctx.Err() != nil || errors.Is(err, vault.ErrNotFound) || errors.Is(err, errCancelled) || attempt >= maxAttempts {
			break
		}
		// A database blip or a full disk may pass: wait, then resume from
		// the items already committed, keeping the lease meanwhile.
		wait := time.Duration(attempt*attempt) * time.Second
		log.Warn("export step failed; retrying", "attempt", attempt, "wait", wait, "err", err)
		select {
		case <-jctx.Done():
		case <-time.After(wait):
		}
	}
	cause := context.Cause(jctx)
	switch {
	case err == nil:
		return
	case errors.Is(cause, errCancelled) || errors.Is(err, errCancelled):
		if _, err := e.cfg.Store.CompleteExportJob(context.WithoutCancel(ctx), store.CompleteExportJobParams{JobID: w.Job.ID, Owner: e.cfg.Owner,
			State: vault.ExportCancelled, Actor: "system", Now: e.cfg.Clock.Now()}); err != nil {
			log.Error("recording cancellation failed", "err", err)
		}
		log.Info("export cancelled")
	case ctx.Err() != nil, errors.Is(cause, errLeaseLost), errors.Is(err, vault.ErrNotFound):
		log.Info("export interrupted; it will resume", "err", err)
	default:
		log.Error("export failed", "err", err)
		if _, cerr := e.cfg.Store.CompleteExportJob(context.WithoutCancel(ctx), store.CompleteExportJobParams{JobID: w.Job.ID, Owner: e.cfg.Owner,
			State: vault.ExportFailed, Error: err.Error(), Actor: "system", Now: e.cfg.Clock.Now()}); cerr != nil {
			log.Error("recording the failure failed", "err", cerr)
		}
	}
}

// heartbeat renews the lease and watches for cancellation.
func (e *Engine) heartbeat(ctx context.Context, cancel context.CancelCauseFunc, id string) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cancelled, err := e.cfg.Store.RenewExportLease(ctx, id, e.cfg.Owner, e.cfg.Clock.Now().Add(leaseFor))
		if errors.Is(err, vault.ErrNotFound) {
			cancel(errLeaseLost)
			return
		}
		if err == nil && cancelled {
			cancel(errCancelled)
			return
		}
	}
}

// execute exports every pending item, waiting for recordings still
// processing, then seals the bag.
func (e *Engine) execute(ctx context.Context, w store.ExportWork, log *slog.Logger) error {
	if err := e.cfg.Store.SetExportState(ctx, w.Job.ID, e.cfg.Owner, vault.ExportRunning, e.cfg.Clock.Now()); err != nil {
		return err
	}
	dir, err := e.cfg.Dest.Stage(ctx, w.BagName)
	if err != nil {
		return err
	}
	if err := e.restore(ctx, w, dir); err != nil {
		return err
	}
	deadline := w.Job.CreatedAt.Add(w.WaitForProcessing)
	state := vault.ExportRunning
	for {
		waiting, err := e.pass(ctx, w, dir, deadline)
		if err != nil {
			return err
		}
		if waiting == 0 {
			break
		}
		if state != vault.ExportWaiting {
			state = vault.ExportWaiting
			if err := e.cfg.Store.SetExportState(ctx, w.Job.ID, e.cfg.Owner, state, e.cfg.Clock.Now()); err != nil {
				return err
			}
			log.Info("waiting for recordings still processing", "count", waiting, "until", deadline)
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(e.cfg.Poll):
		}
	}
	if state != vault.ExportRunning {
		if err := e.cfg.Store.SetExportState(ctx, w.Job.ID, e.cfg.Owner, vault.ExportRunning, e.cfg.Clock.Now()); err != nil {
			return err
		}
	}
	return e.seal(ctx, w, dir, log)
}

// restore exports again every item committed as exported whose files are
// not in this replica's staging directory: another replica worked the job
// and died, and its files went with it. The copy comes from the shared
// blob store (the same bytes, checked against the ingest SHA-256), and the
// item's row is rewritten with what was written here.
func (e *Engine) restore(ctx context.Context, w store.ExportWork, dir string) error {
	after := -1
	for {
		items, err := e.cfg.Store.ExportItems(ctx, w.Job.ID, after, 200)
		if err != nil {
			return err
		}
		if len(items) == 0 {
			return nil
		}
		for _, it := range items {
			after = it.Seq
			if it.State != store.ItemExported || (fileExists(dir, it.Path) && fileExists(dir, it.MetaPath)) {
				continue
			}
			if _, err := e.exportItem(ctx, w, dir, it, time.Time{}); err != nil {
				return err
			}
		}
	}
}

func fileExists(dir, rel string) bool {
	_, err := os.Stat(filepath.Join(dir, filepath.FromSlash(rel)))
	return err == nil
}

// pass goes once over the pending items and returns how many are still
// waiting for processing. Up to Config.ItemWorkers items are copied at
// once: each is read, hashed and written on its own, so a job uses every
// core rather than one core's SHA-512.
func (e *Engine) pass(ctx context.Context, w store.ExportWork, dir string, deadline time.Time) (int, error) {
	var waiting atomic.Int64
	after := -1
	for {
		items, err := e.cfg.Store.ExportItems(ctx, w.Job.ID, after, 200)
		if err != nil {
			return 0, err
		}
		if len(items) == 0 {
			return int(waiting.Load()), nil
		}
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(e.cfg.ItemWorkers)
		for _, it := range items {
			after = it.Seq
			if it.State != store.ItemPending {
				continue
			}
			g.Go(func() error {
				if err := context.Cause(gctx); err != nil {
					return err
				}
				done, err := e.exportItem(gctx, w, dir, it, deadline)
				if err == nil && !done {
					waiting.Add(1)
				}
				return err
			})
		}
		if err := g.Wait(); err != nil {
			if cause := context.Cause(ctx); cause != nil {
				return 0, cause
			}
			return 0, err
		}
	}
}

// yieldReader calls yield before each read, so a long copy gives way to
// API requests.
type yieldReader struct {
	ctx   context.Context
	r     io.Reader
	yield func(context.Context)
}

func (y yieldReader) Read(p []byte) (int, error) {
	y.yield(y.ctx)
	return y.r.Read(p)
}

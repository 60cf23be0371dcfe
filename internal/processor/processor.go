// Package processor takes uploaded recordings from processing to
// completed or failed by probing their media in the background.
//
// It is for `holdfast serve`, which starts one Processor and hands it every
// new recording; on start it also picks up recordings a previous process
// left in processing, so a crash never strands one.
package processor

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/holdfast/holdfast/internal/blob"
	"github.com/holdfast/holdfast/internal/media"
	"github.com/holdfast/holdfast/internal/store"
	"github.com/holdfast/holdfast/internal/vault"
)

// Config wires a Processor.
type Config struct {
	Store   store.Store
	Blobs   blob.Store
	Clock   vault.Clock
	Logger  *slog.Logger
	Workers int // default 2
	// Delay keeps each recording in processing for at least this long
	// after ingest (fault injection's processing_delay).
	Delay time.Duration
	// OnFinish, if set, is called after each recording is finished (for
	// metrics and tests).
	OnFinish func(vault.Recording)
}

// Processor probes recordings. It is safe for concurrent use; Enqueue may
// be called before or while Run runs.
type Processor struct {
	cfg    Config
	mu     sync.Mutex
	queue  []string
	queued map[string]bool
	wake   chan struct{}
	depth  atomic.Int64
}

// New returns a Processor; call Run to start it.
func New(cfg Config) *Processor {
	if cfg.Workers <= 0 {
		cfg.Workers = 2
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Processor{cfg: cfg, queued: map[string]bool{}, wake: make(chan struct{}, 1)}
}

// QueueDepth is the number of recordings waiting to be probed, including
// those held back by a processing delay.
func (p *Processor) QueueDepth() int64 { return p.depth.Load() }

// Enqueue schedules a recording ingested at ingestedAt. With a processing
// delay it becomes due at ingestedAt+delay.
func (p *Processor) Enqueue(id string, ingestedAt time.Time) {
	p.mu.Lock()
	if p.queued[id] {
		p.mu.Unlock()
		return
	}
	p.queued[id] = true
	p.mu.Unlock()
	p.depth.Add(1)
	wait := ingestedAt.Add(p.cfg.Delay).Sub(p.cfg.Clock.Now())
	if p.cfg.Delay > 0 && wait > 0 {
		time.AfterFunc(wait, func() { p.push(id) })
		return
	}
	p.push(id)
}

func (p *Processor) push(id string) {
	p.mu.Lock()
	p.queue = append(p.queue, id)
	p.mu.Unlock()
	p.signal()
}

// signal wakes one idle worker, if none is already due to wake.
func (p *Processor) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// pop takes the next queued id and reports whether more are waiting.
func (p *Processor) pop() (id string, ok, more bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.queue) == 0 {
		return "", false, false
	}
	id = p.queue[0]
	p.queue = p.queue[1:]
	return id, true, len(p.queue) > 0
}

// Run recovers recordings left in processing, then probes queued
// recordings until ctx is done.
func (p *Processor) Run(ctx context.Context) error {
	var ids []string
	for wait := time.Second; ; wait = min(2*wait, time.Minute) {
		var err error
		if ids, err = p.cfg.Store.ProcessingIDs(ctx); err == nil {
			break
		}
		p.cfg.Logger.Error("cannot list recordings left in processing; retrying", "err", err, "wait", wait)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
	for _, id := range ids {
		r, err := p.cfg.Store.GetRecording(ctx, id)
		if err != nil {
			continue
		}
		p.Enqueue(id, r.IngestedAt)
	}
	if len(ids) > 0 {
		p.cfg.Logger.Info("resuming recordings left in processing", "count", len(ids))
	}
	var wg sync.WaitGroup
	for range p.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.work(ctx)
		}()
	}
	wg.Wait()
	return nil
}

func (p *Processor) work(ctx context.Context) {
	for {
		id, ok, more := p.pop()
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-p.wake:
				continue
			}
		}
		if more {
			p.signal() // let another idle worker take the next one
		}
		if err := p.process(ctx, id); err != nil && ctx.Err() == nil {
			p.cfg.Logger.Error("processing failed; will retry", "recording", id, "err", err)
			time.AfterFunc(5*time.Second, func() { p.push(id) })
			continue
		}
		p.mu.Lock()
		delete(p.queued, id)
		p.mu.Unlock()
		p.depth.Add(-1)
	}
}

// process probes one recording and records the result. Media problems make
// the recording failed; store and blob-store errors are returned so the
// recording is tried again.
func (p *Processor) process(ctx context.Context, id string) error {
	r, err := p.cfg.Store.GetRecording(ctx, id)
	if errors.Is(err, vault.ErrNotFound) {
		return nil // deleted meanwhile
	}
	if err != nil {
		return err
	}
	if r.Status != vault.StatusProcessing {
		return nil
	}
	res, err := p.probe(ctx, r)
	if err != nil {
		return err
	}
	done, err := p.cfg.Store.FinishProcessing(ctx, store.FinishProcessingParams{ID: id, Result: res, Now: p.cfg.Clock.Now()})
	if errors.Is(err, vault.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	p.cfg.Logger.Debug("recording processed", "recording", id, "status", done.Status)
	if p.cfg.OnFinish != nil {
		p.cfg.OnFinish(done)
	}
	return nil
}

func (p *Processor) probe(ctx context.Context, r vault.Recording) (vault.ProbeResult, error) {
	obj, err := p.cfg.Blobs.Open(ctx, r.Content.SHA256)
	if errors.Is(err, blob.ErrNotFound) {
		return vault.ProbeResult{FailureReason: "media content is missing from the blob store"}, nil
	}
	if err != nil {
		return vault.ProbeResult{}, err
	}
	defer obj.Close()
	info, err := media.Probe(obj, obj.Size())
	if err != nil {
		return vault.ProbeResult{FailureReason: "media could not be probed: " + err.Error()}, nil
	}
	return vault.ProbeResult{OK: true, MediaFormat: info.Format, Codec: info.Codec, SampleRate: info.SampleRate, Channels: info.Channels, DurationMS: info.DurationMS}, nil
}

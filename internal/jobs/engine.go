package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sort"
	"sync"
	"time"
)

// Clock tells the time; the engine reads every timestamp it writes from it,
// so tests can move time by hand.
type Clock interface{ Now() time.Time }

// Config wires an [Engine].
type Config struct {
	Driver Driver
	// Owner names this engine in leases; unique per process.
	Owner  string
	Clock  Clock
	Logger *slog.Logger
	// Lease is how long a claim lasts without a heartbeat (default 15s);
	// heartbeats renew it every Lease/3. A replica that dies loses its
	// jobs to the others within Lease plus RescueEvery.
	Lease time.Duration
	// Poll is how often the engine looks for due jobs when nobody called
	// Notify (default 1s); other replicas' inserts are seen this way.
	Poll time.Duration
	// RescueEvery is how often the rescuer runs (default Lease/2).
	RescueEvery time.Duration
	// KeepCompleted is how long completed jobs stay in the table (default
	// 24h); the rescuer deletes older ones. Discarded jobs are kept.
	KeepCompleted time.Duration
	// Backoff returns the delay before retrying a failed attempt (default
	// 2^attempt seconds, at most 5 minutes).
	Backoff func(attempt int) time.Duration
	// OnDone, if set, is told how each attempt ended ("completed",
	// "snoozed", "retry", "discarded", "lease_lost"), for metrics.
	OnDone func(kind, outcome string)
}

// Engine claims and runs jobs of the kinds registered with it. Register
// every kind before Run; Notify and Insert are safe for concurrent use.
type Engine struct {
	cfg      Config
	mu       sync.Mutex
	kinds    map[string]*kind
	periodic map[string]time.Duration
	slots    map[string]time.Time // the last interval scheduled, per kind
	wake     chan struct{}
	running  sync.WaitGroup
}

type kind struct {
	worker      Worker
	concurrency int
	busy        int
}

// New returns an engine; call Register for each kind, then Run.
func New(cfg Config) *Engine {
	if cfg.Clock == nil {
		cfg.Clock = systemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 15 * time.Second
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.RescueEvery <= 0 {
		cfg.RescueEvery = cfg.Lease / 2
	}
	if cfg.KeepCompleted <= 0 {
		cfg.KeepCompleted = 24 * time.Hour
	}
	if cfg.Backoff == nil {
		cfg.Backoff = DefaultBackoff
	}
	return &Engine{cfg: cfg, kinds: map[string]*kind{}, periodic: map[string]time.Duration{}, slots: map[string]time.Time{}, wake: make(chan struct{}, 1)}
}

// DefaultBackoff waits 2^attempt seconds, at most five minutes.
func DefaultBackoff(attempt int) time.Duration {
	if attempt > 8 {
		return 5 * time.Minute
	}
	return min(time.Duration(1<<attempt)*time.Second, 5*time.Minute)
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now().UTC() }

// Register makes the engine claim jobs of kind k and run them with w, at
// most concurrency at a time (at least one).
func (e *Engine) Register(k string, w Worker, concurrency int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.kinds[k] = &kind{worker: w, concurrency: max(concurrency, 1)}
}

// Every makes the engine insert a job of kind k once per interval. The
// job of each interval has an id derived from the kind and the interval's
// start, so however many replicas run, each interval gets at most one job;
// and while one is pending or running, the next interval's is skipped, so
// two never run at once.
func (e *Engine) Every(k string, interval time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.periodic[k] = interval
}

// schedule inserts the current interval's job of every periodic kind.
func (e *Engine) schedule(ctx context.Context) {
	e.mu.Lock()
	due := make(map[string]time.Duration, len(e.periodic))
	for k, iv := range e.periodic {
		due[k] = iv
	}
	e.mu.Unlock()
	now := e.cfg.Clock.Now()
	for k, iv := range due {
		slot := now.Truncate(iv)
		e.mu.Lock()
		seen := e.slots[k].Equal(slot)
		e.mu.Unlock()
		if seen {
			continue
		}
		_, err := e.cfg.Driver.JobInsert(ctx, &InsertParams{ID: fmt.Sprintf("job_%s_%d", k, slot.UnixNano()), Kind: k, MaxAttempts: 3, RunAt: slot, UniqueKey: k, Now: now})
		if err != nil {
			if ctx.Err() == nil {
				e.cfg.Logger.Warn("scheduling a periodic job failed", "kind", k, "err", err)
			}
			continue
		}
		e.mu.Lock()
		e.slots[k] = slot
		e.mu.Unlock()
	}
}

// Notify makes the engine look for due jobs now rather than at its next
// poll; call it after inserting a job that this process should see soon.
func (e *Engine) Notify() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Insert inserts a job in a transaction of its own and wakes the engine.
func (e *Engine) Insert(ctx context.Context, p *InsertParams) (bool, error) {
	if p.Now.IsZero() {
		p.Now = e.cfg.Clock.Now()
	}
	ok, err := e.cfg.Driver.JobInsert(ctx, p)
	if err != nil {
		return false, fmt.Errorf("jobs: insert %s: %w", p.Kind, err)
	}
	e.Notify()
	return ok, nil
}

// Run claims and works jobs until ctx ends, then waits for running
// attempts to stop. Attempts stopped by shutdown are given back to the
// queue at once, so another replica can take them over.
func (e *Engine) Run(ctx context.Context) error {
	rescue := time.NewTicker(e.cfg.RescueEvery)
	defer rescue.Stop()
	poll := time.NewTicker(e.cfg.Poll)
	defer poll.Stop()
	e.rescue(ctx)
	for {
		e.schedule(ctx)
		e.claim(ctx)
		select {
		case <-ctx.Done():
			e.running.Wait()
			return nil
		case <-rescue.C:
			e.rescue(ctx)
		case <-poll.C:
		case <-e.wake:
		}
	}
}

// rescue runs the rescuer once.
func (e *Engine) rescue(ctx context.Context) {
	res, err := e.cfg.Driver.JobRescue(ctx, &RescueParams{Now: e.cfg.Clock.Now(), KeepCompleted: e.cfg.KeepCompleted})
	switch {
	case err != nil:
		if ctx.Err() == nil {
			e.cfg.Logger.Warn("job rescuer failed", "err", err)
		}
	case res.Retried+res.Discarded > 0:
		e.cfg.Logger.Info("rescued jobs with expired leases", "retried", res.Retried, "discarded", res.Discarded)
	}
}

// claim claims as many due jobs of each kind as it has free slots for.
func (e *Engine) claim(ctx context.Context) {
	e.mu.Lock()
	names := make([]string, 0, len(e.kinds))
	for name := range e.kinds {
		names = append(names, name)
	}
	e.mu.Unlock()
	sort.Strings(names)
	for _, name := range names {
		if ctx.Err() != nil {
			return
		}
		e.mu.Lock()
		k := e.kinds[name]
		free := k.concurrency - k.busy
		e.mu.Unlock()
		if free <= 0 {
			continue
		}
		got, err := e.cfg.Driver.JobClaim(ctx, &ClaimParams{Kinds: []string{name}, Owner: e.cfg.Owner, Now: e.cfg.Clock.Now(), Lease: e.cfg.Lease, Limit: free})
		if err != nil {
			if ctx.Err() == nil {
				e.cfg.Logger.Warn("job claim failed", "kind", name, "err", err)
			}
			continue
		}
		for i := range got {
			e.mu.Lock()
			k.busy++
			e.mu.Unlock()
			e.running.Add(1)
			go e.work(ctx, k, &got[i])
		}
	}
}

// work runs one attempt with heartbeats and records how it ended.
func (e *Engine) work(ctx context.Context, k *kind, job *Job) {
	defer e.running.Done()
	defer func() {
		e.mu.Lock()
		k.busy--
		e.mu.Unlock()
		e.Notify()
	}()
	jctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	hbDone := make(chan struct{})
	go func() {
		defer close(hbDone)
		e.heartbeat(jctx, job, cancel)
	}()
	err := safeWork(jctx, k.worker, job)
	cancel(nil)
	<-hbDone
	log := e.cfg.Logger.With("job", job.ID, "kind", job.Kind, "attempt", job.Attempt)
	// Record the outcome even while shutting down.
	octx := context.WithoutCancel(ctx)
	now := e.cfg.Clock.Now()
	fence := job.Fence()
	var outcome string
	var snooze *SnoozeError
	var discard *DiscardError
	switch {
	case errors.Is(err, ErrLeaseLost) || errors.Is(context.Cause(jctx), ErrLeaseLost):
		outcome = "lease_lost"
		log.Warn("job lease lost; its result was not committed")
	case err == nil:
		outcome = "completed"
		err = e.cfg.Driver.JobComplete(octx, &CompleteParams{Fence: fence, Now: now})
	case errors.As(err, &snooze):
		outcome = "snoozed"
		err = e.cfg.Driver.JobSnooze(octx, &SnoozeParams{Fence: fence, RunAt: now.Add(snooze.Delay)})
	case ctx.Err() != nil:
		// Stopped by shutdown: give the job back at once, uncounted.
		outcome = "snoozed"
		err = e.cfg.Driver.JobSnooze(octx, &SnoozeParams{Fence: fence, RunAt: now})
	case errors.As(err, &discard):
		outcome = "discarded"
		log.Warn("job discarded", "reason", discard.Reason)
		_, err = e.cfg.Driver.JobFail(octx, &FailParams{Fence: fence, Error: discard.Reason, Discard: true, Now: now})
	default:
		log.Warn("job attempt failed", "err", err)
		var st State
		st, err = e.cfg.Driver.JobFail(octx, &FailParams{Fence: fence, Error: err.Error(), RetryAt: now.Add(e.cfg.Backoff(job.Attempt)), Now: now})
		outcome = "retry"
		if st == StateDiscarded {
			outcome = "discarded"
			log.Error("job discarded after its last attempt", "max_attempts", job.MaxAttempts)
		}
	}
	if errors.Is(err, ErrLeaseLost) {
		outcome = "lease_lost"
		log.Warn("job lease lost before its outcome was recorded")
	} else if err != nil {
		log.Warn("recording job outcome failed", "err", err)
	}
	if e.cfg.OnDone != nil {
		e.cfg.OnDone(job.Kind, outcome)
	}
}

// heartbeat renews the lease every Lease/3 until ctx ends; when the lease
// is lost it cancels the attempt with ErrLeaseLost.
func (e *Engine) heartbeat(ctx context.Context, job *Job, cancel context.CancelCauseFunc) {
	t := time.NewTicker(e.cfg.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := e.cfg.Driver.JobHeartbeat(ctx, &HeartbeatParams{Fence: job.Fence(), Until: e.cfg.Clock.Now().Add(e.cfg.Lease)})
		if errors.Is(err, ErrLeaseLost) {
			cancel(ErrLeaseLost)
			return
		}
		if err != nil && ctx.Err() == nil {
			e.cfg.Logger.Warn("job heartbeat failed", "job", job.ID, "err", err)
		}
	}
}

// safeWork turns a worker's panic into a failed attempt.
func safeWork(ctx context.Context, w Worker, job *Job) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("jobs: worker panicked: %v\n%s", r, debug.Stack())
		}
	}()
	return w.Work(ctx, job)
}

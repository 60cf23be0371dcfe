package jobstest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/holdfast/holdfast/internal/jobs"
)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func runEngine(t *testing.T, newHarness func(t *testing.T) Harness) {
	t.Run("TwoEnginesWorkEachJobOnce", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		var mu sync.Mutex
		worked := map[string]int{}
		w := jobs.WorkFunc(func(ctx context.Context, j *jobs.Job) error {
			mu.Lock()
			worked[j.ID]++
			mu.Unlock()
			return nil
		})
		ctx, cancel := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		var engines []*jobs.Engine
		for i := range 2 {
			e := jobs.New(jobs.Config{Driver: h.Driver, Owner: fmt.Sprintf("replica%d", i), Poll: 20 * time.Millisecond})
			e.Register("k", w, 4)
			engines = append(engines, e)
			wg.Add(1)
			go func() { defer wg.Done(); e.Run(ctx) }()
		}
		t.Cleanup(func() { cancel(); wg.Wait() })
		const n = 60
		for i := range n {
			if _, err := engines[i%2].Insert(ctx, &jobs.InsertParams{ID: fmt.Sprintf("e%03d", i), Kind: "k"}); err != nil {
				t.Fatal(err)
			}
		}
		waitFor(t, "every job completed", 30*time.Second, func() bool {
			c, err := h.Driver.JobCount(ctx, "k", jobs.StateCompleted)
			return err == nil && c == n
		})
		mu.Lock()
		defer mu.Unlock()
		for id, c := range worked {
			if c != 1 {
				t.Errorf("job %s worked %d times", id, c)
			}
		}
		if len(worked) != n {
			t.Errorf("worked %d jobs, want %d", len(worked), n)
		}
	})

	t.Run("FailuresRetryThenDiscard", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		var mu sync.Mutex
		attempts := 0
		e := jobs.New(jobs.Config{Driver: h.Driver, Owner: "r", Poll: 20 * time.Millisecond, Backoff: func(int) time.Duration { return 0 }})
		e.Register("flaky", jobs.WorkFunc(func(ctx context.Context, j *jobs.Job) error {
			mu.Lock()
			attempts++
			mu.Unlock()
			if j.Attempt == 2 {
				panic("boom")
			}
			return errors.New("transient")
		}), 1)
		e.Register("bad", jobs.WorkFunc(func(ctx context.Context, j *jobs.Job) error {
			return jobs.Discard("arguments name no recording")
		}), 1)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { defer close(done); e.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
		e.Insert(ctx, &jobs.InsertParams{ID: "f", Kind: "flaky", MaxAttempts: 3})
		e.Insert(ctx, &jobs.InsertParams{ID: "b", Kind: "bad", MaxAttempts: 3})
		waitFor(t, "both jobs discarded", 30*time.Second, func() bool {
			c, err := h.Driver.JobCount(ctx, "", jobs.StateDiscarded)
			return err == nil && c == 2
		})
		f, _ := h.Driver.JobGet(ctx, "f")
		if f.Attempt != 3 || f.DiscardReason == "" {
			t.Errorf("flaky job = %+v; want 3 attempts and a discard reason", f)
		}
		mu.Lock()
		if attempts != 3 {
			t.Errorf("worker ran %d times, want 3", attempts)
		}
		mu.Unlock()
		if b, _ := h.Driver.JobGet(ctx, "b"); b.Attempt != 1 || b.DiscardReason != "arguments name no recording" {
			t.Errorf("discarded job = %+v", b)
		}
	})

	t.Run("DeadEnginesJobIsRescued", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		ctx := t.Context()
		if _, err := h.Driver.JobInsert(ctx, &jobs.InsertParams{ID: "orphan", Kind: "k", Now: time.Now().UTC()}); err != nil {
			t.Fatal(err)
		}
		// A replica claims it and dies without a word.
		if got, err := h.Driver.JobClaim(ctx, &jobs.ClaimParams{Kinds: []string{"k"}, Owner: "dead", Now: time.Now().UTC(), Lease: 300 * time.Millisecond, Limit: 1}); err != nil || len(got) != 1 {
			t.Fatalf("claim = %v, %v", got, err)
		}
		ran := make(chan int, 1)
		e := jobs.New(jobs.Config{Driver: h.Driver, Owner: "alive", Lease: 300 * time.Millisecond, Poll: 20 * time.Millisecond, RescueEvery: 50 * time.Millisecond})
		e.Register("k", jobs.WorkFunc(func(ctx context.Context, j *jobs.Job) error { ran <- j.Attempt; return nil }), 1)
		ectx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); e.Run(ectx) }()
		t.Cleanup(func() { cancel(); <-done })
		select {
		case a := <-ran:
			if a != 2 {
				t.Errorf("rescued job ran as attempt %d, want 2", a)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("the dead replica's job was never rescued")
		}
	})

	t.Run("LostLeaseCancelsTheAttempt", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		ctx := t.Context()
		outcomes := make(chan string, 4)
		started := make(chan struct{}, 1)
		cause := make(chan error, 1)
		e := jobs.New(jobs.Config{Driver: h.Driver, Owner: "slow", Lease: 300 * time.Millisecond, Poll: 20 * time.Millisecond, RescueEvery: time.Hour,
			OnDone: func(kind, outcome string) { outcomes <- outcome }})
		e.Register("k", jobs.WorkFunc(func(ctx context.Context, j *jobs.Job) error {
			started <- struct{}{}
			<-ctx.Done()
			cause <- context.Cause(ctx)
			return ctx.Err()
		}), 1)
		ectx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); e.Run(ectx) }()
		t.Cleanup(func() { cancel(); <-done })
		e.Insert(ctx, &jobs.InsertParams{ID: "x", Kind: "k"})
		<-started
		// Another replica's rescuer, with its clock far ahead, takes the job.
		if res, err := h.Driver.JobRescue(ctx, &jobs.RescueParams{Now: time.Now().Add(time.Hour)}); err != nil || res.Retried != 1 {
			t.Fatalf("rescue = %+v, %v", res, err)
		}
		select {
		case err := <-cause:
			if !errors.Is(err, jobs.ErrLeaseLost) {
				t.Errorf("attempt cancelled with %v, want ErrLeaseLost", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the attempt was not cancelled after its lease was lost")
		}
		if o := <-outcomes; o != "lease_lost" {
			t.Errorf("outcome = %q, want lease_lost", o)
		}
	})
}

// Package jobstest is the conformance suite every [jobs.Driver] must pass,
// in the manner of River's riverdrivertest: each database backend's test
// calls [Run] with a constructor for a fresh, empty job table.
package jobstest

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/holdfast/holdfast/internal/jobs"
)

// Harness is one fresh job table: the driver under test and the database
// it lives in (for transactions the suite begins itself).
type Harness struct {
	Driver jobs.Driver
	DB     *sql.DB
}

var t0 = time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)

type idGen struct{ n atomic.Int64 }

func (g *idGen) next() string { return fmt.Sprintf("job_%08d", g.n.Add(1)) }

func insert(t *testing.T, d jobs.Driver, p jobs.InsertParams) bool {
	t.Helper()
	if p.Now.IsZero() {
		p.Now = t0
	}
	ok, err := d.JobInsert(context.Background(), &p)
	if err != nil {
		t.Fatalf("JobInsert(%s): %v", p.ID, err)
	}
	return ok
}

func claim(t *testing.T, d jobs.Driver, owner string, now time.Time, limit int, kinds ...string) []jobs.Job {
	t.Helper()
	if len(kinds) == 0 {
		kinds = []string{"k"}
	}
	got, err := d.JobClaim(context.Background(), &jobs.ClaimParams{Kinds: kinds, Owner: owner, Now: now, Lease: 10 * time.Second, Limit: limit})
	if err != nil {
		t.Fatalf("JobClaim: %v", err)
	}
	return got
}

func get(t *testing.T, d jobs.Driver, id string) jobs.Job {
	t.Helper()
	j, err := d.JobGet(context.Background(), id)
	if err != nil {
		t.Fatalf("JobGet(%s): %v", id, err)
	}
	return j
}

// Run exercises a driver. newHarness must return an empty job table.
func Run(t *testing.T, newHarness func(t *testing.T) Harness) {
	ctx := context.Background()
	t.Run("ClaimSetsRunningAttemptAndLease", func(t *testing.T) {
		t.Parallel()
		d := newHarness(t).Driver
		insert(t, d, jobs.InsertParams{ID: "a", Kind: "k", Args: json.RawMessage(`{"recording_id":"r1"}`), MaxAttempts: 3})
		got := claim(t, d, "w1", t0, 5)
		if len(got) != 1 {
			t.Fatalf("claimed %d jobs, want 1", len(got))
		}
		j := got[0]
		if j.ID != "a" || j.State != jobs.StateRunning || j.Attempt != 1 || j.MaxAttempts != 3 || j.LeaseOwner != "w1" || !j.LeaseUntil.Equal(t0.Add(10*time.Second)) {
			t.Errorf("claimed job = %+v", j)
		}
		var args map[string]string
		if err := json.Unmarshal(j.Args, &args); err != nil || args["recording_id"] != "r1" {
			t.Errorf("args = %s (%v)", j.Args, err)
		}
		if again := claim(t, d, "w2", t0, 5); len(again) != 0 {
			t.Errorf("a running job was claimed again: %+v", again)
		}
		if err := d.JobComplete(ctx, &jobs.CompleteParams{Fence: j.Fence(), Now: t0.Add(time.Second)}); err != nil {
			t.Fatal(err)
		}
		if g := get(t, d, "a"); g.State != jobs.StateCompleted || !g.FinishedAt.Equal(t0.Add(time.Second)) || g.LeaseOwner != "" {
			t.Errorf("completed job = %+v", g)
		}
		if res, err := d.JobRescue(ctx, &jobs.RescueParams{Now: t0.Add(30 * time.Minute), KeepCompleted: time.Hour}); err != nil || res.Deleted != 0 {
			t.Errorf("rescue within retention = %+v, %v; want nothing deleted", res, err)
		}
		if res, err := d.JobRescue(ctx, &jobs.RescueParams{Now: t0.Add(2 * time.Hour), KeepCompleted: time.Hour}); err != nil || res.Deleted != 1 {
			t.Errorf("rescue past retention = %+v, %v; want the completed job deleted", res, err)
		}
		if _, err := d.JobGet(ctx, "a"); !errors.Is(err, jobs.ErrNotFound) {
			t.Errorf("completed job past retention: JobGet = %v, want ErrNotFound", err)
		}
		if _, err := d.JobGet(ctx, "missing"); !errors.Is(err, jobs.ErrNotFound) {
			t.Errorf("JobGet(missing) = %v, want ErrNotFound", err)
		}
	})

	t.Run("RunAtAndKinds", func(t *testing.T) {
		t.Parallel()
		d := newHarness(t).Driver
		insert(t, d, jobs.InsertParams{ID: "later", Kind: "k", RunAt: t0.Add(time.Minute)})
		insert(t, d, jobs.InsertParams{ID: "other", Kind: "other"})
		if got := claim(t, d, "w", t0, 10); len(got) != 0 {
			t.Fatalf("claimed %+v before it was due or of another kind", got)
		}
		if got := claim(t, d, "w", t0.Add(time.Minute), 10); len(got) != 1 || got[0].ID != "later" {
			t.Fatalf("at run_at claimed %+v, want [later]", got)
		}
		if got := claim(t, d, "w", t0, 10, "other", "k"); len(got) != 1 || got[0].ID != "other" {
			t.Fatalf("claim of kinds [other k] = %+v, want [other]", got)
		}
	})

	t.Run("UniqueKeyWhilePending", func(t *testing.T) {
		t.Parallel()
		d := newHarness(t).Driver
		if !insert(t, d, jobs.InsertParams{ID: "s1", Kind: "k", UniqueKey: "sweep"}) {
			t.Fatal("first insert reported a duplicate")
		}
		if insert(t, d, jobs.InsertParams{ID: "s2", Kind: "k", UniqueKey: "sweep"}) {
			t.Fatal("second pending job with the same unique key was inserted")
		}
		got := claim(t, d, "w", t0, 10)
		if len(got) != 1 {
			t.Fatalf("claimed %d, want 1", len(got))
		}
		if insert(t, d, jobs.InsertParams{ID: "s3", Kind: "k", UniqueKey: "sweep"}) {
			t.Fatal("a job with the unique key of a running job was inserted")
		}
		if err := d.JobComplete(ctx, &jobs.CompleteParams{Fence: got[0].Fence(), Now: t0}); err != nil {
			t.Fatal(err)
		}
		if !insert(t, d, jobs.InsertParams{ID: "s4", Kind: "k", UniqueKey: "sweep"}) {
			t.Fatal("after completion the unique key stayed taken")
		}
	})

	t.Run("EightWorkersNeverClaimTwice", func(t *testing.T) {
		t.Parallel()
		d := newHarness(t).Driver
		const n = 300
		for i := range n {
			insert(t, d, jobs.InsertParams{ID: fmt.Sprintf("c%04d", i), Kind: "k"})
		}
		var mu sync.Mutex
		claimedBy := map[string]string{}
		var dup []string
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				owner := fmt.Sprintf("worker%d", w)
				for {
					got, err := d.JobClaim(ctx, &jobs.ClaimParams{Kinds: []string{"k"}, Owner: owner, Now: t0, Lease: time.Minute, Limit: 3})
					if err != nil {
						errs <- err
						return
					}
					if len(got) == 0 {
						return
					}
					for _, j := range got {
						mu.Lock()
						if prev, ok := claimedBy[j.ID]; ok {
							dup = append(dup, j.ID+" by "+prev+" and "+owner)
						}
						claimedBy[j.ID] = owner
						mu.Unlock()
						if j.Attempt != 1 || j.LeaseOwner != owner {
							errs <- fmt.Errorf("claimed %+v as %s", j, owner)
							return
						}
						if err := d.JobComplete(ctx, &jobs.CompleteParams{Fence: j.Fence(), Now: t0}); err != nil {
							errs <- fmt.Errorf("complete %s: %w", j.ID, err)
							return
						}
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if len(dup) > 0 {
			t.Fatalf("jobs claimed twice: %v", dup)
		}
		if len(claimedBy) != n {
			t.Fatalf("claimed %d distinct jobs, want %d", len(claimedBy), n)
		}
		if c, err := d.JobCount(ctx, "k", jobs.StateCompleted); err != nil || c != n {
			t.Errorf("completed = %d, %v; want %d", c, err, n)
		}
	})

	t.Run("LeaseExpiryRescueAndFence", func(t *testing.T) {
		t.Parallel()
		d := newHarness(t).Driver
		insert(t, d, jobs.InsertParams{ID: "l", Kind: "k", MaxAttempts: 5})
		first := claim(t, d, "dead", t0, 1)[0]
		if res, err := d.JobRescue(ctx, &jobs.RescueParams{Now: t0.Add(5 * time.Second)}); err != nil || res != (jobs.RescueResult{}) {
			t.Fatalf("rescue before expiry = %+v, %v", res, err)
		}
		if err := d.JobHeartbeat(ctx, &jobs.HeartbeatParams{Fence: first.Fence(), Until: t0.Add(15 * time.Second)}); err != nil {
			t.Fatalf("heartbeat: %v", err)
		}
		if res, err := d.JobRescue(ctx, &jobs.RescueParams{Now: t0.Add(12 * time.Second)}); err != nil || res != (jobs.RescueResult{}) {
			t.Fatalf("rescue of a renewed lease = %+v, %v", res, err)
		}
		if res, err := d.JobRescue(ctx, &jobs.RescueParams{Now: t0.Add(16 * time.Second)}); err != nil || res.Retried != 1 || res.Discarded != 0 {
			t.Fatalf("rescue after expiry = %+v, %v; want 1 retried", res, err)
		}
		g := get(t, d, "l")
		if g.State != jobs.StateAvailable || g.LeaseOwner != "" || !strings.Contains(g.LastError, "dead") {
			t.Errorf("rescued job = %+v; want available, no owner, last error naming the owner", g)
		}
		second := claim(t, d, "alive", t0.Add(16*time.Second), 1)
		if len(second) != 1 || second[0].Attempt != 2 {
			t.Fatalf("claim after rescue = %+v; want attempt 2", second)
		}
		// The presumed-dead worker wakes up: nothing it does may stick.
		stale := first.Fence()
		if err := d.JobComplete(ctx, &jobs.CompleteParams{Fence: stale, Now: t0.Add(17 * time.Second)}); !errors.Is(err, jobs.ErrLeaseLost) {
			t.Errorf("complete with a stale fence = %v, want ErrLeaseLost", err)
		}
		if err := d.JobHeartbeat(ctx, &jobs.HeartbeatParams{Fence: stale, Until: t0.Add(time.Hour)}); !errors.Is(err, jobs.ErrLeaseLost) {
			t.Errorf("heartbeat with a stale fence = %v, want ErrLeaseLost", err)
		}
		if _, err := d.JobFail(ctx, &jobs.FailParams{Fence: stale, Error: "x", Now: t0, RetryAt: t0}); !errors.Is(err, jobs.ErrLeaseLost) {
			t.Errorf("fail with a stale fence = %v, want ErrLeaseLost", err)
		}
		if err := d.JobSnooze(ctx, &jobs.SnoozeParams{Fence: stale, RunAt: t0}); !errors.Is(err, jobs.ErrLeaseLost) {
			t.Errorf("snooze with a stale fence = %v, want ErrLeaseLost", err)
		}
		if g := get(t, d, "l"); g.State != jobs.StateRunning || g.Attempt != 2 || g.LeaseOwner != "alive" {
			t.Errorf("after the stale worker's calls the job = %+v; want still running attempt 2 for alive", g)
		}
		if err := d.JobComplete(ctx, &jobs.CompleteParams{Fence: second[0].Fence(), Now: t0.Add(18 * time.Second)}); err != nil {
			t.Errorf("complete with the current fence: %v", err)
		}
	})

	t.Run("MaxAttemptsDiscardsWithReason", func(t *testing.T) {
		t.Parallel()
		d := newHarness(t).Driver
		insert(t, d, jobs.InsertParams{ID: "m", Kind: "k", MaxAttempts: 2})
		j := claim(t, d, "w", t0, 1)[0]
		st, err := d.JobFail(ctx, &jobs.FailParams{Fence: j.Fence(), Error: "disk on fire", RetryAt: t0.Add(time.Minute), Now: t0})
		if err != nil || st != jobs.StateAvailable {
			t.Fatalf("first failure -> %s, %v; want available", st, err)
		}
		if got := claim(t, d, "w", t0.Add(30*time.Second), 1); len(got) != 0 {
			t.Fatalf("claimed before its retry time: %+v", got)
		}
		j = claim(t, d, "w", t0.Add(time.Minute), 1)[0]
		if j.Attempt != 2 || j.LastError != "disk on fire" {
			t.Errorf("retry = %+v", j)
		}
		st, err = d.JobFail(ctx, &jobs.FailParams{Fence: j.Fence(), Error: "still on fire", RetryAt: t0.Add(2 * time.Minute), Now: t0.Add(time.Minute)})
		if err != nil || st != jobs.StateDiscarded {
			t.Fatalf("last failure -> %s, %v; want discarded", st, err)
		}
		g := get(t, d, "m")
		if !strings.Contains(g.DiscardReason, "max attempts (2)") || !strings.Contains(g.DiscardReason, "still on fire") || g.FinishedAt.IsZero() {
			t.Errorf("discarded job = %+v; want a reason naming max attempts and the last error", g)
		}
		if got := claim(t, d, "w", t0.Add(time.Hour), 1); len(got) != 0 {
			t.Errorf("a discarded job was claimed: %+v", got)
		}

		// A job whose last attempt's lease expires is discarded by the
		// rescuer, which says so.
		insert(t, d, jobs.InsertParams{ID: "crash", Kind: "k", MaxAttempts: 1})
		claim(t, d, "crasher", t0, 1)
		if res, err := d.JobRescue(ctx, &jobs.RescueParams{Now: t0.Add(time.Minute)}); err != nil || res.Discarded != 1 || res.Retried != 0 {
			t.Fatalf("rescue at max attempts = %+v, %v; want 1 discarded", res, err)
		}
		if g := get(t, d, "crash"); g.State != jobs.StateDiscarded || !strings.Contains(g.DiscardReason, "max attempts (1)") || !strings.Contains(g.DiscardReason, "crasher") {
			t.Errorf("rescued-and-discarded job = %+v", g)
		}

		// Discard ends a job at once.
		insert(t, d, jobs.InsertParams{ID: "bad", Kind: "k", MaxAttempts: 9})
		j = claim(t, d, "w", t0, 1)[0]
		if st, err := d.JobFail(ctx, &jobs.FailParams{Fence: j.Fence(), Error: "bad arguments", Discard: true, Now: t0}); err != nil || st != jobs.StateDiscarded {
			t.Fatalf("discard -> %s, %v", st, err)
		}
		if g := get(t, d, "bad"); g.DiscardReason != "bad arguments" {
			t.Errorf("discard reason = %q", g.DiscardReason)
		}
	})

	t.Run("SnoozeDoesNotCount", func(t *testing.T) {
		t.Parallel()
		d := newHarness(t).Driver
		insert(t, d, jobs.InsertParams{ID: "z", Kind: "k", MaxAttempts: 1})
		j := claim(t, d, "w", t0, 1)[0]
		if err := d.JobSnooze(ctx, &jobs.SnoozeParams{Fence: j.Fence(), RunAt: t0.Add(time.Second)}); err != nil {
			t.Fatal(err)
		}
		j = claim(t, d, "w", t0.Add(time.Second), 1)[0]
		if j.Attempt != 2 || j.MaxAttempts != 2 {
			t.Errorf("after snooze: attempt %d of %d; want 2 of 2", j.Attempt, j.MaxAttempts)
		}
		if st, err := d.JobFail(ctx, &jobs.FailParams{Fence: j.Fence(), Error: "x", Now: t0, RetryAt: t0}); err != nil || st != jobs.StateDiscarded {
			t.Errorf("failure of the one counted attempt -> %s, %v; want discarded", st, err)
		}
	})

	t.Run("InsertTxRollsBackWithItsTransaction", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		for _, commit := range []bool{false, true} {
			tx, err := h.DB.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			id := fmt.Sprintf("tx-%v", commit)
			if ok, err := h.Driver.JobInsertTx(ctx, tx, &jobs.InsertParams{ID: id, Kind: "k", Now: t0}); err != nil || !ok {
				tx.Rollback()
				t.Fatalf("JobInsertTx = %v, %v", ok, err)
			}
			if commit {
				err = tx.Commit()
			} else {
				err = tx.Rollback()
			}
			if err != nil {
				t.Fatal(err)
			}
			_, err = h.Driver.JobGet(ctx, id)
			if commit && err != nil {
				t.Errorf("job of a committed transaction: %v", err)
			}
			if !commit && !errors.Is(err, jobs.ErrNotFound) {
				t.Errorf("job of a rolled-back transaction: err = %v, want ErrNotFound", err)
			}
		}
		got := claim(t, h.Driver, "w", t0, 10)
		if len(got) != 1 || got[0].ID != "tx-true" {
			t.Errorf("claimable after one rollback and one commit = %+v, want [tx-true]", got)
		}
	})

	t.Run("Engine", func(t *testing.T) { runEngine(t, newHarness) })
}

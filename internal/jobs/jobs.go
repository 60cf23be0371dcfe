// Package jobs is holdfast's background job engine: one table of jobs in the
// metadata database, claimed with leases by any number of replicas, in the
// spirit of River (github.com/riverqueue/river).
//
// It is for `holdfast serve`, which registers one [Worker] per job kind
// (processing a recording, running an export, signing a checkpoint, sweeping
// blobs, syncing object locks, scrubbing blobs) and runs an [Engine]; and for
// the store, which implements [Driver] and enqueues jobs with
// [Driver.JobInsertTx] inside the transaction of the change that causes
// them, so a job exists exactly when its cause was committed.
//
// Rules every [Driver] keeps (checked by the jobstest suite):
//   - a job is claimed by one statement that sets it running, adds one to
//     its attempt and gives the claimer a lease; no job is claimed twice;
//   - the rescuer puts running jobs whose lease expired back to available,
//     or discards them (with a reason) once they have used max_attempts;
//   - every change a worker makes to its job names the attempt it claimed
//     (a [Fence]); once the job was rescued and claimed again, the old
//     attempt's changes fail with [ErrLeaseLost], so a worker presumed dead
//     cannot apply work twice.
package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// State is where a job is in its life.
type State string

// Job states. A job is inserted available, becomes running when claimed and
// ends completed or discarded; a failed attempt with attempts left goes back
// to available with a later run_at.
const (
	StateAvailable State = "available"
	StateRunning   State = "running"
	StateCompleted State = "completed"
	StateDiscarded State = "discarded"
)

// ErrLeaseLost is returned by every fenced driver method when the job is no
// longer running under the attempt named by the fence: its lease expired
// and the rescuer took it back (and maybe another worker claimed it). The
// worker must stop without committing anything.
var ErrLeaseLost = errors.New("jobs: lease lost: the job was rescued or claimed again")

// ErrNotFound is returned by [Driver.JobGet] for an unknown id.
var ErrNotFound = errors.New("jobs: no such job")

// Job is one row of the job table.
type Job struct {
	ID          string
	Kind        string
	Args        json.RawMessage
	State       State
	Attempt     int // attempts started so far, including a running one
	MaxAttempts int
	RunAt       time.Time // not claimed before this time
	LeaseOwner  string    // the claimer's name while running
	LeaseUntil  time.Time // the lease's expiry while running
	UniqueKey   string
	LastError   string // the error of the last failed attempt
	// DiscardReason says why a discarded job will never run again.
	DiscardReason string
	CreatedAt     time.Time
	FinishedAt    time.Time // zero until completed or discarded
}

// Fence names one attempt of a job; see [ErrLeaseLost].
func (j *Job) Fence() Fence { return Fence{ID: j.ID, Attempt: j.Attempt} }

// Fence names the attempt of a job that a worker claimed. Store methods that
// commit a job's effects take one and commit only if the job is still
// running under that attempt.
type Fence struct {
	ID      string
	Attempt int
}

// InsertParams describes a new job.
type InsertParams struct {
	ID          string // required, unique (see vault.NewID)
	Kind        string
	Args        json.RawMessage // "" means {}
	MaxAttempts int             // <= 0 means DefaultMaxAttempts
	RunAt       time.Time       // zero means Now
	// UniqueKey, if set, makes the insert a no-op while another job with
	// the same key is available or running (one sweep at a time, one
	// processing job per recording).
	UniqueKey string
	Now       time.Time
}

// DefaultMaxAttempts is used when InsertParams.MaxAttempts is not set.
const DefaultMaxAttempts = 10

// ClaimParams asks for up to Limit due jobs of the given kinds.
type ClaimParams struct {
	Kinds []string
	Owner string
	Now   time.Time
	Lease time.Duration
	Limit int
}

// HeartbeatParams extends a running job's lease to Until.
type HeartbeatParams struct {
	Fence Fence
	Until time.Time
}

// CompleteParams marks a running job completed.
type CompleteParams struct {
	Fence Fence
	Now   time.Time
}

// FailParams records a failed attempt. The job goes back to available at
// RetryAt, or is discarded (DiscardReason says why) if Discard is set or it
// has used its max attempts.
type FailParams struct {
	Fence   Fence
	Error   string
	RetryAt time.Time
	Discard bool
	Now     time.Time
}

// SnoozeParams puts a running job back to available at RunAt without
// counting the attempt against max attempts (its max is raised by one).
type SnoozeParams struct {
	Fence Fence
	RunAt time.Time
}

// RescueParams finds running jobs whose lease ended before Now. If
// KeepCompleted is set, completed jobs that finished longer ago than that
// are deleted too.
type RescueParams struct {
	Now           time.Time
	KeepCompleted time.Duration
}

// RescueResult counts what the rescuer did.
type RescueResult struct {
	Retried   int // put back to available
	Discarded int // at max attempts
	Deleted   int // completed jobs past KeepCompleted
}

// Driver is the job table in one SQL database. Implementations are safe for
// concurrent use; every method takes a context and one params struct, so a
// new field changes no signature.
type Driver interface {
	// JobInsert inserts a job in a transaction of its own. It reports
	// false, nil when a job with the same UniqueKey is already pending.
	JobInsert(ctx context.Context, p *InsertParams) (bool, error)
	// JobInsertTx inserts a job inside the caller's transaction: it exists
	// if and only if tx commits.
	JobInsertTx(ctx context.Context, tx *sql.Tx, p *InsertParams) (bool, error)
	// JobClaim claims due available jobs in one statement, setting them
	// running, adding one to their attempt and leasing them to p.Owner
	// until p.Now+p.Lease. Two concurrent claims never return the same job.
	JobClaim(ctx context.Context, p *ClaimParams) ([]Job, error)
	// JobHeartbeat extends a lease; ErrLeaseLost if the fence is stale.
	JobHeartbeat(ctx context.Context, p *HeartbeatParams) error
	// JobComplete ends a job; ErrLeaseLost if the fence is stale.
	JobComplete(ctx context.Context, p *CompleteParams) error
	// JobFail records a failed attempt and returns the job's new state;
	// ErrLeaseLost if the fence is stale.
	JobFail(ctx context.Context, p *FailParams) (State, error)
	// JobSnooze reschedules a running job; ErrLeaseLost if the fence is
	// stale.
	JobSnooze(ctx context.Context, p *SnoozeParams) error
	// JobRescue returns jobs with expired leases to available, or discards
	// those at max attempts with a reason.
	JobRescue(ctx context.Context, p *RescueParams) (RescueResult, error)
	// JobGet returns one job, or ErrNotFound.
	JobGet(ctx context.Context, id string) (Job, error)
	// JobCount counts jobs of a kind ("" = all kinds) in a state.
	JobCount(ctx context.Context, kind string, state State) (int, error)
}

// Worker runs jobs of one kind. Work is called with the claimed job; the
// context ends when the engine stops or the lease is lost. Returning nil
// completes the job; a [Snooze] error reschedules it; a [Discard] error ends
// it without retries; any other error is a failed attempt, retried with
// backoff until max attempts.
//
// A worker that commits effects to the store passes job.Fence() so they
// commit only while the lease is its own.
type Worker interface {
	Work(ctx context.Context, job *Job) error
}

// WorkFunc adapts a function to a [Worker].
type WorkFunc func(ctx context.Context, job *Job) error

// Work calls f.
func (f WorkFunc) Work(ctx context.Context, job *Job) error { return f(ctx, job) }

// SnoozeError asks the engine to run the job again after Delay without
// counting this attempt. Return it with [Snooze].
type SnoozeError struct{ Delay time.Duration }

func (e *SnoozeError) Error() string { return fmt.Sprintf("jobs: snooze %s", e.Delay) }

// Snooze returns a [SnoozeError].
func Snooze(d time.Duration) error { return &SnoozeError{Delay: d} }

// DiscardError ends a job at once with Reason; it is never retried.
type DiscardError struct{ Reason string }

func (e *DiscardError) Error() string { return "jobs: discard: " + e.Reason }

// Discard returns a [DiscardError].
func Discard(reason string) error { return &DiscardError{Reason: reason} }

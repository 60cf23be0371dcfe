package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/holdfast/holdfast/internal/jobs"
)

var _ jobs.Driver = (*Store)(nil)

const queueColumns = `id, kind, args, state, attempt, max_attempts, run_at, lease_owner, lease_until, unique_key, last_error, discard_reason, created_at, finished_at`

// execer is what both *sql.DB and *sql.Tx offer.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// JobInsert inserts a job in a transaction of its own.
func (s *Store) JobInsert(ctx context.Context, p *jobs.InsertParams) (bool, error) {
	return s.jobInsert(ctx, s.db, p)
}

// JobInsertTx inserts a job inside tx, so it exists exactly when tx
// commits.
func (s *Store) JobInsertTx(ctx context.Context, tx *sql.Tx, p *jobs.InsertParams) (bool, error) {
	return s.jobInsert(ctx, tx, p)
}

func (s *Store) jobInsert(ctx context.Context, ex execer, p *jobs.InsertParams) (bool, error) {
	if p.ID == "" || p.Kind == "" {
		return false, fmt.Errorf("%s: insert job: id and kind are required", s.d.Name)
	}
	argsJSON := string(p.Args)
	if argsJSON == "" {
		argsJSON = "{}"
	}
	maxAttempts := p.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = jobs.DefaultMaxAttempts
	}
	runAt := p.RunAt
	if runAt.IsZero() {
		runAt = p.Now
	}
	// A pending job with the same unique key makes this a no-op (the
	// partial unique index jobs_unique_pending).
	res, err := ex.ExecContext(ctx, `INSERT INTO jobs (id, kind, args, state, attempt, max_attempts, run_at, unique_key, created_at)
VALUES ($1, $2, $3, 'available', 0, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
		p.ID, p.Kind, argsJSON, maxAttempts, nanos(runAt), p.UniqueKey, nanos(p.Now))
	if err != nil {
		return false, fmt.Errorf("%s: insert job %s: %w", s.d.Name, p.Kind, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("%s: insert job %s: %w", s.d.Name, p.Kind, err)
	}
	return n == 1, nil
}

// JobClaim claims due jobs in one statement. On PostgreSQL the candidate
// rows are locked with FOR UPDATE SKIP LOCKED in a CTE, so concurrent
// claimers take disjoint rows without waiting; on SQLite the statement runs
// alone.
func (s *Store) JobClaim(ctx context.Context, p *jobs.ClaimParams) ([]jobs.Job, error) {
	if len(p.Kinds) == 0 || p.Limit <= 0 {
		return nil, nil
	}
	var a args
	owner, until, now := a.add(p.Owner), a.add(nanos(p.Now.Add(p.Lease))), a.add(nanos(p.Now))
	pick := `SELECT id FROM jobs WHERE state = 'available' AND run_at <= ` + now + ` AND kind IN ` + a.in(p.Kinds) +
		` ORDER BY run_at, id LIMIT ` + a.add(p.Limit)
	set := `UPDATE jobs SET state = 'running', attempt = attempt + 1, lease_owner = ` + owner + `, lease_until = ` + until + ``
	var q string
	if s.d.SkipLocked != "" {
		q = `WITH picked AS (` + pick + s.d.SkipLocked + `) ` + set + ` FROM picked WHERE jobs.id = picked.id RETURNING ` + qualified("jobs", queueColumns)
	} else {
		q = set + ` WHERE id IN (` + pick + `) RETURNING ` + queueColumns
	}
	rows, err := s.db.QueryContext(ctx, q, a.v...)
	if err != nil {
		return nil, fmt.Errorf("%s: claim jobs: %w", s.d.Name, err)
	}
	defer rows.Close()
	var out []jobs.Job
	for rows.Next() {
		j, err := scanQueueJob(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: claim jobs: %w", s.d.Name, err)
		}
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: claim jobs: %w", s.d.Name, err)
	}
	return out, nil
}

func qualified(table, cols string) string {
	parts := strings.Split(cols, ", ")
	for i, c := range parts {
		parts[i] = table + "." + c
	}
	return strings.Join(parts, ", ")
}

// fenced runs an UPDATE whose WHERE ends with the fence condition and
// turns "no row" into jobs.ErrLeaseLost.
func (s *Store) fenced(ctx context.Context, what, set string, f jobs.Fence, vals ...any) error {
	var a args
	for _, v := range vals {
		a.add(v)
	}
	q := `UPDATE jobs SET ` + set + ` WHERE id = ` + a.add(f.ID) + ` AND attempt = ` + a.add(f.Attempt) + ` AND state = 'running'`
	res, err := s.db.ExecContext(ctx, q, a.v...)
	if err != nil {
		return fmt.Errorf("%s: %s job: %w", s.d.Name, what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %s job: %w", s.d.Name, what, err)
	}
	if n == 0 {
		return jobs.ErrLeaseLost
	}
	return nil
}

// JobHeartbeat extends a running job's lease.
func (s *Store) JobHeartbeat(ctx context.Context, p *jobs.HeartbeatParams) error {
	return s.fenced(ctx, "heartbeat", `lease_until = $1`, p.Fence, nanos(p.Until))
}

// JobComplete marks a running job completed.
func (s *Store) JobComplete(ctx context.Context, p *jobs.CompleteParams) error {
	return s.fenced(ctx, "complete", `state = 'completed', finished_at = $1, lease_owner = '', lease_until = 0`, p.Fence, nanos(p.Now))
}

// JobSnooze puts a running job back to available at p.RunAt, raising its
// max attempts by one so the snoozed attempt does not count.
func (s *Store) JobSnooze(ctx context.Context, p *jobs.SnoozeParams) error {
	return s.fenced(ctx, "snooze", `state = 'available', run_at = $1, max_attempts = max_attempts + 1, lease_owner = '', lease_until = 0`, p.Fence, nanos(p.RunAt))
}

// JobFail records a failed attempt in one statement: back to available at
// p.RetryAt, or discarded when asked to or at max attempts.
func (s *Store) JobFail(ctx context.Context, p *jobs.FailParams) (jobs.State, error) {
	discard := 0
	if p.Discard {
		discard = 1
	}
	var st string
	err := s.db.QueryRowContext(ctx, `UPDATE jobs SET
	state = CASE WHEN CAST($1 AS INTEGER) = 1 OR attempt >= max_attempts THEN 'discarded' ELSE 'available' END,
	discard_reason = CASE WHEN CAST($1 AS INTEGER) = 1 THEN CAST($2 AS TEXT)
		WHEN attempt >= max_attempts THEN 'max attempts (' || CAST(max_attempts AS TEXT) || ') reached; last error: ' || CAST($2 AS TEXT)
		ELSE '' END,
	finished_at = CASE WHEN CAST($1 AS INTEGER) = 1 OR attempt >= max_attempts THEN CAST($3 AS BIGINT) ELSE NULL END,
	last_error = CAST($2 AS TEXT), run_at = $4, lease_owner = '', lease_until = 0
WHERE id = $5 AND attempt = $6 AND state = 'running' RETURNING state`,
		discard, p.Error, nanos(p.Now), nanos(p.RetryAt), p.Fence.ID, p.Fence.Attempt).Scan(&st)
	if isNoRows(err) {
		return "", jobs.ErrLeaseLost
	}
	if err != nil {
		return "", fmt.Errorf("%s: fail job: %w", s.d.Name, err)
	}
	return jobs.State(st), nil
}

// JobRescue returns running jobs whose lease expired to available, or
// discards them at max attempts, in one statement.
func (s *Store) JobRescue(ctx context.Context, p *jobs.RescueParams) (jobs.RescueResult, error) {
	rows, err := s.db.QueryContext(ctx, `UPDATE jobs SET
	state = CASE WHEN attempt >= max_attempts THEN 'discarded' ELSE 'available' END,
	discard_reason = CASE WHEN attempt >= max_attempts
		THEN 'max attempts (' || CAST(max_attempts AS TEXT) || ') reached; the lease of the last attempt, held by ' || lease_owner || ', expired'
		ELSE '' END,
	finished_at = CASE WHEN attempt >= max_attempts THEN CAST($1 AS BIGINT) ELSE NULL END,
	last_error = 'lease held by ' || lease_owner || ' expired', run_at = $1, lease_owner = '', lease_until = 0
WHERE state = 'running' AND lease_until < $1 RETURNING state`, nanos(p.Now))
	if err != nil {
		return jobs.RescueResult{}, fmt.Errorf("%s: rescue jobs: %w", s.d.Name, err)
	}
	defer rows.Close()
	var res jobs.RescueResult
	for rows.Next() {
		var st string
		if err := rows.Scan(&st); err != nil {
			return jobs.RescueResult{}, fmt.Errorf("%s: rescue jobs: %w", s.d.Name, err)
		}
		if jobs.State(st) == jobs.StateDiscarded {
			res.Discarded++
		} else {
			res.Retried++
		}
	}
	if err := rows.Err(); err != nil {
		return jobs.RescueResult{}, fmt.Errorf("%s: rescue jobs: %w", s.d.Name, err)
	}
	if p.KeepCompleted > 0 {
		r, err := s.db.ExecContext(ctx, `DELETE FROM jobs WHERE state = 'completed' AND finished_at < $1`, nanos(p.Now.Add(-p.KeepCompleted)))
		if err != nil {
			return jobs.RescueResult{}, fmt.Errorf("%s: delete completed jobs: %w", s.d.Name, err)
		}
		n, _ := r.RowsAffected()
		res.Deleted = int(n)
	}
	return res, nil
}

// JobGet returns one job.
func (s *Store) JobGet(ctx context.Context, id string) (jobs.Job, error) {
	j, err := scanQueueJob(s.db.QueryRowContext(ctx, `SELECT `+queueColumns+` FROM jobs WHERE id = $1`, id))
	if isNoRows(err) {
		return jobs.Job{}, jobs.ErrNotFound
	}
	if err != nil {
		return jobs.Job{}, fmt.Errorf("%s: get job: %w", s.d.Name, err)
	}
	return j, nil
}

// JobCount counts jobs of a kind ("" = any) in a state.
func (s *Store) JobCount(ctx context.Context, kind string, state jobs.State) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs WHERE state = $1 AND (CAST($2 AS TEXT) = '' OR kind = $2)`, string(state), kind).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("%s: count jobs: %w", s.d.Name, err)
	}
	return n, nil
}

// fenceTx checks, inside tx, that the job named by f is still running under
// that attempt, and locks its row so the rescuer cannot take it until tx
// ends. Store methods that commit a job's effects call it first.
func (s *Store) fenceTx(ctx context.Context, tx *sql.Tx, f *jobs.Fence) error {
	if f == nil {
		return nil
	}
	var attempt int
	err := tx.QueryRowContext(ctx, `SELECT attempt FROM jobs WHERE id = $1 AND attempt = $2 AND state = 'running'`+s.d.ForUpdate, f.ID, f.Attempt).Scan(&attempt)
	if isNoRows(err) {
		return jobs.ErrLeaseLost
	}
	return err
}

type scanner interface{ Scan(dest ...any) error }

func scanQueueJob(r scanner) (jobs.Job, error) {
	var j jobs.Job
	var args, state string
	var runAt, leaseUntil, created int64
	var finished sql.NullInt64
	if err := r.Scan(&j.ID, &j.Kind, &args, &state, &j.Attempt, &j.MaxAttempts, &runAt, &j.LeaseOwner, &leaseUntil,
		&j.UniqueKey, &j.LastError, &j.DiscardReason, &created, &finished); err != nil {
		return jobs.Job{}, err
	}
	j.Args = []byte(args)
	j.State = jobs.State(state)
	j.RunAt = fromNanos(runAt)
	if leaseUntil != 0 {
		j.LeaseUntil = fromNanos(leaseUntil)
	}
	j.CreatedAt = fromNanos(created)
	if finished.Valid {
		j.FinishedAt = fromNanos(finished.Int64)
	}
	return j, nil
}

// processAttempts bounds the attempts of a processing job: with the
// engine's backoff (at most five minutes) a blob store outage of about two
// hours is ridden out before the job is discarded.
const processAttempts = 30

// jobID names the job of one kind for one subject, so the job of a
// recording is found by its id and a second insert is a no-op.
func jobID(kind, subject string) string { return "job_" + kind + "_" + subject }

// Package sqlstore implements [store.Store] over database/sql with portable
// SQL, so that the embedded SQLite backend and the PostgreSQL backend share
// one implementation and differ only in a [Dialect].
//
// It is for the backend packages (sqlitestore, pgstore), which open the
// database and choose the dialect; everything else uses store.Store.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/holdfast/holdfast/internal/store"
)

// Dialect captures what differs between SQL databases.
type Dialect struct {
	// Name is used in error messages ("sqlite", "postgres").
	Name string
	// ForUpdate is appended to SELECTs that must lock the rows they read
	// inside a write transaction ("" where transactions already serialize
	// writers, as in SQLite).
	ForUpdate string
	// SkipLocked, if set, is appended to the SELECT that picks jobs to
	// claim, so concurrent claimers pass over rows another claim has locked
	// (" FOR UPDATE SKIP LOCKED" on PostgreSQL); the claim then runs as a
	// CTE. "" where a statement already runs alone, as in SQLite.
	SkipLocked string
	// LockWriters, if set, is run first in every write transaction (all
	// but schema migrations). Where the database lets transactions run
	// side by side (PostgreSQL at READ COMMITTED) it must take one lock
	// that serializes them, so that a transaction which reads, decides
	// and writes (an include_future hold and a new recording, a hold and
	// a delete, two reservations of one idempotency key) sees every write
	// committed before it and no other writer interleaves. It also gives
	// every writer the same first lock, so row locks taken later cannot
	// deadlock. "" where BEGIN already serializes writers, as in SQLite.
	LockWriters string
	// Migrations are the schema steps, applied in order; index+1 is the
	// schema version. A step that is DialectStep(name) is replaced by the
	// statements Steps[name].
	Migrations []string
	// Steps are the dialect's own schema statements, named by the
	// DialectStep placeholders in Migrations (such as the trigram index
	// behind participant search). Each is run as one statement.
	Steps map[string][]string
	// ParticipantMatch returns a condition on the recordings table that
	// holds when a participant's aor or name contains needle (already
	// lower-cased), using the dialect's trigram index, and the argument
	// to bind at placeholder ph.
	ParticipantMatch func(ph, needle string) (cond string, arg any)
	// ParticipantScan, if set, is the same test written for a walk over
	// recordings in id order: it reads the row at hand instead of the
	// index. A page uses it when matches are dense (see
	// [Store.planFilters]), because collecting every match through the
	// index and sorting them costs what the matches number, where a walk
	// stops after a page. Nil means ParticipantMatch serves both.
	ParticipantScan func(ph, needle string) (cond string, arg any)
}

// dialectStepPrefix marks a migration step whose statements differ per
// dialect.
const dialectStepPrefix = "-- dialect step: "

// DialectStep names a migration step that each dialect supplies in its
// Steps, for schema that portable SQL cannot express.
func DialectStep(name string) string { return dialectStepPrefix + name }

// Store is a [store.Store] on a database/sql handle. It is safe for
// concurrent use.
type Store struct {
	db *sql.DB
	d  Dialect
}

var _ store.Store = (*Store)(nil)

// New wraps db, applying any schema migrations that have not run yet.
func New(ctx context.Context, db *sql.DB, d Dialect) (*Store, error) {
	s := &Store{db: db, d: d}
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// DB exposes the handle, for tests that must reach under the store (for
// example to tamper with the audit log on purpose).
func (s *Store) DB() *sql.DB { return s.db }

func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("%s: create schema_migrations: %w", s.d.Name, err)
	}
	for i, step := range s.d.Migrations {
		version := i + 1
		err := s.txLocked(ctx, false, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = $1`, version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			stmts := splitStatements(step)
			if name, ok := strings.CutPrefix(step, dialectStepPrefix); ok {
				var found bool
				if stmts, found = s.d.Steps[name]; !found {
					return fmt.Errorf("the dialect has no step %q", name)
				}
			}
			for _, stmt := range stmts {
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("statement %q: %w", firstLine(stmt), err)
				}
			}
			if version == labelsMigration {
				if err := backfillLabels(ctx, tx); err != nil {
					return fmt.Errorf("backfill labels: %w", err)
				}
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`, version, time.Now().UnixNano())
			return err
		})
		if err != nil {
			return fmt.Errorf("%s: migration %d: %w", s.d.Name, version, err)
		}
	}
	return nil
}

func splitStatements(step string) []string {
	var out []string
	for _, s := range strings.Split(step, ";") {
		if strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	return out
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("%s: ping: %w", s.d.Name, err)
	}
	var one int
	if err := s.db.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		return fmt.Errorf("%s: ping: %w", s.d.Name, err)
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// tx runs fn in a write transaction, committing if it returns nil. The
// dialect's LockWriters statement runs first.
func (s *Store) tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return s.txLocked(ctx, true, fn)
}

// txLocked is tx, taking the writers' lock only if lock is set (schema
// migrations run before the table it locks exists).
func (s *Store) txLocked(ctx context.Context, lock bool, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if lock && s.d.LockWriters != "" {
		if _, err := tx.ExecContext(ctx, s.d.LockWriters); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("lock writers: %w", err)
		}
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// args builds a positional argument list and its $N placeholders.
type args struct{ v []any }

func (a *args) add(v any) string {
	a.v = append(a.v, v)
	return fmt.Sprintf("$%d", len(a.v))
}

// next is the placeholder the next add will return.
func (a *args) next() string { return fmt.Sprintf("$%d", len(a.v)+1) }

func (a *args) in(vals []string) string {
	ph := make([]string, len(vals))
	for i, v := range vals {
		ph[i] = a.add(v)
	}
	return "(" + strings.Join(ph, ", ") + ")"
}

func nanos(t time.Time) int64 { return t.UnixNano() }

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

func nullNanos(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixNano(), Valid: true}
}

func ptrTime(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromNanos(n.Int64)
	return &t
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

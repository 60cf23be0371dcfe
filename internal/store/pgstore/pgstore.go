// Package pgstore is holdfast's PostgreSQL metadata store, for deployments
// that keep their metadata in a database server rather than the embedded
// SQLite file.
//
// It is what `holdfast serve` uses when a postgres:// URL is configured.
// The SQL itself lives in sqlstore and is shared with SQLite; this package
// only opens the connection (through the pgx database/sql driver) and
// chooses the dialect.
//
// Transactions run at PostgreSQL's default READ COMMITTED level, where
// each statement sees what was committed before it started. Every write
// transaction begins by locking the single audit_head row, so writers run
// one at a time, as in SQLite: each audit append sees the hashes of every
// entry before it, an include_future hold and a recording ingested at the
// same moment always meet, and a hold and a delete of the same recording
// cannot both succeed. Reads are not blocked.
package pgstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"github.com/holdfast/holdfast/internal/store/sqlstore"
)

// migrationLock is the key of the session advisory lock that serializes
// schema migrations of servers starting at the same time.
const migrationLock = 0x686f6c6466617374 // "holdfast"

// Open connects to the PostgreSQL database at url (a postgres:// URL or a
// key=value connection string, as pgx accepts) and brings its schema up to
// date. Tables are created in the connection's search_path, so one
// database can hold several stores in separate schemas.
func Open(ctx context.Context, url string) (*sqlstore.Store, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	s, err := migrate(ctx, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// migrate runs sqlstore.New while holding an advisory lock on a
// connection of its own, so two servers starting together do not both
// create the schema.
func migrate(ctx context.Context, db *sql.DB) (*sqlstore.Store, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, int64(migrationLock)); err != nil {
		return nil, fmt.Errorf("postgres: lock for migration: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, int64(migrationLock))
	schema, err := ensureTrigram(ctx, conn)
	if err != nil {
		return nil, err
	}
	return sqlstore.New(ctx, db, dialect(schema))
}

// ensureTrigram installs the pg_trgm extension if the database lacks it
// and returns the schema that holds its operator classes, so the index
// names them whatever the connection's search_path is.
func ensureTrigram(ctx context.Context, conn *sql.Conn) (string, error) {
	const q = `SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'`
	var schema string
	err := conn.QueryRowContext(ctx, q).Scan(&schema)
	if errors.Is(err, sql.ErrNoRows) {
		if _, err := conn.ExecContext(ctx, `CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public`); err != nil {
			return "", fmt.Errorf("postgres: participant search needs the pg_trgm extension; have a database owner run CREATE EXTENSION pg_trgm: %w", err)
		}
		err = conn.QueryRowContext(ctx, q).Scan(&schema)
	}
	if err != nil {
		return "", fmt.Errorf("postgres: find pg_trgm: %w", err)
	}
	return schema, nil
}

// Dialect returns the PostgreSQL dialect: every write transaction first
// locks the audit_head row, which serializes writers as SQLite does (see
// [sqlstore.Dialect.LockWriters]); rows read to decide a write are also
// locked with FOR UPDATE; and text columns use the "C" collation so ids
// compare and sort bytewise, as they do in SQLite and in Go, whatever
// collation the database was created with (pagination cursors rely on it).
func Dialect() sqlstore.Dialect { return dialect("public") }

// dialect is Dialect with pg_trgm's operator classes in trgmSchema.
func dialect(trgmSchema string) sqlstore.Dialect {
	return sqlstore.Dialect{
		Name:             "postgres",
		ForUpdate:        " FOR UPDATE",
		SkipLocked:       " FOR UPDATE SKIP LOCKED",
		LockWriters:      `SELECT size FROM audit_head WHERE id = 1 FOR UPDATE`,
		Migrations:       Migrations(),
		Steps:            map[string][]string{sqlstore.StepParticipantSearch: participantSearchStep(trgmSchema)},
		ParticipantMatch: participantMatch,
	}
}

// participantSearchStep backfills participant_text and export_jobs.case_id
// and builds the pg_trgm GIN index that serves participant LIKE searches.
func participantSearchStep(trgmSchema string) []string {
	return []string{
		`UPDATE recordings SET participant_text = COALESCE((SELECT string_agg(v, chr(10)) FROM (
			SELECT lower(p->>'aor') AS v FROM jsonb_array_elements(recordings.participants::jsonb) p
			UNION ALL SELECT lower(p->>'name') FROM jsonb_array_elements(recordings.participants::jsonb) p) x WHERE v <> ''), '')`,
		`UPDATE export_jobs SET case_id = COALESCE(NULLIF(metadata::jsonb->>'case_id', ''), filter::jsonb->>'case_id', '')`,
		`CREATE INDEX recordings_participant_trgm ON recordings USING gin (participant_text ` + pgx.Identifier{trgmSchema, "gin_trgm_ops"}.Sanitize() + `)`,
	}
}

// participantMatch is a LIKE over participant_text, which the pg_trgm
// index serves; the needle's LIKE wildcards are escaped.
func participantMatch(ph, needle string) (string, any) {
	esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(needle)
	return `recordings.participant_text LIKE ` + ph, "%" + esc + "%"
}

var textColumn = regexp.MustCompile(`\bTEXT\b`)

// Migrations returns sqlstore.Migrations with every TEXT column declared
// COLLATE "C".
func Migrations() []string {
	out := make([]string, len(sqlstore.Migrations))
	for i, m := range sqlstore.Migrations {
		out[i] = textColumn.ReplaceAllString(m, `TEXT COLLATE "C"`)
	}
	return out
}

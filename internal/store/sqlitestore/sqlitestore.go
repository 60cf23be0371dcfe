// Package sqlitestore is holdfast's embedded metadata store: a SQLite file
// in the data directory, through the pure-Go modernc.org/sqlite driver.
//
// It is what `holdfast serve` uses unless a PostgreSQL URL is configured.
// The SQL itself lives in sqlstore and is shared with PostgreSQL.
package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/holdfast/holdfast/internal/store/sqlstore"
)

// Open opens (creating if needed) the SQLite database at path and brings
// its schema up to date. Writes use BEGIN IMMEDIATE so concurrent writers
// queue on the busy timeout instead of failing on lock upgrades, the
// journal is WAL, and synchronous=FULL makes every commit durable before it
// returns: a commit that returned survives a SIGKILL or power loss.
func Open(ctx context.Context, path string) (*sqlstore.Store, error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(30000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	dsn := "file:" + path + "?" + q.Encode()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(8)
	s, err := sqlstore.New(ctx, db, Dialect())
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Dialect returns the SQLite dialect: writers are serialized by the
// database itself, so no row locks are needed.
func Dialect() sqlstore.Dialect {
	return sqlstore.Dialect{Name: "sqlite", ForUpdate: "", Migrations: sqlstore.Migrations}
}

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
	"strings"
	"unicode/utf8"

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
// database itself, so no row locks are needed. Participant search uses an
// FTS5 table with the trigram tokenizer.
func Dialect() sqlstore.Dialect {
	return sqlstore.Dialect{
		Name:             "sqlite",
		ForUpdate:        "",
		Migrations:       sqlstore.Migrations,
		Steps:            map[string][]string{sqlstore.StepParticipantSearch: participantSearchStep},
		ParticipantMatch: participantMatch,
		ParticipantScan:  participantScan,
	}
}

// participantSearchStep backfills participant_text and export_jobs.case_id
// and builds the trigram index. The FTS5 table indexes
// recording_participant_search, whose INTEGER PRIMARY KEY rowids stay
// stable (a recordings rowid may change on VACUUM); triggers keep both in
// step with recordings.
var participantSearchStep = []string{
	`UPDATE recordings SET participant_text = COALESCE((SELECT group_concat(v, char(10)) FROM (
		SELECT lower(json_extract(p.value, '$.aor')) AS v FROM json_each(recordings.participants) p
		UNION ALL SELECT lower(json_extract(p.value, '$.name')) FROM json_each(recordings.participants) p) WHERE v <> ''), '')`,
	`UPDATE export_jobs SET case_id = COALESCE(NULLIF(json_extract(metadata, '$.case_id'), ''), json_extract(filter, '$.case_id'), '')`,
	`CREATE TABLE recording_participant_search (
		rowid INTEGER PRIMARY KEY,
		recording_id TEXT NOT NULL UNIQUE,
		participant_text TEXT NOT NULL)`,
	`CREATE VIRTUAL TABLE recording_participant_fts USING fts5(participant_text,
		content='recording_participant_search', content_rowid='rowid', tokenize='trigram')`,
	`CREATE TRIGGER recording_participant_search_ai AFTER INSERT ON recordings BEGIN
		INSERT INTO recording_participant_search (recording_id, participant_text) VALUES (new.id, new.participant_text);
	END`,
	`CREATE TRIGGER recording_participant_search_ad AFTER DELETE ON recordings BEGIN
		DELETE FROM recording_participant_search WHERE recording_id = old.id;
	END`,
	`CREATE TRIGGER recording_participant_fts_ai AFTER INSERT ON recording_participant_search BEGIN
		INSERT INTO recording_participant_fts (rowid, participant_text) VALUES (new.rowid, new.participant_text);
	END`,
	`CREATE TRIGGER recording_participant_fts_ad AFTER DELETE ON recording_participant_search BEGIN
		INSERT INTO recording_participant_fts (recording_participant_fts, rowid, participant_text) VALUES ('delete', old.rowid, old.participant_text);
	END`,
	`INSERT INTO recording_participant_search (recording_id, participant_text) SELECT id, participant_text FROM recordings`,
}

// participantMatch matches through the trigram index: a needle of three
// or more characters is one FTS5 phrase, which the trigram tokenizer
// matches as a case-insensitive substring. Shorter needles have no
// trigram, so they are looked for directly.
func participantMatch(ph, needle string) (string, any) {
	if utf8.RuneCountInString(needle) < 3 {
		return `instr(recordings.participant_text, ` + ph + `) > 0`, needle
	}
	phrase := `"` + strings.ReplaceAll(needle, `"`, `""`) + `"`
	return `recordings.id IN (SELECT s.recording_id FROM recording_participant_search s WHERE s.rowid IN
		(SELECT rowid FROM recording_participant_fts WHERE recording_participant_fts MATCH ` + ph + `))`, phrase
}

// participantScan tests the row at hand: for a walk in id order over
// dense matches, where going through the trigram index would collect and
// sort every match before the first page.
func participantScan(ph, needle string) (string, any) {
	return `instr(recordings.participant_text, ` + ph + `) > 0`, needle
}

package sqlitestore_test

import (
	"database/sql"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/holdfast/holdfast/internal/jobs/jobstest"
	"github.com/holdfast/holdfast/internal/store"
	"github.com/holdfast/holdfast/internal/store/sqlitestore"
	"github.com/holdfast/holdfast/internal/store/sqlstore"
	"github.com/holdfast/holdfast/internal/store/storetest"
	"github.com/holdfast/holdfast/internal/vault"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := sqlitestore.Open(t.Context(), filepath.Join(t.TempDir(), "holdfast.db"))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// TestReopen checks that reopening the same file keeps its data and does
// not run the migrations again.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "holdfast.db")
	s, err := sqlitestore.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendAudit(t.Context(), store.AuditEvent{Time: time.Unix(1, 0), Type: "t", Actor: "system"}); err != nil {
		t.Fatal(err)
	}
	var applied int64
	if err := s.DB().QueryRowContext(t.Context(), `SELECT MAX(applied_at) FROM schema_migrations`).Scan(&applied); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = sqlitestore.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if n, err := s.AuditSize(t.Context()); err != nil || n != 1 {
		t.Errorf("AuditSize after reopen = %d, %v; want 1", n, err)
	}
	var runs int
	var last int64
	if err := s.DB().QueryRowContext(t.Context(), `SELECT COUNT(*), MAX(applied_at) FROM schema_migrations`).Scan(&runs, &last); err != nil {
		t.Fatal(err)
	}
	if runs != len(sqlitestore.Dialect().Migrations) || last != applied {
		t.Errorf("schema_migrations after reopen: %d rows, last applied %d; want %d rows, last applied %d", runs, last, len(sqlitestore.Dialect().Migrations), applied)
	}
}

func TestJobs(t *testing.T) {
	jobstest.Run(t, func(t *testing.T) jobstest.Harness {
		s, err := sqlitestore.Open(t.Context(), filepath.Join(t.TempDir(), "holdfast.db"))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return jobstest.Harness{Driver: s, DB: s.DB()}
	})
}

// TestLabelsBackfill: recordings stored before labels became rows are found
// by a label search after the upgrade.
func TestLabelsBackfill(t *testing.T) {
	ctx := t.Context()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "old.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	d := sqlitestore.Dialect()
	// The schema just before the step that creates recording_labels.
	step := slices.IndexFunc(d.Migrations, func(m string) bool { return strings.Contains(m, "CREATE TABLE recording_labels") })
	if step < 0 {
		t.Fatal("no migration creates recording_labels")
	}
	d.Migrations = d.Migrations[:step]
	if _, err := sqlstore.New(ctx, db, d); err != nil {
		t.Fatal(err)
	}
	// Rows as the code before the upgrade wrote them: labels only as JSON.
	mk := func(id, labels string) {
		if _, err := db.ExecContext(ctx, `INSERT INTO recordings (id, media_type, status, started_at, participants, labels, size_bytes, sha256, sha512, media_format, ingested_at)
			VALUES ($1, 'SIP', 'processing', 1, '[]', $2, 0, 'a', 'b', 'audio/wav', 1)`, id, labels); err != nil {
			t.Fatal(err)
		}
	}
	mk("rec_a", `{"genesys.recording_id":"r-1","queue":"billing"}`)
	mk("rec_b", `{"genesys.recording_id":"r-2"}`)
	mk("rec_c", `{}`)

	up, err := sqlstore.New(ctx, db, sqlitestore.Dialect())
	if err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	for sel, want := range map[vault.LabelSelector]string{
		{Key: "genesys.recording_id", Value: "r-1"}: "rec_a",
		{Key: "genesys.recording_id", Value: "r-2"}: "rec_b",
		{Key: "queue", Value: "billing"}:            "rec_a",
	} {
		recs, _, err := up.ListRecordings(ctx, store.ListRecordingsParams{Labels: []vault.LabelSelector{sel}})
		if err != nil || len(recs) != 1 || recs[0].ID != want {
			t.Errorf("label %v after backfill: %v, %v; want %s", sel, recs, err, want)
		}
	}
}

// TestUpgrade migrates a database written before participant search.
func TestUpgrade(t *testing.T) {
	path := filepath.Join(t.TempDir(), "holdfast.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	d := sqlitestore.Dialect()
	d.Migrations = d.Migrations[:storetest.UpgradedSchemaVersion(d.Migrations)]
	if _, err := sqlstore.New(t.Context(), db, d); err != nil {
		t.Fatal(err)
	}
	storetest.Upgrade(t, db, func(t *testing.T) store.Store {
		s, err := sqlitestore.Open(t.Context(), path)
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// TestParticipantSearchUsesTrigramIndex checks that participant search is
// answered from the FTS5 trigram table, not by scanning recordings.
func TestParticipantSearchUsesTrigramIndex(t *testing.T) {
	s, err := sqlitestore.Open(t.Context(), filepath.Join(t.TempDir(), "holdfast.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cond, arg := sqlitestore.Dialect().ParticipantMatch("$1", "alice")
	rows, err := s.DB().QueryContext(t.Context(), `EXPLAIN QUERY PLAN SELECT id FROM recordings WHERE `+cond, arg)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	joined := strings.Join(plan, "\n")
	if !strings.Contains(joined, "VIRTUAL TABLE INDEX") || !strings.Contains(joined, "recording_participant_fts") || strings.Contains(joined, "SCAN recordings") {
		t.Errorf("participant search plan does not use the trigram index:\n%s", joined)
	}
}

package sqlitestore_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/holdfast/holdfast/internal/jobs/jobstest"
	"github.com/holdfast/holdfast/internal/store"
	"github.com/holdfast/holdfast/internal/store/sqlitestore"
	"github.com/holdfast/holdfast/internal/store/storetest"
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

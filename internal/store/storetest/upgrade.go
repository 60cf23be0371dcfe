package storetest

import (
	"database/sql"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/holdfast/holdfast/internal/store"
)

// UpgradedSchemaVersion is the schema version a database had before
// participant search and the case views (the step that adds
// participant_text): Upgrade starts from it.
func UpgradedSchemaVersion(migrations []string) int {
	for i, m := range migrations {
		if strings.Contains(m, "ADD COLUMN participant_text") {
			return i
		}
	}
	panic("storetest: no migration adds participant_text")
}

// Upgrade checks that a database written before participant search and
// the case views gets both once it is migrated: old writes an old row
// set into db (whose schema is at UpgradedSchemaVersion), and reopen
// opens the same database with every migration.
func Upgrade(t *testing.T, db *sql.DB, reopen func(t *testing.T) store.Store) {
	t.Helper()
	ctx := t.Context()
	r := recording(newID("rec"), "SIP", at(0))
	for _, stmt := range []struct {
		q    string
		args []any
	}{
		{`INSERT INTO recordings (id, media_type, status, call_id, started_at, participants, labels, size_bytes, sha256, sha512, media_format, ingested_at)
			VALUES ($1, 'SIP', 'completed', 'old-call@pbx', $2, $3, '{}', 1, $4, $5, 'audio/wav', $2)`,
			[]any{r.ID, at(0).UnixNano(), `[{"aor":"sip:Alice@Example.com","name":"Alice Old"},{"aor":"sip:bob@example.com"}]`, r.Content.SHA256, r.Content.SHA512}},
		{`INSERT INTO export_jobs (id, state, filter, metadata, destination, wait_ms, bag_name, created_at, created_by)
			VALUES ($1, 'completed', '{"case_id":"LC-OLD-FILTER"}', '{"legal_hold":false}', '{"type":"filesystem"}', 0, 'b1', $2, 'tok')`,
			[]any{newID("exp"), at(time.Hour).UnixNano()}},
		{`INSERT INTO export_jobs (id, state, filter, metadata, destination, wait_ms, bag_name, created_at, created_by)
			VALUES ($1, 'completed', '{"media_type":"SIP"}', '{"legal_hold":true,"case_id":"LC-OLD"}', '{"type":"filesystem"}', 0, 'b2', $2, 'tok')`,
			[]any{newID("exp"), at(2 * time.Hour).UnixNano()}},
	} {
		if _, err := db.ExecContext(ctx, stmt.q, stmt.args...); err != nil {
			t.Fatalf("writing a row of the schema before participant search: %v", err)
		}
	}
	s := reopen(t)
	for _, needle := range []string{"alice@", "ALICE OLD", "al", "bob@example.com"} {
		if got := listAll(t, s, store.ListRecordingsParams{Participant: needle}); !slices.Equal(got, []string{r.ID}) {
			t.Errorf("after the upgrade, participant %q finds %q, want the old recording %s", needle, got, r.ID)
		}
	}
	if got := listAll(t, s, store.ListRecordingsParams{Participant: "carol"}); len(got) != 0 {
		t.Errorf("after the upgrade, participant carol finds %q", got)
	}
	cases, _, err := s.ListCases(ctx, store.ListCasesParams{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range cases {
		ids = append(ids, c.CaseID)
		if c.Exports != 1 {
			t.Errorf("case %s has %d exports after the upgrade, want 1", c.CaseID, c.Exports)
		}
	}
	if !slices.Equal(ids, []string{"LC-OLD", "LC-OLD-FILTER"}) {
		t.Errorf("cases after the upgrade = %q, want the old exports' cases", ids)
	}
	// New recordings are indexed as before.
	n := create(t, s, recording(newID("rec"), "SIP", at(time.Minute)))
	if got := listAll(t, s, store.ListRecordingsParams{Participant: "alice ö"}); !slices.Equal(got, []string{n.ID}) {
		t.Errorf("a recording ingested after the upgrade: participant search finds %q, want %s", got, n.ID)
	}
}

// Package storetest is the conformance suite of [store.Store]: one set of
// tests that every metadata backend (sqlitestore, pgstore) must pass, so the
// documented contracts of the interface hold whatever database is behind it.
//
// It is for the backends' own tests, each of which is a few lines that call
// [Run] with a constructor of fresh, empty stores:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store {
//			s, err := mybackend.Open(t.Context(), ...)
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// newStore is called once per subtest, possibly from parallel subtests, and
// must return an empty store (no tokens, recordings, holds or audit entries)
// that is closed when the test ends.
package storetest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/holdfast/holdfast/internal/audit"
	"github.com/holdfast/holdfast/internal/store"
	"github.com/holdfast/holdfast/internal/vault"
)

// Run runs the conformance suite against stores made by newStore.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Ping", testPing},
		{"Tokens", testTokens},
		{"TokenRevocation", testTokenRevocation},
		{"TokenTouch", testTokenTouch},
		{"ListTokensPagination", testListTokensPagination},
		{"NotFound", testNotFound},
		{"RecordingRoundTrip", testRecordingRoundTrip},
		{"ListRecordingsFilters", testListRecordingsFilters},
		{"ListRecordingsPagination", testListRecordingsPagination},
		{"ListRecordingsSearch", testListRecordingsSearch},
		{"Cases", testCases},
		{"IDOrderIsBytewise", testIDOrderIsBytewise},
		{"FinishProcessing", testFinishProcessing},
		{"ApplyRecordingHoldsAtomic", testApplyRecordingHoldsAtomic},
		{"ApplyRecordingHolds", testApplyRecordingHolds},
		{"ApplyRecordingHoldsRelease", testApplyRecordingHoldsRelease},
		{"CreateHoldFilter", testCreateHoldFilter},
		{"CreateHoldUnknownRecordIDs", testCreateHoldUnknownRecordIDs},
		{"CreateHoldIncludeFuture", testCreateHoldIncludeFuture},
		{"ReleaseHold", testReleaseHold},
		{"ListHolds", testListHolds},
		{"DeleteRecording", testDeleteRecording},
		{"Idempotency", testIdempotency},
		{"IdempotencyConcurrentReserve", testIdempotencyConcurrentReserve},
		{"IdempotencyAbandonedReservation", testIdempotencyAbandonedReservation},
		{"AuditLog", testAuditLog},
		{"Checkpoints", testCheckpoints},
		{"ConcurrentWrites", testConcurrentWrites},
		{"ConcurrentIncludeFuture", testConcurrentIncludeFuture},
		{"ConcurrentHoldAndDelete", testConcurrentHoldAndDelete},
		{"Exports", testExports},
		{"CountActive", testCountActive},
		{"ListMembershipFilters", testListMembershipFilters},
		{"Sessions", testSessions},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, newStore(t))
		})
	}
}

// base is the fixed time every test builds on: UTC with microsecond
// precision, which every backend stores exactly.
var base = time.Date(2026, 11, 24, 6, 0, 0, 123456000, time.UTC)

// at returns base plus d.
func at(d time.Duration) time.Time { return base.Add(d) }

func ptr[T any](v T) *T { return &v }

// seq makes unique ids that sort in creation order.
var seq atomic.Int64

// newID returns a fresh id with the prefix, shaped like vault.NewID's.
func newID(prefix string) string {
	return fmt.Sprintf("%s_01M8BCHP8X%016d", prefix, seq.Add(1))
}

func shaOf(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// recording returns a complete recording in status processing.
func recording(id, mediaType string, started time.Time) vault.Recording {
	ended := started.Add(95*time.Second + 250*time.Microsecond)
	return vault.Recording{
		ID:        id,
		MediaType: mediaType,
		Status:    vault.StatusProcessing,
		CallID:    "call-" + id + "@pbx.example.com",
		StartedAt: started,
		EndedAt:   &ended,
		Direction: "inbound",
		Participants: []vault.Participant{
			{AOR: "sip:alice@example.com", Name: "Alice Ö", Role: "caller"},
			{AOR: "sip:bob@example.com"},
		},
		Labels: map[string]string{"team": "support", "queue": "billing"},
		Content: vault.Content{
			SizeBytes:   48213,
			SHA256:      shaOf(id),
			SHA512:      shaOf(id) + shaOf("512"+id),
			MediaFormat: "audio/wav",
		},
		IngestedAt: at(48 * time.Hour),
	}
}

// create stores r and fails the test on error.
func create(t *testing.T, s store.Store, r vault.Recording) vault.Recording {
	t.Helper()
	got, err := s.CreateRecording(t.Context(), store.CreateRecordingParams{Recording: r, Actor: "tok_ingest"})
	if err != nil {
		t.Fatalf("CreateRecording(%s): %v", r.ID, err)
	}
	return got
}

// createN stores n SIP recordings started one minute apart after start.
func createN(t *testing.T, s store.Store, n int, mediaType string, start time.Time) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = create(t, s, recording(newID("rec"), mediaType, start.Add(time.Duration(i)*time.Minute))).ID
	}
	return ids
}

func get(t *testing.T, s store.Store, id string) vault.Recording {
	t.Helper()
	r, err := s.GetRecording(t.Context(), id)
	if err != nil {
		t.Fatalf("GetRecording(%s): %v", id, err)
	}
	return r
}

func getHold(t *testing.T, s store.Store, id string) vault.Hold {
	t.Helper()
	h, err := s.GetHold(t.Context(), id)
	if err != nil {
		t.Fatalf("GetHold(%s): %v", id, err)
	}
	return h
}

func auditSize(t *testing.T, s store.Store) int64 {
	t.Helper()
	n, err := s.AuditSize(t.Context())
	if err != nil {
		t.Fatalf("AuditSize: %v", err)
	}
	return n
}

// holdIDs returns the ids of a recording's active holds.
func holdIDs(r vault.Recording) []string {
	ids := make([]string, len(r.Holds))
	for i, h := range r.Holds {
		ids[i] = h.HoldID
	}
	slices.Sort(ids)
	return ids
}

// sameJSON fails the test unless got and want have the same JSON form,
// which compares times as instants in UTC and nil against empty where the
// API does.
func sameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	g, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	w, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if string(g) != string(w) {
		t.Errorf("%s:\n got  %s\n want %s", what, g, w)
	}
}

// wantValidation checks that err is a *vault.ValidationError naming
// exactly the fields given, each with code not_found.
func wantValidation(t *testing.T, err error, fields ...string) {
	t.Helper()
	var verr *vault.ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("error = %v (%T), want *vault.ValidationError", err, err)
	}
	var got []string
	for _, fe := range verr.Errors {
		got = append(got, fe.Field)
		if fe.Code != "not_found" {
			t.Errorf("field %s: code = %q, want not_found", fe.Field, fe.Code)
		}
		if fe.Message == "" {
			t.Errorf("field %s: empty message", fe.Field)
		}
	}
	if !slices.Equal(got, fields) {
		t.Errorf("validation fields = %q, want %q", got, fields)
	}
}

func sorted(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

func testPing(t *testing.T, s store.Store) {
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if n := auditSize(t, s); n != 0 {
		t.Fatalf("new store: AuditSize = %d, want 0", n)
	}
	checkAudit(t, s)
}

func testTokens(t *testing.T, s store.Store) {
	ctx := t.Context()
	if n, err := s.CountTokens(ctx); err != nil || n != 0 {
		t.Fatalf("CountTokens on empty store = %d, %v; want 0, nil", n, err)
	}
	tokens := []store.CreateTokenParams{
		{ID: "tok_admin", Name: "admin", Permissions: []vault.Permission{vault.PermRecordingView, vault.PermLegalHoldRelease}, SecretHash: shaOf("secret-1"), Actor: "system", Now: at(0)},
		{ID: "tok_reader", Name: "reader ü", Permissions: []vault.Permission{vault.PermAdmin}, SecretHash: shaOf("secret-2"), Actor: "tok_admin", Now: at(time.Minute)},
		{ID: "tok_none", Name: "nothing", Permissions: []vault.Permission{}, SecretHash: shaOf("secret-3"), Actor: "tok_admin", Now: at(2 * time.Minute)},
	}
	for i, p := range tokens {
		got, err := s.CreateToken(ctx, p)
		if err != nil {
			t.Fatalf("CreateToken(%s): %v", p.ID, err)
		}
		want := vault.Token{ID: p.ID, Name: p.Name, Permissions: p.Permissions, CreatedAt: vault.FormatTime(p.Now)}
		sameJSON(t, "CreateToken result", got, want)
		if n, err := s.CountTokens(ctx); err != nil || n != i+1 {
			t.Fatalf("CountTokens = %d, %v; want %d", n, err, i+1)
		}
	}
	for _, p := range tokens {
		got, err := s.TokenBySecretHash(ctx, p.SecretHash)
		if err != nil {
			t.Fatalf("TokenBySecretHash(%s): %v", p.ID, err)
		}
		sameJSON(t, "TokenBySecretHash("+p.ID+")", got, vault.Token{ID: p.ID, Name: p.Name, Permissions: p.Permissions, CreatedAt: vault.FormatTime(p.Now)})
	}
	if _, err := s.TokenBySecretHash(ctx, shaOf("unknown")); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("TokenBySecretHash(unknown) error = %v, want vault.ErrNotFound", err)
	}
	recs := checkAudit(t, s)
	wantTypes(t, recs, 0, "token.created", "token.created", "token.created")
	for i, r := range recs {
		if r.Entry.Subject != tokens[i].ID || r.Entry.Actor != tokens[i].Actor || !r.Entry.Time.Equal(tokens[i].Now) {
			t.Errorf("audit entry %d = %+v, want subject %s actor %s time %v", i, r.Entry, tokens[i].ID, tokens[i].Actor, tokens[i].Now)
		}
		if strings.Contains(string(r.Entry.Data), tokens[i].SecretHash) {
			t.Errorf("audit entry %d records the secret hash: %s", i, r.Entry.Data)
		}
	}
}

func testNotFound(t *testing.T, s store.Store) {
	ctx := t.Context()
	create(t, s, recording(newID("rec"), "SIP", at(0)))
	before := auditSize(t, s)
	missing := newID("rec")
	tests := []struct {
		name string
		call func() error
	}{
		{"GetRecording", func() error { _, err := s.GetRecording(ctx, missing); return err }},
		{"FinishProcessing", func() error {
			_, err := s.FinishProcessing(ctx, store.FinishProcessingParams{ID: missing, Result: vault.ProbeResult{OK: true}, Now: at(time.Hour)})
			return err
		}},
		{"DeleteRecording", func() error {
			_, err := s.DeleteRecording(ctx, store.DeleteRecordingParams{ID: missing, Actor: "tok_a", Now: at(time.Hour)})
			return err
		}},
		{"GetHold", func() error { _, err := s.GetHold(ctx, newID("hold")); return err }},
		{"ReleaseHold", func() error {
			_, err := s.ReleaseHold(ctx, store.ReleaseHoldParams{HoldID: newID("hold"), Reason: "done", Actor: "tok_a", Now: at(time.Hour)})
			return err
		}},
		{"TokenBySecretHash", func() error { _, err := s.TokenBySecretHash(ctx, "nope"); return err }},
		{"RevokeToken", func() error {
			_, err := s.RevokeToken(ctx, store.RevokeTokenParams{ID: newID("tok"), Actor: "tok_a", Now: at(time.Hour)})
			return err
		}},
		{"LatestCheckpoint", func() error { _, _, err := s.LatestCheckpoint(ctx); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, vault.ErrNotFound) {
				t.Errorf("%s(unknown) error = %v, want vault.ErrNotFound", tt.name, err)
			}
		})
	}
	if after := auditSize(t, s); after != before {
		t.Errorf("calls on unknown resources appended %d audit entries", after-before)
	}
}

// heldIDs pages through a hold's recordings and returns those it still
// holds (not released on their own), in order.
func heldIDs(t *testing.T, s store.Store, holdID string) []string {
	t.Helper()
	out := []string{}
	cursor := ""
	for {
		page, next, err := s.ListHoldRecordings(t.Context(), store.ListHoldRecordingsParams{HoldID: holdID, Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatalf("ListHoldRecordings(%s): %v", holdID, err)
		}
		for _, hr := range page {
			if hr.ReleasedAt == nil {
				out = append(out, hr.RecordingID)
			}
		}
		if next == "" {
			return out
		}
		cursor = next
	}
}

// sameSet reports whether audit data records exactly the set ids: its
// recording_count and recordings_root, and no list of ids.
func sameSet(d map[string]any, ids []string) bool {
	n, root := audit.SetOf(ids)
	_, listed := d["recording_ids"]
	return !listed && d["recording_count"] == float64(n) && d["recordings_root"] == audit.FormatSetRoot(root)
}

func wantSet(t *testing.T, what string, d map[string]any, ids []string) {
	t.Helper()
	if !sameSet(d, ids) {
		n, root := audit.SetOf(ids)
		t.Errorf("%s records count %v root %v, want %d %s (the set %q, without recording_ids)", what, d["recording_count"], d["recordings_root"], n, audit.FormatSetRoot(root), ids)
	}
}

// wantProvable checks that every id of want is found in the set recorded
// by audit entry entry, and that the set streams back as exactly want.
func wantProvable(t *testing.T, s store.Store, p store.RecordingSetParams, entry int64, want []string) {
	t.Helper()
	want = sorted(want)
	check := func(set store.RecordingSet) {
		t.Helper()
		if set.EntryIndex != entry || set.Count != int64(len(want)) {
			t.Errorf("RecordingSetOf(%+v) = %+v, want entry %d of %d recordings", p, set, entry, len(want))
		}
		var got []string
		for id, err := range s.RecordingSetIDs(t.Context(), set) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, id)
		}
		if !slices.Equal(got, want) {
			t.Errorf("RecordingSetIDs(%+v) = %q, want %q", set, got, want)
		}
	}
	if p.JobID != "" {
		set, err := s.RecordingSetOf(t.Context(), p)
		if err != nil {
			t.Fatalf("RecordingSetOf(%+v): %v", p, err)
		}
		check(set)
	}
	for _, id := range want {
		q := p
		q.RecordingID = id
		set, err := s.RecordingSetOf(t.Context(), q)
		if err != nil {
			t.Fatalf("RecordingSetOf(%+v): %v", q, err)
		}
		check(set)
	}
	q := p
	q.RecordingID = "rec_not_in_the_set"
	if _, err := s.RecordingSetOf(t.Context(), q); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("RecordingSetOf(%+v) error = %v, want vault.ErrNotFound", q, err)
	}
}

// wantExtended checks that recording id joined include_future hold
// holdID by a hold.extended entry whose set is that one recording.
func wantExtended(t *testing.T, s store.Store, holdID, id string) {
	t.Helper()
	set, err := s.RecordingSetOf(t.Context(), store.RecordingSetParams{HoldID: holdID, RecordingID: id})
	if err != nil {
		t.Fatalf("RecordingSetOf(%s, %s): %v", holdID, id, err)
	}
	recs, err := s.AuditEntries(t.Context(), set.EntryIndex, 1)
	if err != nil || len(recs) != 1 {
		t.Fatalf("audit entry %d: %v", set.EntryIndex, err)
	}
	if e := recs[0].Entry; e.Type != "hold.extended" || e.Subject != holdID || set.Only != id || !sameSet(data(t, recs[0]), []string{id}) {
		t.Errorf("recording %s joined hold %s by entry %+v %s (set %+v), want hold.extended over it alone", id, holdID, e, e.Data, set)
	}
}

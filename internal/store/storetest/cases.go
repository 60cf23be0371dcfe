package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/holdfast/holdfast/internal/store"
	"github.com/holdfast/holdfast/internal/vault"
)

// testListRecordingsSearch checks the call_id, participant and
// legal_hold filters.
func testListRecordingsSearch(t *testing.T, s store.Store) {
	mk := func(callID string, parts ...vault.Participant) string {
		r := recording(newID("rec"), "SIP", at(time.Hour))
		r.CallID, r.Participants = callID, parts
		return create(t, s, r).ID
	}
	alice := vault.Participant{AOR: "sip:alice@example.com", Name: "Alice Ö'Brien", Role: "agent"}
	bob := vault.Participant{AOR: "sip:bob@example.com", Name: "Bob"}
	odd := vault.Participant{AOR: "sip:100%_sure@example.net", Name: `Quote "Q" Back\slash`}
	r0 := mk("a84b4c76e66710@pc33.example.com", alice, bob)
	r1 := mk("other@pc33.example.com", bob)
	r2 := mk("a84b4c76e66710@pc33.example.com", odd)
	r3 := mk("")
	apply(t, s, holdItem(r1, "LC-S", "r"), holdItem(r2, "LC-S", "r"))
	res := apply(t, s, holdItem(r3, "LC-S2", "r"))
	if _, err := s.ReleaseHold(t.Context(), store.ReleaseHoldParams{HoldID: res.Results[0].HoldID, Reason: "done", Actor: "tok_a", Now: at(20 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		p    store.ListRecordingsParams
		want []string
	}{
		{"call_id", store.ListRecordingsParams{CallID: "a84b4c76e66710@pc33.example.com"}, []string{r0, r2}},
		{"call_id is exact", store.ListRecordingsParams{CallID: "a84b4c76e66710"}, nil},
		{"participant aor", store.ListRecordingsParams{Participant: "alice@example"}, []string{r0}},
		{"participant name, any case", store.ListRecordingsParams{Participant: "ALICE ö'b"}, []string{r0}},
		{"participant in several", store.ListRecordingsParams{Participant: "bob"}, []string{r0, r1}},
		{"participant short", store.ListRecordingsParams{Participant: "ob"}, []string{r0, r1}},
		{"participant one letter", store.ListRecordingsParams{Participant: "Ö"}, []string{r0}},
		{"participant domain", store.ListRecordingsParams{Participant: "example."}, []string{r0, r1, r2}},
		{"participant LIKE wildcards are literal", store.ListRecordingsParams{Participant: "100%_s"}, []string{r2}},
		{"participant percent alone", store.ListRecordingsParams{Participant: "%"}, []string{r2}},
		{"participant underscore is not a wildcard", store.ListRecordingsParams{Participant: "b_b"}, nil},
		{"participant quotes", store.ListRecordingsParams{Participant: `"q" back\`}, []string{r2}},
		{"participant not across aor and name", store.ListRecordingsParams{Participant: "example.combob"}, nil},
		{"participant none", store.ListRecordingsParams{Participant: "carol"}, nil},
		{"held", store.ListRecordingsParams{LegalHold: ptr(true)}, []string{r1, r2}},
		{"not held (a released hold does not count)", store.ListRecordingsParams{LegalHold: ptr(false)}, []string{r0, r3}},
		{"combined", store.ListRecordingsParams{CallID: "a84b4c76e66710@pc33.example.com", Participant: "example", LegalHold: ptr(true)}, []string{r2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, limit := range []int{0, 1} {
				p := tt.p
				p.Limit = limit
				if got := listAll(t, s, p); !slices.Equal(got, sorted(tt.want)) {
					t.Errorf("limit %d: ids = %q, want %q", limit, got, sorted(tt.want))
				}
			}
		})
	}
	// A deleted recording is no longer found by its participants.
	if _, err := s.DeleteRecording(t.Context(), store.DeleteRecordingParams{ID: r0, Actor: "tok_a", Now: at(21 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if got := listAll(t, s, store.ListRecordingsParams{Participant: "alice"}); len(got) != 0 {
		t.Errorf("deleted recording still found by participant: %q", got)
	}

	// Dense matches: with small pages a store may walk recordings in id
	// order instead of collecting every match through the index. Both ways
	// must find exactly the same recordings, page after page.
	dana := vault.Participant{AOR: "sip:dana@example.org", Name: "Dana Dense"}
	var danas []string
	for range 40 {
		danas = append(danas, mk("", dana))
	}
	for _, needle := range []string{"dana dense", "DANA@EXAMPLE.ORG", "da"} {
		for _, limit := range []int{1, 3, 0} {
			if got := listAll(t, s, store.ListRecordingsParams{Participant: needle, Limit: limit}); !slices.Equal(got, sorted(danas)) {
				t.Errorf("dense participant %q, limit %d: %d ids, want the %d danas", needle, limit, len(got), len(danas))
			}
		}
	}
	if got := listAll(t, s, store.ListRecordingsParams{Participant: "dana", LegalHold: ptr(true), Limit: 1}); len(got) != 0 {
		t.Errorf("dense participant with legal_hold=true: %q, want none", got)
	}
}

// testCases checks the case views: each legal-hold export places its own
// hold, the case groups them, and releasing the case releases them all in
// one step that is audited.
func testCases(t *testing.T, s store.Store) {
	ctx := t.Context()
	if cases, next, err := s.ListCases(ctx, store.ListCasesParams{}); err != nil || len(cases) != 0 || next != "" {
		t.Fatalf("ListCases on an empty store = %v, %q, %v", cases, next, err)
	}
	ids := createN(t, s, 3, "SIP", at(0))
	other := createN(t, s, 1, "CHAT", at(0))
	apply(t, s, holdItem(ids[0], "LC-A", "direct"))
	p1 := exportParams(vault.RecordingFilter{MediaType: "SIP"}, true, "LC-A", at(2*time.Hour))
	j1 := createJob(t, s, p1)
	p2 := exportParams(vault.RecordingFilter{MediaType: "SIP"}, true, "LC-A", at(3*time.Hour))
	j2 := createJob(t, s, p2)
	if j1.HoldID == "" || j2.HoldID == "" || j1.HoldID == j2.HoldID {
		t.Fatalf("two legal-hold exports of one case: holds %q and %q; want two distinct holds", j1.HoldID, j2.HoldID)
	}
	// An export by case alone (no hold) counts for the case; one matching
	// nothing places no hold but is still the case's export.
	p3 := exportParams(vault.RecordingFilter{CaseID: "LC-A"}, false, "", at(4*time.Hour))
	createJob(t, s, p3)
	p4 := exportParams(vault.RecordingFilter{MediaType: "EMAIL"}, true, "LC-EMPTY", at(5*time.Hour))
	if j := createJob(t, s, p4); j.HoldID != "" || j.Progress.Matched != 0 {
		t.Fatalf("export matching nothing: hold %q, matched %d; want no hold, 0", j.HoldID, j.Progress.Matched)
	}
	apply(t, s, holdItem(other[0], "LC-B", "direct"))

	cases, next, err := s.ListCases(ctx, store.ListCasesParams{})
	if err != nil || next != "" {
		t.Fatalf("ListCases: %v, next %q", err, next)
	}
	// Per-recording holds are applied at(24h), after every export here.
	want := []vault.Case{
		{CaseID: "LC-A", ActiveHolds: 3, HeldRecordings: 3, Exports: 3, LastActivityAt: at(24 * time.Hour)},
		{CaseID: "LC-B", ActiveHolds: 1, HeldRecordings: 1, Exports: 0, LastActivityAt: at(24 * time.Hour)},
		{CaseID: "LC-EMPTY", ActiveHolds: 0, HeldRecordings: 0, Exports: 1, LastActivityAt: at(5 * time.Hour)},
	}
	sameJSON(t, "ListCases", cases, want)
	for _, limit := range []int{1, 2} {
		var got []string
		cursor := ""
		for range 10 {
			page, next, err := s.ListCases(ctx, store.ListCasesParams{Limit: limit, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range page {
				got = append(got, c.CaseID)
			}
			if next == "" {
				break
			}
			cursor = next
		}
		if !slices.Equal(got, []string{"LC-A", "LC-B", "LC-EMPTY"}) {
			t.Errorf("ListCases limit %d pages: %q", limit, got)
		}
	}

	d, err := s.GetCase(ctx, "LC-A")
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "GetCase summary", d.Case, want[0])
	var holdIDs []string
	for _, h := range d.Holds {
		holdIDs = append(holdIDs, h.HoldID)
		if h.CaseID != "LC-A" || !h.Active || h.RecordingCount == 0 {
			t.Errorf("case hold %+v", h)
		}
	}
	if len(d.Holds) != 3 || !slices.Contains(holdIDs, j1.HoldID) || !slices.Contains(holdIDs, j2.HoldID) {
		t.Errorf("GetCase holds = %q; want the direct hold and both export holds", holdIDs)
	}
	if len(d.ExportJobs) != 3 || d.ExportJobs[0].ID != p1.JobID || d.ExportJobs[1].ID != p2.JobID || d.ExportJobs[2].ID != p3.JobID ||
		d.ExportJobs[0].HoldID != j1.HoldID || d.ExportJobs[0].Progress.Matched != 3 {
		t.Errorf("GetCase export jobs = %+v", d.ExportJobs)
	}
	if _, err := s.GetCase(ctx, "LC-NONE"); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("GetCase(unknown) error = %v, want vault.ErrNotFound", err)
	}

	start := auditSize(t, s)
	rel, err := s.ReleaseCase(ctx, store.ReleaseCaseParams{CaseID: "LC-A", Reason: "matter closed", Actor: "tok_rel", Now: at(60 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if rel.CaseID != "LC-A" || !slices.Equal(rel.ReleasedHoldIDs, sorted(holdIDs)) {
		t.Errorf("ReleaseCase = %+v, want every hold of %q", rel, holdIDs)
	}
	recs := auditTail(t, s, start, "hold.released", "hold.released", "hold.released", "case.released")
	for i, r := range recs[:3] {
		if r.Entry.Subject != rel.ReleasedHoldIDs[i] || r.Entry.Actor != "tok_rel" || data(t, r)["release_reason"] != "matter closed" {
			t.Errorf("release entry %d = %+v %s", i, r.Entry, r.Entry.Data)
		}
	}
	if got := jsonStrings(data(t, recs[3])["released_hold_ids"]); recs[3].Entry.Subject != "LC-A" || !slices.Equal(got, rel.ReleasedHoldIDs) {
		t.Errorf("case.released entry = %+v %s", recs[3].Entry, recs[3].Entry.Data)
	}
	for _, id := range ids {
		if r := get(t, s, id); r.LegalHold {
			t.Errorf("recording %s still held by %q after the case release", id, holdIDs)
		}
	}
	if r := get(t, s, other[0]); !r.LegalHold {
		t.Errorf("releasing LC-A released LC-B's hold on %s", other[0])
	}
	d, err = s.GetCase(ctx, "LC-A")
	if err != nil || d.ActiveHolds != 0 || d.HeldRecordings != 0 || !d.LastActivityAt.Equal(at(60*time.Hour)) {
		t.Errorf("GetCase after release = %+v, %v", d.Case, err)
	}
	// Releasing it again changes nothing and appends nothing.
	start = auditSize(t, s)
	if rel, err := s.ReleaseCase(ctx, store.ReleaseCaseParams{CaseID: "LC-A", Reason: "again", Actor: "tok_rel", Now: at(61 * time.Hour)}); err != nil || len(rel.ReleasedHoldIDs) != 0 {
		t.Errorf("second ReleaseCase = %+v, %v; want none released", rel, err)
	}
	if _, err := s.ReleaseCase(ctx, store.ReleaseCaseParams{CaseID: "LC-NONE", Reason: "x", Actor: "tok_rel", Now: at(61 * time.Hour)}); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("ReleaseCase(unknown) error = %v, want vault.ErrNotFound", err)
	}
	if n := auditSize(t, s); n != start {
		t.Errorf("releases that changed nothing appended %d audit entries", n-start)
	}
	drainExports(t, s)
	checkAudit(t, s)
}

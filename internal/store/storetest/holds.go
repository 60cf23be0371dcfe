package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/holdfast/holdfast/internal/store"
	"github.com/holdfast/holdfast/internal/vault"
)

func holdParams(items ...store.RecordingHoldItem) store.ApplyRecordingHoldsParams {
	return store.ApplyRecordingHoldsParams{Items: items, Actor: "tok_holds", Now: at(24 * time.Hour), NewID: func() string { return newID("hold") }}
}

func holdItem(id, caseID, reason string) store.RecordingHoldItem {
	return store.RecordingHoldItem{RecordingID: id, Spec: store.HoldSpec{CaseID: caseID, HoldReason: reason, HoldDate: at(-24 * time.Hour)}}
}

func releaseItem(id, caseID string) store.RecordingHoldItem {
	return store.RecordingHoldItem{RecordingID: id, Release: true, Spec: store.HoldSpec{CaseID: caseID}, ReleaseReason: "case closed"}
}

func apply(t *testing.T, s store.Store, items ...store.RecordingHoldItem) store.ApplyRecordingHoldsResult {
	t.Helper()
	res, err := s.ApplyRecordingHolds(t.Context(), holdParams(items...))
	if err != nil {
		t.Fatalf("ApplyRecordingHolds: %v", err)
	}
	if len(res.Results) != len(items) {
		t.Fatalf("ApplyRecordingHolds returned %d results for %d items", len(res.Results), len(items))
	}
	return res
}

func wantResults(t *testing.T, res store.ApplyRecordingHoldsResult, items []store.RecordingHoldItem, statuses ...string) {
	t.Helper()
	for i, r := range res.Results {
		if r.ID != items[i].RecordingID || r.Status != statuses[i] {
			t.Errorf("result %d = %+v, want id %s status %s", i, r, items[i].RecordingID, statuses[i])
		}
		if r.Status != "not_held" && r.HoldID == "" {
			t.Errorf("result %d (%s) has no hold id", i, r.Status)
		}
	}
}

func testApplyRecordingHoldsAtomic(t *testing.T, s store.Store) {
	ctx := t.Context()
	ids := createN(t, s, 3, "SIP", at(0))
	apply(t, s, holdItem(ids[2], "LC-0", "existing"))
	before := auditSize(t, s)
	holdsBefore, _, err := s.ListHolds(ctx, store.ListHoldsParams{})
	if err != nil {
		t.Fatal(err)
	}
	missing1, missing3 := newID("rec"), newID("rec")
	tests := []struct {
		name   string
		items  []store.RecordingHoldItem
		fields []string
	}{
		{"one unknown", []store.RecordingHoldItem{holdItem(ids[0], "LC-1", "r"), holdItem(missing1, "LC-1", "r")}, []string{"recordings[1].id"}},
		{"unknown among many", []store.RecordingHoldItem{
			holdItem(ids[0], "LC-1", "r"), holdItem(missing1, "LC-1", "r"), holdItem(ids[1], "LC-2", "r"), holdItem(missing3, "LC-1", "r"),
		}, []string{"recordings[1].id", "recordings[3].id"}},
		{"unknown first", []store.RecordingHoldItem{holdItem(missing1, "LC-1", "r"), holdItem(ids[1], "LC-1", "r")}, []string{"recordings[0].id"}},
		{"unknown with release", []store.RecordingHoldItem{releaseItem(ids[2], "LC-0"), holdItem(missing1, "LC-1", "r")}, []string{"recordings[1].id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := s.ApplyRecordingHolds(ctx, holdParams(tt.items...))
			wantValidation(t, err, tt.fields...)
			if len(res.Results) != 0 || res.Held != 0 {
				t.Errorf("rejected request returned results %+v", res)
			}
			for _, id := range ids[:2] {
				if r := get(t, s, id); r.LegalHold || len(r.Holds) != 0 {
					t.Errorf("recording %s held after rejected request: %+v", id, r.Holds)
				}
			}
			if r := get(t, s, ids[2]); !r.LegalHold {
				t.Errorf("existing hold released by rejected request")
			}
			holds, _, err := s.ListHolds(ctx, store.ListHoldsParams{})
			if err != nil {
				t.Fatal(err)
			}
			sameJSON(t, "holds after rejected request", holds, holdsBefore)
			if after := auditSize(t, s); after != before {
				t.Errorf("rejected request appended %d audit entries", after-before)
			}
		})
	}
}

func testApplyRecordingHolds(t *testing.T, s store.Store) {
	ids := createN(t, s, 6, "SIP", at(0))
	start := auditSize(t, s)

	items := []store.RecordingHoldItem{
		holdItem(ids[0], "LC-1", "discovery"),
		holdItem(ids[1], "LC-1", "discovery"), // same spec: same hold
		holdItem(ids[2], "LC-2", "discovery"),
		holdItem(ids[3], "", "internal review"),
		holdItem(ids[4], "LC-1", "other reason"), // same case, other reason: a hold of its own
	}
	res := apply(t, s, items...)
	wantResults(t, res, items, "held", "held", "held", "held", "held")
	if res.Held != 5 {
		t.Errorf("Held = %d, want 5", res.Held)
	}
	hA := res.Results[0].HoldID
	if res.Results[1].HoldID != hA {
		t.Errorf("items with the same case, reason and date got holds %s and %s", hA, res.Results[1].HoldID)
	}
	distinct := map[string]bool{}
	for _, r := range res.Results {
		distinct[r.HoldID] = true
	}
	if len(distinct) != 4 {
		t.Errorf("got %d distinct holds, want 4: %+v", len(distinct), res.Results)
	}

	recs := auditTail(t, s, start, "hold.applied", "hold.applied", "hold.applied", "hold.applied")
	covered := map[string]map[string]any{}
	entryOf := map[string]int64{}
	for _, r := range recs {
		d := data(t, r)
		if r.Entry.Subject != d["hold_id"] || r.Entry.Actor != "tok_holds" || !r.Entry.Time.Equal(at(24*time.Hour)) {
			t.Errorf("hold.applied entry = %+v %s", r.Entry, r.Entry.Data)
		}
		covered[r.Entry.Subject] = d
		entryOf[r.Entry.Subject] = r.Entry.Index
	}
	wantSet(t, "hold.applied of the shared hold", covered[hA], []string{ids[0], ids[1]})

	h := getHold(t, s, hA)
	want := vault.Hold{HoldID: hA, CaseID: "LC-1", HoldReason: "discovery", HoldDate: at(-24 * time.Hour), AppliedAt: at(24 * time.Hour), AppliedBy: "tok_holds",
		Active: true, RecordingCount: 2}
	sameJSON(t, "GetHold", h, want)
	if got := heldIDs(t, s, hA); !slices.Equal(got, sorted([]string{ids[0], ids[1]})) {
		t.Errorf("hold %s recordings = %q", hA, got)
	}
	wantProvable(t, s, store.RecordingSetParams{HoldID: hA}, entryOf[hA], []string{ids[0], ids[1]})

	r := get(t, s, ids[0])
	sameJSON(t, "recording holds", r.Holds, []vault.HoldRef{{HoldID: hA, CaseID: "LC-1", HoldReason: "discovery", HoldDate: at(-24 * time.Hour), AppliedAt: at(24 * time.Hour)}})
	if !r.LegalHold {
		t.Errorf("held recording has LegalHold false")
	}

	// Again: held where a hold of the case (or, without a case, of the
	// reason) is active, new otherwise.
	mid := auditSize(t, s)
	again := []store.RecordingHoldItem{
		holdItem(ids[0], "LC-1", "discovery"),
		holdItem(ids[1], "LC-1", "another reason"), // same case counts as held
		holdItem(ids[3], "", "internal review"),
		holdItem(ids[3], "", "second review"), // caseless: a different reason is a new hold
		holdItem(ids[5], "LC-1", "discovery"),
	}
	res = apply(t, s, again...)
	wantResults(t, res, again, "already_held", "already_held", "already_held", "held", "held")
	if res.Held != 2 {
		t.Errorf("Held = %d, want 2", res.Held)
	}
	if res.Results[0].HoldID != hA || res.Results[1].HoldID != hA || res.Results[2].HoldID != res2(t, s, ids[3], "internal review") {
		t.Errorf("already_held results name the wrong holds: %+v", res.Results)
	}
	if res.Results[4].HoldID == hA {
		t.Errorf("a new request re-used hold %s", hA)
	}
	auditTail(t, s, mid, "hold.applied", "hold.applied")
	if r := get(t, s, ids[3]); len(r.Holds) != 2 {
		t.Errorf("recording %s has holds %+v, want 2", ids[3], r.Holds)
	}

	// Only already held: nothing to audit.
	end := auditSize(t, s)
	res = apply(t, s, holdItem(ids[0], "LC-1", "discovery"))
	wantResults(t, res, []store.RecordingHoldItem{holdItem(ids[0], "LC-1", "discovery")}, "already_held")
	auditTail(t, s, end)
}

// res2 returns the id of the active hold with the reason on a recording.
func res2(t *testing.T, s store.Store, id, reason string) string {
	t.Helper()
	for _, h := range get(t, s, id).Holds {
		if h.HoldReason == reason {
			return h.HoldID
		}
	}
	t.Fatalf("recording %s has no hold with reason %q", id, reason)
	return ""
}

func testApplyRecordingHoldsRelease(t *testing.T, s store.Store) {
	ids := createN(t, s, 4, "SIP", at(0))
	res := apply(t, s,
		holdItem(ids[0], "LC-1", "r"), holdItem(ids[1], "LC-1", "r"),
		holdItem(ids[0], "LC-2", "r"), holdItem(ids[2], "LC-2", "r"))
	h1, h2 := res.Results[0].HoldID, res.Results[2].HoldID

	start := auditSize(t, s)
	items := []store.RecordingHoldItem{
		releaseItem(ids[0], "LC-1"),
		releaseItem(ids[2], "LC-1"), // held, but not by LC-1
		releaseItem(ids[3], "LC-1"), // not held at all
	}
	res = apply(t, s, items...)
	wantResults(t, res, items, "released", "not_held", "not_held")
	if res.Results[0].HoldID != h1 || res.Held != 0 {
		t.Errorf("release results = %+v, want hold %s and Held 0", res, h1)
	}
	recs := auditTail(t, s, start, "hold.released")
	if d := data(t, recs[0]); recs[0].Entry.Subject != h1 || d["release_reason"] != "case closed" || !sameSet(d, []string{ids[0]}) {
		t.Errorf("hold.released entry = %+v %s", recs[0].Entry, recs[0].Entry.Data)
	}

	// ids[0] stays under LC-2; the LC-1 hold still covers ids[1].
	if r := get(t, s, ids[0]); !r.LegalHold || !slices.Equal(holdIDs(r), []string{h2}) {
		t.Errorf("recording after releasing one case: holds %q, want [%s]", holdIDs(r), h2)
	}
	if h := getHold(t, s, h1); !h.Active || !slices.Equal(heldIDs(t, s, h1), []string{ids[1]}) || h.RecordingCount != 1 {
		t.Errorf("hold %s after releasing one recording: %+v", h1, h)
	}

	mid := auditSize(t, s)
	res = apply(t, s, releaseItem(ids[0], "LC-2"), releaseItem(ids[0], "LC-2"))
	wantResults(t, res, []store.RecordingHoldItem{releaseItem(ids[0], "LC-2"), releaseItem(ids[0], "LC-2")}, "released", "not_held")
	auditTail(t, s, mid, "hold.released")
	if r := get(t, s, ids[0]); r.LegalHold || len(r.Holds) != 0 {
		t.Errorf("recording after releasing every case: %+v", r.Holds)
	}
	// Held again after release: a new hold.
	res = apply(t, s, holdItem(ids[0], "LC-1", "r"))
	if res.Results[0].Status != "held" || res.Results[0].HoldID == h1 {
		t.Errorf("re-holding after release = %+v, want held with a new hold", res.Results[0])
	}
}

func testCreateHoldFilter(t *testing.T, s store.Store) {
	ctx := t.Context()
	sip := createN(t, s, 5, "SIP", at(0))   // at 0..4 min
	chat := createN(t, s, 2, "CHAT", at(0)) // at 0..1 min
	late := createN(t, s, 1, "SIP", at(time.Hour))
	apply(t, s, holdItem(chat[1], "LC-9", "r"), holdItem(sip[4], "LC-9", "r"))

	tests := []struct {
		name   string
		filter vault.RecordingFilter
		want   []string
	}{
		{"media type", vault.RecordingFilter{MediaType: "SIP"}, append(slices.Clone(sip), late...)},
		{"range half-open", vault.RecordingFilter{From: ptr(at(time.Minute)), To: ptr(at(3 * time.Minute))}, []string{sip[1], sip[2], chat[1]}},
		{"media type and range", vault.RecordingFilter{MediaType: "SIP", From: ptr(at(2 * time.Minute))}, []string{sip[2], sip[3], sip[4], late[0]}},
		{"record ids", vault.RecordingFilter{RecordIDs: []string{sip[3], chat[0]}}, []string{sip[3], chat[0]}},
		{"record ids and media type", vault.RecordingFilter{RecordIDs: []string{sip[3], chat[0]}, MediaType: "CHAT"}, []string{chat[0]}},
		{"case", vault.RecordingFilter{CaseID: "LC-9"}, []string{chat[1], sip[4]}},
		{"matches nothing", vault.RecordingFilter{MediaType: "EMAIL"}, nil},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := auditSize(t, s)
			p := store.CreateHoldParams{
				HoldID: newID("hold"), Spec: store.HoldSpec{CaseID: "LC-F", HoldReason: "filter " + tt.name, HoldDate: at(-time.Hour)},
				Filter: tt.filter, Actor: "tok_holds", Now: at(time.Duration(10+i) * time.Hour), Extra: map[string]any{"export_id": "exp_1"},
			}
			h, err := s.CreateHold(ctx, p)
			if err != nil {
				t.Fatalf("CreateHold: %v", err)
			}
			want := sorted(tt.want)
			if want == nil {
				want = []string{}
			}
			wantHold := vault.Hold{HoldID: p.HoldID, CaseID: "LC-F", HoldReason: p.Spec.HoldReason, HoldDate: at(-time.Hour), AppliedAt: p.Now, AppliedBy: "tok_holds",
				Active: true, Filter: &tt.filter, RecordingCount: len(want)}
			sameJSON(t, "CreateHold result", h, wantHold)
			sameJSON(t, "GetHold", getHold(t, s, p.HoldID), wantHold)
			for _, id := range want {
				if !slices.Contains(holdIDs(get(t, s, id)), p.HoldID) {
					t.Errorf("recording %s does not show hold %s", id, p.HoldID)
				}
			}
			recs := auditTail(t, s, start, "hold.applied")
			d := data(t, recs[0])
			if recs[0].Entry.Subject != p.HoldID || d["export_id"] != "exp_1" || d["case_id"] != "LC-F" || d["include_future"] != false {
				t.Errorf("hold.applied entry = %+v %s", recs[0].Entry, recs[0].Entry.Data)
			}
			wantSet(t, "hold.applied", d, want)
			if got := heldIDs(t, s, p.HoldID); !slices.Equal(got, want) {
				t.Errorf("hold recordings = %q, want %q", got, want)
			}
			wantProvable(t, s, store.RecordingSetParams{HoldID: p.HoldID}, recs[0].Entry.Index, want)
		})
	}
}

func testCreateHoldUnknownRecordIDs(t *testing.T, s store.Store) {
	ctx := t.Context()
	ids := createN(t, s, 2, "SIP", at(0))
	before := auditSize(t, s)
	tests := []struct {
		name   string
		ids    []string
		fields []string
	}{
		{"one unknown", []string{ids[0], newID("rec")}, []string{"filter.record_ids[1]"}},
		{"several unknown", []string{newID("rec"), ids[1], newID("rec")}, []string{"filter.record_ids[0]", "filter.record_ids[2]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := newID("hold")
			_, err := s.CreateHold(ctx, store.CreateHoldParams{HoldID: id, Spec: store.HoldSpec{HoldReason: "r", HoldDate: at(0)},
				Filter: vault.RecordingFilter{RecordIDs: tt.ids}, IncludeFuture: true, Actor: "tok_holds", Now: at(time.Hour)})
			wantValidation(t, err, tt.fields...)
			if _, err := s.GetHold(ctx, id); !errors.Is(err, vault.ErrNotFound) {
				t.Errorf("GetHold of rejected hold: error = %v, want vault.ErrNotFound", err)
			}
			for _, rid := range ids {
				if r := get(t, s, rid); r.LegalHold {
					t.Errorf("recording %s held by a rejected hold", rid)
				}
			}
			if after := auditSize(t, s); after != before {
				t.Errorf("rejected hold appended %d audit entries", after-before)
			}
		})
	}
	// A rejected include_future hold must not catch later recordings.
	if r := create(t, s, recording(newID("rec"), "SIP", at(time.Hour))); r.LegalHold {
		t.Errorf("new recording held by a rejected hold: %+v", r.Holds)
	}
}

func testCreateHoldIncludeFuture(t *testing.T, s store.Store) {
	ctx := t.Context()
	old := createN(t, s, 2, "SIP", at(time.Hour))
	mk := func(id string, future bool, f vault.RecordingFilter) vault.Hold {
		t.Helper()
		h, err := s.CreateHold(ctx, store.CreateHoldParams{HoldID: id, Spec: store.HoldSpec{CaseID: "LC-FUT", HoldReason: "future " + id, HoldDate: at(0)},
			Filter: f, IncludeFuture: future, Actor: "tok_holds", Now: at(2 * time.Hour)})
		if err != nil {
			t.Fatalf("CreateHold(%s): %v", id, err)
		}
		return h
	}
	future := mk(newID("hold"), true, vault.RecordingFilter{MediaType: "SIP", From: ptr(at(time.Hour)), To: ptr(at(10 * time.Hour))})
	if !future.IncludeFuture || !slices.Equal(heldIDs(t, s, future.HoldID), old) {
		t.Fatalf("include_future hold = %+v, want it to cover %q", future, old)
	}
	notFuture := mk(newID("hold"), false, vault.RecordingFilter{MediaType: "SIP"})
	released := mk(newID("hold"), true, vault.RecordingFilter{MediaType: "SIP"})
	if _, err := s.ReleaseHold(ctx, store.ReleaseHoldParams{HoldID: released.HoldID, Reason: "done", Actor: "tok_holds", Now: at(3 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	byIDs := mk(newID("hold"), true, vault.RecordingFilter{RecordIDs: []string{old[0]}})
	chatOnly := mk(newID("hold"), true, vault.RecordingFilter{MediaType: "CHAT", To: ptr(at(time.Hour))})
	// Selects SIP recordings under a hold of case LC-FUT, such as future.
	byCase, err := s.CreateHold(ctx, store.CreateHoldParams{HoldID: newID("hold"), Spec: store.HoldSpec{CaseID: "LC-OTHER", HoldReason: "by case", HoldDate: at(0)},
		Filter: vault.RecordingFilter{CaseID: "LC-FUT", MediaType: "SIP"}, IncludeFuture: true, Actor: "tok_holds", Now: at(2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if got := heldIDs(t, s, byCase.HoldID); !slices.Equal(got, old) {
		t.Fatalf("case hold covers %q, want %q", got, old)
	}

	tests := []struct {
		name      string
		mediaType string
		started   time.Time
		want      []string
	}{
		{"matches", "SIP", at(5 * time.Hour), []string{future.HoldID, byCase.HoldID}},
		{"at from", "SIP", at(time.Hour), []string{future.HoldID, byCase.HoldID}},
		{"at to", "SIP", at(10 * time.Hour), nil},
		{"before from", "SIP", at(time.Hour - time.Microsecond), nil},
		{"other media type", "EMAIL", at(5 * time.Hour), nil},
		{"chat before to", "CHAT", at(0), []string{chatOnly.HoldID}},
		{"chat after to", "CHAT", at(5 * time.Hour), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := auditSize(t, s)
			r := create(t, s, recording(newID("rec"), tt.mediaType, tt.started))
			want := sorted(tt.want)
			if got := holdIDs(r); !slices.Equal(got, want) {
				t.Errorf("new recording's holds = %q, want %q (include_future %s, other holds %s %s %s)", got, want, future.HoldID, notFuture.HoldID, released.HoldID, byIDs.HoldID)
			}
			if r.LegalHold != (len(want) > 0) {
				t.Errorf("LegalHold = %v", r.LegalHold)
			}
			for _, hid := range want {
				if !slices.Contains(heldIDs(t, s, hid), r.ID) {
					t.Errorf("hold %s does not list new recording %s", hid, r.ID)
				}
				wantExtended(t, s, hid, r.ID)
			}
			types := []string{"recording.ingested"}
			for range want {
				types = append(types, "hold.extended")
			}
			recs := auditTail(t, s, start, types...)
			if got := sorted(jsonStrings(data(t, recs[0])["hold_ids"])); !slices.Equal(got, want) {
				t.Errorf("recording.ingested hold_ids = %q, want %q", got, want)
			}
		})
	}
	// Holds without include_future, released ones and those naming ids do
	// not grow.
	for _, h := range []vault.Hold{notFuture, released, byIDs} {
		if got := getHold(t, s, h.HoldID); got.RecordingCount != h.RecordingCount {
			t.Errorf("hold %s (%+v) grew from %d to %d", h.HoldID, h.Filter, h.RecordingCount, got.RecordingCount)
		}
	}
}

func testReleaseHold(t *testing.T, s store.Store) {
	ctx := t.Context()
	ids := createN(t, s, 2, "SIP", at(0))
	mk := func(caseID string, f vault.RecordingFilter) string {
		t.Helper()
		id := newID("hold")
		if _, err := s.CreateHold(ctx, store.CreateHoldParams{HoldID: id, Spec: store.HoldSpec{CaseID: caseID, HoldReason: "r", HoldDate: at(0)},
			Filter: f, Actor: "tok_holds", Now: at(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		return id
	}
	h1 := mk("LC-1", vault.RecordingFilter{MediaType: "SIP"})
	h2 := mk("LC-2", vault.RecordingFilter{RecordIDs: []string{ids[0]}})

	start := auditSize(t, s)
	got, err := s.ReleaseHold(ctx, store.ReleaseHoldParams{HoldID: h1, Reason: "settled", Actor: "tok_rel", Now: at(2 * time.Hour)})
	if err != nil {
		t.Fatalf("ReleaseHold: %v", err)
	}
	if got.Active || got.ReleasedAt == nil || !got.ReleasedAt.Equal(at(2*time.Hour)) || got.ReleasedBy != "tok_rel" || got.ReleaseReason != "settled" {
		t.Errorf("released hold = %+v", got)
	}
	sameJSON(t, "GetHold after release", getHold(t, s, h1), got)
	recs := auditTail(t, s, start, "hold.released")
	if d := data(t, recs[0]); recs[0].Entry.Subject != h1 || d["release_reason"] != "settled" || d["case_id"] != "LC-1" || !sameSet(d, ids) {
		t.Errorf("hold.released entry = %+v %s, want the released set of %q", recs[0].Entry, recs[0].Entry.Data, ids)
	}
	// The hold's recordings show the hold's release; the other hold's do not.
	for _, tt := range []struct {
		hold     string
		want     []string
		released bool
	}{{h1, sorted(ids), true}, {h2, ids[:1], false}} {
		var got []string
		for cursor := ""; ; {
			page, next, err := s.ListHoldRecordings(ctx, store.ListHoldRecordingsParams{HoldID: tt.hold, Limit: 1, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			for _, hr := range page {
				got = append(got, hr.RecordingID)
				if (hr.ReleasedAt != nil) != tt.released || tt.released && !hr.ReleasedAt.Equal(at(2*time.Hour)) || !hr.AppliedAt.Equal(at(time.Hour)) {
					t.Errorf("hold %s recording %+v, want released %v", tt.hold, hr, tt.released)
				}
			}
			if cursor = next; cursor == "" {
				break
			}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("hold %s recordings = %q, want %q", tt.hold, got, tt.want)
		}
	}
	if _, _, err := s.ListHoldRecordings(ctx, store.ListHoldRecordingsParams{HoldID: "hold_unknown"}); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("ListHoldRecordings(unknown) error = %v, want vault.ErrNotFound", err)
	}

	if r := get(t, s, ids[0]); !r.LegalHold || !slices.Equal(holdIDs(r), []string{h2}) {
		t.Errorf("recording under two holds after releasing one: holds %q, want [%s]", holdIDs(r), h2)
	}
	if r := get(t, s, ids[1]); r.LegalHold {
		t.Errorf("recording under only the released hold is still held: %+v", r.Holds)
	}
	if h := getHold(t, s, h2); !h.Active || h.ReleasedAt != nil {
		t.Errorf("other hold changed: %+v", h)
	}
	if got := listAll(t, s, store.ListRecordingsParams{CaseID: "LC-1"}); len(got) != 0 {
		t.Errorf("released case still selects %q", got)
	}

	// Releasing again changes nothing.
	mid := auditSize(t, s)
	again, err := s.ReleaseHold(ctx, store.ReleaseHoldParams{HoldID: h1, Reason: "again", Actor: "tok_other", Now: at(3 * time.Hour)})
	if err != nil {
		t.Fatalf("ReleaseHold again: %v", err)
	}
	sameJSON(t, "ReleaseHold again", again, got)
	auditTail(t, s, mid)
}

func testListHolds(t *testing.T, s store.Store) {
	ctx := t.Context()
	ids := createN(t, s, 3, "SIP", at(0))
	var all, caseA []string
	for i := range 7 {
		caseID := "LC-B"
		if i%2 == 0 {
			caseID = "LC-A"
		}
		id := newID("hold")
		if _, err := s.CreateHold(ctx, store.CreateHoldParams{HoldID: id, Spec: store.HoldSpec{CaseID: caseID, HoldReason: "r", HoldDate: at(0)},
			Filter: vault.RecordingFilter{RecordIDs: ids[:1+i%3]}, Actor: "tok_holds", Now: at(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		all = append(all, id)
		if caseID == "LC-A" {
			caseA = append(caseA, id)
		}
	}
	if _, err := s.ReleaseHold(ctx, store.ReleaseHoldParams{HoldID: all[0], Reason: "x", Actor: "tok_holds", Now: at(2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	list := func(p store.ListHoldsParams) []vault.Hold {
		t.Helper()
		var out []vault.Hold
		for range 100 {
			page, next, err := s.ListHolds(ctx, p)
			if err != nil {
				t.Fatalf("ListHolds(%+v): %v", p, err)
			}
			if p.Limit > 0 && len(page) > p.Limit {
				t.Fatalf("ListHolds returned %d holds with limit %d", len(page), p.Limit)
			}
			out = append(out, page...)
			if next == "" {
				return out
			}
			if len(page) == 0 || next != page[len(page)-1].HoldID {
				t.Fatalf("ListHolds cursor %q is not the last id of its page", next)
			}
			p.Cursor = next
		}
		t.Fatal("ListHolds does not terminate")
		return nil
	}
	tests := []struct {
		p    store.ListHoldsParams
		want []string
	}{
		{store.ListHoldsParams{}, all},
		{store.ListHoldsParams{Limit: 1}, all},
		{store.ListHoldsParams{Limit: 3}, all},
		{store.ListHoldsParams{Limit: 7}, all},
		{store.ListHoldsParams{CaseID: "LC-A", Limit: 2}, caseA},
		{store.ListHoldsParams{CaseID: "LC-NONE"}, nil},
		{store.ListHoldsParams{Cursor: all[4], Limit: 1}, all[5:]},
	}
	for _, tt := range tests {
		got := list(tt.p)
		var gotIDs []string
		for _, h := range got {
			gotIDs = append(gotIDs, h.HoldID)
			full := getHold(t, s, h.HoldID)
			if h.RecordingCount != full.RecordingCount || h.Active != full.Active || h.CaseID != full.CaseID {
				t.Errorf("ListHolds item %+v disagrees with GetHold %+v", h, full)
			}
		}
		if !slices.Equal(gotIDs, tt.want) {
			t.Errorf("ListHolds(%+v) = %q, want %q", tt.p, gotIDs, tt.want)
		}
	}
	if h := getHold(t, s, all[2]); h.RecordingCount != 3 || !slices.Equal(heldIDs(t, s, all[2]), sorted(ids)) {
		t.Errorf("hold over three recordings: %+v", h)
	}
	if h := getHold(t, s, all[0]); h.Active {
		t.Errorf("released hold listed active")
	}
}

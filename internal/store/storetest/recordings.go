package storetest

import (
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/holdfast/holdfast/internal/store"
	"github.com/holdfast/holdfast/internal/vault"
)

func testRecordingRoundTrip(t *testing.T, s store.Store) {
	full := recording(newID("rec"), "SIP", at(0))
	full.DurationMS = ptr(int64(95000))
	full.FailureReason = ""

	minimal := vault.Recording{
		ID: newID("rec"), MediaType: "CHAT", Status: vault.StatusProcessing, StartedAt: at(time.Hour),
		Content:    vault.Content{SizeBytes: 0, SHA256: shaOf("empty"), SHA512: shaOf("e") + shaOf("e"), MediaFormat: "text/plain"},
		IngestedAt: at(2 * time.Hour),
	}

	probed := recording(newID("rec"), "SCREEN", at(2*time.Hour))
	probed.Content.Codec, probed.Content.SampleRate, probed.Content.Channels = "pcm_s16le", 8000, 2
	probed.Labels = map[string]string{"ключ": "значение", "empty": ""}

	tests := []struct {
		name string
		rec  vault.Recording
	}{
		{"all fields", full},
		{"nil ended_at, participants and labels", minimal},
		{"probe fields and unicode labels", probed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := auditSize(t, s)
			want := tt.rec
			want.Normalize()
			got := create(t, s, tt.rec)
			sameJSON(t, "CreateRecording result", got, want)
			if got.Participants == nil || got.Labels == nil || got.Holds == nil {
				t.Errorf("CreateRecording result has nil slices or maps: %+v", got)
			}
			if tt.rec.EndedAt == nil && got.EndedAt != nil {
				t.Errorf("EndedAt = %v, want nil", got.EndedAt)
			}
			if got.CompletedAt != nil || got.DurationMS != nil && tt.rec.DurationMS == nil {
				t.Errorf("CompletedAt = %v, DurationMS = %v; want nil", got.CompletedAt, got.DurationMS)
			}
			sameJSON(t, "GetRecording", get(t, s, tt.rec.ID), want)

			recs := auditTail(t, s, start, "recording.ingested")
			e := recs[0].Entry
			if e.Subject != tt.rec.ID || e.Actor != "tok_ingest" || !e.Time.Equal(tt.rec.IngestedAt) {
				t.Errorf("recording.ingested entry = %+v", e)
			}
			d := data(t, recs[0])
			if d["sha256"] != tt.rec.Content.SHA256 || d["media_type"] != tt.rec.MediaType {
				t.Errorf("recording.ingested data = %v", d)
			}
		})
	}

	t.Run("duplicate id", func(t *testing.T) {
		start := auditSize(t, s)
		dup := recording(full.ID, "CHAT", at(5*time.Hour))
		if _, err := s.CreateRecording(t.Context(), store.CreateRecordingParams{Recording: dup, Actor: "tok_ingest"}); err == nil {
			t.Fatal("CreateRecording with an existing id succeeded")
		}
		want := full
		want.Normalize()
		sameJSON(t, "GetRecording after refused duplicate", get(t, s, full.ID), want)
		auditTail(t, s, start)
	})
}

// listAll pages through ListRecordings with the given page size and
// returns the ids in the order returned, checking every page.
func listAll(t *testing.T, s store.Store, p store.ListRecordingsParams) []string {
	t.Helper()
	var ids []string
	for pages := 0; ; pages++ {
		if pages > 10000 {
			t.Fatal("ListRecordings does not terminate")
		}
		page, next, err := s.ListRecordings(t.Context(), p)
		if err != nil {
			t.Fatalf("ListRecordings(%+v): %v", p, err)
		}
		if page == nil {
			t.Fatalf("ListRecordings returned a nil page")
		}
		if p.Limit > 0 && len(page) > p.Limit {
			t.Fatalf("ListRecordings returned %d items with limit %d", len(page), p.Limit)
		}
		for _, r := range page {
			ids = append(ids, r.ID)
			if r.Participants == nil || r.Labels == nil || r.Holds == nil || r.LegalHold != (len(r.Holds) > 0) {
				t.Errorf("ListRecordings item %s not normalized: %+v", r.ID, r)
			}
		}
		if next == "" {
			return ids
		}
		if len(page) == 0 || next != page[len(page)-1].ID {
			t.Fatalf("ListRecordings cursor %q is not the last id of its page", next)
		}
		p.Cursor = next
	}
}

func testListRecordingsFilters(t *testing.T, s store.Store) {
	ctx := t.Context()
	// Six recordings an hour apart; from = at(1h), to = at(4h).
	mk := func(mediaType string, h int) string {
		return create(t, s, recording(newID("rec"), mediaType, at(time.Duration(h)*time.Hour))).ID
	}
	r0, r1, r2, r3, r4, r5 := mk("SIP", 0), mk("SIP", 1), mk("CHAT", 2), mk("SIP", 3), mk("SIP", 4), mk("EMAIL", 5)
	// Labels: r6 and r7 share a conversation; r8's value differs only in
	// case and r9's key only in case; r10 has a colon in its value.
	mkLabels := func(h int, labels map[string]string) string {
		rec := recording(newID("rec"), "SIP", at(time.Duration(h)*time.Hour))
		rec.Labels = labels
		return create(t, s, rec).ID
	}
	r6 := mkLabels(6, map[string]string{"genesys.conversation_id": "c-1", "genesys.recording_id": "g-1"})
	r7 := mkLabels(7, map[string]string{"genesys.conversation_id": "c-1", "genesys.recording_id": "g-2"})
	r8 := mkLabels(8, map[string]string{"genesys.conversation_id": "C-1", "genesys.recording_id": "g-3"})
	r9 := mkLabels(9, map[string]string{"Genesys.conversation_id": "c-1", "url": "https://x.example/a:b", "empty": ""})
	all := []string{r0, r1, r2, r3, r4, r5, r6, r7, r8, r9}
	if _, err := s.FinishProcessing(ctx, store.FinishProcessingParams{ID: r1, Result: vault.ProbeResult{OK: true, MediaFormat: "audio/wav"}, Now: at(10 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FinishProcessing(ctx, store.FinishProcessingParams{ID: r2, Result: vault.ProbeResult{FailureReason: "bad"}, Now: at(10 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApplyRecordingHolds(ctx, store.ApplyRecordingHoldsParams{
		Items: []store.RecordingHoldItem{
			{RecordingID: r3, Spec: store.HoldSpec{CaseID: "LC-1", HoldReason: "r", HoldDate: at(0)}},
			{RecordingID: r5, Spec: store.HoldSpec{CaseID: "LC-1", HoldReason: "r", HoldDate: at(0)}},
			{RecordingID: r0, Spec: store.HoldSpec{CaseID: "LC-2", HoldReason: "r", HoldDate: at(0)}},
		},
		Actor: "tok_a", Now: at(11 * time.Hour), NewID: func() string { return newID("hold") },
	}); err != nil {
		t.Fatal(err)
	}
	// A released case hold no longer selects its recording.
	res, err := s.ApplyRecordingHolds(ctx, store.ApplyRecordingHoldsParams{
		Items: []store.RecordingHoldItem{{RecordingID: r4, Spec: store.HoldSpec{CaseID: "LC-3", HoldReason: "r", HoldDate: at(0)}}},
		Actor: "tok_a", Now: at(11 * time.Hour), NewID: func() string { return newID("hold") },
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReleaseHold(ctx, store.ReleaseHoldParams{HoldID: res.Results[0].HoldID, Reason: "closed", Actor: "tok_a", Now: at(12 * time.Hour)}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		p    store.ListRecordingsParams
		want []string
	}{
		{"no filter", store.ListRecordingsParams{}, all},
		{"media_type", store.ListRecordingsParams{MediaType: "SIP"}, []string{r0, r1, r3, r4, r6, r7, r8, r9}},
		{"media_type none", store.ListRecordingsParams{MediaType: "MESSAGE"}, nil},
		{"from inclusive", store.ListRecordingsParams{From: ptr(at(time.Hour)), To: ptr(at(6 * time.Hour))}, []string{r1, r2, r3, r4, r5}},
		{"to exclusive", store.ListRecordingsParams{To: ptr(at(4 * time.Hour))}, []string{r0, r1, r2, r3}},
		{"from to", store.ListRecordingsParams{From: ptr(at(time.Hour)), To: ptr(at(4 * time.Hour))}, []string{r1, r2, r3}},
		{"from to microsecond edges", store.ListRecordingsParams{From: ptr(at(time.Hour + time.Microsecond)), To: ptr(at(4*time.Hour + time.Microsecond))}, []string{r2, r3, r4}},
		{"empty range", store.ListRecordingsParams{From: ptr(at(time.Hour)), To: ptr(at(time.Hour))}, nil},
		{"status processing", store.ListRecordingsParams{Status: "processing", To: ptr(at(6 * time.Hour))}, []string{r0, r3, r4, r5}},
		{"status completed", store.ListRecordingsParams{Status: "completed"}, []string{r1}},
		{"status failed", store.ListRecordingsParams{Status: "failed"}, []string{r2}},
		{"case_id", store.ListRecordingsParams{CaseID: "LC-1"}, []string{r3, r5}},
		{"case_id released", store.ListRecordingsParams{CaseID: "LC-3"}, nil},
		{"case_id unknown", store.ListRecordingsParams{CaseID: "LC-404"}, nil},
		{"ids", store.ListRecordingsParams{IDs: []string{r4, r0, newID("rec")}}, []string{r0, r4}},
		{"combined", store.ListRecordingsParams{MediaType: "SIP", From: ptr(at(time.Hour)), Status: "processing", CaseID: "LC-1"}, []string{r3}},
		{"combined with ids", store.ListRecordingsParams{MediaType: "SIP", IDs: []string{r0, r2, r3}}, []string{r0, r3}},
		{"label", store.ListRecordingsParams{Labels: labels("genesys.recording_id", "g-2")}, []string{r7}},
		{"label shared value", store.ListRecordingsParams{Labels: labels("genesys.conversation_id", "c-1")}, []string{r6, r7}},
		{"label value case-sensitive", store.ListRecordingsParams{Labels: labels("genesys.conversation_id", "C-1")}, []string{r8}},
		{"label key case-sensitive", store.ListRecordingsParams{Labels: labels("Genesys.conversation_id", "c-1")}, []string{r9}},
		{"label value with colon", store.ListRecordingsParams{Labels: labels("url", "https://x.example/a:b")}, []string{r9}},
		{"label empty value", store.ListRecordingsParams{Labels: labels("empty", "")}, []string{r9}},
		{"label no substring match", store.ListRecordingsParams{Labels: labels("genesys.recording_id", "g")}, nil},
		{"label repeated is AND", store.ListRecordingsParams{Labels: labels("genesys.conversation_id", "c-1", "genesys.recording_id", "g-1")}, []string{r6}},
		{"label repeated same key", store.ListRecordingsParams{Labels: labels("genesys.recording_id", "g-1", "genesys.recording_id", "g-2")}, nil},
		{"label with other filters", store.ListRecordingsParams{Labels: labels("team", "support"), From: ptr(at(3 * time.Hour)), To: ptr(at(5 * time.Hour))}, []string{r3, r4}},
		{"label unknown", store.ListRecordingsParams{Labels: labels("queue", "nope")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, limit := range []int{0, 1, 2, 100} {
				p := tt.p
				p.Limit = limit
				got := listAll(t, s, p)
				if !slices.Equal(got, sorted(tt.want)) {
					t.Errorf("limit %d: ids = %q, want %q", limit, got, sorted(tt.want))
				}
			}
		})
	}

	t.Run("holds shown", func(t *testing.T) {
		page, _, err := s.ListRecordings(ctx, store.ListRecordingsParams{IDs: []string{r3, r4}})
		if err != nil {
			t.Fatal(err)
		}
		byID := map[string]vault.Recording{}
		for _, r := range page {
			byID[r.ID] = r
		}
		if r := byID[r3]; !r.LegalHold || len(r.Holds) != 1 || r.Holds[0].CaseID != "LC-1" {
			t.Errorf("held recording listed as %+v", r)
		}
		if r := byID[r4]; r.LegalHold || len(r.Holds) != 0 {
			t.Errorf("released recording listed as %+v", r)
		}
	})
}

// labels builds label selectors from key, value pairs.
func labels(kv ...string) []vault.LabelSelector {
	var out []vault.LabelSelector
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, vault.LabelSelector{Key: kv[i], Value: kv[i+1]})
	}
	return out
}

func testListRecordingsPagination(t *testing.T, s store.Store) {
	var all []string
	for i := range 23 {
		mt := "SIP"
		if i%3 == 0 {
			mt = "CHAT"
		}
		// Ids in random order relative to start times.
		id := vault.NewID("rec", at(time.Duration(i)*time.Minute))
		create(t, s, recording(id, mt, at(time.Duration(23-i)*time.Minute)))
		all = append(all, id)
	}
	slices.Sort(all)
	var sip []string
	for _, id := range all {
		if get(t, s, id).MediaType == "SIP" {
			sip = append(sip, id)
		}
	}
	tests := []struct {
		limit int
		p     store.ListRecordingsParams
		want  []string
	}{
		{1, store.ListRecordingsParams{}, all},
		{5, store.ListRecordingsParams{}, all},
		{22, store.ListRecordingsParams{}, all},
		{23, store.ListRecordingsParams{}, all},
		{24, store.ListRecordingsParams{}, all},
		{0, store.ListRecordingsParams{}, all},
		{4, store.ListRecordingsParams{MediaType: "SIP"}, sip},
		{3, store.ListRecordingsParams{Cursor: all[10]}, all[11:]},
		{3, store.ListRecordingsParams{Cursor: all[22]}, nil},
	}
	for _, tt := range tests {
		p := tt.p
		p.Limit = tt.limit
		got := listAll(t, s, p)
		if !slices.Equal(got, tt.want) {
			t.Errorf("limit %d %+v: ids = %q, want %q", tt.limit, tt.p, got, tt.want)
		}
	}
	// A page exactly as long as the remainder ends the listing.
	page, next, err := s.ListRecordings(t.Context(), store.ListRecordingsParams{Limit: 23})
	if err != nil || len(page) != 23 || next != "" {
		t.Errorf("ListRecordings(limit 23 of 23) = %d items, next %q, err %v; want 23, \"\", nil", len(page), next, err)
	}
}

// testIDOrderIsBytewise checks that ids order by their bytes, as Go
// compares strings, whatever the database's collation: pagination cursors
// depend on it.
func testIDOrderIsBytewise(t *testing.T, s store.Store) {
	ids := []string{
		"rec_01M8BCHP8X47VC73TD32H8GC8G",
		"rec_01M8BCHP8X47VC73TD32H8GC8g",
		"rec_01M8BCHP8X47VC73TD32H8GC8_",
		"rec_01M8BCHP8X47VC73TD32H8GC8-",
		"rec_01M8BCHP8X47VC73TD32H8GC80",
		"rec_01M8BCHP8X47VC73TD32H8GC8Z",
		"rec_01M8BCHP8X47VC73TD32H8GC8a",
		"rec_01M8BCHP8X47VC73TD32H8GC",
		"rec_01M8BCHP8X47VC73TD32H8GC8G0",
		"rec_0",
		"rec-01",
		"rec_01m8",
	}
	for i, id := range ids {
		create(t, s, recording(id, "SIP", at(time.Duration(i)*time.Second)))
	}
	want := sorted(ids)
	for _, limit := range []int{1, 2, 5, 100} {
		if got := listAll(t, s, store.ListRecordingsParams{Limit: limit}); !slices.Equal(got, want) {
			t.Errorf("limit %d: ids = %q, want bytewise order %q", limit, got, want)
		}
	}
	// Holds list their recordings in the same order.
	h, err := s.CreateHold(t.Context(), store.CreateHoldParams{HoldID: newID("hold"), Spec: store.HoldSpec{HoldReason: "order", HoldDate: at(0)},
		Filter: vault.RecordingFilter{MediaType: "SIP"}, Actor: "tok_a", Now: at(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if got := heldIDs(t, s, h.HoldID); !slices.Equal(got, want) {
		t.Errorf("hold recording ids = %q, want bytewise order %q", got, want)
	}
}

func testFinishProcessing(t *testing.T, s store.Store) {
	ctx := t.Context()
	ids := createN(t, s, 4, "SIP", at(0))
	okID, failID, pendingID, otherID := ids[0], ids[1], ids[2], ids[3]
	counts := func() map[vault.Status]int {
		t.Helper()
		m, err := s.CountRecordingsByStatus(ctx)
		if err != nil {
			t.Fatalf("CountRecordingsByStatus: %v", err)
		}
		return m
	}
	if got, want := counts(), map[vault.Status]int{vault.StatusProcessing: 4, vault.StatusCompleted: 0, vault.StatusFailed: 0}; !maps.Equal(got, want) {
		t.Errorf("CountRecordingsByStatus = %v, want %v", got, want)
	}
	if got, err := s.ProcessingIDs(ctx); err != nil || !slices.Equal(got, sorted(ids)) {
		t.Errorf("ProcessingIDs = %q, %v; want %q", got, err, sorted(ids))
	}

	start := auditSize(t, s)
	okRes := vault.ProbeResult{OK: true, MediaFormat: "audio/ogg", Codec: "opus", SampleRate: 48000, Channels: 2, DurationMS: 95250}
	got, err := s.FinishProcessing(ctx, store.FinishProcessingParams{ID: okID, Result: okRes, Now: at(time.Hour)})
	if err != nil {
		t.Fatalf("FinishProcessing(ok): %v", err)
	}
	want := recording(okID, "SIP", at(0))
	want.Status = vault.StatusCompleted
	want.Content.MediaFormat, want.Content.Codec, want.Content.SampleRate, want.Content.Channels = "audio/ogg", "opus", 48000, 2
	want.DurationMS = ptr(int64(95250))
	want.CompletedAt = ptr(at(time.Hour))
	want.Normalize()
	sameJSON(t, "FinishProcessing(ok)", got, want)
	sameJSON(t, "GetRecording after FinishProcessing(ok)", get(t, s, okID), want)

	got, err = s.FinishProcessing(ctx, store.FinishProcessingParams{ID: failID, Result: vault.ProbeResult{FailureReason: "not a media file"}, Now: at(2 * time.Hour)})
	if err != nil {
		t.Fatalf("FinishProcessing(failed): %v", err)
	}
	wantF := recording(failID, "SIP", at(time.Minute))
	wantF.Status = vault.StatusFailed
	wantF.FailureReason = "not a media file"
	wantF.CompletedAt = ptr(at(2 * time.Hour))
	wantF.Normalize()
	sameJSON(t, "FinishProcessing(failed)", got, wantF)

	recs := auditTail(t, s, start, "recording.processed", "recording.failed")
	if recs[0].Entry.Subject != okID || recs[1].Entry.Subject != failID || !recs[0].Entry.Time.Equal(at(time.Hour)) {
		t.Errorf("processing audit entries = %+v, %+v", recs[0].Entry, recs[1].Entry)
	}
	if d := data(t, recs[1]); d["failure_reason"] != "not a media file" {
		t.Errorf("recording.failed data = %v", d)
	}

	// Finishing again is a no-op that returns the recording as it is.
	mid := auditSize(t, s)
	for _, tt := range []struct {
		id   string
		res  vault.ProbeResult
		want vault.Recording
	}{
		{okID, vault.ProbeResult{FailureReason: "late failure"}, want},
		{failID, okRes, wantF},
	} {
		got, err := s.FinishProcessing(ctx, store.FinishProcessingParams{ID: tt.id, Result: tt.res, Now: at(3 * time.Hour)})
		if err != nil {
			t.Fatalf("FinishProcessing(%s) again: %v", tt.id, err)
		}
		sameJSON(t, "FinishProcessing again", got, tt.want)
	}
	auditTail(t, s, mid)

	if got, err := s.ProcessingIDs(ctx); err != nil || !slices.Equal(got, sorted([]string{pendingID, otherID})) {
		t.Errorf("ProcessingIDs = %q, %v; want %q", got, err, sorted([]string{pendingID, otherID}))
	}
	if got, want := counts(), map[vault.Status]int{vault.StatusProcessing: 2, vault.StatusCompleted: 1, vault.StatusFailed: 1}; !maps.Equal(got, want) {
		t.Errorf("CountRecordingsByStatus = %v, want %v", got, want)
	}
}

func testDeleteRecording(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := recording(newID("rec"), "SIP", at(0))
	b := recording(newID("rec"), "SIP", at(time.Minute))
	b.Content.SHA256 = a.Content.SHA256 // same content stored twice
	c := recording(newID("rec"), "SIP", at(2*time.Minute))
	for _, r := range []vault.Recording{a, b, c} {
		create(t, s, r)
	}
	h1, err := s.CreateHold(ctx, store.CreateHoldParams{HoldID: newID("hold"), Spec: store.HoldSpec{CaseID: "LC-7", HoldReason: "litigation", HoldDate: at(0)},
		Filter: vault.RecordingFilter{RecordIDs: []string{a.ID}}, Actor: "tok_a", Now: at(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.ApplyRecordingHolds(ctx, store.ApplyRecordingHoldsParams{
		Items: []store.RecordingHoldItem{{RecordingID: a.ID, Spec: store.HoldSpec{CaseID: "LC-8", HoldReason: "audit", HoldDate: at(0)}}},
		Actor: "tok_a", Now: at(2 * time.Hour), NewID: func() string { return newID("hold") },
	})
	if err != nil {
		t.Fatal(err)
	}
	h2 := res.Results[0].HoldID

	start := auditSize(t, s)
	used, err := s.DeleteRecording(ctx, store.DeleteRecordingParams{ID: a.ID, Actor: "tok_del", Now: at(3 * time.Hour)})
	var held *vault.LegalHoldActiveError
	if !errors.As(err, &held) {
		t.Fatalf("DeleteRecording(held) error = %v (%T), want *vault.LegalHoldActiveError", err, err)
	}
	if errors.Is(err, vault.ErrNotFound) {
		t.Errorf("DeleteRecording(held) error matches ErrNotFound")
	}
	var named []string
	for _, h := range held.Holds {
		named = append(named, h.HoldID)
	}
	if held.RecordingID != a.ID || !slices.Equal(sorted(named), sorted([]string{h1.HoldID, h2})) {
		t.Errorf("LegalHoldActiveError = %+v, want recording %s and holds %s, %s", held, a.ID, h1.HoldID, h2)
	}
	if !used {
		t.Errorf("refused DeleteRecording reported the blob unused")
	}
	if r := get(t, s, a.ID); !r.LegalHold {
		t.Errorf("recording after refused delete: %+v", r)
	}
	recs := auditTail(t, s, start, "recording.delete_refused")
	if e := recs[0].Entry; e.Subject != a.ID || e.Actor != "tok_del" || !e.Time.Equal(at(3*time.Hour)) {
		t.Errorf("recording.delete_refused entry = %+v", e)
	}
	if got := jsonStrings(data(t, recs[0])["hold_ids"]); !slices.Equal(sorted(got), sorted([]string{h1.HoldID, h2})) {
		t.Errorf("recording.delete_refused hold_ids = %q", got)
	}

	// Releasing one hold is not enough.
	if _, err := s.ReleaseHold(ctx, store.ReleaseHoldParams{HoldID: h1.HoldID, Reason: "settled", Actor: "tok_a", Now: at(4 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteRecording(ctx, store.DeleteRecordingParams{ID: a.ID, Actor: "tok_del", Now: at(5 * time.Hour)}); !errors.As(err, &held) || len(held.Holds) != 1 || held.Holds[0].HoldID != h2 {
		t.Fatalf("DeleteRecording with one hold left: error = %v, want *vault.LegalHoldActiveError naming %s", err, h2)
	}
	if _, err := s.ApplyRecordingHolds(ctx, store.ApplyRecordingHoldsParams{
		Items: []store.RecordingHoldItem{{RecordingID: a.ID, Release: true, Spec: store.HoldSpec{CaseID: "LC-8"}, ReleaseReason: "done"}},
		Actor: "tok_a", Now: at(6 * time.Hour), NewID: func() string { return newID("hold") },
	}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		id         string
		wantUsed   bool
		sha        string
		referenced bool
	}{
		{a.ID, true, a.Content.SHA256, true},   // b still uses the blob
		{b.ID, false, a.Content.SHA256, false}, // last user gone
		{c.ID, false, c.Content.SHA256, false},
	}
	for _, tt := range tests {
		start := auditSize(t, s)
		if ok, err := s.BlobReferenced(ctx, tt.sha); err != nil || !ok {
			t.Errorf("BlobReferenced before delete = %v, %v; want true", ok, err)
		}
		used, err := s.DeleteRecording(ctx, store.DeleteRecordingParams{ID: tt.id, Actor: "tok_del", Now: at(7 * time.Hour)})
		if err != nil {
			t.Fatalf("DeleteRecording(%s): %v", tt.id, err)
		}
		if used != tt.wantUsed {
			t.Errorf("DeleteRecording(%s) blobStillUsed = %v, want %v", tt.id, used, tt.wantUsed)
		}
		if ok, err := s.BlobReferenced(ctx, tt.sha); err != nil || ok != tt.referenced {
			t.Errorf("BlobReferenced after deleting %s = %v, %v; want %v", tt.id, ok, err, tt.referenced)
		}
		if _, err := s.GetRecording(ctx, tt.id); !errors.Is(err, vault.ErrNotFound) {
			t.Errorf("GetRecording(deleted) error = %v, want vault.ErrNotFound", err)
		}
		recs := auditTail(t, s, start, "recording.deleted")
		if e := recs[0].Entry; e.Subject != tt.id || data(t, recs[0])["sha256"] != tt.sha {
			t.Errorf("recording.deleted entry = %+v %s", e, e.Data)
		}
		if _, err := s.DeleteRecording(ctx, store.DeleteRecordingParams{ID: tt.id, Actor: "tok_del", Now: at(8 * time.Hour)}); !errors.Is(err, vault.ErrNotFound) {
			t.Errorf("DeleteRecording(deleted) error = %v, want vault.ErrNotFound", err)
		}
	}
	if ok, err := s.BlobReferenced(ctx, shaOf("never stored")); err != nil || ok {
		t.Errorf("BlobReferenced(unknown) = %v, %v; want false", ok, err)
	}
	if got := listAll(t, s, store.ListRecordingsParams{}); len(got) != 0 {
		t.Errorf("recordings left after deleting all: %q", got)
	}
	if m, err := s.CountRecordingsByStatus(ctx); err != nil || m[vault.StatusProcessing] != 0 {
		t.Errorf("CountRecordingsByStatus after deleting all = %v, %v", m, err)
	}
	// A hold placed later does not cover deleted recordings.
	h, err := s.CreateHold(ctx, store.CreateHoldParams{HoldID: newID("hold"), Spec: store.HoldSpec{HoldReason: "late", HoldDate: at(0)},
		Filter: vault.RecordingFilter{MediaType: "SIP"}, Actor: "tok_a", Now: at(9 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if got := heldIDs(t, s, h.HoldID); h.RecordingCount != 0 || len(got) != 0 {
		t.Errorf("hold after deleting all covers %q", got)
	}
}

// testListMembershipFilters pages through case and label filters whose
// matches are dense or sparse relative to the page size, so that both the
// walk-in-id-order and the collect-the-matches plans a store may choose
// give exactly the matching recordings, in order, on every page size.
func testListMembershipFilters(t *testing.T, s store.Store) {
	ctx := t.Context()
	var all, even, held []string
	for i := range 12 {
		r := recording(newID("rec"), "SIP", at(time.Duration(i)*time.Minute))
		r.Labels = map[string]string{"site": "x"}
		if i%2 == 0 {
			r.Labels["queue"] = "a"
		}
		if i == 5 {
			r.Labels["queue"] = "rare"
		}
		id := create(t, s, r).ID
		all = append(all, id)
		if i%2 == 0 {
			even = append(even, id)
		}
		if i < 8 {
			held = append(held, id)
		}
	}
	if _, err := s.CreateHold(ctx, store.CreateHoldParams{HoldID: newID("hold"), Spec: store.HoldSpec{CaseID: "LC-PLAN", HoldReason: "plan", HoldDate: at(0)},
		Filter: vault.RecordingFilter{RecordIDs: held}, Actor: "tok_a", Now: at(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	yes, no := true, false
	lbl := func(kv ...string) []vault.LabelSelector {
		var out []vault.LabelSelector
		for i := 0; i < len(kv); i += 2 {
			out = append(out, vault.LabelSelector{Key: kv[i], Value: kv[i+1]})
		}
		return out
	}
	for _, tt := range []struct {
		name string
		p    store.ListRecordingsParams
		want []string
	}{
		{"case", store.ListRecordingsParams{CaseID: "LC-PLAN"}, held},
		{"dense label", store.ListRecordingsParams{Labels: lbl("site", "x")}, all},
		{"half label", store.ListRecordingsParams{Labels: lbl("queue", "a")}, even},
		{"rare label", store.ListRecordingsParams{Labels: lbl("queue", "rare")}, all[5:6]},
		{"case and labels", store.ListRecordingsParams{CaseID: "LC-PLAN", Labels: lbl("site", "x", "queue", "a")}, []string{all[0], all[2], all[4], all[6]}},
		{"no match", store.ListRecordingsParams{CaseID: "LC-NONE", Labels: lbl("site", "x")}, nil},
		{"held", store.ListRecordingsParams{LegalHold: &yes}, held},
		{"not held", store.ListRecordingsParams{LegalHold: &no}, all[8:]},
		{"held with a label", store.ListRecordingsParams{LegalHold: &yes, Labels: lbl("queue", "a")}, []string{all[0], all[2], all[4], all[6]}},
	} {
		for _, limit := range []int{1, 2, 5, 100} {
			p := tt.p
			p.Limit = limit
			if got := listAll(t, s, p); !slices.Equal(got, sorted(tt.want)) {
				t.Errorf("%s, limit %d: %q, want %q", tt.name, limit, got, sorted(tt.want))
			}
		}
	}
}

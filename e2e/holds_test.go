package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/holdfast/holdfast/internal/testserver"
)

const (
	exampleReason   = "Discovery Request #12345"
	exampleDate     = "2023-11-01T00:00:00.000Z"
	exampleDateResp = "2023-11-01T00:00:00Z"
	exampleCase     = "LC-2024-001"
)

// perRecordingBody is exactly the first example payload of contract §6.
func perRecordingBody(id string) string {
	return `{"recordings": [
  {"id": "` + id + `", "metadata": {"legal_hold": true, "hold_reason": "Discovery Request #12345",
                            "hold_date": "2023-11-01T00:00:00.000Z", "case_id": "LC-2024-001"}}
]}`
}

type holdResults struct {
	Results []struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		HoldID string `json:"hold_id"`
	} `json:"results"`
	Held int `json:"held"`
}

type holdJSON struct {
	HoldID         string `json:"hold_id"`
	CaseID         string `json:"case_id"`
	HoldReason     string `json:"hold_reason"`
	HoldDate       string `json:"hold_date"`
	AppliedAt      string `json:"applied_at"`
	AppliedBy      string `json:"applied_by"`
	Active         bool   `json:"active"`
	IncludeFuture  bool   `json:"include_future"`
	RecordingCount int    `json:"recording_count"`
	Matched        int    `json:"matched"`
}

// TestHoldOnProcessingRecording places holds, with exactly the payloads
// of contract §6, on recordings that are still processing, and checks an
// include_future hold catches a recording ingested later.
func TestHoldOnProcessingRecording(t *testing.T) {
	t.Parallel()
	srv := testserver.StartProcess(t, "", "--faults", "processing_delay=30s")
	c := sdk(t, srv)
	ctx := context.Background()
	calls := makeCalls(1, 4)
	ids := ingestAll(t, c, calls[:2])
	recA, recB := ids[0], ids[1]
	for _, id := range ids {
		if m := recordingJSON(t, srv, id); m["status"] != "processing" {
			t.Fatalf("recording %s: status %v right after ingest with processing_delay=30s, want processing", id, m["status"])
		}
	}

	// 1. Per recording, the exact §6 payload, on a processing recording.
	r := do(t, srv.URL, testserver.AdminToken, http.MethodPost, "/api/v2/recordings/legalholds", perRecordingBody(recA))
	wantStatus(t, "per-recording hold", r, http.StatusOK)
	var hr holdResults
	decode(t, "per-recording hold", r, &hr)
	if hr.Held != 1 || len(hr.Results) != 1 || hr.Results[0].ID != recA || hr.Results[0].Status != "held" || hr.Results[0].HoldID == "" {
		t.Fatalf("per-recording hold: answer %s, want one result {id %s, status held, hold_id}, held 1", r.Body, recA)
	}
	holdA := hr.Results[0].HoldID

	// 2. By case/filter, the exact §6 shape.
	from := time.Now().UTC().Add(-100 * time.Hour).Format(time.RFC3339)
	to := time.Now().UTC().Add(time.Hour).Format(time.RFC3339)
	body := `{"case_id": "LC-2024-001", "hold_reason": "Discovery Request #12345", "hold_date": "2023-11-01T00:00:00.000Z",
 "filter": {"media_type": "SIP", "from": "` + from + `", "to": "` + to + `", "record_ids": ["` + recB + `"]},
 "include_future": true}`
	r = do(t, srv.URL, testserver.AdminToken, http.MethodPost, "/api/v2/legalholds", body)
	wantStatus(t, "filter hold", r, http.StatusCreated)
	var hB holdJSON
	decode(t, "filter hold", r, &hB)
	if hB.HoldID == "" || hB.Matched != 1 || hB.CaseID != exampleCase || hB.HoldReason != exampleReason || hB.HoldDate != exampleDateResp || !hB.Active {
		t.Fatalf("filter hold: answer %s; want hold_id, matched 1, case %s, reason, hold_date %s, active", r.Body, exampleCase, exampleDateResp)
	}
	if loc := r.Header.Get("Location"); loc != "/api/v2/legalholds/"+hB.HoldID {
		t.Errorf("filter hold: Location %q, want /api/v2/legalholds/%s", loc, hB.HoldID)
	}

	// Both recordings: still processing, held, with the hold's fields.
	for _, tc := range []struct{ rec, hold string }{{recA, holdA}, {recB, hB.HoldID}} {
		m := recordingJSON(t, srv, tc.rec)
		if m["status"] != "processing" {
			t.Errorf("recording %s: status %v, want processing (processing_delay=30s)", tc.rec, m["status"])
		}
		if m["legal_hold"] != true {
			t.Errorf("recording %s: legal_hold %v, want true", tc.rec, m["legal_hold"])
		}
		hs := holdsOf(t, m)
		if len(hs) != 1 {
			t.Fatalf("recording %s: holds %v, want exactly one", tc.rec, m["holds"])
		}
		h := hs[0]
		if h["hold_id"] != tc.hold || h["case_id"] != exampleCase || h["hold_reason"] != exampleReason || h["hold_date"] != exampleDateResp {
			t.Errorf("recording %s: hold %v, want hold_id %s case_id %s hold_reason %q hold_date %s", tc.rec, h, tc.hold, exampleCase, exampleReason, exampleDateResp)
		}
		if s, _ := h["applied_at"].(string); s == "" {
			t.Errorf("recording %s: hold lacks applied_at: %v", tc.rec, h)
		}
	}

	// Applying the same hold again is idempotent per recording.
	r = do(t, srv.URL, testserver.AdminToken, http.MethodPost, "/api/v2/recordings/legalholds", perRecordingBody(recA))
	wantStatus(t, "repeat per-recording hold", r, http.StatusOK)
	decode(t, "repeat per-recording hold", r, &hr)
	if hr.Held != 0 || len(hr.Results) != 1 || hr.Results[0].Status != "already_held" || hr.Results[0].HoldID != holdA {
		t.Errorf("repeat per-recording hold: %s, want already_held %s and held 0", r.Body, holdA)
	}

	// include_future: a hold on every SIP recording of the window, for now
	// and later.
	fut := fmt.Sprintf(`{"case_id": "LC-2024-002", "hold_reason": "Preservation notice", "filter": {"media_type": "SIP", "from": %q, "to": %q}, "include_future": true}`, from, to)
	r = do(t, srv.URL, testserver.AdminToken, http.MethodPost, "/api/v2/legalholds", fut)
	wantStatus(t, "include_future hold", r, http.StatusCreated)
	var hF holdJSON
	decode(t, "include_future hold", r, &hF)
	if hF.Matched != 2 || !hF.IncludeFuture {
		t.Fatalf("include_future hold: %s, want matched 2 and include_future true", r.Body)
	}

	// A matching recording ingested afterwards is held at once; one
	// outside the window is not.
	later := calls[2]
	outside := calls[3]
	shift := outside.StartedAt.Sub(time.Now().UTC().Add(-200 * time.Hour))
	outside.StartedAt, outside.EndedAt = outside.StartedAt.Add(-shift), outside.EndedAt.Add(-shift)
	recC, err := ingest(ctx, c, later, wavBytes(t, later))
	if err != nil {
		t.Fatal(err)
	}
	recD, err := ingest(ctx, c, outside, wavBytes(t, outside))
	if err != nil {
		t.Fatal(err)
	}
	m := recordingJSON(t, srv, recC.ID)
	if m["status"] != "processing" || m["legal_hold"] != true {
		t.Errorf("later recording %s: status %v legal_hold %v, want processing and true", recC.ID, m["status"], m["legal_hold"])
	}
	// (Whether the §6 hold above, whose filter names only recB, must also
	// catch recC is TestIncludeFutureHonoursFilter's business; here recC
	// must at least carry the window hold.)
	var sawF bool
	for _, h := range holdsOf(t, m) {
		if h["hold_id"] == hF.HoldID {
			sawF = true
			if h["case_id"] != "LC-2024-002" || h["hold_reason"] != "Preservation notice" {
				t.Errorf("later recording %s: hold %v, want case_id LC-2024-002 and hold_reason %q", recC.ID, h, "Preservation notice")
			}
		}
	}
	if !sawF {
		t.Errorf("later recording %s: holds %v, want the include_future hold %s among them", recC.ID, m["holds"], hF.HoldID)
	}
	if m := recordingJSON(t, srv, recD.ID); m["legal_hold"] != false || len(holdsOf(t, m)) != 0 {
		t.Errorf("recording %s started outside the filter window: legal_hold %v holds %v, want not held", recD.ID, m["legal_hold"], m["holds"])
	}
	r = do(t, srv.URL, testserver.AdminToken, http.MethodGet, "/api/v2/legalholds/"+hF.HoldID, nil)
	wantStatus(t, "GET include_future hold", r, http.StatusOK)
	var got holdJSON
	decode(t, "GET include_future hold", r, &got)
	want := []string{recA, recB, recC.ID}
	slices.Sort(want)
	if covered := holdRecordingIDs(t, c, hF.HoldID); !slices.Equal(covered, want) || got.RecordingCount != len(want) {
		t.Errorf("include_future hold covers %v (recording_count %d), want %v", covered, got.RecordingCount, want)
	}
	// Each recording's membership is proved against an audit entry: the
	// hold's placement for those it found, its own hold.extended entry for
	// the recording ingested later.
	for _, id := range want {
		checkHoldProof(t, c, hF.HoldID, id)
	}
	// A held, processing recording cannot be deleted.
	r = do(t, srv.URL, testserver.AdminToken, http.MethodDelete, "/api/v2/recordings/"+recB, nil)
	p := wantProblem(t, "delete held recording", r, http.StatusConflict, "legal_hold_active")
	gotHolds := map[string]string{}
	for _, h := range p.Holds {
		gotHolds[h.HoldID] = h.CaseID
	}
	if len(gotHolds) != 2 || gotHolds[hB.HoldID] != exampleCase || gotHolds[hF.HoldID] != "LC-2024-002" {
		t.Errorf("delete held recording: holds %+v, want {%s %s} and {%s LC-2024-002}", p.Holds, hB.HoldID, exampleCase, hF.HoldID)
	}
	if m := recordingJSON(t, srv, recB); m["status"] != "processing" {
		t.Errorf("recording %s: status %v at the end, want still processing", recB, m["status"])
	}
}

// TestIncludeFutureHonoursFilter checks that an include_future hold only
// catches later recordings that its whole filter selects: a filter naming
// record_ids (or a case_id) selects exactly those recordings, so a new
// recording with another id must not be held by it.
func TestIncludeFutureHonoursFilter(t *testing.T) {
	t.Parallel()
	srv := testserver.StartProcess(t, "")
	c := sdk(t, srv)
	calls := makeCalls(5, 3)
	ids := ingestAll(t, c, calls[:1])
	for i, tc := range []struct{ name, filter string }{
		{"record_ids", `{"media_type": "SIP", "record_ids": ["` + ids[0] + `"]}`},
		{"case_id", `{"case_id": "LC-OTHER-CASE"}`},
	} {
		body := `{"case_id": "LC-FUT-1", "hold_reason": "Discovery Request #12345", "filter": ` + tc.filter + `, "include_future": true}`
		r := do(t, srv.URL, testserver.AdminToken, http.MethodPost, "/api/v2/legalholds", body)
		wantStatus(t, tc.name+": create include_future hold", r, http.StatusCreated)
		var h holdJSON
		decode(t, tc.name, r, &h)
		later, err := ingest(context.Background(), c, calls[1+i], wavBytes(t, calls[1+i]))
		if err != nil {
			t.Fatal(err)
		}
		m := recordingJSON(t, srv, later.ID)
		if m["legal_hold"] != false || len(holdsOf(t, m)) != 0 {
			t.Errorf("%s: include_future hold %s with filter %s (matched %d) also holds recording %s ingested later, which the filter does not select: legal_hold %v holds %v",
				tc.name, h.HoldID, tc.filter, h.Matched, later.ID, m["legal_hold"], m["holds"])
		}
		r = do(t, srv.URL, testserver.AdminToken, http.MethodPost, "/api/v2/legalholds/"+h.HoldID+"/release", `{"release_reason": "next case"}`)
		wantStatus(t, tc.name+": release", r, http.StatusOK)
	}
}

// TestHoldRejectedChangesNothing checks that a rejected hold request
// changes nothing, and the validation rules of §4/§6 name the field.
func TestHoldRejectedChangesNothing(t *testing.T) {
	t.Parallel()
	srv := testserver.StartProcess(t, "")
	c := sdk(t, srv)
	ids := ingestAll(t, c, makeCalls(2, 3))
	post := func(body string) resp {
		return do(t, srv.URL, testserver.AdminToken, http.MethodPost, "/api/v2/recordings/legalholds", body)
	}
	entry := func(id, meta string) string { return `{"id": "` + id + `", "metadata": {` + meta + `}}` }
	good := `"legal_hold": true, "hold_reason": "Discovery Request #12345", "hold_date": "2023-11-01T00:00:00.000Z", "case_id": "LC-2024-001"`

	// One unknown id among valid ones: the whole request is rejected.
	unknown := "rec_01JD0000000000000000000000"
	r := post(`{"recordings": [` + entry(ids[0], good) + `, ` + entry(unknown, good) + `, ` + entry(ids[2], good) + `]}`)
	p := wantProblem(t, "hold with unknown id", r, http.StatusBadRequest, "validation_failed")
	if len(p.Errors) != 1 {
		t.Errorf("hold with unknown id: errors %+v, want exactly one", p.Errors)
	}
	if fe := findFieldError(t, "hold with unknown id", p, "recordings[1].id"); fe.Code != "not_found" || !strings.Contains(fe.Message, unknown) {
		t.Errorf("hold with unknown id: error %+v, want code not_found naming %s", fe, unknown)
	}

	assertNothingHeld := func(when string) {
		t.Helper()
		for _, id := range ids {
			m := recordingJSON(t, srv, id)
			if m["legal_hold"] != false || len(holdsOf(t, m)) != 0 {
				t.Errorf("%s: recording %s has legal_hold %v holds %v, want no hold", when, id, m["legal_hold"], m["holds"])
			}
		}
		r := do(t, srv.URL, testserver.AdminToken, http.MethodGet, "/api/v2/legalholds", nil)
		wantStatus(t, when+": GET /api/v2/legalholds", r, http.StatusOK)
		var page struct {
			Items []holdJSON `json:"items"`
		}
		decode(t, when+": GET /api/v2/legalholds", r, &page)
		if len(page.Items) != 0 {
			t.Errorf("%s: GET /api/v2/legalholds lists %d holds, want none: %s", when, len(page.Items), r.Body)
		}
		for _, e := range allAuditEntries(t, c) {
			if strings.HasPrefix(e.Type, "hold.") {
				t.Errorf("%s: audit entry %d %s, want no hold entries", when, e.Index, e.Type)
			}
		}
	}
	assertNothingHeld("after the rejected request")

	reason501 := strings.Repeat("x", 501)
	reason500 := strings.Repeat("y", 500)
	cases := []struct {
		name    string
		meta    string
		field   string // "" means accepted
		code    string
		message string // substring of the field's message
	}{
		{"date only", `"legal_hold": true, "hold_reason": "r", "hold_date": "2023-11-01"`, "recordings[0].metadata.hold_date", "", exampleDate},
		{"space, no zone", `"legal_hold": true, "hold_reason": "r", "hold_date": "2023-11-01 00:00:00"`, "recordings[0].metadata.hold_date", "", exampleDate},
		{"no zone", `"legal_hold": true, "hold_reason": "r", "hold_date": "2023-11-01T00:00:00"`, "recordings[0].metadata.hold_date", "", exampleDate},
		{"case_id pattern", `"legal_hold": true, "hold_reason": "r", "case_id": "LC 2024/001"`, "recordings[0].metadata.case_id", "invalid_pattern", ""},
		{"case_id leading dash", `"legal_hold": true, "hold_reason": "r", "case_id": "-LC-2024"`, "recordings[0].metadata.case_id", "invalid_pattern", ""},
		{"case_id 65 chars", `"legal_hold": true, "hold_reason": "r", "case_id": "` + strings.Repeat("A", 65) + `"`, "recordings[0].metadata.case_id", "invalid_pattern", ""},
		{"hold_reason empty", `"legal_hold": true, "hold_reason": ""`, "recordings[0].metadata.hold_reason", "", ""},
		{"hold_reason 501 chars", `"legal_hold": true, "hold_reason": "` + reason501 + `"`, "recordings[0].metadata.hold_reason", "", ""},
		{"hold_reason missing", `"legal_hold": true`, "recordings[0].metadata.hold_reason", "", ""},
		{"legal_hold string", `"legal_hold": "true", "hold_reason": "r"`, "recordings[0].metadata.legal_hold", "invalid_type", "must be a JSON boolean"},
		// Accepted ones last: they place holds.
		{"RFC 3339 with zone", `"legal_hold": true, "hold_reason": "Discovery Request #12345", "hold_date": "2023-11-01T00:00:00.000Z", "case_id": "LC-2024-001"`, "", "", ""},
		{"hold_reason 500 chars, case_id 64 chars", `"legal_hold": true, "hold_reason": "` + reason500 + `", "case_id": "` + strings.Repeat("B", 64) + `"`, "", "", ""},
	}
	for i, tc := range cases {
		if tc.field == "" {
			continue
		}
		r := post(`{"recordings": [` + entry(ids[i%len(ids)], tc.meta) + `]}`)
		p := wantProblem(t, tc.name, r, http.StatusBadRequest, "validation_failed")
		fe := findFieldError(t, tc.name, p, tc.field)
		if tc.code != "" && fe.Code != tc.code {
			t.Errorf("%s: field %s code %q, want %q", tc.name, tc.field, fe.Code, tc.code)
		}
		if tc.message != "" && !strings.Contains(fe.Message, tc.message) {
			t.Errorf("%s: field %s message %q, want it to contain %q", tc.name, tc.field, fe.Message, tc.message)
		}
		if !strings.Contains(p.Message, tc.field) {
			t.Errorf("%s: problem message %q does not name %s", tc.name, p.Message, tc.field)
		}
	}
	assertNothingHeld("after the rejected validation cases")

	for i, tc := range cases {
		if tc.field != "" {
			continue
		}
		id := ids[i%len(ids)]
		r := post(`{"recordings": [` + entry(id, tc.meta) + `]}`)
		wantStatus(t, tc.name, r, http.StatusOK)
		var hr holdResults
		decode(t, tc.name, r, &hr)
		if hr.Held != 1 || len(hr.Results) != 1 || hr.Results[0].Status != "held" {
			t.Errorf("%s: answer %s, want one held", tc.name, r.Body)
		}
		if m := recordingJSON(t, srv, id); m["legal_hold"] != true {
			t.Errorf("%s: recording %s legal_hold %v after an accepted hold", tc.name, id, m["legal_hold"])
		}
	}
}

// Test403NotFor400 checks that a token lacking a permission gets 403
// naming it, even when the body would also be invalid.
func Test403NotFor400(t *testing.T) {
	t.Parallel()
	srv := testserver.StartProcess(t, "")
	c := sdk(t, srv)
	ids := ingestAll(t, c, makeCalls(3, 1))
	id := ids[0]

	newToken := func(name string, perms ...string) string {
		t.Helper()
		r := do(t, srv.URL, testserver.AdminToken, http.MethodPost, "/api/v2/tokens", map[string]any{"name": name, "permissions": perms})
		wantStatus(t, "create token "+name, r, http.StatusCreated)
		var tok struct {
			ID          string   `json:"id"`
			Name        string   `json:"name"`
			Permissions []string `json:"permissions"`
			Token       string   `json:"token"`
		}
		decode(t, "create token "+name, r, &tok)
		if tok.ID == "" || tok.Name != name || !slices.Equal(tok.Permissions, perms) || tok.Token == "" {
			t.Fatalf("create token %s: answer %s", name, r.Body)
		}
		return tok.Token
	}
	viewer := newToken("viewer", "recording:view")
	placer := newToken("placer", "recording:view", "recording:export:legalhold")

	// The viewer can read...
	wantStatus(t, "viewer GET recording", do(t, srv.URL, viewer, http.MethodGet, "/api/v2/recordings/"+id, nil), http.StatusOK)

	cases := []struct {
		name    string
		token   string
		path    string
		body    string
		missing []string
	}{
		// The per-recording route needs one of its two permissions before
		// the body is read; a token with neither lacks both.
		{"viewer places a per-recording hold", viewer, "/api/v2/recordings/legalholds", perRecordingBody(id), []string{"recording:export:legalhold", "legalhold:release"}},
		{"viewer places an invalid per-recording hold", viewer, "/api/v2/recordings/legalholds",
			`{"recordings": [{"id": "` + id + `", "metadata": {"legal_hold": true, "hold_reason": "", "hold_date": "2023-11-01"}}]}`, []string{"recording:export:legalhold", "legalhold:release"}},
		{"viewer places a hold on an unknown id", viewer, "/api/v2/recordings/legalholds", perRecordingBody("rec_01JD0000000000000000000000"), []string{"recording:export:legalhold", "legalhold:release"}},
		{"viewer places a filter hold", viewer, "/api/v2/legalholds",
			`{"case_id": "LC-2024-001", "hold_reason": "Discovery Request #12345", "filter": {"record_ids": ["` + id + `"]}}`, []string{"recording:export:legalhold"}},
		{"viewer places an invalid filter hold", viewer, "/api/v2/legalholds", `{"case_id": "bad case", "hold_date": "yesterday"}`, []string{"recording:export:legalhold"}},
		{"placer releases per recording", placer, "/api/v2/recordings/legalholds",
			`{"recordings": [{"id": "` + id + `", "metadata": {"legal_hold": false, "case_id": "LC-2024-001", "release_reason": "Matter closed"}}]}`, []string{"legalhold:release"}},
		{"placer releases per recording without a reason", placer, "/api/v2/recordings/legalholds",
			`{"recordings": [{"id": "` + id + `", "metadata": {"legal_hold": false}}]}`, []string{"legalhold:release"}},
		{"viewer places and releases", viewer, "/api/v2/recordings/legalholds",
			`{"recordings": [{"id": "` + id + `", "metadata": {"legal_hold": true, "hold_reason": "r", "case_id": "LC-1"}}, {"id": "` + id + `", "metadata": {"legal_hold": false, "case_id": "LC-2", "release_reason": "done"}}]}`,
			[]string{"recording:export:legalhold", "legalhold:release"}},
	}
	for _, tc := range cases {
		r := do(t, srv.URL, tc.token, http.MethodPost, tc.path, tc.body)
		p := wantProblem(t, tc.name, r, http.StatusForbidden, "permission_denied")
		got := slices.Clone(p.MissingPermissions)
		want := slices.Clone(tc.missing)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: missing_permissions %v, want %v", tc.name, p.MissingPermissions, tc.missing)
		}
		for _, m := range tc.missing {
			if !strings.Contains(p.Message, m) {
				t.Errorf("%s: message %q does not name %s", tc.name, p.Message, m)
			}
		}
	}

	// The placer can place a hold, so the release 403 above was about the
	// release permission only; and the viewer's 403s changed nothing.
	r := do(t, srv.URL, placer, http.MethodPost, "/api/v2/recordings/legalholds", perRecordingBody(id))
	wantStatus(t, "placer places a hold", r, http.StatusOK)
	var hr holdResults
	decode(t, "placer places a hold", r, &hr)
	if hr.Held != 1 {
		t.Fatalf("placer places a hold: %s, want held 1", r.Body)
	}
	// Releasing that hold by id also needs legalhold:release.
	r = do(t, srv.URL, placer, http.MethodPost, "/api/v2/legalholds/"+hr.Results[0].HoldID+"/release", `{"release_reason": "Matter closed"}`)
	p := wantProblem(t, "placer releases a hold by id", r, http.StatusForbidden, "permission_denied")
	if !slices.Equal(p.MissingPermissions, []string{"legalhold:release"}) {
		t.Errorf("placer releases a hold by id: missing_permissions %v, want [legalhold:release]", p.MissingPermissions)
	}
	m := recordingJSON(t, srv, id)
	if hs := holdsOf(t, m); len(hs) != 1 || hs[0]["hold_id"] != hr.Results[0].HoldID {
		t.Errorf("after the 403s: holds %v, want exactly the placer's hold %s", m["holds"], hr.Results[0].HoldID)
	}
	// Unknown token: 401, not 403.
	wantProblem(t, "unknown token", do(t, srv.URL, "hf_nope", http.MethodPost, "/api/v2/recordings/legalholds", perRecordingBody(id)), http.StatusUnauthorized, "unauthenticated")
}

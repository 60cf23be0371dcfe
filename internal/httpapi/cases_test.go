package httpapi_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/holdfast/holdfast/internal/store/sqlstore"
	"github.com/holdfast/holdfast/internal/testserver"
)

// testOACasesAndSearch exercises the case views, the search parameters of
// the recordings list, unknown query parameters on every list endpoint,
// other platforms' field names and an export that matches nothing.
func testOACasesAndSearch(t *testing.T) {
	a := newOAClient(t)
	admin := testserver.AdminToken
	viewer := oaCreateToken(t, a, "viewer", "recording:view")
	holder := oaCreateToken(t, a, "holder", "recording:export:legalhold", "recording:view")

	fx := oaCalls(t, 11, 3)
	var ids []string
	for _, f := range fx {
		id, _ := a.expect(t, oaIngest(t, admin, f.meta, f.wav, f.sipre, ""), 202, "").obj(t)["id"].(string)
		ids = append(ids, id)
	}
	listIDs := func(query string) []string {
		t.Helper()
		page := a.expect(t, oaGet("/api/v2/recordings?"+query, viewer), 200, "").obj(t)
		var got []string
		items, _ := page["items"].([]any)
		for _, it := range items {
			got = append(got, it.(map[string]any)["id"].(string))
		}
		slices.Sort(got)
		return got
	}

	// Search by call id and by participant.
	if got := listIDs("call_id=" + url.QueryEscape(fx[1].call.CallID)); !slices.Equal(got, []string{ids[1]}) {
		t.Errorf("call_id=%s: %q, want [%s]", fx[1].call.CallID, got, ids[1])
	}
	aor := fx[2].call.Participants[1].AOR
	needle := strings.ToUpper(strings.TrimPrefix(aor, "sip:")[:5])
	want := []string{}
	for i, f := range fx {
		for _, p := range f.call.Participants {
			if strings.Contains(strings.ToUpper(p.AOR), needle) || strings.Contains(strings.ToUpper(p.Name), needle) {
				want = append(want, ids[i])
				break
			}
		}
	}
	slices.Sort(want)
	if got := listIDs("participant=" + url.QueryEscape(needle)); !slices.Equal(got, want) || !slices.Contains(got, ids[2]) {
		t.Errorf("participant=%s: %q, want %q", needle, got, want)
	}

	// Hold two of them for a case, directly and by an export.
	hold := map[string]any{"recordings": []any{map[string]any{"id": ids[0], "metadata": map[string]any{"legal_hold": true, "hold_reason": "Discovery Request #7", "case_id": "LC-CASES-1"}}}}
	a.expect(t, oaJSON("POST", "/api/v2/recordings/legalholds", holder, hold), 200, "")
	exp := a.expect(t, oaJSON("POST", oaExports, admin, map[string]any{"filter": map[string]any{"record_ids": []string{ids[0], ids[1]}}, "metadata": map[string]any{"legal_hold": true, "case_id": "LC-CASES-1"}}), 202, "").obj(t)
	if exp["hold_id"] == nil {
		t.Fatalf("legal-hold export placed no hold: %v", exp)
	}
	if got := listIDs("legal_hold=true"); !slices.Equal(got, []string{ids[0], ids[1]}) {
		t.Errorf("legal_hold=true: %q", got)
	}
	if got := listIDs("legal_hold=false"); !slices.Equal(got, []string{ids[2]}) {
		t.Errorf("legal_hold=false: %q", got)
	}

	// An export that matches nothing: 202, matched 0, no hold.
	none := a.expect(t, oaJSON("POST", oaExports, admin, map[string]any{"filter": map[string]any{"media_type": "EMAIL"}, "metadata": map[string]any{"legal_hold": true, "case_id": "LC-CASES-EMPTY"}}), 202, "").obj(t)
	if prog, _ := none["progress"].(map[string]any); prog["matched"] != float64(0) || none["hold_id"] != nil {
		t.Errorf("export matching nothing: progress %v, hold_id %v; want matched 0 and no hold", none["progress"], none["hold_id"])
	}

	// The user's request in another platform's words is told what to use.
	p := a.expect(t, oaJSON("POST", oaExports, admin, `{"filter":{"media_type":"SIP","date_range":{"start":"2026-11-24T00:00:00Z","end":"2026-11-26T00:00:00Z"}},"metadata":{"legal_hold":true,"case_id":"LC-2024-001"}}`), 400, "validation_failed").obj(t)
	if msg, _ := p["message"].(string); !strings.Contains(msg, "filter.date_range: use filter.from and filter.to") {
		t.Errorf("date_range message = %q", msg)
	}

	// Cases.
	page := a.expect(t, oaGet("/api/v2/cases", viewer), 200, "").obj(t)
	items, _ := page["items"].([]any)
	if len(items) != 2 || items[0].(map[string]any)["case_id"] != "LC-CASES-1" || items[0].(map[string]any)["active_holds"] != float64(2) ||
		items[0].(map[string]any)["held_recordings"] != float64(2) || items[0].(map[string]any)["exports"] != float64(1) {
		t.Errorf("GET /api/v2/cases: %s", page)
	}
	page = a.expect(t, oaGet("/api/v2/cases?limit=1", viewer), 200, "").obj(t)
	cur, _ := page["next_cursor"].(string)
	page = a.expect(t, oaGet("/api/v2/cases?limit=1&cursor="+url.QueryEscape(cur), viewer), 200, "").obj(t)
	if items, _ := page["items"].([]any); len(items) != 1 || items[0].(map[string]any)["case_id"] != "LC-CASES-EMPTY" {
		t.Errorf("second page of cases: %v", page)
	}
	a.expect(t, oaGet("/api/v2/cases?limit=0", viewer), 400, "validation_failed")
	a.expect(t, oaGet("/api/v2/cases", ""), 401, "unauthenticated")
	a.expect(t, oaGet("/api/v2/cases", oaCreateToken(t, a, "auditor", "audit:view")), 403, "permission_denied")
	c := a.expect(t, oaGet("/api/v2/cases/LC-CASES-1", viewer), 200, "").obj(t)
	if hs, _ := c["holds"].([]any); len(hs) != 2 {
		t.Errorf("case holds: %v", c["holds"])
	}
	if js, _ := c["export_jobs"].([]any); len(js) != 1 || js[0].(map[string]any)["id"] != exp["id"] {
		t.Errorf("case export jobs: %v", c["export_jobs"])
	}
	p = a.expect(t, oaGet("/api/v2/cases/LC-NOPE", viewer), 404, "not_found").obj(t)
	if msg, _ := p["message"].(string); !strings.Contains(msg, `"LC-NOPE"`) {
		t.Errorf("not found message does not name the case: %q", msg)
	}
	a.expect(t, oaGet("/api/v2/cases/bad%20case", viewer), 404, "not_found")
	a.expect(t, oaGet("/api/v2/cases/LC-CASES-1", ""), 401, "unauthenticated")
	a.expect(t, oaGet("/api/v2/cases/LC-CASES-1", holder+"x"), 401, "unauthenticated")
	a.expect(t, oaGet("/api/v2/cases/LC-CASES-1", oaCreateToken(t, a, "auditor2", "audit:view")), 403, "permission_denied")

	rel := func(caseID, token string, body any) oaReq {
		return oaJSON("POST", "/api/v2/cases/"+caseID+"/release", token, body)
	}
	a.expect(t, rel("LC-CASES-1", holder, map[string]any{"release_reason": "closed"}), 403, "permission_denied")
	a.expect(t, rel("LC-CASES-1", "", map[string]any{"release_reason": "closed"}), 401, "unauthenticated")
	a.expect(t, rel("LC-CASES-1", admin, map[string]any{}), 400, "validation_failed")
	a.expect(t, rel("LC-NOPE", admin, map[string]any{"release_reason": "closed"}), 404, "not_found")
	big := `{"release_reason": "` + strings.Repeat("a", 9<<20) + `"}`
	a.expect(t, rel("LC-CASES-1", admin, big), 413, "payload_too_large")
	r := a.expect(t, rel("LC-CASES-1", admin, map[string]any{"release_reason": "Matter closed"}), 200, "").obj(t)
	if hs, _ := r["released_hold_ids"].([]any); r["case_id"] != "LC-CASES-1" || len(hs) != 2 || !slices.Contains(hs, exp["hold_id"]) {
		t.Errorf("release case: %v", r)
	}
	if got := listIDs("legal_hold=true"); len(got) != 0 {
		t.Errorf("held after the case release: %q", got)
	}
	r = a.expect(t, rel("LC-CASES-1", admin, map[string]any{"release_reason": "again"}), 200, "").obj(t)
	if hs, _ := r["released_hold_ids"].([]any); len(hs) != 0 {
		t.Errorf("second release of the case: %v", r)
	}

	// Unknown query parameters are refused on every list endpoint, naming
	// each one; known ones still work.
	for _, path := range []string{"/api/v2/recordings", "/api/v2/legalholds", "/api/v2/cases", oaExports, "/api/v2/audit/entries", "/api/v2/tokens"} {
		p := a.expect(t, oaGet(path+"?limt=100&zz=1&limit=5", admin), 400, "validation_failed").obj(t)
		if got := oaFieldErrors(p); !slices.Equal(got, []string{"query.limt:unknown_field", "query.zz:unknown_field"}) {
			t.Errorf("%s: field errors %q, want [query.limt query.zz]", path, got)
		}
	}
}

// testOAAuditInconsistent checks that a log contradicting its signed
// checkpoint is a permanent 500 audit_log_inconsistent, without
// Retry-After.
func testOAAuditInconsistent(t *testing.T) {
	srv := testserver.Start(t)
	a := &oaClient{spec: oaLoadSpec(t), base: srv.URL, hc: &http.Client{Timeout: 30 * time.Second}}
	admin := testserver.AdminToken
	oaCreateToken(t, a, "one", "recording:view")
	a.expect(t, oaGet("/api/v2/audit/checkpoint", admin), 200, "")
	db := srv.App.Store.(*sqlstore.Store).DB()
	if _, err := db.ExecContext(t.Context(), `UPDATE audit_hashes SET hash = '0000000000000000000000000000000000000000000000000000000000000000'`); err != nil {
		t.Fatal(err)
	}
	r := a.expect(t, oaGet("/api/v2/audit/checkpoint", admin), 500, "audit_log_inconsistent")
	if r.header.Get("Retry-After") != "" || r.header.Get("X-Retry-After") != "" {
		t.Errorf("audit_log_inconsistent carries Retry-After %q: it is permanent", r.header.Get("Retry-After"))
	}
}

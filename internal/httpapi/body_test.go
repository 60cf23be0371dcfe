package httpapi_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/holdfast/holdfast/internal/httpapi"
	"github.com/holdfast/holdfast/internal/testserver"
)

// token creates a token with the given permissions and returns its secret.
func (h *apiHarness) token(perms ...string) string {
	h.t.Helper()
	q := `"` + strings.Join(perms, `","`) + `"`
	r := h.postJSON("/api/v2/tokens", testserver.AdminToken, `{"name":"t","permissions":[`+q+`]}`)
	if r.status != 201 {
		h.t.Fatalf("creating a token: %d %s", r.status, r.body)
	}
	return r.json(h.t)["token"].(string)
}

// ingestOne ingests one synthetic call and returns its id.
func (h *apiHarness) ingestOne(seed uint64) string {
	h.t.Helper()
	c, wav := call(h.t, seed)
	r := h.ingest(testserver.AdminToken, nil, [2]string{"metadata", string(c.Metadata())}, [2]string{"media", string(wav)})
	if r.status != 202 {
		h.t.Fatalf("ingest: %d %s", r.status, r.body)
	}
	return r.json(h.t)["id"].(string)
}

func (h *apiHarness) legalHold(id string) bool {
	h.t.Helper()
	r := h.do("GET", "/api/v2/recordings/"+id, testserver.AdminToken, nil, nil)
	if r.status != 200 {
		h.t.Fatalf("get %s: %d %s", id, r.status, r.body)
	}
	return r.json(h.t)["legal_hold"] == true
}

func missingPerms(p map[string]any) string {
	mp, _ := p["missing_permissions"].([]any)
	var out []string
	for _, m := range mp {
		out = append(out, fmt.Sprint(m))
	}
	return strings.Join(out, ",")
}

func errorFields(p map[string]any) string {
	errs, _ := p["errors"].([]any)
	var out []string
	for _, e := range errs {
		m := e.(map[string]any)
		out = append(out, fmt.Sprint(m["field"], "/", m["code"]))
	}
	return strings.Join(out, ",")
}

// The two bodies of issue 8: each once got past a permission pre-check
// that read the body differently from the decoder. Both are now refused
// as malformed, the hold stays, and the delete after them is refused.
func TestDuplicateKeyAttacksAreRefused(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t)
	id := h.ingestOne(81)
	placed := h.postJSON("/api/v2/recordings/legalholds", testserver.AdminToken,
		`{"recordings":[{"id":"`+id+`","metadata":{"legal_hold":true,"hold_reason":"Discovery Request #12345","case_id":"REL-2"}}]}`)
	if placed.status != 200 {
		t.Fatalf("placing the hold: %d %s", placed.status, placed.body)
	}
	holdOnly := h.token("recording:export:legalhold")
	deleter := h.token("recording:delete")
	exporter := h.token("recording:export")

	release := `{"recordings":5,"recordings":[{"id":"` + id + `","metadata":{"legal_hold":false,"release_reason":"x","case_id":"REL-2"}}]}`
	p := assertProblem(t, h.postJSON("/api/v2/recordings/legalholds", holdOnly, release), 400, "malformed_json")
	if got := errorFields(p); got != "recordings/duplicate_key" {
		t.Errorf("release attack: errors %s, want recordings/duplicate_key", got)
	}
	if !h.legalHold(id) {
		t.Fatal("the release attack released the hold")
	}
	assertProblem(t, h.do("DELETE", "/api/v2/recordings/"+id, deleter, nil, nil), 409, "legal_hold_active")

	escalate := `{"filter":{"record_ids":["` + id + `"]},"metadata":5,"metadata":{"legal_hold":true,"case_id":"ESC-1"}}`
	p = assertProblem(t, h.postJSON("/api/v2/bulk/recordingexports", exporter, escalate), 400, "malformed_json")
	if got := errorFields(p); got != "metadata/duplicate_key" {
		t.Errorf("escalation attack: errors %s, want metadata/duplicate_key", got)
	}
	if l := h.do("GET", "/api/v2/bulk/recordingexports", testserver.AdminToken, nil, nil).json(t); len(l["items"].([]any)) != 0 {
		t.Fatalf("the escalation attack created an export: %v", l)
	}
	if l := h.do("GET", "/api/v2/legalholds?case_id=ESC-1", testserver.AdminToken, nil, nil).json(t); len(l["items"].([]any)) != 0 {
		t.Fatalf("the escalation attack placed a hold: %v", l)
	}

	// The honest versions of both requests still need their permissions.
	honest := `{"recordings":[{"id":"` + id + `","metadata":{"legal_hold":false,"release_reason":"x","case_id":"REL-2"}}]}`
	p = assertProblem(t, h.postJSON("/api/v2/recordings/legalholds", holdOnly, honest), 403, "permission_denied")
	if got := missingPerms(p); got != "legalhold:release" {
		t.Errorf("honest release: missing %s", got)
	}
	p = assertProblem(t, h.postJSON("/api/v2/bulk/recordingexports", exporter, `{"filter":{"record_ids":["`+id+`"]},"metadata":{"legal_hold":true,"case_id":"ESC-1"}}`), 403, "permission_denied")
	if got := missingPerms(p); got != "recording:export:legalhold" {
		t.Errorf("honest export with hold: missing %s", got)
	}
	if !h.legalHold(id) {
		t.Fatal("hold gone")
	}
	assertProblem(t, h.do("DELETE", "/api/v2/recordings/"+id, deleter, nil, nil), 409, "legal_hold_active")
}

// Every JSON endpoint reads its body with the one strict decoder.
func TestStrictJSONOnEveryEndpoint(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t)
	id := h.ingestOne(82)
	item := func(meta string) string { return `{"recordings":[{"id":"` + id + `","metadata":` + meta + `}]}` }
	holds, exports := "/api/v2/recordings/legalholds", "/api/v2/bulk/recordingexports"
	tests := []struct {
		name, path, body string
		status           int
		code, fields     string
	}{
		{"dup top level", holds, `{"recordings":[],"recordings":[]}`, 400, "malformed_json", "recordings/duplicate_key"},
		{"dup nested", holds, item(`{"legal_hold":true,"legal_hold":false,"hold_reason":"r"}`), 400, "malformed_json", "recordings[0].metadata.legal_hold/duplicate_key"},
		{"dup in second array element", holds, `{"recordings":[{"id":"a","metadata":{}},{"id":"b","id":"c"}]}`, 400, "malformed_json", "recordings[1].id/duplicate_key"},
		{"dup by escape", holds, `{"recordings":[],"\u0072ecordings":[]}`, 400, "malformed_json", "recordings/duplicate_key"},
		{"dup by escape in value object", exports, `{"filter":{"media_type":"SIP","media_typ\u0065":"CHAT"}}`, 400, "malformed_json", "filter.media_type/duplicate_key"},
		{"dup in filter hold", "/api/v2/legalholds", `{"hold_reason":"r","filter":{"record_ids":["x"]},"filter":{"media_type":"SIP"}}`, 400, "malformed_json", "filter/duplicate_key"},
		{"dup in release", "/api/v2/legalholds/hold_01JD0000000000000000000000/release", `{"release_reason":"a","release_reason":"b"}`, 400, "malformed_json", "release_reason/duplicate_key"},
		{"dup in token", "/api/v2/tokens", `{"name":"a","permissions":["recording:view"],"permissions":["admin"]}`, 400, "malformed_json", "permissions/duplicate_key"},

		{"lone high surrogate", holds, item(`{"legal_hold":true,"hold_reason":"r\ud800"}`), 400, "validation_failed", "recordings[0].metadata.hold_reason/invalid_utf8"},
		{"lone low surrogate in key", exports, `{"filter":{"media_type":"SIP"},"\udc00":1}`, 400, "validation_failed", "\uFFFD/invalid_utf8"},
		{"raw invalid byte", "/api/v2/tokens", "{\"name\":\"a\xff\",\"permissions\":[\"recording:view\"]}", 400, "validation_failed", "name/invalid_utf8"},
		{"every bad string listed", "/api/v2/legalholds", `{"hold_reason":"\ud800","case_id":"\udfff","filter":{"media_type":"SIP"}}`, 400, "validation_failed", "hold_reason/invalid_utf8,case_id/invalid_utf8"},
		{"valid pair accepted", "/api/v2/legalholds", `{"hold_reason":"\ud83d\ude00 matter","filter":{"record_ids":["` + id + `"]}}`, 201, "", ""},

		{"recordings a number", holds, `{"recordings":5}`, 400, "validation_failed", "recordings/invalid_type"},
		{"item a number", holds, `{"recordings":[5]}`, 400, "validation_failed", "recordings[0]/invalid_type"},
		{"legal_hold a string", holds, item(`{"legal_hold":"false","case_id":"LC-1","release_reason":"r"}`), 400, "validation_failed", "recordings[0].metadata.legal_hold/invalid_type,recordings[0].metadata.hold_reason/required"},
		{"metadata an array", holds, `{"recordings":[{"id":"` + id + `","metadata":[{"legal_hold":false}]}]}`, 400, "validation_failed", "recordings[0].metadata/invalid_type"},
		{"export metadata a number", exports, `{"filter":{"media_type":"SIP"},"metadata":5}`, 400, "validation_failed", "metadata/invalid_type"},
		{"export legal_hold a string", exports, `{"filter":{"media_type":"SIP"},"metadata":{"legal_hold":"true"}}`, 400, "validation_failed", "metadata.legal_hold/invalid_type"},
		{"release without case_id", holds, item(`{"legal_hold":false,"release_reason":"r"}`), 400, "validation_failed", "recordings[0].metadata.case_id/required"},
		{"not an object", holds, `[{"recordings":[]}]`, 400, "malformed_json", ""},
		{"trailing data", holds, `{"recordings":[]} {}`, 400, "malformed_json", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.postJSON(tt.path, testserver.AdminToken, tt.body)
			if tt.code == "" {
				if r.status != tt.status {
					t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
				}
				return
			}
			p := assertProblem(t, r, tt.status, tt.code)
			if got := errorFields(p); got != tt.fields {
				t.Fatalf("errors %s, want %s", got, tt.fields)
			}
		})
	}
	if h.legalHold(id) != true {
		t.Fatal("the only valid request (a hold by filter) did not hold the recording")
	}
	if l := h.do("GET", exports, testserver.AdminToken, nil, nil).json(t); len(l["items"].([]any)) != 0 {
		t.Fatalf("a refused request created an export: %v", l)
	}
}

// The metadata part of an upload is read by the same strict decoder, and
// each small part may be sent only once.
func TestUploadMetadataIsStrict(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t)
	c, wav := call(t, 83)
	meta := string(c.Metadata())
	sip := string(c.SIPREC())
	withCallID := func(v string) string {
		return `{"media_type":"SIP","started_at":"2026-11-25T10:00:00Z","call_id":"` + v + `"}`
	}
	tests := []struct {
		name   string
		parts  [][2]string
		status int
		code   string
		fields string
	}{
		{"invalid byte", [][2]string{{"metadata", withCallID("a\xffb")}, {"media", string(wav)}}, 400, "validation_failed", "metadata.call_id/invalid_utf8"},
		{"lone surrogate", [][2]string{{"metadata", withCallID(`a\udc00b`)}, {"media", string(wav)}}, 400, "validation_failed", "metadata.call_id/invalid_utf8"},
		{"invalid label value", [][2]string{{"metadata", `{"media_type":"SIP","started_at":"2026-11-25T10:00:00Z","labels":{"q":"\ud800"}}`}, {"media", string(wav)}}, 400, "validation_failed", "metadata.labels.q/invalid_utf8"},
		{"duplicate key", [][2]string{{"metadata", `{"media_type":"SIP","media_type":"CHAT","started_at":"2026-11-25T10:00:00Z"}`}, {"media", string(wav)}}, 400, "malformed_json", "metadata.media_type/duplicate_key"},
		{"second metadata part", [][2]string{{"metadata", meta}, {"metadata", withCallID("other")}, {"media", string(wav)}}, 400, "validation_failed", "metadata/duplicate"},
		{"second siprec part", [][2]string{{"metadata", meta}, {"siprec", sip}, {"siprec", sip}, {"media", string(wav)}}, 400, "validation_failed", "siprec/duplicate"},
		{"second media part", [][2]string{{"metadata", meta}, {"media", string(wav)}, {"media", string(wav)}}, 400, "validation_failed", "media/duplicate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := assertProblem(t, h.ingest(testserver.AdminToken, nil, tt.parts...), tt.status, tt.code)
			if got := errorFields(p); got != tt.fields {
				t.Fatalf("errors %s, want %s", got, tt.fields)
			}
		})
	}
	if l := h.do("GET", "/api/v2/recordings", testserver.AdminToken, nil, nil).json(t); len(l["items"].([]any)) != 0 {
		t.Fatalf("a refused upload created a recording: %v", l)
	}
}

func TestJSONEndpointsNeedJSONContentType(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t)
	body := `{"hold_reason":"r","filter":{"media_type":"SIP"}}`
	for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded", "application/jsonx", "multipart/form-data; boundary=x", "application/json;;"} {
		hdr := map[string]string{}
		if ct != "" {
			hdr["Content-Type"] = ct
		}
		p := assertProblem(t, h.do("POST", "/api/v2/legalholds", testserver.AdminToken, strings.NewReader(body), hdr), 415, "unsupported_media_type")
		if !strings.Contains(p["message"].(string), "application/json") {
			t.Errorf("Content-Type %q: message does not say what to send: %v", ct, p["message"])
		}
	}
	if l := h.do("GET", "/api/v2/legalholds", testserver.AdminToken, nil, nil).json(t); len(l["items"].([]any)) != 0 {
		t.Fatalf("a 415 request created a hold: %v", l)
	}
	for _, ct := range []string{"application/json", "application/json; charset=utf-8", "Application/JSON"} {
		r := h.do("POST", "/api/v2/legalholds", testserver.AdminToken, strings.NewReader(body), map[string]string{"Content-Type": ct})
		if r.status != 201 {
			t.Errorf("Content-Type %q: %d %s", ct, r.status, r.body)
		}
	}
}

// rawResponse is an answer read off a raw connection.
type rawResponse struct {
	status  int
	ctype   string
	elapsed time.Duration
}

// rawPost sends a POST whose headers declare contentLength but whose
// body stops after prefix, and reads the answer. A server that tried to
// read the declared body would never answer; the caller sees a timeout.
func rawPost(t *testing.T, base, path, token, ctype string, contentLength int64, prefix string) rawResponse {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	req := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s",
		path, u.Host, token, ctype, contentLength, prefix)
	if _, err := conn.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("POST %s with %d declared bytes: no answer without the body: %v", path, contentLength, err)
	}
	resp.Body.Close()
	return rawResponse{status: resp.StatusCode, ctype: resp.Header.Get("Content-Type"), elapsed: time.Since(start)}
}

// Permissions that do not depend on the body are checked before the body
// is read, and a declared length over the limit is refused at once: both
// answers come while the declared body is still unsent.
func TestDecidedBeforeTheBodyIsRead(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t, testserver.WithMaxUpload(1<<20))
	auditor := h.token("audit:view")
	viewer := h.token("recording:view")
	const huge = 2 << 30
	garbage := "\x00{{{ not json"
	routes := []struct {
		path, ctype, token string
		missing            string
	}{
		{"/api/v2/tokens", "application/json", viewer, "admin"},
		{"/api/v2/recordings", "multipart/form-data; boundary=x", viewer, "recording:ingest"},
		{"/api/v2/recordings/legalholds", "application/json", auditor, "recording:export:legalhold,legalhold:release"},
		{"/api/v2/legalholds", "application/json", auditor, "recording:export:legalhold"},
		{"/api/v2/legalholds/hold_01JD0000000000000000000000/release", "application/json", auditor, "legalhold:release"},
		{"/api/v2/bulk/recordingexports", "application/json", viewer, "recording:export"},
	}
	for _, rt := range routes {
		for _, declared := range []int64{1 << 20, huge} {
			r := rawPost(t, h.srv.URL, rt.path, rt.token, rt.ctype, declared, garbage)
			if r.status != 403 || r.ctype != "application/problem+json" {
				t.Errorf("POST %s, %d bytes declared, token without %s: %d %s, want 403 problem", rt.path, declared, rt.missing, r.status, r.ctype)
			}
		}
		// The full answer, for missing_permissions.
		p := assertProblem(t, h.do("POST", rt.path, rt.token, strings.NewReader(garbage), map[string]string{"Content-Type": rt.ctype}), 403, "permission_denied")
		if got := missingPerms(p); got != rt.missing {
			t.Errorf("POST %s: missing_permissions %s, want %s", rt.path, got, rt.missing)
		}
	}
	// With the permissions, a declared length over the limit is 413 at once.
	for _, rt := range routes {
		declared := int64(httpapi.MaxJSONBody + 1)
		if strings.HasPrefix(rt.ctype, "multipart/") {
			declared = huge
		}
		r := rawPost(t, h.srv.URL, rt.path, testserver.AdminToken, rt.ctype, declared, garbage)
		if r.status != 413 || r.ctype != "application/problem+json" {
			t.Errorf("POST %s, %d bytes declared: %d %s, want 413 problem", rt.path, declared, r.status, r.ctype)
		}
	}
	assertProblem(t, h.do("POST", "/api/v2/legalholds", testserver.AdminToken, strings.NewReader(`{"hold_reason":"`+strings.Repeat("x", httpapi.MaxJSONBody)+`"}`),
		map[string]string{"Content-Type": "application/json"}), 413, "payload_too_large")
}

// Per-recording holds: either permission lets the body be read; then each
// entry needs the permission its legal_hold implies, all listed at once,
// and this is decided before fault injection.
func TestRecordingHoldPermissionsPerItem(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t, testserver.WithFaults("locked=1,retry_after=1s"))
	holdOnly := h.token("recording:export:legalhold")
	releaseOnly := h.token("legalhold:release")
	apply := func(id string) string {
		return `{"id":"` + id + `","metadata":{"legal_hold":true,"hold_reason":"r","case_id":"LC-1"}}`
	}
	release := func(id string) string {
		return `{"id":"` + id + `","metadata":{"legal_hold":false,"release_reason":"r","case_id":"LC-1"}}`
	}
	const id = "rec_01JD0000000000000000000000"
	tests := []struct {
		name, token, body, missing string
	}{
		{"release with hold permission", holdOnly, `{"recordings":[` + release(id) + `]}`, "legalhold:release"},
		{"hold with release permission", releaseOnly, `{"recordings":[` + apply(id) + `]}`, "recording:export:legalhold"},
		{"mixed with hold permission", holdOnly, `{"recordings":[` + apply(id) + `,` + release(id) + `]}`, "legalhold:release"},
		{"release after an invalid item", holdOnly, `{"recordings":[{"id":5},` + release(id) + `]}`, "legalhold:release"},
	}
	for _, tt := range tests {
		p := assertProblem(t, h.postJSON("/api/v2/recordings/legalholds", tt.token, tt.body), 403, "permission_denied")
		if got := missingPerms(p); got != tt.missing {
			t.Errorf("%s: missing %s, want %s", tt.name, got, tt.missing)
		}
	}
	// A permitted request meets the injected fault; a malformed one never
	// gets that far.
	assertProblem(t, h.postJSON("/api/v2/recordings/legalholds", releaseOnly, `{"recordings":[`+release(id)+`]}`), 409, "recording_locked")
	assertProblem(t, h.postJSON("/api/v2/recordings/legalholds", releaseOnly, `{"recordings":[`+release(id)+`],"recordings":[]}`), 400, "malformed_json")
	p := assertProblem(t, h.postJSON("/api/v2/bulk/recordingexports", h.token("recording:export"), `{"filter":{"media_type":"SIP"},"legal_hold":true}`), 403, "permission_denied")
	if got := missingPerms(p); got != "recording:export:legalhold" {
		t.Errorf("export with top-level legal_hold: missing %s", got)
	}
}

// Release by recording: released, then not_held; a token with only
// legalhold:release can do it.
func TestRecordingReleaseResults(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t)
	ids := []string{h.ingestOne(84), h.ingestOne(85)}
	hold := h.postJSON("/api/v2/recordings/legalholds", testserver.AdminToken,
		`{"recordings":[{"id":"`+ids[0]+`","metadata":{"legal_hold":true,"hold_reason":"r","case_id":"LC-7"}}]}`)
	if hold.status != 200 {
		t.Fatalf("hold: %d %s", hold.status, hold.body)
	}
	releaser := h.token("legalhold:release")
	body := `{"recordings":[{"id":"` + ids[0] + `","metadata":{"legal_hold":false,"release_reason":"matter closed","case_id":"LC-7"}},` +
		`{"id":"` + ids[1] + `","metadata":{"legal_hold":false,"release_reason":"matter closed","case_id":"LC-7"}}]}`
	var statuses []string
	for _, r := range []string{"first", "second"} {
		resp := h.postJSON("/api/v2/recordings/legalholds", releaser, body)
		if resp.status != 200 {
			t.Fatalf("%s release: %d %s", r, resp.status, resp.body)
		}
		for _, res := range resp.json(t)["results"].([]any) {
			statuses = append(statuses, res.(map[string]any)["status"].(string))
		}
	}
	if want := []string{"released", "not_held", "not_held", "not_held"}; !slices.Equal(statuses, want) {
		t.Fatalf("results %v, want %v", statuses, want)
	}
	if h.legalHold(ids[0]) {
		t.Fatal("still held after release")
	}
}

// rawSend sends a request whose headers declare contentLength but whose
// body stops after prefix, and checks the answer against the document.
func (a *oaClient) rawSend(t *testing.T, method, path, token, ctype string, contentLength int64, prefix string) oaReply {
	t.Helper()
	u, err := url.Parse(a.base)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s",
		method, path, u.Host, token, ctype, contentLength, prefix)
	if _, err := conn.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s %s with %d declared bytes: no answer without the body: %v", method, path, contentLength, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a.spec.check(t, method, path, resp, body)
	return oaReply{status: resp.StatusCode, header: resp.Header, body: body}
}

// oaConcretePath fills an operation's path parameters with ids that are
// plausible but name nothing.
func oaConcretePath(template string) string {
	return regexp.MustCompile(`\{[^}]*\}`).ReplaceAllStringFunc(template, func(p string) string {
		if p == "{path}" {
			return "data/x"
		}
		return "x_01JD0000000000000000000000"
	})
}

// oaPermissions returns the permissions an operation documents, and
// whether it needs all of them (x-holdfast-permissions) or one
// (x-holdfast-permissions-any).
func oaPermissions(o *oaOperation) ([]string, bool) {
	for _, k := range []string{"x-holdfast-permissions", "x-holdfast-permissions-any"} {
		if list, ok := o.node[k].([]any); ok {
			var out []string
			for _, p := range list {
				out = append(out, fmt.Sprint(p))
			}
			return out, k == "x-holdfast-permissions"
		}
	}
	return nil, false
}

// testOABodyRules exercises, on every operation of the document that
// takes a body, the body rules: a token without the operation's
// permissions is refused before the body is read (a garbage body declared
// 2 GiB long, never sent, is answered 403 at once); with them, a declared
// length over the limit is 413 at once; and on every JSON operation a body
// not declared application/json is 415, and the strict decoder's
// duplicate_key and invalid_utf8 are reported.
func testOABodyRules(t *testing.T) {
	a := newOAClient(t)
	admin := testserver.AdminToken
	tokens := map[string]string{}
	tokenWithout := func(perms []string) string {
		for _, p := range []string{"recording:view", "audit:view"} {
			if !slices.Contains(perms, p) {
				if tokens[p] == "" {
					tokens[p] = oaCreateToken(t, a, "without-"+p, p)
				}
				return tokens[p]
			}
		}
		t.Fatalf("no single-permission token lacks all of %v", perms)
		return ""
	}
	jsonOps := 0
	for _, o := range a.spec.ops {
		rb, ok := o.node["requestBody"].(map[string]any)
		if !ok {
			continue
		}
		content, _ := rb["content"].(map[string]any)
		path := oaConcretePath(o.template)
		perms, _ := oaPermissions(o)
		if perms == nil {
			t.Errorf("%s takes a body but documents no x-holdfast-permissions", o.key())
			continue
		}
		ctype := "application/json"
		if _, isJSON := content["application/json"]; !isJSON {
			ctype = "multipart/form-data; boundary=x"
		}
		r := a.rawSend(t, o.method, path, tokenWithout(perms), ctype, 2<<30, "\x00{{{")
		if r.status != 403 {
			t.Errorf("%s: a token without %v, 2 GiB declared: %d, want 403 before the body is read", o.key(), perms, r.status)
		}
		limit := int64(httpapi.MaxJSONBody + 1)
		if ctype != "application/json" {
			limit = 1 << 40
		}
		if r := a.rawSend(t, o.method, path, admin, ctype, limit, "{"); r.status != 413 {
			t.Errorf("%s: %d bytes declared: %d, want 413 before the body is read", o.key(), limit, r.status)
		}
		if ctype != "application/json" {
			continue
		}
		jsonOps++
		q := oaJSON(o.method, path, admin, `{"a":1}`)
		q.ctype = "text/plain"
		a.expect(t, q, 415, "unsupported_media_type")
		q.ctype = ""
		a.expect(t, q, 415, "unsupported_media_type")
		p := a.expect(t, oaJSON(o.method, path, admin, `{"a":1,"b":{"c":2,"\u0063":3}}`), 400, "malformed_json").obj(t)
		if got := errorFields(p); got != "b.c/duplicate_key" {
			t.Errorf("%s: errors %s, want b.c/duplicate_key", o.key(), got)
		}
		p = a.expect(t, oaJSON(o.method, path, admin, `{"a":"\ud800"}`), 400, "validation_failed").obj(t)
		if got := errorFields(p); got != "a/invalid_utf8" {
			t.Errorf("%s: errors %s, want a/invalid_utf8", o.key(), got)
		}
	}
	if jsonOps < 5 {
		t.Errorf("only %d JSON operations found in the document", jsonOps)
	}
}

// JSON null for a required member is a missing member. A null metadata or
// legal_hold once decided nothing, so Needs asked for nothing, and the
// entry was applied as a hold from a token with only legalhold:release; a
// null filter held every recording; null case_id and release_reason
// released without them.
func TestNullIsNeverASilentAbsence(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t)
	id := h.ingestOne(83)
	releaseOnly := h.token("legalhold:release")
	holdOnly := h.token("recording:export:legalhold")
	tests := []struct {
		name, token, path, body, fields string
	}{
		{"null metadata from a release token", releaseOnly, "/api/v2/recordings/legalholds",
			`{"recordings":[{"id":"` + id + `","metadata":null}]}`, "recordings[0].metadata/required"},
		{"null legal_hold from a release token", releaseOnly, "/api/v2/recordings/legalholds",
			`{"recordings":[{"id":"` + id + `","metadata":{"legal_hold":null,"hold_reason":"sneaky"}}]}`, "recordings[0].metadata.legal_hold/required"},
		{"null recordings", holdOnly, "/api/v2/recordings/legalholds", `{"recordings":null}`, "recordings/required"},
		{"null hold_reason", holdOnly, "/api/v2/recordings/legalholds",
			`{"recordings":[{"id":"` + id + `","metadata":{"legal_hold":true,"hold_reason":null}}]}`, "recordings[0].metadata.hold_reason/required"},
		{"null filter holds nothing", holdOnly, "/api/v2/legalholds", `{"hold_reason":"r","filter":null}`, "filter/required"},
	}
	for _, tt := range tests {
		p := assertProblem(t, h.postJSON(tt.path, tt.token, tt.body), 400, "validation_failed")
		if got := errorFields(p); got != tt.fields {
			t.Errorf("%s: errors %s, want %s", tt.name, got, tt.fields)
		}
		if h.legalHold(id) {
			t.Fatalf("%s: placed a hold", tt.name)
		}
	}
	placed := h.postJSON("/api/v2/recordings/legalholds", holdOnly,
		`{"recordings":[{"id":"`+id+`","metadata":{"legal_hold":true,"hold_reason":"r","case_id":"LC-1"}}]}`)
	if placed.status != 200 {
		t.Fatalf("placing the hold: %d %s", placed.status, placed.body)
	}
	p := assertProblem(t, h.postJSON("/api/v2/recordings/legalholds", releaseOnly,
		`{"recordings":[{"id":"`+id+`","metadata":{"legal_hold":false,"case_id":null,"release_reason":null}}]}`), 400, "validation_failed")
	if got := errorFields(p); got != "recordings[0].metadata.case_id/required,recordings[0].metadata.release_reason/required" {
		t.Errorf("null release: errors %s", got)
	}
	if !h.legalHold(id) {
		t.Fatal("a release with null case_id and release_reason released the hold")
	}
}

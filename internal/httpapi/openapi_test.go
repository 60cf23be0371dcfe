package httpapi_test

// This test keeps openapi.json honest: every schema in it compiles as JSON
// Schema 2020-12, every route of the server is described, and real HTTP
// exchanges with an in-process server (success and error answers of every
// operation) are checked against the description: status documented,
// Content-Type documented, JSON bodies valid against the documented schema,
// documented required headers present. Finally every operation in the
// document must have been exercised, so it cannot describe routes that do
// not exist.

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/holdfast/holdfast/internal/httpapi"
	"github.com/holdfast/holdfast/internal/media/synth"
	"github.com/holdfast/holdfast/internal/testserver"
)

const oaDocURL = "https://holdfast.invalid/openapi.json"

// ---------------------------------------------------------------- the spec

type oaOperation struct {
	method   string // upper case
	template string
	segs     []string // "" for a path parameter
	literals int
	rest     bool   // the last segment is {path}: it matches one or more segments, like {path...} in net/http
	ptr      string // JSON pointer of the operation object
	node     map[string]any
}

func (o *oaOperation) key() string { return o.method + " " + o.template }

type oaSpec struct {
	raw []byte
	doc map[string]any // decoded with json.Number, as jsonschema wants
	ops []*oaOperation

	mu       sync.Mutex
	compiler *jsonschema.Compiler
	cache    map[string]*jsonschema.Schema
	covered  map[string]map[int]bool
}

var (
	oaSpecOnce sync.Once
	oaSpecVal  *oaSpec
	oaSpecErr  error
)

func oaLoadSpec(t testing.TB) *oaSpec {
	t.Helper()
	oaSpecOnce.Do(func() { oaSpecVal, oaSpecErr = newOASpec(httpapi.OpenAPI()) })
	if oaSpecErr != nil {
		t.Fatalf("openapi.json: %v", oaSpecErr)
	}
	return oaSpecVal
}

func newOASpec(raw []byte) (*oaSpec, error) {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	doc, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("not a JSON object")
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(oaDocURL, doc); err != nil {
		return nil, err
	}
	s := &oaSpec{raw: raw, doc: doc, compiler: c, cache: map[string]*jsonschema.Schema{}, covered: map[string]map[int]bool{}}
	paths, _ := doc["paths"].(map[string]any)
	for tmpl, pi := range paths {
		item, _ := pi.(map[string]any)
		for m, on := range item {
			switch m {
			case "get", "put", "post", "delete", "options", "head", "patch", "trace":
			default:
				continue
			}
			o := &oaOperation{method: strings.ToUpper(m), template: tmpl, ptr: "/paths/" + oaEsc(tmpl) + "/" + m}
			o.node, _ = on.(map[string]any)
			segs := strings.Split(strings.TrimPrefix(tmpl, "/"), "/")
			o.rest = segs[len(segs)-1] == "{path}"
			for _, seg := range segs {
				if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
					o.segs = append(o.segs, "")
				} else {
					o.segs = append(o.segs, seg)
					o.literals++
				}
			}
			s.ops = append(s.ops, o)
		}
	}
	sort.Slice(s.ops, func(i, j int) bool { return s.ops[i].key() < s.ops[j].key() })
	return s, nil
}

// esc escapes a JSON pointer token.
func oaEsc(s string) string { return strings.NewReplacer("~", "~0", "/", "~1").Replace(s) }

// lookup follows a JSON pointer ("/a/b") in the document.
func (s *oaSpec) lookup(ptr string) (any, bool) {
	var cur any = s.doc
	if ptr == "" {
		return cur, true
	}
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[tok]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// resolve follows local $refs from the node at ptr and returns the final
// object and its pointer.
func (s *oaSpec) resolve(ptr string) (map[string]any, string, error) {
	for range 16 {
		v, ok := s.lookup(ptr)
		if !ok {
			return nil, ptr, fmt.Errorf("no node at #%s", ptr)
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, ptr, fmt.Errorf("node at #%s is not an object", ptr)
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return m, ptr, nil
		}
		if !strings.HasPrefix(ref, "#") {
			return nil, ptr, fmt.Errorf("non-local $ref %q at #%s", ref, ptr)
		}
		ptr = strings.TrimPrefix(ref, "#")
	}
	return nil, ptr, fmt.Errorf("$ref loop at #%s", ptr)
}

// schema compiles the schema at a JSON pointer of the document.
func (s *oaSpec) schema(ptr string) (*jsonschema.Schema, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sch, ok := s.cache[ptr]; ok {
		return sch, nil
	}
	sch, err := s.compiler.Compile(oaDocURL + "#" + ptr)
	if err != nil {
		return nil, err
	}
	s.cache[ptr] = sch
	return sch, nil
}

// find returns the operation a request reaches: the most specific path
// template (most literal segments) that matches and has the method, as
// net/http's ServeMux picks it.
func (s *oaSpec) find(method, path string) *oaOperation {
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	var best *oaOperation
	for _, o := range s.ops {
		if o.method != method || len(o.segs) != len(segs) && !(o.rest && len(segs) > len(o.segs)) {
			continue
		}
		ok := true
		for i, seg := range o.segs {
			if seg != "" && seg != segs[i] || seg == "" && segs[i] == "" {
				ok = false
				break
			}
		}
		if ok && o.rest && slices.Contains(segs[len(o.segs):], "") {
			ok = false
		}
		if ok && (best == nil || o.literals > best.literals) {
			best = o
		}
	}
	return best
}

func (s *oaSpec) markCovered(o *oaOperation, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.covered[o.key()] == nil {
		s.covered[o.key()] = map[int]bool{}
	}
	s.covered[o.key()][status] = true
}

func oaIsJSON(mt string) bool { return mt == "application/json" || strings.HasSuffix(mt, "+json") }

func oaValidateJSON(sch *jsonschema.Schema, body []byte) error {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("body is not JSON: %v", err)
	}
	return sch.Validate(v)
}

// headersToCheck are response headers that must not appear unless the
// document describes them for that answer.
var oaCheckedHeaders = []string{"Retry-After", "X-Retry-After", "Location", "Idempotent-Replayed", "Content-Range", "ETag", "Repr-Digest", "X-Key-Fingerprint"}

// check verifies one real exchange against the document.
func (s *oaSpec) check(t testing.TB, method, path string, resp *http.Response, body []byte) {
	t.Helper()
	where := fmt.Sprintf("%s %s -> %d", method, path, resp.StatusCode)
	o := s.find(method, path)
	if o == nil {
		t.Errorf("%s: no operation in openapi.json matches this request", where)
		return
	}
	where = fmt.Sprintf("%s (operation %s %s)", where, o.method, o.template)
	s.markCovered(o, resp.StatusCode)

	rs, _ := o.node["responses"].(map[string]any)
	code := strconv.Itoa(resp.StatusCode)
	if _, ok := rs[code]; !ok {
		var documented []string
		for k := range rs {
			documented = append(documented, k)
		}
		sort.Strings(documented)
		t.Errorf("%s: status %d is not documented for this operation (documented: %s); body: %.300s", where, resp.StatusCode, strings.Join(documented, ", "), body)
		return
	}
	r, rptr, err := s.resolve(o.ptr + "/responses/" + code)
	if err != nil {
		t.Errorf("%s: %v", where, err)
		return
	}

	// Headers.
	hs, _ := r["headers"].(map[string]any)
	for name := range hs {
		h, hptr, err := s.resolve(rptr + "/headers/" + oaEsc(name))
		if err != nil {
			t.Errorf("%s: header %s: %v", where, name, err)
			continue
		}
		vals := resp.Header.Values(name)
		if len(vals) == 0 {
			if oaReq, _ := h["required"].(bool); oaReq {
				t.Errorf("%s: documented required header %s is missing", where, name)
			}
			continue
		}
		sch, err := s.schema(hptr + "/schema")
		if err != nil {
			t.Errorf("%s: header %s schema: %v", where, name, err)
			continue
		}
		var v any = vals[0]
		if hsch, _ := h["schema"].(map[string]any); hsch["type"] == "integer" {
			if _, err := strconv.ParseInt(vals[0], 10, 64); err != nil {
				t.Errorf("%s: header %s = %q is not an integer", where, name, vals[0])
				continue
			}
			v = json.Number(vals[0])
		}
		if err := sch.Validate(v); err != nil {
			t.Errorf("%s: header %s = %q does not match its schema: %v", where, name, vals[0], err)
		}
	}
	for _, name := range oaCheckedHeaders {
		if resp.Header.Get(name) == "" {
			continue
		}
		if _, ok := hs[name]; !ok {
			t.Errorf("%s: response carries header %s = %q, which is not documented for this status", where, name, resp.Header.Get(name))
		}
	}
	if ra, xra := resp.Header.Get("Retry-After"), resp.Header.Get("X-Retry-After"); ra != xra {
		t.Errorf("%s: Retry-After %q and X-Retry-After %q differ", where, ra, xra)
	}

	// Body.
	content, hasContent := r["content"].(map[string]any)
	if len(body) == 0 {
		return
	}
	if !hasContent {
		t.Errorf("%s: the response has a body (%q) but the document describes none", where, resp.Header.Get("Content-Type"))
		return
	}
	mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil {
		t.Errorf("%s: bad Content-Type %q: %v", where, resp.Header.Get("Content-Type"), err)
		return
	}
	if _, ok := content[mt]; !ok {
		var documented []string
		for k := range content {
			documented = append(documented, k)
		}
		sort.Strings(documented)
		t.Errorf("%s: Content-Type %s is not documented (documented: %s)", where, mt, strings.Join(documented, ", "))
		return
	}
	if !oaIsJSON(mt) {
		return
	}
	sch, err := s.schema(rptr + "/content/" + oaEsc(mt) + "/schema")
	if err != nil {
		t.Errorf("%s: schema: %v", where, err)
		return
	}
	if err := oaValidateJSON(sch, body); err != nil {
		t.Errorf("%s: body does not match the documented schema: %v\nbody: %.2000s", where, err, body)
	}
	if mt == "application/problem+json" {
		var p struct {
			Status    int    `json:"status"`
			RequestID string `json:"request_id"`
		}
		_ = json.Unmarshal(body, &p)
		if p.Status != resp.StatusCode {
			t.Errorf("%s: problem status %d differs from the HTTP status", where, p.Status)
		}
		if p.RequestID != resp.Header.Get("X-Request-Id") {
			t.Errorf("%s: problem request_id %q differs from X-Request-Id %q", where, p.RequestID, resp.Header.Get("X-Request-Id"))
		}
	}
}

// checkRequest validates a request body the server accepted against the
// documented request schema, so the document is not stricter than the
// server.
func (s *oaSpec) checkRequest(t testing.TB, method, path, mediaType string, body []byte, oaPart string) {
	t.Helper()
	o := s.find(method, path)
	if o == nil {
		return
	}
	ptr := o.ptr + "/requestBody/content/" + oaEsc(mediaType) + "/schema"
	if oaPart != "" {
		_, sp, err := s.resolve(ptr)
		if err != nil {
			t.Errorf("%s %s: request schema: %v", method, path, err)
			return
		}
		ptr = sp + "/properties/" + oaEsc(oaPart)
	}
	if _, ok := s.lookup(ptr); !ok {
		t.Errorf("%s %s: no documented request schema for %s (part %q)", method, path, mediaType, oaPart)
		return
	}
	sch, err := s.schema(ptr)
	if err != nil {
		t.Errorf("%s %s: request schema: %v", method, path, err)
		return
	}
	if err := oaValidateJSON(sch, body); err != nil {
		t.Errorf("%s %s: the server accepted a request body that the document says is invalid: %v\nbody: %s", method, path, err, body)
	}
}

// oaRecorder collects the errors check reports, for the checker's self-test.
type oaRecorder struct {
	testing.TB
	errs []string
}

func (r *oaRecorder) Helper() {}

func (r *oaRecorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// ---------------------------------------------------------------- the client

type oaClient struct {
	spec *oaSpec
	base string
	dir  string // the server's data directory
	hc   *http.Client
}

func newOAClient(t testing.TB, opts ...testserver.Option) *oaClient {
	srv := testserver.Start(t, opts...)
	return &oaClient{spec: oaLoadSpec(t), base: srv.URL, dir: srv.DataDir, hc: &http.Client{Timeout: 30 * time.Second}}
}

type oaReply struct {
	status int
	header http.Header
	body   []byte
}

func (r oaReply) obj(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, r.body)
	}
	return m
}

// req describes one request.
type oaReq struct {
	method, path string
	token        string
	body         []byte
	ctype        string
	header       map[string]string
	metaPart     []byte // multipart "metadata" part, validated when accepted
}

func (a *oaClient) send(t testing.TB, q oaReq) oaReply {
	t.Helper()
	var rd io.Reader
	if q.body != nil {
		rd = bytes.NewReader(q.body)
	}
	hr, err := http.NewRequest(q.method, a.base+q.path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if q.token != "" {
		hr.Header.Set("Authorization", "Bearer "+q.token)
	}
	if q.ctype != "" {
		hr.Header.Set("Content-Type", q.ctype)
	}
	for k, v := range q.header {
		hr.Header.Set(k, v)
	}
	return a.roundTrip(t, hr, q)
}

func (a *oaClient) roundTrip(t testing.TB, hr *http.Request, q oaReq) oaReply {
	t.Helper()
	resp, err := a.hc.Do(hr)
	if err != nil {
		t.Fatalf("%s %s: %v", hr.Method, hr.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", hr.Method, hr.URL.Path, err)
	}
	a.spec.check(t, hr.Method, hr.URL.Path, resp, body)
	if resp.StatusCode/100 == 2 {
		mt, _, _ := mime.ParseMediaType(q.ctype)
		switch {
		case q.metaPart != nil:
			a.spec.checkRequest(t, hr.Method, hr.URL.Path, "multipart/form-data", q.metaPart, "metadata")
		case mt == "application/json" && q.body != nil:
			a.spec.checkRequest(t, hr.Method, hr.URL.Path, mt, q.body, "")
		}
	}
	return oaReply{status: resp.StatusCode, header: resp.Header, body: body}
}

// expect sends q and fails unless the answer has the status (and, for a
// problem, the code).
func (a *oaClient) expect(t testing.TB, q oaReq, status int, code string) oaReply {
	t.Helper()
	r := a.send(t, q)
	if r.status != status {
		t.Fatalf("%s %s: got status %d, want %d; body: %s", q.method, q.path, r.status, status, r.body)
	}
	if code != "" {
		if got, _ := r.obj(t)["code"].(string); got != code {
			t.Fatalf("%s %s: got problem code %q, want %q; body: %s", q.method, q.path, got, code, r.body)
		}
	}
	return r
}

func oaJSON(method, path, token string, body any) oaReq {
	var b []byte
	switch v := body.(type) {
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		b, _ = json.Marshal(v)
	}
	return oaReq{method: method, path: path, token: token, body: b, ctype: "application/json"}
}

func oaGet(path, token string) oaReq { return oaReq{method: http.MethodGet, path: path, token: token} }

// ---------------------------------------------------------------- fixtures

type oaFixture struct {
	call  synth.Call
	meta  []byte
	wav   []byte
	sipre []byte
}

func oaCalls(t testing.TB, seed uint64, n int) []oaFixture {
	t.Helper()
	cs := synth.Generate(rand.New(rand.NewPCG(seed, 7)), n, synth.Options{Now: time.Now().UTC().Truncate(time.Second), MinDuration: time.Second, MaxDuration: 2 * time.Second})
	out := make([]oaFixture, len(cs))
	for i, c := range cs {
		var buf bytes.Buffer
		if err := c.WriteWAV(&buf); err != nil {
			t.Fatal(err)
		}
		out[i] = oaFixture{call: c, meta: c.Metadata(), wav: buf.Bytes(), sipre: c.SIPREC()}
	}
	return out
}

type oaPart struct {
	name, filename, ctype string
	data                  []byte
}

func oaMultipart(t testing.TB, parts ...oaPart) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		cd := `form-data; name="` + p.name + `"`
		if p.filename != "" {
			cd += `; filename="` + p.filename + `"`
		}
		h.Set("Content-Disposition", cd)
		if p.ctype != "" {
			h.Set("Content-Type", p.ctype)
		}
		w, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write(p.data)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), mw.FormDataContentType()
}

func oaIngest(t testing.TB, token string, meta, wav, siprec []byte, key string) oaReq {
	t.Helper()
	parts := []oaPart{{name: "metadata", ctype: "application/json", data: meta}}
	if wav != nil {
		parts = append(parts, oaPart{name: "media", filename: "call.wav", ctype: "audio/wav", data: wav})
	}
	if siprec != nil {
		parts = append(parts, oaPart{name: "siprec", filename: "call.xml", ctype: "application/rs-metadata+xml", data: siprec})
	}
	body, ct := oaMultipart(t, parts...)
	q := oaReq{method: http.MethodPost, path: "/api/v2/recordings", token: token, body: body, ctype: ct, metaPart: meta}
	if key != "" {
		q.header = map[string]string{"Idempotency-Key": key}
	}
	return q
}

func oaCreateToken(t testing.TB, a *oaClient, name string, perms ...string) string {
	t.Helper()
	r := a.expect(t, oaJSON("POST", "/api/v2/tokens", testserver.AdminToken, map[string]any{"name": name, "permissions": perms}), 201, "")
	tok, _ := r.obj(t)["token"].(string)
	if tok == "" {
		t.Fatalf("no token in %s", r.body)
	}
	return tok
}

func oaWaitCompleted(t testing.TB, a *oaClient, id string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		rec := a.expect(t, oaGet("/api/v2/recordings/"+id, testserver.AdminToken), 200, "").obj(t)
		if rec["status"] != "processing" {
			return rec
		}
		if time.Now().After(deadline) {
			t.Fatalf("recording %s still processing after 30s", id)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ---------------------------------------------------------------- tests

func TestOpenAPI(t *testing.T) {
	spec := oaLoadSpec(t)

	t.Run("document", func(t *testing.T) { testOADocument(t, spec) })
	t.Run("exchanges", func(t *testing.T) {
		t.Run("main", func(t *testing.T) { t.Parallel(); testOAMain(t) })
		t.Run("upload limit", func(t *testing.T) { t.Parallel(); testOAUploadLimit(t) })
		t.Run("rate limit", func(t *testing.T) { t.Parallel(); testOARateLimit(t) })
		t.Run("exports", func(t *testing.T) { t.Parallel(); testOAExports(t) })
		t.Run("export without package", func(t *testing.T) { t.Parallel(); testOAExportWithoutPackage(t) })
		t.Run("body rules", func(t *testing.T) { t.Parallel(); testOABodyRules(t) })
		t.Run("tokens", func(t *testing.T) { t.Parallel(); testOATokens(t) })
		t.Run("media reads audited", func(t *testing.T) { t.Parallel(); testOAMediaReadsAudited(t) })
		t.Run("cases and search", func(t *testing.T) { t.Parallel(); testOACasesAndSearch(t) })
		t.Run("audit log inconsistent", func(t *testing.T) { t.Parallel(); testOAAuditInconsistent(t) })
		for _, f := range []struct {
			spec, code string
			status     int
		}{
			{"locked=1", "recording_locked", 409},
			{"rate_limited=1,retry_after=3s", "rate_limited", 429},
			{"unavailable=1", "unavailable", 503},
		} {
			t.Run("faults "+f.spec, func(t *testing.T) { t.Parallel(); testOAFaults(t, f.spec, f.status, f.code) })
		}
	})
	if t.Failed() {
		return
	}
	// Every operation the document describes was exercised.
	spec.mu.Lock()
	defer spec.mu.Unlock()
	for _, o := range spec.ops {
		st := spec.covered[o.key()]
		if len(st) == 0 {
			t.Errorf("openapi.json describes %s, but no exchange reached it: a route that does not exist, or a missing test", o.key())
			continue
		}
		var codes []int
		for c := range st {
			codes = append(codes, c)
		}
		slices.Sort(codes)
		t.Logf("%-45s exercised %v", o.key(), codes)
	}
}

var oaRoutePattern = regexp.MustCompile(`"(GET|HEAD|POST|PUT|PATCH|DELETE) (/[^"]*)"`)

func oaNormTemplate(p string) string {
	return regexp.MustCompile(`\{[^}]*\}`).ReplaceAllString(p, "{}")
}

func testOADocument(t *testing.T, spec *oaSpec) {
	file, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(file, httpapi.OpenAPI()) {
		t.Error("httpapi.OpenAPI() differs from openapi.json")
	}
	if v, _ := spec.doc["openapi"].(string); v != "3.1.0" {
		t.Errorf("openapi = %q, want 3.1.0", v)
	}
	info, _ := spec.doc["info"].(map[string]any)
	for _, k := range []string{"title", "version", "description"} {
		if s, _ := info[k].(string); s == "" {
			t.Errorf("info.%s is empty", k)
		}
	}

	// Every components.schemas entry compiles.
	comps, _ := spec.doc["components"].(map[string]any)
	schemas, _ := comps["schemas"].(map[string]any)
	if len(schemas) == 0 {
		t.Fatal("components.schemas is empty")
	}
	for name := range schemas {
		if _, err := spec.schema("/components/schemas/" + oaEsc(name)); err != nil {
			t.Errorf("components.schemas.%s does not compile: %v", name, err)
		}
	}

	// Every operation is described, every $ref resolves, every schema compiles.
	ids := map[string]string{}
	for _, o := range spec.ops {
		for _, k := range []string{"operationId", "summary", "description"} {
			if s, _ := o.node[k].(string); s == "" {
				t.Errorf("%s: %s is empty", o.key(), k)
			}
		}
		if tags, _ := o.node["tags"].([]any); len(tags) == 0 {
			t.Errorf("%s: no tags", o.key())
		}
		id, _ := o.node["operationId"].(string)
		if prev, dup := ids[id]; dup {
			t.Errorf("operationId %q used by %s and %s", id, prev, o.key())
		}
		ids[id] = o.key()
		rs, _ := o.node["responses"].(map[string]any)
		if len(rs) == 0 {
			t.Errorf("%s: no responses", o.key())
		}
		for code := range rs {
			r, rptr, err := spec.resolve(o.ptr + "/responses/" + code)
			if err != nil {
				t.Errorf("%s %s: %v", o.key(), code, err)
				continue
			}
			content, _ := r["content"].(map[string]any)
			for mt := range content {
				if _, err := spec.schema(rptr + "/content/" + oaEsc(mt) + "/schema"); err != nil {
					t.Errorf("%s %s %s: schema does not compile: %v", o.key(), code, mt, err)
				}
			}
			hs, _ := r["headers"].(map[string]any)
			for name := range hs {
				if _, hptr, err := spec.resolve(rptr + "/headers/" + oaEsc(name)); err != nil {
					t.Errorf("%s %s header %s: %v", o.key(), code, name, err)
				} else if _, err := spec.schema(hptr + "/schema"); err != nil {
					t.Errorf("%s %s header %s: %v", o.key(), code, name, err)
				}
			}
			if (code == "429" || code == "503") && (hs["Retry-After"] == nil || hs["X-Retry-After"] == nil) {
				t.Errorf("%s %s: Retry-After and X-Retry-After must be documented", o.key(), code)
			}
		}
		if _, ok := o.node["requestBody"]; ok {
			b, bptr, err := spec.resolve(o.ptr + "/requestBody")
			if err != nil {
				t.Errorf("%s: requestBody: %v", o.key(), err)
				continue
			}
			content, _ := b["content"].(map[string]any)
			for mt := range content {
				if _, err := spec.schema(bptr + "/content/" + oaEsc(mt) + "/schema"); err != nil {
					t.Errorf("%s request %s: schema does not compile: %v", o.key(), mt, err)
				}
			}
		}
	}

	// The checker itself catches drift (on a private copy of the spec, so
	// these fake answers do not count as coverage).
	self, err := newOASpec(httpapi.OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	fake := func(status int, ctype, body string, hdr ...string) *http.Response {
		h := http.Header{}
		if ctype != "" {
			h.Set("Content-Type", ctype)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			h.Set(hdr[i], hdr[i+1])
		}
		return &http.Response{StatusCode: status, Header: h}
	}
	for _, c := range []struct {
		name, method, path string
		resp               *http.Response
		body, want         string
	}{
		{"undocumented status", "GET", "/healthz", fake(418, "", "", "X-Request-Id", "req_000000000000000000000000"), "", "status 418 is not documented"},
		{"undocumented route", "GET", "/api/v2/nothing", fake(200, "", ""), "", "no operation"},
		{"missing required header", "GET", "/api/v2/recordings", fake(429, "application/problem+json", "", "X-Request-Id", "req_000000000000000000000000"),
			`{"type":"urn:holdfast:problem:rate_limited","title":"t","status":429,"code":"rate_limited","message":"m","request_id":"req_000000000000000000000000"}`, "Retry-After is missing"},
		{"schema drift", "GET", "/api/v2/recordings/rec_x", fake(200, "application/json", "", "X-Request-Id", "req_000000000000000000000000"), `{"id": "rec_x"}`, "does not match the documented schema"},
		{"wrong problem code", "GET", "/api/v2/recordings/rec_x", fake(404, "application/problem+json", "", "X-Request-Id", "req_000000000000000000000000"),
			`{"type":"urn:holdfast:problem:gone","title":"t","status":404,"code":"gone","message":"m","request_id":"req_000000000000000000000000"}`, "does not match the documented schema"},
		{"undocumented content type", "GET", "/healthz", fake(200, "text/html", "", "X-Request-Id", "req_000000000000000000000000"), "<p>ok</p>", "Content-Type text/html is not documented"},
	} {
		rec := &oaRecorder{TB: t}
		self.check(rec, c.method, c.path, c.resp, []byte(c.body))
		if !strings.Contains(strings.Join(rec.errs, "\n"), c.want) {
			t.Errorf("checker self-test %q: want an error containing %q, got %q", c.name, c.want, rec.errs)
		}
	}

	// The document describes exactly the routes server.go registers.
	src, err := os.ReadFile("server.go")
	if err != nil {
		t.Fatal(err)
	}
	routes := map[string]bool{}
	for _, m := range oaRoutePattern.FindAllStringSubmatch(string(src), -1) {
		routes[m[1]+" "+oaNormTemplate(m[2])] = true
	}
	if len(routes) < 10 {
		t.Fatalf("found only %d routes in server.go; has routes() changed shape?", len(routes))
	}
	documented := map[string]bool{}
	for _, o := range spec.ops {
		documented[o.method+" "+oaNormTemplate(o.template)] = true
	}
	for r := range routes {
		if !documented[r] {
			t.Errorf("server.go registers %s, which openapi.json does not describe", r)
		}
	}
	for d := range documented {
		if !routes[d] {
			t.Errorf("openapi.json describes %s, which server.go does not register", d)
		}
	}
}

func testOAMain(t *testing.T) {
	a := newOAClient(t)
	admin := testserver.AdminToken

	// Operations endpoints and the document itself.
	a.expect(t, oaGet("/healthz", ""), 200, "")
	a.expect(t, oaGet("/readyz", ""), 200, "")
	a.expect(t, oaGet("/metrics", ""), 200, "")
	served := a.expect(t, oaGet("/openapi.json", ""), 200, "")
	if !bytes.Equal(served.body, httpapi.OpenAPI()) {
		t.Error("/openapi.json differs from the embedded document")
	}
	var d struct {
		OpenAPI string `json:"openapi"`
	}
	if err := json.Unmarshal(served.body, &d); err != nil || d.OpenAPI != "3.1.0" {
		t.Errorf("/openapi.json: openapi = %q (err %v), want 3.1.0", d.OpenAPI, err)
	}
	if y := a.expect(t, oaGet("/openapi.yaml", ""), 200, ""); !bytes.Equal(y.body, httpapi.OpenAPI()) {
		t.Error("/openapi.yaml differs from the embedded document")
	}
	a.expect(t, oaGet("/api/v2/signing-key", ""), 200, "")

	// Tokens.
	a.expect(t, oaJSON("POST", "/api/v2/tokens", "", map[string]any{"name": "x", "permissions": []string{"admin"}}), 401, "unauthenticated")
	a.expect(t, oaJSON("POST", "/api/v2/tokens", "hf_unknown", map[string]any{"name": "x", "permissions": []string{"admin"}}), 401, "unauthenticated")
	viewer := oaCreateToken(t, a, "viewer", "recording:view")
	auditor := oaCreateToken(t, a, "auditor", "audit:view")
	ingester := oaCreateToken(t, a, "ingester", "recording:ingest", "recording:view")
	holder := oaCreateToken(t, a, "holder", "recording:export:legalhold", "recording:view")
	p := a.expect(t, oaJSON("POST", "/api/v2/tokens", viewer, map[string]any{"name": "x", "permissions": []string{"admin"}}), 403, "permission_denied").obj(t)
	if mp, _ := p["missing_permissions"].([]any); len(mp) != 1 || mp[0] != "admin" {
		t.Errorf("missing_permissions = %v, want [admin]", p["missing_permissions"])
	}
	a.expect(t, oaJSON("POST", "/api/v2/tokens", admin, `{"name": `), 400, "malformed_json")
	a.expect(t, oaJSON("POST", "/api/v2/tokens", admin, `["not", "an", "object"]`), 400, "malformed_json")
	p = a.expect(t, oaJSON("POST", "/api/v2/tokens", admin, map[string]any{"permissions": []string{"bogus"}, "extra": 1}), 400, "validation_failed").obj(t)
	if errs, _ := p["errors"].([]any); len(errs) != 3 {
		t.Errorf("want 3 field errors (name, permissions[0], extra), got %v", p["errors"])
	}
	big := append(append([]byte(`{"name": "`), bytes.Repeat([]byte("a"), httpapi.MaxJSONBody+1024)...), `", "permissions": ["admin"]}`...)
	a.expect(t, oaJSON("POST", "/api/v2/tokens", admin, big), 413, "payload_too_large")

	// Ingest.
	fx := oaCalls(t, 1, 4)
	first := a.expect(t, oaIngest(t, ingester, fx[0].meta, fx[0].wav, fx[0].sipre, "key-0"), 202, "")
	rec0 := first.obj(t)
	id0, _ := rec0["id"].(string)
	if loc := first.header.Get("Location"); loc != "/api/v2/recordings/"+id0 {
		t.Errorf("Location = %q, want /api/v2/recordings/%s", loc, id0)
	}
	replay := a.expect(t, oaIngest(t, ingester, fx[0].meta, fx[0].wav, fx[0].sipre, "key-0"), 202, "")
	if replay.header.Get("Idempotent-Replayed") != "true" || replay.obj(t)["id"] != id0 {
		t.Errorf("replay: Idempotent-Replayed %q, body %s", replay.header.Get("Idempotent-Replayed"), replay.body)
	}
	a.expect(t, oaIngest(t, ingester, fx[1].meta, fx[1].wav, nil, "key-0"), 422, "idempotency_key_reused")
	a.expect(t, oaIngest(t, ingester, fx[1].meta, fx[1].wav, nil, strings.Repeat("k", 300)), 400, "validation_failed")
	// The metadata without started_at, completed by the siprec part.
	var m map[string]any
	_ = json.Unmarshal(fx[1].meta, &m)
	delete(m, "started_at")
	delete(m, "call_id")
	m["media_type"] = "sip"
	meta1, _ := json.Marshal(m)
	id1, _ := a.expect(t, oaIngest(t, admin, meta1, fx[1].wav, fx[1].sipre, ""), 202, "").obj(t)["id"].(string)
	id2, _ := a.expect(t, oaIngest(t, admin, fx[2].meta, fx[2].wav, nil, ""), 202, "").obj(t)["id"].(string)
	id3, _ := a.expect(t, oaIngest(t, admin, fx[3].meta, fx[3].wav, nil, ""), 202, "").obj(t)["id"].(string)

	a.expect(t, oaIngest(t, "", fx[1].meta, fx[1].wav, nil, ""), 401, "unauthenticated")
	a.expect(t, oaIngest(t, viewer, fx[1].meta, fx[1].wav, nil, ""), 403, "permission_denied")
	a.expect(t, oaReq{method: "POST", path: "/api/v2/recordings", token: admin, body: fx[1].meta, ctype: "application/json"}, 415, "unsupported_media_type")
	body, ct := oaMultipart(t, oaPart{name: "metadata", data: fx[1].meta}, oaPart{name: "media", filename: "notes.txt", ctype: "text/plain", data: []byte("these are not the droids you are looking for, just plain text")})
	a.expect(t, oaReq{method: "POST", path: "/api/v2/recordings", token: admin, body: body, ctype: ct}, 415, "unsupported_media_type")
	a.expect(t, oaIngest(t, admin, []byte(`{"media_type": "SIP"}`), fx[1].wav, nil, ""), 400, "validation_failed")
	a.expect(t, oaIngest(t, admin, []byte(`not json`), fx[1].wav, nil, ""), 400, "malformed_json")
	p = a.expect(t, oaIngest(t, admin, []byte(`{"media_type": "VIDEO", "started_at": "2023-11-01", "legal_hold": true}`), nil, nil, ""), 400, "validation_failed").obj(t)
	if errs, _ := p["errors"].([]any); len(errs) < 3 {
		t.Errorf("want every broken field listed, got %v", p["errors"])
	}

	t.Run("idempotency in progress", func(t *testing.T) {
		t.Parallel()
		testOAIdempotencyInProgress(t, a, fx[0])
	})

	// Recordings.
	for _, id := range []string{id0, id1, id2, id3} {
		rec := oaWaitCompleted(t, a, id)
		if rec["status"] != "completed" {
			t.Errorf("recording %s: status %v, failure_reason %v", id, rec["status"], rec["failure_reason"])
		}
	}
	a.expect(t, oaGet("/api/v2/recordings/"+id0, viewer), 200, "")
	a.expect(t, oaGet("/api/v2/recordings/rec_01JD0000000000000000000000", viewer), 404, "not_found")
	a.expect(t, oaGet("/api/v2/recordings/"+id0, ""), 401, "unauthenticated")
	a.expect(t, oaGet("/api/v2/recordings/"+id0, auditor), 403, "permission_denied")

	// Not parallel: it counts recordings that later subtests add and delete.
	t.Run("list recordings", func(t *testing.T) {
		page := a.expect(t, oaGet("/api/v2/recordings?limit=2", viewer), 200, "").obj(t)
		cur, _ := page["next_cursor"].(string)
		if cur == "" {
			t.Fatalf("no next_cursor after 2 of 4: %v", page)
		}
		page = a.expect(t, oaGet("/api/v2/recordings?limit=2&cursor="+url.QueryEscape(cur), viewer), 200, "").obj(t)
		if items, _ := page["items"].([]any); len(items) != 2 {
			t.Errorf("second page has %d items, want 2", len(items))
		}
		from := time.Now().Add(-100 * time.Hour).UTC().Format(time.RFC3339)
		to := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		page = a.expect(t, oaGet("/api/v2/recordings?media_type=sip&status=completed&from="+url.QueryEscape(from)+"&to="+url.QueryEscape(to), viewer), 200, "").obj(t)
		if items, _ := page["items"].([]any); len(items) != 4 {
			t.Errorf("filtered list has %d items, want 4", len(items))
		}
		a.expect(t, oaGet("/api/v2/recordings?limit=0&media_type=video&from=yesterday&status=done&case_id=-x&cursor=***&label=nocolon", viewer), 400, "validation_failed")
		a.expect(t, oaGet("/api/v2/recordings", ""), 401, "unauthenticated")
		a.expect(t, oaGet("/api/v2/recordings", auditor), 403, "permission_denied")
	})

	t.Run("media", func(t *testing.T) {
		t.Parallel()
		path := "/api/v2/recordings/" + id2 + "/media"
		full := a.expect(t, oaGet(path, viewer), 200, "")
		if !bytes.Equal(full.body, fx[2].wav) {
			t.Error("media differs from the upload")
		}
		etag := full.header.Get("ETag")
		r := a.expect(t, oaReq{method: "GET", path: path, token: viewer, header: map[string]string{"Range": "bytes=0-99"}}, 206, "")
		if len(r.body) != 100 || r.header.Get("Content-Range") == "" {
			t.Errorf("range: %d bytes, Content-Range %q", len(r.body), r.header.Get("Content-Range"))
		}
		a.expect(t, oaReq{method: "GET", path: path, token: viewer, header: map[string]string{"Range": "bytes=0-9,20-29"}}, 206, "")
		a.expect(t, oaReq{method: "GET", path: path, token: viewer, header: map[string]string{"Range": "bytes=99999999-"}}, 416, "range_not_satisfiable")
		a.expect(t, oaReq{method: "GET", path: path, token: viewer, header: map[string]string{"Range": "bytes=oops"}}, 416, "range_not_satisfiable")
		oaUnservableRanges(t, a, oaReq{method: "GET", path: path, token: viewer}, len(full.body))
		a.expect(t, oaReq{method: "GET", path: path, token: viewer, header: map[string]string{"If-None-Match": etag}}, 304, "")
		a.expect(t, oaReq{method: "GET", path: path, token: viewer, header: map[string]string{"If-Match": `"0000"`}}, 412, "")
		a.expect(t, oaGet("/api/v2/recordings/rec_01JD0000000000000000000000/media", viewer), 404, "not_found")
		a.expect(t, oaGet(path, ""), 401, "unauthenticated")
		a.expect(t, oaGet(path, auditor), 403, "permission_denied")
	})

	t.Run("holds and delete", func(t *testing.T) {
		t.Parallel()
		// Per recording.
		hold := func(ids ...string) map[string]any {
			var items []map[string]any
			for _, id := range ids {
				items = append(items, map[string]any{"id": id, "metadata": map[string]any{"legal_hold": true, "hold_reason": "Discovery Request #12345", "hold_date": "2023-11-01T00:00:00.000Z", "case_id": "LC-2024-001"}})
			}
			return map[string]any{"recordings": items}
		}
		res := a.expect(t, oaJSON("POST", "/api/v2/recordings/legalholds", holder, hold(id0)), 200, "").obj(t)
		if res["held"] != float64(1) {
			t.Errorf("held = %v, want 1", res["held"])
		}
		a.expect(t, oaJSON("POST", "/api/v2/recordings/legalholds", holder, hold(id0)), 200, "")
		a.expect(t, oaJSON("POST", "/api/v2/recordings/legalholds", holder, hold("rec_01JD0000000000000000000000")), 400, "validation_failed")
		a.expect(t, oaJSON("POST", "/api/v2/recordings/legalholds", holder, `{"recordings": [`), 400, "malformed_json")
		a.expect(t, oaJSON("POST", "/api/v2/recordings/legalholds", holder, map[string]any{"legal_hold": true, "recordings": []any{}}), 400, "validation_failed")
		a.expect(t, oaJSON("POST", "/api/v2/recordings/legalholds", viewer, hold(id0)), 403, "permission_denied")
		release := map[string]any{"recordings": []any{map[string]any{"id": id0, "metadata": map[string]any{"legal_hold": false, "case_id": "LC-2024-001", "release_reason": "wrong matter"}}}}
		a.expect(t, oaJSON("POST", "/api/v2/recordings/legalholds", holder, release), 403, "permission_denied")
		a.expect(t, oaJSON("POST", "/api/v2/recordings/legalholds", "", hold(id0)), 401, "unauthenticated")

		// By filter.
		create := map[string]any{"case_id": "LC-2024-002", "hold_reason": "Regulator inquiry", "filter": map[string]any{"record_ids": []string{id0, id1}}, "include_future": false}
		hr := a.expect(t, oaJSON("POST", "/api/v2/legalholds", holder, create), 201, "")
		h := hr.obj(t)
		holdID, _ := h["hold_id"].(string)
		if h["matched"] != float64(2) || hr.header.Get("Location") != "/api/v2/legalholds/"+holdID {
			t.Errorf("create hold: matched %v, Location %q", h["matched"], hr.header.Get("Location"))
		}
		future := map[string]any{"case_id": "LC-2024-003", "hold_reason": "All SIP calls", "hold_date": "2023-11-01T00:00:00Z",
			"filter": map[string]any{"media_type": "sip", "from": "2020-01-01T00:00:00Z", "to": "2099-01-01T00:00:00Z"}, "include_future": true}
		futureID, _ := a.expect(t, oaJSON("POST", "/api/v2/legalholds", admin, future), 201, "").obj(t)["hold_id"].(string)
		a.expect(t, oaJSON("POST", "/api/v2/legalholds", holder, map[string]any{"case_id": "bad case", "hold_date": "2023-11-01", "filter": map[string]any{}}), 400, "validation_failed")
		a.expect(t, oaJSON("POST", "/api/v2/legalholds", holder, `"a string"`), 400, "malformed_json")
		a.expect(t, oaJSON("POST", "/api/v2/legalholds", viewer, create), 403, "permission_denied")
		a.expect(t, oaJSON("POST", "/api/v2/legalholds", "", create), 401, "unauthenticated")

		// Read holds.
		a.expect(t, oaGet("/api/v2/legalholds", viewer), 200, "")
		a.expect(t, oaGet("/api/v2/legalholds?case_id=LC-2024-002&limit=1", viewer), 200, "")
		page := a.expect(t, oaGet("/api/v2/legalholds?limit=1", viewer), 200, "").obj(t)
		if cur, _ := page["next_cursor"].(string); cur != "" {
			a.expect(t, oaGet("/api/v2/legalholds?limit=1&cursor="+url.QueryEscape(cur), viewer), 200, "")
		}
		a.expect(t, oaGet("/api/v2/legalholds?case_id=no%20spaces&limit=5000", viewer), 400, "validation_failed")
		a.expect(t, oaGet("/api/v2/legalholds", ""), 401, "unauthenticated")
		a.expect(t, oaGet("/api/v2/legalholds", auditor), 403, "permission_denied")
		a.expect(t, oaGet("/api/v2/legalholds/"+holdID, viewer), 200, "")
		a.expect(t, oaGet("/api/v2/legalholds/hold_01JD0000000000000000000000", viewer), 404, "not_found")
		a.expect(t, oaGet("/api/v2/legalholds/"+holdID, ""), 401, "unauthenticated")
		a.expect(t, oaGet("/api/v2/legalholds/"+holdID, auditor), 403, "permission_denied")
		if _, listed := a.expect(t, oaGet("/api/v2/legalholds/"+holdID, viewer), 200, "").obj(t)["recording_ids"]; listed {
			t.Errorf("hold %s lists its recordings", holdID)
		}

		// A hold's recordings, paged, and the proof of one of them.
		hp := a.expect(t, oaGet("/api/v2/legalholds/"+holdID+"/recordings?limit=1", viewer), 200, "").obj(t)
		cur, _ := hp["next_cursor"].(string)
		items, _ := hp["items"].([]any)
		if len(items) != 1 || cur == "" {
			t.Fatalf("first page of a hold over 2 recordings: %v", hp)
		}
		hp = a.expect(t, oaGet("/api/v2/legalholds/"+holdID+"/recordings?limit=1&cursor="+url.QueryEscape(cur), viewer), 200, "").obj(t)
		if items2, _ := hp["items"].([]any); len(items2) != 1 || hp["next_cursor"] != "" {
			t.Errorf("last page of a hold over 2 recordings: %v", hp)
		}
		a.expect(t, oaGet("/api/v2/legalholds/"+holdID+"/recordings?limit=0&sort=id", viewer), 400, "validation_failed")
		a.expect(t, oaGet("/api/v2/legalholds/hold_01JD0000000000000000000000/recordings", viewer), 404, "not_found")
		a.expect(t, oaGet("/api/v2/legalholds/"+holdID+"/recordings", ""), 401, "unauthenticated")
		a.expect(t, oaGet("/api/v2/legalholds/"+holdID+"/recordings", auditor), 403, "permission_denied")
		proof := a.expect(t, oaGet("/api/v2/legalholds/"+holdID+"/proof?recording_id="+id1, viewer), 200, "").obj(t)
		if proof["tree_size"] != float64(2) || len(proof["proof"].([]any)) != 1 {
			t.Errorf("proof of %s in a hold over 2 recordings: %v", id1, proof)
		}
		a.expect(t, oaGet("/api/v2/legalholds/"+holdID+"/proof", viewer), 400, "validation_failed")
		a.expect(t, oaGet("/api/v2/legalholds/"+holdID+"/proof?recording_id=x&limit=1", viewer), 400, "validation_failed")
		a.expect(t, oaGet("/api/v2/legalholds/"+holdID+"/proof?recording_id="+id3, viewer), 404, "not_found")
		a.expect(t, oaGet("/api/v2/legalholds/"+holdID+"/proof?recording_id="+id1, ""), 401, "unauthenticated")
		a.expect(t, oaGet("/api/v2/legalholds/"+holdID+"/proof?recording_id="+id1, auditor), 403, "permission_denied")

		a.expect(t, oaGet("/api/v2/recordings?case_id=LC-2024-002", viewer), 200, "")
		rec := a.expect(t, oaGet("/api/v2/recordings/"+id0, viewer), 200, "").obj(t)
		if rec["legal_hold"] != true {
			t.Errorf("recording %s: legal_hold %v", id0, rec["legal_hold"])
		}

		// Delete.
		del := func(id, token string) oaReq {
			return oaReq{method: "DELETE", path: "/api/v2/recordings/" + id, token: token}
		}
		pr := a.expect(t, del(id0, admin), 409, "legal_hold_active").obj(t)
		if hs, _ := pr["holds"].([]any); len(hs) != 3 {
			t.Errorf("legal_hold_active names %d holds, want 3: %v", len(hs), pr["holds"])
		}
		a.expect(t, del(id3, viewer), 403, "permission_denied")
		a.expect(t, del(id3, ""), 401, "unauthenticated")
		a.expect(t, del("rec_01JD0000000000000000000000", admin), 404, "not_found")
		rel := func(id, token string, body any) oaReq {
			return oaJSON("POST", "/api/v2/legalholds/"+id+"/release", token, body)
		}
		a.expect(t, rel(futureID, admin, map[string]any{"release_reason": "Inquiry closed"}), 200, "")
		a.expect(t, rel(futureID, admin, map[string]any{"release_reason": "Inquiry closed"}), 200, "")
		a.expect(t, del(id3, admin), 204, "")
		a.expect(t, oaGet("/api/v2/recordings/"+id3, viewer), 404, "not_found")

		// Release.
		a.expect(t, rel(holdID, admin, map[string]any{}), 400, "validation_failed")
		a.expect(t, rel(holdID, admin, `{`), 400, "malformed_json")
		a.expect(t, rel("hold_01JD0000000000000000000000", admin, map[string]any{"release_reason": "x"}), 404, "not_found")
		a.expect(t, rel(holdID, holder, map[string]any{"release_reason": "x"}), 403, "permission_denied")
		a.expect(t, rel(holdID, "", map[string]any{"release_reason": "x"}), 401, "unauthenticated")
		released := a.expect(t, rel(holdID, admin, map[string]any{"release_reason": "Matter closed"}), 200, "").obj(t)
		if released["active"] != false || released["released_at"] == nil {
			t.Errorf("released hold: %v", released)
		}
		res = a.expect(t, oaJSON("POST", "/api/v2/recordings/legalholds", admin, release), 200, "").obj(t)
		if rs, _ := res["results"].([]any); len(rs) != 1 || rs[0].(map[string]any)["status"] != "released" {
			t.Errorf("release per recording: %v", res["results"])
		}
		res = a.expect(t, oaJSON("POST", "/api/v2/recordings/legalholds", admin, release), 200, "").obj(t)
		if rs, _ := res["results"].([]any); len(rs) != 1 || rs[0].(map[string]any)["status"] != "not_held" {
			t.Errorf("release per recording again: %v", res["results"])
		}
		a.expect(t, del(id0, admin), 204, "")
	})

	t.Run("audit", func(t *testing.T) {
		t.Parallel()
		page := a.expect(t, oaGet("/api/v2/audit/entries?limit=2", auditor), 200, "").obj(t)
		size, _ := page["tree_size"].(float64)
		if size < 5 {
			t.Fatalf("tree_size %v, want at least 5", size)
		}
		cur, _ := page["next_cursor"].(string)
		a.expect(t, oaGet("/api/v2/audit/entries?limit=2&cursor="+url.QueryEscape(cur), auditor), 200, "")
		a.expect(t, oaGet("/api/v2/audit/entries?start=1", auditor), 200, "")
		a.expect(t, oaGet("/api/v2/audit/entries?start=-1&limit=x", auditor), 400, "validation_failed")
		a.expect(t, oaGet("/api/v2/audit/entries", ""), 401, "unauthenticated")
		a.expect(t, oaGet("/api/v2/audit/entries", viewer), 403, "permission_denied")

		a.expect(t, oaGet("/api/v2/audit/checkpoint", auditor), 200, "")
		a.expect(t, oaGet("/api/v2/audit/checkpoint", ""), 401, "unauthenticated")
		a.expect(t, oaGet("/api/v2/audit/checkpoint", viewer), 403, "permission_denied")

		n := strconv.Itoa(int(size))
		a.expect(t, oaGet("/api/v2/audit/proof/inclusion?index=1&size="+n, auditor), 200, "")
		a.expect(t, oaGet("/api/v2/audit/proof/inclusion?index=0", auditor), 200, "")
		a.expect(t, oaGet("/api/v2/audit/proof/inclusion", auditor), 400, "validation_failed")
		a.expect(t, oaGet("/api/v2/audit/proof/inclusion?index=5&size=2", auditor), 400, "validation_failed")
		a.expect(t, oaGet("/api/v2/audit/proof/inclusion?index=0", ""), 401, "unauthenticated")
		a.expect(t, oaGet("/api/v2/audit/proof/inclusion?index=0", viewer), 403, "permission_denied")

		a.expect(t, oaGet("/api/v2/audit/proof/consistency?old=2&new="+n, auditor), 200, "")
		a.expect(t, oaGet("/api/v2/audit/proof/consistency?old="+n+"&new="+n, auditor), 200, "")
		a.expect(t, oaGet("/api/v2/audit/proof/consistency?old=3", auditor), 400, "validation_failed")
		a.expect(t, oaGet("/api/v2/audit/proof/consistency?old=0&new=1", auditor), 400, "validation_failed")
		a.expect(t, oaGet("/api/v2/audit/proof/consistency?old=1&new=1", ""), 401, "unauthenticated")
		a.expect(t, oaGet("/api/v2/audit/proof/consistency?old=1&new=1", viewer), 403, "permission_denied")

		v := a.expect(t, oaReq{method: http.MethodPost, path: "/api/v2/audit/verify", token: auditor}, 200, "").obj(t)
		if v["ok"] != true || v["first_bad_index"] != nil || v["tree_size"].(float64) < 1 {
			t.Errorf("POST /api/v2/audit/verify on an untouched log: %v", v)
		}
		a.expect(t, oaReq{method: http.MethodPost, path: "/api/v2/audit/verify"}, 401, "unauthenticated")
		a.expect(t, oaReq{method: http.MethodPost, path: "/api/v2/audit/verify", token: viewer}, 403, "permission_denied")
	})
}

// testIdempotencyInProgress holds an upload open after the server has
// reserved its Idempotency-Key, and checks that a second request with the
// key is answered 409 idempotency_in_progress with Retry-After.
func testOAIdempotencyInProgress(t *testing.T, a *oaClient, fx oaFixture) {
	for attempt := range 5 {
		key := fmt.Sprintf("slow-upload-%d", attempt)
		body, ct := oaMultipart(t, oaPart{name: "metadata", data: fx.meta}, oaPart{name: "media", filename: "call.wav", data: fx.wav})
		pr, pw := io.Pipe()
		hr, _ := http.NewRequest("POST", a.base+"/api/v2/recordings", pr)
		hr.Header.Set("Authorization", "Bearer "+testserver.AdminToken)
		hr.Header.Set("Content-Type", ct)
		hr.Header.Set("Idempotency-Key", key)
		hr.ContentLength = -1
		done := make(chan oaReply, 1)
		go func() {
			// No t.Fatal off the test goroutine: report through the channel.
			resp, err := a.hc.Do(hr)
			if err != nil {
				done <- oaReply{status: -1, body: []byte(err.Error())}
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			a.spec.check(t, hr.Method, hr.URL.Path, resp, b)
			done <- oaReply{status: resp.StatusCode, header: resp.Header, body: b}
		}()
		half := len(body) / 2
		go func() { _, _ = pw.Write(body[:half]) }()
		// Probe only once the server is serving the slow upload (the
		// /metrics request is the other one in flight) and has had a
		// moment to reserve the key.
		for until := time.Now().Add(10 * time.Second); time.Now().Before(until); time.Sleep(10 * time.Millisecond) {
			resp, err := a.hc.Get(a.base + "/metrics")
			if err != nil {
				continue
			}
			m, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if inFlightAtLeast(m, 2) {
				break
			}
		}
		time.Sleep(100 * time.Millisecond)

		// Poll with the same key and a body that fails validation, so a
		// poll that wins the reservation gives it up again at once.
		probe, pct := oaMultipart(t, oaPart{name: "metadata", data: []byte(`{"media_type": "SIP"}`)})
		got409 := false
		var firstEarly *oaReply
		deadline := time.Now().Add(10 * time.Second)
		for !got409 && time.Now().Before(deadline) {
			select {
			case r := <-done:
				firstEarly = &r
			default:
			}
			if firstEarly != nil {
				break
			}
			r := a.send(t, oaReq{method: "POST", path: "/api/v2/recordings", token: testserver.AdminToken, body: probe, ctype: pct, header: map[string]string{"Idempotency-Key": key}})
			switch r.status {
			case 409:
				got409 = true
				if r.header.Get("Retry-After") == "" {
					t.Error("409 idempotency_in_progress without Retry-After")
				}
			case 400:
				time.Sleep(5 * time.Millisecond)
			default:
				t.Fatalf("probe: unexpected status %d: %s", r.status, r.body)
			}
		}
		if firstEarly != nil {
			pw.Close()
			t.Logf("attempt %d: the slow upload lost the race (%d); retrying", attempt, firstEarly.status)
			continue
		}
		// Let the slow upload finish.
		go func() { _, _ = pw.Write(body[half:]); pw.Close() }()
		r := <-done
		if !got409 {
			t.Fatalf("never saw 409 idempotency_in_progress; slow upload ended %d %s", r.status, r.body)
		}
		if r.status != 202 {
			t.Fatalf("slow upload: status %d: %s", r.status, r.body)
		}
		return
	}
	t.Fatal("could not hold an upload open long enough to see 409 idempotency_in_progress")
}

func testOAUploadLimit(t *testing.T) {
	a := newOAClient(t, testserver.WithMaxUpload(1000))
	fx := oaCalls(t, 2, 1)[0]
	if len(fx.wav) <= 1000 {
		t.Fatalf("fixture WAV is only %d bytes", len(fx.wav))
	}
	a.expect(t, oaIngest(t, testserver.AdminToken, fx.meta, fx.wav, nil, ""), 413, "payload_too_large")
}

func testOARateLimit(t *testing.T) {
	a := newOAClient(t, testserver.WithRateLimit(1, 1))
	a.expect(t, oaGet("/api/v2/recordings", testserver.AdminToken), 200, "")
	r := a.expect(t, oaGet("/api/v2/recordings", testserver.AdminToken), 429, "rate_limited")
	if n, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || n < 1 {
		t.Errorf("Retry-After = %q", r.header.Get("Retry-After"))
	}
}

func testOAFaults(t *testing.T, spec string, status int, code string) {
	a := newOAClient(t, testserver.WithFaults(spec))
	admin := testserver.AdminToken
	for _, q := range []oaReq{
		oaJSON("POST", "/api/v2/legalholds", admin, map[string]any{"hold_reason": "x", "filter": map[string]any{"media_type": "SIP"}}),
		oaJSON("POST", "/api/v2/recordings/legalholds", admin, map[string]any{"recordings": []any{}}),
		oaJSON("POST", "/api/v2/legalholds/hold_01JD0000000000000000000000/release", admin, map[string]any{"release_reason": "x"}),
		oaJSON("POST", oaExports, admin, map[string]any{"filter": map[string]any{"media_type": "SIP"}, "metadata": map[string]any{"legal_hold": true, "case_id": "LC-2024-001"}}),
		{method: "DELETE", path: oaExports + "/exp_01JD0000000000000000000000", token: admin},
	} {
		r := a.expect(t, q, status, code)
		if r.header.Get("Retry-After") == "" || r.header.Get("Retry-After") != r.header.Get("X-Retry-After") {
			t.Errorf("%s %s: Retry-After %q, X-Retry-After %q", q.method, q.path, r.header.Get("Retry-After"), r.header.Get("X-Retry-After"))
		}
	}
	// Reads are never subject to fault injection.
	a.expect(t, oaGet("/api/v2/legalholds", admin), 200, "")
	a.expect(t, oaGet(oaExports, admin), 200, "")
}

const oaExports = "/api/v2/bulk/recordingexports"

// oaWaitExport polls an export job until it reaches a final state.
func oaWaitExport(t testing.TB, a *oaClient, token, id string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		job := a.expect(t, oaGet(oaExports+"/"+id, token), 200, "").obj(t)
		switch job["state"] {
		case "completed", "completed_with_errors", "failed", "cancelled":
			return job
		}
		if time.Now().After(deadline) {
			t.Fatalf("export %s still %v after 60s", id, job["state"])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// oaFieldErrors returns "field:code" of every field error of a problem.
func oaFieldErrors(p map[string]any) []string {
	var out []string
	errs, _ := p["errors"].([]any)
	for _, e := range errs {
		m, _ := e.(map[string]any)
		out = append(out, fmt.Sprintf("%v:%v", m["field"], m["code"]))
	}
	return out
}

// testOAExports exercises the bulk export API (contract §7/§8) on its own
// server, so its holds do not disturb the counts of the main exchanges.
func testOAExports(t *testing.T) {
	a := newOAClient(t)
	admin := testserver.AdminToken
	viewer := oaCreateToken(t, a, "viewer", "recording:view")
	exporter := oaCreateToken(t, a, "exporter", "recording:export")
	holdExporter := oaCreateToken(t, a, "hold-exporter", "recording:export", "recording:export:legalhold")

	var ids []string
	for _, f := range oaCalls(t, 3, 2) {
		id, _ := a.expect(t, oaIngest(t, admin, f.meta, f.wav, f.sipre, ""), 202, "").obj(t)["id"].(string)
		ids = append(ids, id)
	}
	post := func(token string, body any, key string) oaReq {
		q := oaJSON("POST", oaExports, token, body)
		if key != "" {
			q.header = map[string]string{"Idempotency-Key": key}
		}
		return q
	}
	create := map[string]any{
		"filter":      map[string]any{"record_ids": ids},
		"metadata":    map[string]any{"legal_hold": true, "case_id": "LC-2024-010", "hold_reason": "Discovery Request #12345", "hold_date": "2023-11-01T00:00:00.000Z"},
		"destination": map[string]any{"type": "filesystem"},
		"options":     map[string]any{"wait_for_processing": "2m"},
	}

	// Permissions are checked before the body is validated: the route's
	// own before the body is even read, then those the body implies.
	p := a.expect(t, post(viewer, create, ""), 403, "permission_denied").obj(t)
	if mp := fmt.Sprint(p["missing_permissions"]); mp != "[recording:export]" {
		t.Errorf("viewer: missing_permissions = %s", mp)
	}
	p = a.expect(t, post(exporter, create, ""), 403, "permission_denied").obj(t)
	if mp := fmt.Sprint(p["missing_permissions"]); mp != "[recording:export:legalhold]" {
		t.Errorf("exporter without legalhold: missing_permissions = %s", mp)
	}
	p = a.expect(t, post(exporter, map[string]any{"legal_hold": true, "record_ids": ids}, ""), 403, "permission_denied").obj(t)
	if mp := fmt.Sprint(p["missing_permissions"]); mp != "[recording:export:legalhold]" {
		t.Errorf("exporter with top-level legal_hold: missing_permissions = %s", mp)
	}
	a.expect(t, post("", create, ""), 401, "unauthenticated")
	a.expect(t, post("hf_unknown", create, ""), 401, "unauthenticated")

	// Requests that can never succeed as sent.
	q := post(holdExporter, create, "")
	q.path += "?legal_hold=true"
	p = a.expect(t, q, 400, "validation_failed").obj(t)
	if fe := oaFieldErrors(p); !slices.Contains(fe, "query.legal_hold:misplaced_field") || !strings.Contains(fmt.Sprint(p["message"]), "under metadata") {
		t.Errorf("legal_hold query parameter: %v, %v", fe, p["message"])
	}
	for _, c := range []struct {
		body any
		want []string
	}{
		{map[string]any{"legal_hold": true, "metadata": map[string]any{"legal_hold": false}, "filter": map[string]any{"media_type": "SIP"}},
			[]string{"legal_hold:conflicting_values", "metadata.legal_hold:conflicting_values"}},
		{map[string]any{"filter": map[string]any{"media_type": "SIP"}, "destination": map[string]any{"type": "s3"}, "options": map[string]any{"wait_for_processing": "forever"}},
			[]string{"destination.bucket:required", "options.wait_for_processing:invalid_duration"}},
		{map[string]any{"filter": map[string]any{"media_type": "SIP"}, "destination": map[string]any{"type": "s3", "bucket": "evidence"}},
			[]string{"destination.type:unsupported"}},
		{map[string]any{"metadata": map[string]any{"legal_hold": true, "hold_date": "2023-11-01"}, "hold_reason": "x"},
			[]string{"filter:required", "metadata.hold_date:invalid_timestamp", "hold_reason:unknown_field"}},
		{map[string]any{"filter": map[string]any{"record_ids": []string{"rec_01JD0000000000000000000000"}}},
			[]string{"filter.record_ids[0]:not_found"}},
	} {
		p := a.expect(t, post(holdExporter, c.body, ""), 400, "validation_failed").obj(t)
		fe := oaFieldErrors(p)
		for _, w := range c.want {
			if !slices.Contains(fe, w) {
				t.Errorf("%v: errors %v lack %s", c.body, fe, w)
			}
		}
	}
	a.expect(t, post(holdExporter, `{"filter": `, ""), 400, "malformed_json")
	a.expect(t, post(holdExporter, `[1, 2]`, ""), 400, "malformed_json")
	a.expect(t, post(holdExporter, create, strings.Repeat("k", 300)), 400, "validation_failed")
	big := append(append([]byte(`{"record_ids": ["`), bytes.Repeat([]byte("a"), httpapi.MaxJSONBody+1024)...), `"]}`...)
	a.expect(t, post(holdExporter, big, ""), 413, "payload_too_large")

	// Create with a hold; replay; reuse the key with another body.
	first := a.expect(t, post(holdExporter, create, "export-1"), 202, "")
	job := first.obj(t)
	jobID, _ := job["id"].(string)
	holdID, _ := job["hold_id"].(string)
	if first.header.Get("Location") != oaExports+"/"+jobID || holdID == "" || first.header.Get("Idempotent-Replayed") != "" {
		t.Errorf("create: Location %q, hold_id %q, Idempotent-Replayed %q", first.header.Get("Location"), holdID, first.header.Get("Idempotent-Replayed"))
	}
	if pr, _ := job["progress"].(map[string]any); pr["matched"] != float64(len(ids)) {
		t.Errorf("progress %v, want %d matched", job["progress"], len(ids))
	}
	for _, id := range ids {
		if rec := a.expect(t, oaGet("/api/v2/recordings/"+id, admin), 200, "").obj(t); rec["legal_hold"] != true {
			t.Errorf("recording %s is not held after the export was accepted", id)
		}
	}
	replay := a.expect(t, post(holdExporter, create, "export-1"), 202, "")
	if replay.header.Get("Idempotent-Replayed") != "true" || replay.obj(t)["id"] != jobID || replay.header.Get("Location") != oaExports+"/"+jobID {
		t.Errorf("replay: Idempotent-Replayed %q, Location %q, body %s", replay.header.Get("Idempotent-Replayed"), replay.header.Get("Location"), replay.body)
	}
	a.expect(t, post(holdExporter, map[string]any{"record_ids": ids[:1]}, "export-1"), 422, "idempotency_key_reused")

	// The shorthands of other platforms, without a hold: recording:export
	// is enough. case_id alone selects the recordings under the case's holds.
	short := a.expect(t, post(exporter, map[string]any{"record_ids": ids[:1], "media_type": "sip", "case_id": "LC-2024-010"}, ""), 202, "").obj(t)
	if short["hold_id"] != nil || short["filter"].(map[string]any)["media_type"] != "SIP" {
		t.Errorf("shorthand job: %v", short)
	}
	byCase := a.expect(t, post(exporter, map[string]any{"case_id": "LC-2024-010"}, ""), 202, "").obj(t)
	if pr, _ := byCase["progress"].(map[string]any); pr["matched"] != float64(len(ids)) {
		t.Errorf("case selection matched %v, want %d", byCase["progress"], len(ids))
	}

	// Proofs of membership in the export's set.
	ep := a.expect(t, oaGet(oaExports+"/"+jobID+"/proof?recording_id="+ids[0], exporter), 200, "").obj(t)
	if ep["tree_size"] != float64(len(ids)) || ep["leaf_index"] == nil {
		t.Errorf("export proof: %v", ep)
	}
	a.expect(t, oaGet(oaExports+"/"+jobID+"/proof?recording_id=rec_01JD0000000000000000000000", exporter), 404, "not_found")
	a.expect(t, oaGet(oaExports+"/exp_01JD0000000000000000000000/proof?recording_id="+ids[0], exporter), 404, "not_found")
	a.expect(t, oaGet(oaExports+"/"+jobID+"/proof", exporter), 400, "validation_failed")
	a.expect(t, oaGet(oaExports+"/"+jobID+"/proof?recording_id="+ids[0], ""), 401, "unauthenticated")
	a.expect(t, oaGet(oaExports+"/"+jobID+"/proof?recording_id="+ids[0], viewer), 403, "permission_denied")

	// Read jobs.
	done := oaWaitExport(t, a, exporter, jobID)
	if done["state"] != "completed" || done["finished_at"] == nil || done["package"] == nil {
		t.Fatalf("export ended %v: %s", done["state"], done)
	}
	for _, j := range []map[string]any{short, byCase} {
		oaWaitExport(t, a, exporter, j["id"].(string))
	}
	page := a.expect(t, oaGet(oaExports+"?limit=2", exporter), 200, "").obj(t)
	cur, _ := page["next_cursor"].(string)
	if items, _ := page["items"].([]any); len(items) != 2 || cur == "" {
		t.Fatalf("first page of 3 jobs: %d items, next_cursor %q", len(items), cur)
	}
	page = a.expect(t, oaGet(oaExports+"?limit=2&cursor="+url.QueryEscape(cur), exporter), 200, "").obj(t)
	if items, _ := page["items"].([]any); len(items) != 1 || page["next_cursor"] != "" {
		t.Errorf("last page: %v", page)
	}
	a.expect(t, oaGet(oaExports+"?limit=0&cursor=***", exporter), 400, "validation_failed")
	a.expect(t, oaGet(oaExports, ""), 401, "unauthenticated")
	a.expect(t, oaGet(oaExports, viewer), 403, "permission_denied")
	a.expect(t, oaGet(oaExports+"/"+jobID, exporter), 200, "")
	a.expect(t, oaGet(oaExports+"/exp_01JD0000000000000000000000", exporter), 404, "not_found")
	a.expect(t, oaGet(oaExports+"/"+jobID, ""), 401, "unauthenticated")
	a.expect(t, oaGet(oaExports+"/"+jobID, viewer), 403, "permission_denied")

	// The package as a tar.
	auditStart := oaAuditSize(t, a)
	pkg, _ := done["package"].(map[string]any)
	pkgPath := oaExports + "/" + jobID + "/package"
	if pkg["download_url"] != pkgPath || pkg["name"] != "LC-2024-010_"+jobID {
		t.Errorf("package %v", pkg)
	}
	tr := a.expect(t, oaGet(pkgPath, exporter), 200, "")
	entries := 0
	rd := tar.NewReader(bytes.NewReader(tr.body))
	for {
		hd, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("package tar: %v", err)
		}
		if !strings.HasPrefix(hd.Name, pkg["name"].(string)+"/") {
			t.Errorf("tar entry %q is outside the bag's directory", hd.Name)
		}
		if hd.Typeflag == tar.TypeReg {
			entries++
		}
	}
	a.expect(t, oaGet(oaExports+"/exp_01JD0000000000000000000000/package", exporter), 404, "not_found")
	a.expect(t, oaGet(pkgPath, ""), 401, "unauthenticated")
	a.expect(t, oaGet(pkgPath, viewer), 403, "permission_denied")

	// The package file by file.
	files := a.expect(t, oaGet(pkgPath+"/files", exporter), 200, "").obj(t)
	items, _ := files["items"].([]any)
	if len(items) != entries {
		t.Errorf("file list has %d entries, the tar %d files", len(items), entries)
	}
	a.expect(t, oaGet(oaExports+"/exp_01JD0000000000000000000000/package/files", exporter), 404, "not_found")
	a.expect(t, oaGet(pkgPath+"/files", ""), 401, "unauthenticated")
	a.expect(t, oaGet(pkgPath+"/files", viewer), 403, "permission_denied")

	rel := "data/recordings/" + ids[0] + ".wav"
	file := pkgPath + "/files/" + rel
	whole := a.expect(t, oaGet(file, exporter), 200, "")
	ranged := func(hdr map[string]string) oaReq {
		return oaReq{method: "GET", path: file, token: exporter, header: hdr}
	}
	r := a.expect(t, ranged(map[string]string{"Range": "bytes=0-99"}), 206, "")
	if !bytes.Equal(r.body, whole.body[:100]) || r.header.Get("Content-Range") != fmt.Sprintf("bytes 0-99/%d", len(whole.body)) {
		t.Errorf("range: %d bytes, Content-Range %q", len(r.body), r.header.Get("Content-Range"))
	}
	a.expect(t, ranged(map[string]string{"Range": "bytes=0-9,20-29"}), 206, "")
	a.expect(t, ranged(map[string]string{"Range": "bytes=99999999-"}), 416, "range_not_satisfiable")
	a.expect(t, ranged(map[string]string{"Range": "bytes=oops"}), 416, "range_not_satisfiable")
	oaUnservableRanges(t, a, ranged(nil), len(whole.body))
	a.expect(t, ranged(map[string]string{"If-Modified-Since": time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)}), 304, "")
	a.expect(t, ranged(map[string]string{"If-Unmodified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"}), 412, "")
	a.expect(t, oaGet(pkgPath+"/files/bagit.txt", exporter), 200, "")
	a.expect(t, oaGet(pkgPath+"/files/data/nope.wav", exporter), 404, "not_found")
	a.expect(t, oaGet(oaExports+"/exp_01JD0000000000000000000000/package/files/bagit.txt", exporter), 404, "not_found")
	a.expect(t, oaGet(file, ""), 401, "unauthenticated")
	a.expect(t, oaGet(file, viewer), 403, "permission_denied")
	oaCheckPackageReadsAudited(t, a, auditStart, "exporter", jobID, rel)

	// Cancel: a finished job stays as it is, and its hold stays.
	del := func(id, token string) oaReq { return oaReq{method: "DELETE", path: oaExports + "/" + id, token: token} }
	if c := a.expect(t, del(jobID, exporter), 202, "").obj(t); c["state"] != "completed" {
		t.Errorf("cancelling a completed job changed its state to %v", c["state"])
	}
	a.expect(t, del("exp_01JD0000000000000000000000", exporter), 404, "not_found")
	a.expect(t, del(jobID, ""), 401, "unauthenticated")
	a.expect(t, del(jobID, viewer), 403, "permission_denied")
	if h := a.expect(t, oaGet("/api/v2/legalholds/"+holdID, admin), 200, "").obj(t); h["active"] != true {
		t.Errorf("the export's hold is no longer active: %v", h)
	}

	// A package whose files are gone from the server is a permanent 500,
	// never a 503 that invites retrying.
	bagDir := filepath.Join(a.dir, "exports", pkg["name"].(string))
	if err := os.Rename(bagDir, bagDir+".gone"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{pkgPath, pkgPath + "/files", file} {
		if r := a.expect(t, oaGet(p, exporter), 500, "internal_error"); r.header.Get("Retry-After") != "" {
			t.Errorf("GET %s: a broken package is answered with Retry-After %q", p, r.header.Get("Retry-After"))
		}
	}
}

// oaUnservableRanges asks q for ranges that would make the answer empty
// or larger than the content: each is 416 with the content's size.
func oaUnservableRanges(t *testing.T, a *oaClient, q oaReq, size int) {
	t.Helper()
	many := "bytes=0-0"
	for i := 1; i <= 16; i++ {
		many += fmt.Sprintf(",%d-%d", 2*i, 2*i)
	}
	for _, rng := range []string{"bytes=-0", many, "bytes=0-99,50-149", "bytes=0-,0-", "bytes=-100,0-"} {
		q.header = map[string]string{"Range": rng}
		r := a.expect(t, q, 416, "range_not_satisfiable")
		if want := fmt.Sprintf("bytes */%d", size); r.header.Get("Content-Range") != want {
			t.Errorf("Range %.40s: Content-Range %q, want %q", rng, r.header.Get("Content-Range"), want)
		}
	}
	q.header = map[string]string{"Range": "bytes=0-0,2-2,4-4,6-6,8-8,10-10,12-12,14-14,16-16,18-18,20-20,22-22,24-24,26-26,28-28,30-30"}
	if r := a.expect(t, q, 206, ""); len(r.body) > 16+16*200 {
		t.Errorf("16 one-byte ranges took %d bytes", len(r.body))
	}
}

// testOAExportWithoutPackage keeps a job waiting for a recording that is
// still processing, so it has no package, then cancels it.
func testOAExportWithoutPackage(t *testing.T) {
	a := newOAClient(t, testserver.WithFaults("processing_delay=10m"))
	admin := testserver.AdminToken
	fx := oaCalls(t, 4, 1)[0]
	id, _ := a.expect(t, oaIngest(t, admin, fx.meta, fx.wav, nil, ""), 202, "").obj(t)["id"].(string)
	job := a.expect(t, oaJSON("POST", oaExports, admin, map[string]any{"record_ids": []string{id}}), 202, "").obj(t)
	jobID, _ := job["id"].(string)
	pkgPath := oaExports + "/" + jobID + "/package"
	a.expect(t, oaGet(pkgPath, admin), 404, "not_found")
	a.expect(t, oaGet(pkgPath+"/files", admin), 404, "not_found")
	a.expect(t, oaGet(pkgPath+"/files/bagit.txt", admin), 404, "not_found")

	deadline := time.Now().Add(30 * time.Second)
	for job["state"] != "waiting_for_recordings" {
		if time.Now().After(deadline) {
			t.Fatalf("job still %v after 30s, want waiting_for_recordings", job["state"])
		}
		time.Sleep(20 * time.Millisecond)
		job = a.expect(t, oaGet(oaExports+"/"+jobID, admin), 200, "").obj(t)
	}
	a.expect(t, oaReq{method: "DELETE", path: oaExports + "/" + jobID, token: admin}, 202, "")
	done := oaWaitExport(t, a, admin, jobID)
	if done["state"] != "cancelled" || done["package"] != nil {
		t.Fatalf("cancelled job: state %v, package %v", done["state"], done["package"])
	}
	a.expect(t, oaGet(pkgPath, admin), 404, "not_found")
}

// inFlightAtLeast reads holdfast_http_requests_in_flight from a /metrics
// body.
func inFlightAtLeast(metrics []byte, n int) bool {
	for _, line := range strings.Split(string(metrics), "\n") {
		if v, ok := strings.CutPrefix(line, "holdfast_http_requests_in_flight "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return err == nil && f >= float64(n)
		}
	}
	return false
}

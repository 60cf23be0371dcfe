package httpapi_test

// The authorization matrix: every operation in openapi.json is called with
// no token, an unknown token, a revoked token and a token of each single
// permission, and each answer must be the one the permission table below
// predicts: 401 with WWW-Authenticate, 403 naming exactly the missing
// permissions, or (when nothing is missing) neither. The table is keyed by
// operationId and must name every operation of the document, so a new
// route cannot be added without deciding who may call it. The routes whose
// permissions depend on the body are then called with hostile bodies
// (duplicate keys, escaped duplicates, nesting, type confusion), which must
// never succeed for a token that lacks what the body asks for.

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/holdfast/holdfast/internal/testserver"
)

// authRule is who may call one operation.
type authRule struct {
	public bool     // no token needed
	all    []string // every one is needed (before the body is read)
	anyOf  []string // at least one is needed (before the body is read)
	// body is the JSON body sent in the sweep (ops with a JSON request body
	// must have one); bodyNeeds are the permissions that body asks for on
	// top of all/anyOf.
	body      string
	bodyNeeds []string
	multipart bool // the body is an ingest upload
}

const (
	pView      = "recording:view"
	pIngest    = "recording:ingest"
	pDelete    = "recording:delete"
	pExport    = "recording:export"
	pLegalHold = "recording:export:legalhold"
	pRelease   = "legalhold:release"
	pAudit     = "audit:view"
	pAdmin     = "admin"
)

var allPermissions = []string{pView, pIngest, pDelete, pExport, pLegalHold, pRelease, pAudit, pAdmin}

const fakeRec = "rec_01JD0000000000000000000000"

// authTable is the expected permission of every operation (contract §3, §6,
// §7, §9).
var authTable = map[string]authRule{
	"getHealth":      {public: true},
	"getReadiness":   {public: true},
	"getMetrics":     {public: true},
	"getOpenAPIJSON": {public: true},
	"getOpenAPIYAML": {public: true},
	"getSigningKey":  {public: true},

	"createToken": {all: []string{pAdmin}, body: `{"name":"matrix","permissions":["recording:view"]}`},
	"listTokens":  {all: []string{pAdmin}},
	"revokeToken": {all: []string{pAdmin}},

	"ingestRecording":   {all: []string{pIngest}, multipart: true},
	"listRecordings":    {all: []string{pView}},
	"getRecording":      {all: []string{pView}},
	"getRecordingMedia": {all: []string{pView}},
	"deleteRecording":   {all: []string{pDelete}},

	"applyRecordingHolds": {anyOf: []string{pLegalHold, pRelease},
		body:      `{"recordings":[{"id":"` + fakeRec + `","metadata":{"legal_hold":true,"hold_reason":"matrix","case_id":"M-1"}}]}`,
		bodyNeeds: []string{pLegalHold}},
	"createHold":         {all: []string{pLegalHold}, body: `{"case_id":"M-1","hold_reason":"matrix","filter":{"record_ids":["` + fakeRec + `"]}}`},
	"listHolds":          {all: []string{pView}},
	"getHold":            {all: []string{pView}},
	"listHoldRecordings": {all: []string{pView}},
	"holdProof":          {all: []string{pView}},
	"releaseHold":        {all: []string{pRelease}, body: `{"release_reason":"matrix"}`},
	"listCases":          {all: []string{pView}},
	"getCase":            {all: []string{pView}},
	"releaseCase":        {all: []string{pRelease}, body: `{"release_reason":"matrix"}`},

	"createExport":           {all: []string{pExport}, body: `{"filter":{"record_ids":["` + fakeRec + `"]}}`},
	"listExports":            {all: []string{pExport}},
	"getExport":              {all: []string{pExport}},
	"cancelExport":           {all: []string{pExport}},
	"exportProof":            {all: []string{pExport}},
	"downloadExportPackage":  {all: []string{pExport}},
	"listExportPackageFiles": {all: []string{pExport}},
	"getExportPackageFile":   {all: []string{pExport}},

	"listAuditEntries":         {all: []string{pAudit}},
	"getAuditCheckpoint":       {all: []string{pAudit}},
	"getAuditInclusionProof":   {all: []string{pAudit}},
	"getAuditConsistencyProof": {all: []string{pAudit}},
	"verifyAuditLog":           {all: []string{pAudit}},
}

// matrixToken is one caller of the matrix.
type matrixToken struct {
	name   string
	secret string
	perms  []string // nil: not authenticated at all
}

// missingFor is what a token lacks of need (admin lacks nothing).
func missingFor(perms, need []string) []string {
	if slices.Contains(perms, pAdmin) {
		return nil
	}
	var out []string
	for _, n := range need {
		if !slices.Contains(perms, n) && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// expectedMissing is what the server must name in missing_permissions for
// a token calling an operation with a body that needs bodyNeeds, or nil
// if the call is allowed. Permissions not depending on the body come
// first: a token failing them never has its body read.
func expectedMissing(r authRule, perms, bodyNeeds []string) []string {
	if m := missingFor(perms, r.all); len(m) > 0 {
		return m
	}
	if len(r.anyOf) > 0 {
		if m := missingFor(perms, r.anyOf); len(m) == len(r.anyOf) {
			return m
		}
	}
	return missingFor(perms, bodyNeeds)
}

// matrixPath fills an operation's path parameters with plausible ids of
// things that do not exist (any other parameter with "x1").
func matrixPath(template string) string {
	r := strings.NewReplacer(
		"/recordings/{id}", "/recordings/"+fakeRec,
		"/legalholds/{hold_id}", "/legalholds/hold_01JD0000000000000000000000",
		"/recordingexports/{id}", "/recordingexports/exp_01JD0000000000000000000000",
		"/tokens/{id}", "/tokens/tok_01JD0000000000000000000000",
		"{case_id}", "M-404",
		"{path}", "bagit.txt")
	return matrixParam.ReplaceAllString(r.Replace(template), "x1")
}

var matrixParam = regexp.MustCompile(`\{[^}]*\}`)

// sameSet reports whether got (a JSON array) names exactly want.
func sameSet(got any, want []string) bool {
	arr, _ := got.([]any)
	var g []string
	for _, v := range arr {
		s, _ := v.(string)
		g = append(g, s)
	}
	w := slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	return slices.Equal(g, w)
}

// checkAuth checks one answer against what the table predicts.
func checkAuth(t *testing.T, what string, tok matrixToken, r oaReply, missing []string) {
	t.Helper()
	switch {
	case tok.perms == nil:
		if r.status != http.StatusUnauthorized || !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s with %s: %d, WWW-Authenticate %q; want 401 with WWW-Authenticate: Bearer\n%s", what, tok.name, r.status, r.header.Get("WWW-Authenticate"), r.body)
			return
		}
		if code, _ := r.obj(t)["code"].(string); code != "unauthenticated" {
			t.Errorf("%s with %s: code %q, want unauthenticated", what, tok.name, code)
		}
	case len(missing) > 0:
		if r.status != http.StatusForbidden {
			t.Errorf("%s with %s: %d, want 403 missing %v\n%s", what, tok.name, r.status, missing, r.body)
			return
		}
		p := r.obj(t)
		if p["code"] != "permission_denied" || !sameSet(p["missing_permissions"], missing) {
			t.Errorf("%s with %s: %v %v, want permission_denied missing exactly %v", what, tok.name, p["code"], p["missing_permissions"], missing)
		}
	default:
		if r.status == http.StatusUnauthorized || r.status == http.StatusForbidden || r.status >= 500 && r.status != http.StatusServiceUnavailable {
			t.Errorf("%s with %s (allowed): %d\n%s", what, tok.name, r.status, r.body)
		}
	}
}

// matrixTokens makes the callers: none, unknown, revoked, and one token
// per single permission.
func matrixTokens(t *testing.T, a *oaClient) []matrixToken {
	t.Helper()
	revoked := oaCreateToken(t, a, "matrix-revoked", pAdmin)
	id, _ := oaTokenByName(t, a, "matrix-revoked")["id"].(string)
	a.expect(t, oaReq{method: "DELETE", path: "/api/v2/tokens/" + id, token: testserver.AdminToken}, 200, "")
	toks := []matrixToken{
		{name: "no token"},
		{name: "an unknown token", secret: "hf_" + strings.Repeat("A", 43)},
		{name: "a revoked admin token", secret: revoked},
	}
	for _, p := range allPermissions {
		toks = append(toks, matrixToken{name: "a " + p + " token", secret: oaCreateToken(t, a, "matrix "+p, p), perms: []string{p}})
	}
	return toks
}

func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	a := newOAClient(t)
	spec := a.spec

	// The table and the document name the same operations, and agree on
	// their permissions.
	documented := map[string]bool{}
	for _, o := range spec.ops {
		id, _ := o.node["operationId"].(string)
		documented[id] = true
		r, ok := authTable[id]
		if !ok {
			t.Errorf("%s (%s) is in openapi.json but not in authTable: decide who may call it", id, o.key())
			continue
		}
		sec, hasSec := o.node["security"].([]any)
		if r.public != (hasSec && len(sec) == 0) {
			t.Errorf("%s: authTable says public=%v, the document's security is %v", id, r.public, o.node["security"])
		}
		docPerms := func(key string) []string {
			var out []string
			arr, _ := o.node[key].([]any)
			for _, v := range arr {
				out = append(out, fmt.Sprint(v))
			}
			return out
		}
		if got := docPerms("x-holdfast-permissions"); !slices.Equal(got, r.all) {
			t.Errorf("%s: the document's x-holdfast-permissions %v differ from authTable's %v", id, got, r.all)
		}
		if got := docPerms("x-holdfast-permissions-any"); !slices.Equal(got, r.anyOf) {
			t.Errorf("%s: the document's x-holdfast-permissions-any %v differ from authTable's %v", id, got, r.anyOf)
		}
		if _, hasBody := o.node["requestBody"]; hasBody && r.body == "" && !r.multipart {
			t.Errorf("%s takes a request body, but authTable gives none to send", id)
		}
	}
	for id := range authTable {
		if !documented[id] {
			t.Errorf("authTable names %s, which openapi.json does not describe", id)
		}
	}
	if t.Failed() {
		return
	}

	toks := matrixTokens(t, a)
	for _, o := range spec.ops {
		id, _ := o.node["operationId"].(string)
		r := authTable[id]
		for _, tok := range toks {
			q := oaReq{method: o.method, path: matrixPath(o.template), token: tok.secret}
			switch {
			case r.multipart:
				f := oaCalls(t, 21, 1)[0]
				q = oaIngest(t, tok.secret, f.meta, f.wav, nil, "")
			case r.body != "":
				q.body, q.ctype = []byte(r.body), "application/json"
			}
			reply := a.send(t, q)
			if r.public {
				if reply.status == http.StatusUnauthorized || reply.status == http.StatusForbidden {
					t.Errorf("%s %s (public) with %s: %d", o.method, o.template, tok.name, reply.status)
				}
				continue
			}
			checkAuth(t, o.method+" "+o.template, tok, reply, expectedMissing(r, tok.perms, r.bodyNeeds))
		}
	}

	testBodyMatrix(t, a, toks)
}

// bodyCase is one body sent to a route whose permissions depend on it.
type bodyCase struct {
	name  string
	op    string // operationId
	query string // appended to the path
	body  string
	// needs are the permissions the body asks for beyond the route's own
	// (taken from the one decoded value); reject, if set, is the status
	// and code every caller with those permissions gets instead of success
	// (a body that can never succeed as sent).
	needs  []string
	reject int
	code   string
}

// testBodyMatrix sends well-formed and hostile bodies to the two routes
// whose permissions depend on the body, with every caller. A hold placed
// first must survive all of them, and the recording under it must still
// refuse deletion.
func testBodyMatrix(t *testing.T, a *oaClient, toks []matrixToken) {
	admin := testserver.AdminToken
	f := oaCalls(t, 23, 1)[0]
	rec, _ := a.expect(t, oaIngest(t, admin, f.meta, f.wav, f.sipre, ""), 202, "").obj(t)["id"].(string)
	keep := a.expect(t, oaJSON("POST", "/api/v2/legalholds", admin, map[string]any{"case_id": "KEEP-1", "hold_reason": "matrix", "filter": map[string]any{"record_ids": []string{rec}}}), 201, "").obj(t)
	keepID, _ := keep["hold_id"].(string)

	R := `"` + rec + `"`
	release := `{"legal_hold":false,"release_reason":"x","case_id":"KEEP-1"}`
	holds := "applyRecordingHolds"
	exports := "createExport"
	const malformed, invalid = "malformed_json", "validation_failed"
	cases := []bodyCase{
		// Well-formed: the body decides.
		{name: "apply", op: holds, body: `{"recordings":[{"id":` + R + `,"metadata":{"legal_hold":true,"hold_reason":"matrix","case_id":"M-1"}}]}`, needs: []string{pLegalHold}},
		{name: "release", op: holds, body: `{"recordings":[{"id":` + R + `,"metadata":{"legal_hold":false,"release_reason":"matrix","case_id":"M-1"}}]}`, needs: []string{pRelease}},
		{name: "apply and release", op: holds, body: `{"recordings":[{"id":` + R + `,"metadata":{"legal_hold":true,"hold_reason":"matrix","case_id":"M-2"}},{"id":"` + fakeRec + `","metadata":` + release + `}]}`,
			needs: []string{pLegalHold, pRelease}, reject: 400, code: invalid},
		{name: "export", op: exports, body: `{"filter":{"record_ids":[` + R + `]}}`},
		{name: "export with hold", op: exports, body: `{"filter":{"record_ids":[` + R + `]},"metadata":{"legal_hold":true,"case_id":"ESC-0"}}`, needs: []string{pLegalHold}},
		{name: "export with hold, top-level shorthand", op: exports, body: `{"record_ids":[` + R + `],"legal_hold":true,"case_id":"ESC-0"}`, needs: []string{pLegalHold}},

		// Duplicate keys, at any depth and however spelled: never decided on.
		{name: "issue 8: recordings twice", op: holds, body: `{"recordings":5,"recordings":[{"id":` + R + `,"metadata":` + release + `}]}`, reject: 400, code: malformed},
		{name: "legal_hold twice", op: holds, body: `{"recordings":[{"id":` + R + `,"metadata":{"legal_hold":true,"hold_reason":"x","legal_hold":false,"release_reason":"x","case_id":"KEEP-1"}}]}`, reject: 400, code: malformed},
		{name: "legal_hold twice, escaped", op: holds, body: `{"recordings":[{"id":` + R + `,"metadata":{"legal_hol\u0064":true,"hold_reason":"x","legal_hold":false,"release_reason":"x","case_id":"KEEP-1"}}]}`, reject: 400, code: malformed},
		{name: "metadata twice", op: holds, body: `{"recordings":[{"id":` + R + `,"metadata":{"legal_hold":true,"hold_reason":"x"},"metadata":` + release + `}]}`, reject: 400, code: malformed},
		{name: "id twice", op: holds, body: `{"recordings":[{"id":"` + fakeRec + `","metadata":` + release + `,"id":` + R + `}]}`, reject: 400, code: malformed},
		{name: "second document", op: holds, body: `{"recordings":[]} {"recordings":[{"id":` + R + `,"metadata":` + release + `}]}`, reject: 400, code: malformed},
		{name: "issue 8: metadata twice", op: exports, body: `{"filter":{"record_ids":[` + R + `]},"metadata":5,"metadata":{"legal_hold":true,"case_id":"ESC-1"}}`, reject: 400, code: malformed},
		{name: "export legal_hold twice", op: exports, body: `{"filter":{"record_ids":[` + R + `]},"metadata":{"legal_hold":false,"legal_hold":true,"case_id":"ESC-1"}}`, reject: 400, code: malformed},
		{name: "export legal_hold twice, escaped", op: exports, body: `{"filter":{"record_ids":[` + R + `]},"metadata":{"legal_hold":false,"legal_hol\u0064":true,"case_id":"ESC-1"}}`, reject: 400, code: malformed},
		{name: "export filter twice", op: exports, body: `{"filter":{"record_ids":["` + fakeRec + `"]},"filter":{"record_ids":[` + R + `]}}`, reject: 400, code: malformed},

		// Type confusion and nesting: a value that is not a boolean decides nothing.
		{name: "legal_hold a string", op: holds, body: `{"recordings":[{"id":` + R + `,"metadata":{"legal_hold":"false","release_reason":"x","case_id":"KEEP-1"}}]}`, reject: 400, code: invalid},
		{name: "legal_hold a number", op: holds, body: `{"recordings":[{"id":` + R + `,"metadata":{"legal_hold":0,"release_reason":"x","case_id":"KEEP-1"}}]}`, reject: 400, code: invalid},
		{name: "legal_hold null", op: holds, body: `{"recordings":[{"id":` + R + `,"metadata":{"legal_hold":null,"release_reason":"x","case_id":"KEEP-1"}}]}`, reject: 400, code: invalid},
		{name: "legal_hold in another case", op: holds, body: `{"recordings":[{"id":` + R + `,"metadata":{"Legal_Hold":false,"release_reason":"x","case_id":"KEEP-1"}}]}`, reject: 400, code: invalid},
		{name: "metadata an array", op: holds, body: `{"recordings":[{"id":` + R + `,"metadata":[` + release + `]}]}`, reject: 400, code: invalid},
		{name: "recordings an object", op: holds, body: `{"recordings":{"id":` + R + `,"metadata":` + release + `}}`, reject: 400, code: invalid},
		{name: "recordings nested", op: holds, body: `{"recordings":[[{"id":` + R + `,"metadata":` + release + `}]]}`, reject: 400, code: invalid},
		{name: "release hidden in a nested member", op: holds, body: `{"recordings":[{"id":` + R + `,"metadata":{"legal_hold":true,"hold_reason":"x","case_id":"M-3","extra":` + release + `}}]}`,
			needs: []string{pLegalHold}, reject: 400, code: invalid},
		{name: "body an array", op: holds, body: `[{"recordings":[{"id":` + R + `,"metadata":` + release + `}]}]`, reject: 400, code: malformed},
		{name: "export legal_hold a string", op: exports, body: `{"filter":{"record_ids":[` + R + `]},"metadata":{"legal_hold":"true","case_id":"ESC-2"}}`, reject: 400, code: invalid},
		{name: "export legal_hold a number", op: exports, body: `{"filter":{"record_ids":[` + R + `]},"metadata":{"legal_hold":1,"case_id":"ESC-2"}}`, reject: 400, code: invalid},
		{name: "export metadata an array", op: exports, body: `{"filter":{"record_ids":[` + R + `]},"metadata":[{"legal_hold":true,"case_id":"ESC-2"}]}`, reject: 400, code: invalid},
		{name: "export legalHold spelled otherwise", op: exports, body: `{"filter":{"record_ids":[` + R + `]},"legalHold":true,"case_id":"ESC-2"}`, reject: 400, code: invalid},
		{name: "export legal_hold in the query", op: exports, query: "?legal_hold=true", body: `{"filter":{"record_ids":[` + R + `]}}`, reject: 400, code: invalid},
		{name: "export hold nested in the filter", op: exports, body: `{"filter":{"record_ids":[` + R + `],"metadata":{"legal_hold":false}},"metadata":{"legal_hold":true,"case_id":"ESC-3"}}`,
			needs: []string{pLegalHold}, reject: 400, code: invalid},
		{name: "export hold in both places, disagreeing", op: exports, body: `{"filter":{"record_ids":[` + R + `]},"legal_hold":true,"metadata":{"legal_hold":false,"case_id":"ESC-4"}}`,
			reject: 400, code: invalid},
	}
	for _, c := range cases {
		r := authTable[c.op]
		var tmpl string
		for _, o := range a.spec.ops {
			if o.node["operationId"] == c.op {
				tmpl = o.template
			}
		}
		for _, tok := range toks {
			what := fmt.Sprintf("%s body %q", c.op, c.name)
			reply := a.send(t, oaReq{method: "POST", path: tmpl + c.query, token: tok.secret, body: []byte(c.body), ctype: "application/json"})
			missing := expectedMissing(r, tok.perms, c.needs)
			if tok.perms == nil || len(missing) > 0 || c.reject == 0 {
				checkAuth(t, what, tok, reply, missing)
				continue
			}
			if reply.status != c.reject {
				t.Errorf("%s with %s: %d, want %d %s\n%s", what, tok.name, reply.status, c.reject, c.code, reply.body)
				continue
			}
			if code, _ := reply.obj(t)["code"].(string); code != c.code {
				t.Errorf("%s with %s: code %q, want %q\n%s", what, tok.name, code, c.code, reply.body)
			}
		}
	}

	// The hold placed first survived everything above.
	if h := a.expect(t, oaGet("/api/v2/legalholds/"+keepID, admin), 200, "").obj(t); h["active"] != true {
		t.Errorf("hold %s of case KEEP-1 is no longer active: %v", keepID, h)
	}
	var deleter string
	for _, tok := range toks {
		if slices.Equal(tok.perms, []string{pDelete}) {
			deleter = tok.secret
		}
	}
	a.expect(t, oaReq{method: "DELETE", path: "/api/v2/recordings/" + rec, token: deleter}, 409, "legal_hold_active")
}

package console_test

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/holdfast/holdfast/client"
	"github.com/holdfast/holdfast/internal/console"
	"github.com/holdfast/holdfast/internal/media/synth"
	"github.com/holdfast/holdfast/internal/testserver"
)

// browser is an HTTP client with a cookie jar that does not follow
// redirects, so tests see each 303.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(method, path string, form url.Values, header map[string]string) page {
	b.t.Helper()
	var rd io.Reader
	if form != nil {
		rd = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, rd)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", b.base)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return page{status: res.StatusCode, header: res.Header, body: string(body)}
}

func (b *browser) get(path string) page { b.t.Helper(); return b.do(http.MethodGet, path, nil, nil) }

func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	return b.do(http.MethodPost, path, form, nil)
}

func (b *browser) signIn(token string) {
	b.t.Helper()
	p := b.post("/signin", url.Values{"token": {token}, "next": {"/"}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/" {
		b.t.Fatalf("sign in: %d %s %s", p.status, p.header.Get("Location"), p.body)
	}
}

func want(t *testing.T, what string, p page, status int, contains ...string) {
	t.Helper()
	if p.status != status {
		t.Fatalf("%s: status %d, want %d; body:\n%s", what, p.status, status, p.body)
	}
	for _, s := range contains {
		if !strings.Contains(p.body, s) {
			t.Errorf("%s: body lacks %q:\n%s", what, s, p.body)
		}
	}
}

func ingestOne(t *testing.T, c *client.Client) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 11))
	call := synth.Generate(rng, 1, synth.Options{Now: time.Now().UTC(), MinDuration: 2 * time.Second, MaxDuration: 3 * time.Second})[0]
	var wav bytes.Buffer
	if err := call.WriteWAV(&wav); err != nil {
		t.Fatal(err)
	}
	rec, err := c.Ingest(context.Background(), client.IngestRequest{Metadata: call.Metadata(),
		Media: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(wav.Bytes())), nil }, MediaName: "call.wav"})
	if err != nil {
		t.Fatal(err)
	}
	return rec.ID
}

func TestSignInSessionAndSignOut(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	id := ingestOne(t, srv.Client(t))
	b := newBrowser(t, srv.URL)

	p := b.get("/recordings")
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/signin?next=%2Frecordings") {
		t.Fatalf("signed-out page: %d %q, want 303 to /signin?next=/recordings", p.status, p.header.Get("Location"))
	}
	want(t, "sign-in form", b.get("/signin"), 200, `<label for="token">Token</label>`, `>Sign in</button>`)
	want(t, "unknown token", b.post("/signin", url.Values{"token": {"hf_nope"}}), 401, "unauthenticated")
	want(t, "empty token", b.post("/signin", url.Values{"token": {""}}), 400, "Token")

	p = b.post("/signin", url.Values{"token": {testserver.AdminToken}, "next": {"//evil.example/"}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/" {
		t.Fatalf("sign in with an off-site next: %d %q, want 303 to /", p.status, p.header.Get("Location"))
	}
	ck := p.header.Get("Set-Cookie")
	for _, attr := range []string{console.CookieName + "=", "HttpOnly", "SameSite=Strict", "Path=/"} {
		if !strings.Contains(ck, attr) {
			t.Errorf("session cookie %q lacks %s", ck, attr)
		}
	}
	if strings.Contains(ck, testserver.AdminToken) {
		t.Errorf("session cookie carries the token itself: %q", ck)
	}
	ov := b.get("/")
	want(t, "overview", ov, 200, "<h1>Overview</h1>", `aria-label="Main"`, ">Recordings</a>", ">Cases</a>", ">Exports</a>", ">Audit</a>", ">Sign out</button>", `<main id="main"`)
	if csp := ov.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	want(t, "recording page", b.get("/recordings/"+id), 200, `<audio controls`, "/api/v2/recordings/"+id+"/media")

	// The cookie authorises media (with Range) and nothing else of the API.
	media := b.do(http.MethodGet, "/api/v2/recordings/"+id+"/media", nil, map[string]string{"Range": "bytes=0-15"})
	if media.status != http.StatusPartialContent || len(media.body) != 16 || !strings.HasPrefix(media.body, "RIFF") {
		t.Errorf("media with the session cookie: %d, %d bytes %q", media.status, len(media.body), media.body[:min(len(media.body), 4)])
	}
	want(t, "API list with the cookie", b.get("/api/v2/recordings"), 401, "unauthenticated")
	want(t, "API recording with the cookie", b.get("/api/v2/recordings/"+id), 401, "unauthenticated")

	p = b.post("/signout", url.Values{})
	if p.status != http.StatusSeeOther || !strings.Contains(p.header.Get("Set-Cookie"), "Max-Age=0") {
		t.Fatalf("sign out: %d %q", p.status, p.header.Get("Set-Cookie"))
	}
	if p := b.get("/"); p.status != http.StatusSeeOther {
		t.Errorf("after sign-out GET / answered %d, want 303 to sign in", p.status)
	}
	// The old cookie value is dead on the server, not just in the browser.
	old := strings.TrimPrefix(strings.Split(ck, ";")[0], console.CookieName+"=")
	stale := newBrowser(t, srv.URL)
	if p := stale.do(http.MethodGet, "/api/v2/recordings/"+id+"/media", nil, map[string]string{"Cookie": console.CookieName + "=" + old}); p.status != http.StatusUnauthorized {
		t.Errorf("media with a signed-out cookie: %d, want 401", p.status)
	}
}

func TestCrossOriginFormsRefused(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	id := ingestOne(t, srv.Client(t))
	b := newBrowser(t, srv.URL)
	b.signIn(testserver.AdminToken)
	form := url.Values{"case_id": {"LC-X"}, "hold_reason": {"forged"}, "record_ids": {id}}
	for _, h := range []map[string]string{
		{"Sec-Fetch-Site": "cross-site", "Origin": "http://evil.example"},
		{"Sec-Fetch-Site": "", "Origin": "http://evil.example"},
	} {
		p := b.doForm("/cases/new", form, h)
		if p.status != http.StatusForbidden {
			t.Errorf("cross-origin POST with %v: %d, want 403", h, p.status)
		}
	}
	holds, err := srv.Client(t).ListHolds(context.Background(), "", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(holds.Items) != 0 {
		t.Errorf("a cross-origin form placed %d hold(s)", len(holds.Items))
	}
	// A same-origin form does the same thing successfully.
	p := b.post("/cases/new", form)
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/cases/LC-X") {
		t.Fatalf("same-origin hold form: %d %q %s", p.status, p.header.Get("Location"), p.body)
	}
}

// doForm posts form with exactly the given Origin/Sec-Fetch-Site headers.
func (b *browser) doForm(path string, form url.Values, h map[string]string) page {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range h {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return page{status: res.StatusCode, header: res.Header, body: string(body)}
}

func TestPermissionAwareAndServerRefuses(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	admin := srv.Client(t)
	id := ingestOne(t, admin)
	viewer, err := admin.CreateToken(context.Background(), "viewer", []string{"recording:view"})
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, srv.URL)
	b.signIn(viewer.Secret)
	want(t, "recording page for a viewer", b.get("/recordings/"+id), 200,
		`<button type="button" aria-disabled="true">Place hold <span class="req">Requires recording:export:legalhold</span></button>`)
	want(t, "audit page for a viewer", b.get("/audit"), 403, "Requires audit:view")
	want(t, "exports page for a viewer", b.get("/exports"), 403, "recording:export")
	p := b.post("/cases/new", url.Values{"case_id": {"LC-V"}, "hold_reason": {"r"}, "record_ids": {id}})
	want(t, "hold form posted by a viewer", p, 403, "permission_denied", "recording:export:legalhold")
	holds, err := admin.ListHolds(context.Background(), "", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(holds.Items) != 0 {
		t.Errorf("a viewer's form placed %d hold(s)", len(holds.Items))
	}
}

func TestRecordingsSearchErrorsAreTheAPIs(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	id := ingestOne(t, srv.Client(t))
	b := newBrowser(t, srv.URL)
	b.signIn(testserver.AdminToken)
	want(t, "search", b.get("/recordings?media_type=sip"), 200, `data-recording="`+id+`"`, `<label>Media type<select`)
	want(t, "bad status", b.get("/recordings?status=bogus"), 400, "query.status", "validation_failed")
	want(t, "no match", b.get("/recordings?media_type=EMAIL"), 200, "No recording matches.")
}

func TestRevokingTheTokenEndsTheSession(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	admin := srv.Client(t)
	id := ingestOne(t, admin)
	tok, err := admin.CreateToken(context.Background(), "paralegal", []string{"recording:view"})
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, srv.URL)
	b.signIn(tok.Secret)
	want(t, "overview before revocation", b.get("/"), 200, "Signed in as paralegal")
	if p := b.do(http.MethodGet, "/api/v2/recordings/"+id+"/media", nil, map[string]string{"Range": "bytes=0-3"}); p.status != http.StatusPartialContent {
		t.Fatalf("media before revocation: %d", p.status)
	}
	if _, err := admin.RevokeToken(context.Background(), tok.ID); err != nil {
		t.Fatal(err)
	}
	if p := b.do(http.MethodGet, "/api/v2/recordings/"+id+"/media", nil, map[string]string{"Range": "bytes=0-3"}); p.status != http.StatusUnauthorized {
		t.Errorf("media after revocation: %d, want 401", p.status)
	}
	p := b.get("/recordings")
	if p.status != http.StatusSeeOther || !strings.Contains(p.header.Get("Location"), "/signin") || !strings.Contains(p.header.Get("Location"), "revoked") {
		t.Errorf("page after revocation: %d %q, want 303 to /signin saying the token was revoked", p.status, p.header.Get("Location"))
	}
	want(t, "signing in again with the revoked token", b.post("/signin", url.Values{"token": {tok.Secret}}), 401, "revoked")
}

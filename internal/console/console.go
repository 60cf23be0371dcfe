// Package console is holdfast's web console: server-rendered pages for
// paralegals and e-discovery staff who would rather look than read JSON.
//
// It has no data path of its own. Every read and every action is an
// in-process request to the HTTP API (internal/httpapi) carrying the
// session's token, so the console sees exactly what the API answers and
// is refused exactly what the API refuses: same store methods, same
// validation, same permission checks, same audit entries. The only
// figures it takes from elsewhere are the Overview's counts, read through
// the same store the API uses.
//
// Templates, styles and the small progress script are embedded, so the
// console works offline with no build step. Sessions are server-side
// (see [Sessions]); every form is protected by Go's
// http.CrossOriginProtection and the cookie is SameSite=Strict.
package console

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/holdfast/holdfast/internal/auditlog"
	"github.com/holdfast/holdfast/internal/httpapi"
	"github.com/holdfast/holdfast/internal/store"
	"github.com/holdfast/holdfast/internal/vault"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// API is what the console needs of the HTTP API.
type API interface {
	// Handler serves API requests; the console sends its requests here
	// in-process, with the session's credential (httpapi.WithSession).
	Handler() http.Handler
	// Authenticate resolves a request's token as every API route does.
	Authenticate(r *http.Request) (vault.Token, error)
}

// Counts are the Overview's figures that no API list gives cheaply. Each
// is answered by the store from counters or small indexed tables, so the
// Overview costs the same at a million recordings as at a thousand.
type Counts interface {
	CountRecordingsByStatus(ctx context.Context) (map[vault.Status]int, error)
	CountActive(ctx context.Context) (store.ActiveCounts, error)
	AuditSize(ctx context.Context) (int64, error)
	LatestCheckpoint(ctx context.Context) (size int64, signed []byte, err error)
}

// Verifications reports the last "Verify now" outcome.
type Verifications interface {
	LastVerification() (auditlog.Verification, bool)
}

// Config wires a [Console]. API, Sessions, Counts and Clock are required.
type Config struct {
	API      API
	Sessions *Sessions
	Counts   Counts
	Audit    Verifications
	Clock    vault.Clock
	Logger   *slog.Logger
}

// Console serves the web console. It is safe for concurrent use.
type Console struct {
	cfg   Config
	log   *slog.Logger
	pages map[string]*template.Template
	mux   *http.ServeMux
}

// New parses the embedded templates and builds the console's routes.
func New(cfg Config) (*Console, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Console{cfg: cfg, log: cfg.Logger, pages: map[string]*template.Template{}, mux: http.NewServeMux()}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("console: templates: %w", err)
	}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New(base).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", base, err)
		}
		c.pages[base] = t
	}
	c.routes()
	return c, nil
}

// Patterns are the routes the console serves; everything else belongs to
// the API.
var Patterns = []string{
	"GET /{$}", "GET /signin", "POST /signin", "POST /signout", "GET /static/",
	"GET /recordings", "GET /recordings/{id}",
	"GET /cases", "GET /cases/new", "POST /cases/new", "GET /cases/{id}", "POST /cases/{id}/holds",
	"POST /cases/{id}/exports", "POST /cases/{id}/release",
	"GET /exports", "GET /exports/{id}", "GET /exports/{id}/status", "GET /exports/{id}/package", "POST /exports/{id}/cancel",
	"GET /audit", "POST /audit/verify",
}

// Handler serves the console's routes (see [Patterns]) behind
// cross-origin protection for every unsafe method.
func (c *Console) Handler() http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "cross-origin request refused: forms of the holdfast console can only be sent from its own pages", http.StatusForbidden)
	}))
	return securityHeaders(cop.Handler(c.mux))
}

// securityHeaders forbids every other origin: scripts, styles, media,
// frames and form targets come from this server only.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; media-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("X-Frame-Options", "DENY")
		h.ServeHTTP(w, r)
	})
}

func (c *Console) routes() {
	static, _ := fs.Sub(staticFS, "static")
	c.mux.Handle("GET /static/", http.StripPrefix("/static/", cacheStatic(http.FileServerFS(static))))
	c.mux.HandleFunc("GET /signin", c.signinForm)
	c.mux.HandleFunc("POST /signin", c.signin)
	c.mux.HandleFunc("POST /signout", c.signout)
	c.mux.Handle("GET /{$}", c.page(c.overview))
	c.mux.Handle("GET /recordings", c.page(c.recordings))
	c.mux.Handle("GET /recordings/{id}", c.page(c.recording))
	c.mux.Handle("GET /cases", c.page(c.cases))
	c.mux.Handle("GET /cases/new", c.page(c.newCaseForm))
	c.mux.Handle("POST /cases/new", c.page(c.newCase))
	c.mux.Handle("GET /cases/{id}", c.page(c.caseView))
	c.mux.Handle("POST /cases/{id}/holds", c.page(c.placeHold))
	c.mux.Handle("POST /cases/{id}/exports", c.page(c.startExport))
	c.mux.Handle("POST /cases/{id}/release", c.page(c.releaseCase))
	c.mux.Handle("GET /exports", c.page(c.exports))
	c.mux.Handle("GET /exports/{id}", c.page(c.exportView))
	c.mux.Handle("GET /exports/{id}/status", c.page(c.exportStatus))
	c.mux.Handle("GET /exports/{id}/package", c.page(c.exportPackage))
	c.mux.Handle("POST /exports/{id}/cancel", c.page(c.cancelExport))
	c.mux.Handle("GET /audit", c.page(c.audit))
	c.mux.Handle("POST /audit/verify", c.page(c.verifyAudit))
}

func cacheStatic(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		h.ServeHTTP(w, r)
	})
}

// view is what every page template receives.
type view struct {
	Title  string
	Nav    string
	Token  vault.Token
	Signed bool
	Flash  string
	Err    *httpapi.Problem
	Data   any

	secretHash string
}

// Lacks returns the first of perms the session's token lacks, or "".
func (v *view) Lacks(perms ...string) string {
	need := make([]vault.Permission, len(perms))
	for i, p := range perms {
		need[i] = vault.Permission(p)
	}
	if m := v.Token.Missing(need...); len(m) > 0 {
		return string(m[0])
	}
	return ""
}

// handlerFunc is a page handler of a signed-in session.
type handlerFunc func(w http.ResponseWriter, r *http.Request, v *view) error

// page resolves the session's token (through the API, so revocation ends
// the session) and runs h; a request without a live session is sent to
// the sign-in page.
func (c *Console) page(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secure := r.TLS != nil
		hash, ok := c.cfg.Sessions.SecretHash(r)
		if !ok {
			c.toSignin(w, r, "")
			return
		}
		tok, err := c.cfg.API.Authenticate(r.WithContext(httpapi.WithSession(r.Context(), hash)))
		var p *httpapi.Problem
		if errors.As(err, &p) && p.Status == http.StatusUnauthorized {
			if err := c.cfg.Sessions.End(r); err != nil {
				c.log.Warn("console: ending a session failed", "err", err)
			}
			http.SetCookie(w, clearCookie(secure))
			c.toSignin(w, r, "Your session ended: "+p.Message+".")
			return
		}
		if err != nil {
			c.renderError(w, r, &view{Title: "Unavailable"}, err)
			return
		}
		v := &view{Token: tok, Signed: true, secretHash: hash, Flash: r.URL.Query().Get("flash")}
		if err := h(w, r, v); err != nil {
			c.renderError(w, r, v, err)
		}
	})
}

func (c *Console) toSignin(w http.ResponseWriter, r *http.Request, msg string) {
	q := url.Values{}
	if r.Method == http.MethodGet && r.URL.Path != "/" {
		q.Set("next", r.URL.RequestURI())
	}
	if msg != "" {
		q.Set("msg", msg)
	}
	target := "/signin"
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// render executes a page template.
func (c *Console) render(w http.ResponseWriter, status int, name string, v *view) {
	t, ok := c.pages[name]
	if !ok {
		http.Error(w, "no such page", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		c.log.Error("console: render", "page", name, "err", err)
		http.Error(w, "the page could not be rendered; see the server log", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// renderError shows an API problem (or an internal error) on an error
// page with the status the API answered.
func (c *Console) renderError(w http.ResponseWriter, r *http.Request, v *view, err error) {
	var p *httpapi.Problem
	if !errors.As(err, &p) {
		c.log.Error("console: request failed", "path", r.URL.Path, "err", err)
		p = &httpapi.Problem{Status: http.StatusInternalServerError, Code: "internal_error", Message: "the console hit an unexpected error; it has been logged"}
	}
	v.Err = p
	if v.Title == "" {
		v.Title = http.StatusText(p.Status)
	}
	c.render(w, p.Status, "error", v)
}

func withSession(ctx context.Context, hash string) context.Context {
	return httpapi.WithSession(ctx, hash)
}

// callOpts adjust one in-process API request.
type callOpts struct {
	query          url.Values
	body           any
	idempotencyKey string
}

// call sends one request to the API in-process as the session's token and
// decodes a JSON answer into out. An error answer is returned as the
// API's *httpapi.Problem.
func (c *Console) call(r *http.Request, v *view, method, path string, o callOpts, out any) error {
	res := c.send(r, v, method, path, o)
	if res.status >= 400 {
		return res.problem()
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(res.body.Bytes(), out); err != nil {
		return fmt.Errorf("console: decode %s %s: %w", method, path, err)
	}
	return nil
}

// send runs the in-process request and captures the answer.
func (c *Console) send(r *http.Request, v *view, method, path string, o callOpts) *captured {
	var body io.Reader = http.NoBody
	if o.body != nil {
		b, _ := json.Marshal(o.body)
		body = bytes.NewReader(b)
	}
	u := path
	if len(o.query) > 0 {
		u += "?" + o.query.Encode()
	}
	req, err := http.NewRequestWithContext(httpapi.WithSession(r.Context(), v.secretHash), method, u, body)
	res := &captured{header: http.Header{}}
	if err != nil {
		res.status = http.StatusBadRequest
		res.body.WriteString(`{"status":400,"code":"validation_failed","message":"` + template.JSEscapeString(err.Error()) + `"}`)
		return res
	}
	req.RemoteAddr = r.RemoteAddr
	req.Header.Set("User-Agent", "holdfast-console")
	if o.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if o.idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", o.idempotencyKey)
	}
	c.cfg.API.Handler().ServeHTTP(res, req)
	if res.status == 0 {
		res.status = http.StatusOK
	}
	return res
}

// captured is an in-memory http.ResponseWriter for in-process calls.
type captured struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (c *captured) Header() http.Header { return c.header }
func (c *captured) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	return c.body.Write(b)
}
func (c *captured) WriteHeader(code int) {
	if c.status == 0 {
		c.status = code
	}
}

func (c *captured) problem() *httpapi.Problem {
	var p httpapi.Problem
	if err := json.Unmarshal(c.body.Bytes(), &p); err != nil || p.Code == "" {
		p = httpapi.Problem{Status: c.status, Code: "internal_error", Message: strings.TrimSpace(c.body.String())}
	}
	p.Status = c.status
	return &p
}

// funcs are the templates' helpers.
var funcs = template.FuncMap{
	"when": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			if v.IsZero() {
				return "—"
			}
			return v.UTC().Format("2006-01-02 15:04:05Z")
		case *time.Time:
			if v == nil || v.IsZero() {
				return "—"
			}
			return v.UTC().Format("2006-01-02 15:04:05Z")
		}
		return "—"
	},
	"act": func(v *view, perm, label string) action { return action{Label: label, Missing: v.Lacks(perm)} },
	"short": func(s string) string {
		if len(s) > 16 {
			return s[:16] + "…"
		}
		return s
	},
	"add": func(a, b int64) int64 { return a + b },
	"pageq": func(q url.Values, key, val string) string {
		n := url.Values{}
		for k, vs := range q {
			n[k] = vs
		}
		n.Set(key, val)
		return n.Encode()
	},
}

// action is a button that the token may or may not be allowed to press.
type action struct {
	Label   string
	Missing string
}

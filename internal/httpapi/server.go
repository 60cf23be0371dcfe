// Package httpapi is holdfast's HTTP API: routing, the middleware every
// request passes through (request ids, metrics, authentication, rate
// limits, fault injection, problem documents) and the handlers.
//
// Handlers only translate: they decode and validate requests with the
// rules in vault, call the store and blob store, and render responses. It
// is for `holdfast serve` and for tests that run the API in-process.
package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/holdfast/holdfast/internal/auditlog"
	"github.com/holdfast/holdfast/internal/blob"
	"github.com/holdfast/holdfast/internal/edge"
	"github.com/holdfast/holdfast/internal/faults"
	"github.com/holdfast/holdfast/internal/store"
	"github.com/holdfast/holdfast/internal/vault"
)

// Enqueuer receives newly ingested recordings for background processing.
type Enqueuer interface {
	Enqueue(id string, ingestedAt time.Time)
	QueueDepth() int64
}

// Config wires a Server. Store, Blobs, Clock, Processor and Signer are
// required.
type Config struct {
	Store     store.Store
	Blobs     blob.Store
	Clock     vault.Clock
	Logger    *slog.Logger
	Processor Enqueuer
	// Audit signs checkpoints of the store's audit log; its signer's key
	// is the server's public key.
	Audit *auditlog.Log
	// Faults injects rehearsal failures into hold and export requests.
	Faults *faults.Injector
	// MaxUploadBytes limits the media part of an upload (default 2 GiB).
	MaxUploadBytes int64
	// RateLimit and RateBurst bound each token's request rate (defaults
	// 50/s, burst 100).
	RateLimit rate.Limit
	RateBurst int
	// Registry receives the API's metrics (a new one if nil).
	Registry *prometheus.Registry
	// ExportNotify wakes the export engine after a job changes.
	ExportNotify func()
	// PackageDir returns the local directory of a finished bag.
	PackageDir func(bagName string) (string, error)
	// AuditStatus reports the result of the startup audit self-check for
	// /readyz; nil means healthy.
	AuditStatus func() error
	// CheckDestination, if set, vets an export destination against what
	// this server can reach (an S3 destination needs an S3 connection and
	// must not overlap the blob store); it returns *vault.ValidationError.
	// Without it, S3 destinations are refused as unsupported.
	CheckDestination func(d vault.Destination) error
	// ReadyChecks are further named checks /readyz runs and reports (for
	// example Object Lock and blob scrubbing).
	ReadyChecks []ReadyCheck
	// Session, if set, resolves the console's session cookie of r to its
	// token's secret hash; only the media route accepts it (see
	// mediaRoute).
	Session func(r *http.Request) (secretHash string, ok bool)
	// Proxies are the trusted proxies (--trusted-proxies): per-client
	// limits key on the X-Forwarded-For client they name.
	Proxies edge.Proxies
	// UnauthRateLimit and UnauthRateBurst bound requests without a valid
	// token per client address (defaults 10/s, burst 50).
	UnauthRateLimit rate.Limit
	UnauthRateBurst int
	// BodyWindow and BodyMinRate bound slow request bodies (see
	// edge.Limits; defaults 20 s and 1 KiB/s).
	BodyWindow  time.Duration
	BodyMinRate int64
}

// ReadyCheck is one named /readyz check. Check returns the state to
// report ("in force, 0 pending"), or an error that makes the replica not
// ready.
type ReadyCheck struct {
	Name  string
	Check func(ctx context.Context) (string, error)
}

// Server is the HTTP API. It is safe for concurrent use.
type Server struct {
	cfg     Config
	log     *slog.Logger
	mux     *http.ServeMux
	metrics *metrics

	limMu    sync.Mutex
	limiters map[string]*rate.Limiter

	// touchMu guards touched: when this process last wrote each token's
	// last_used_at (see [Server.touch]).
	touchMu  sync.Mutex
	touched  map[string]time.Time
	unauth   *edge.KeyedLimiter
	inFlight atomic.Int64

	sumsMu sync.Mutex
	sums   map[string]map[string]string
}

// InFlight is the number of API requests being served; the export engine
// yields to them.
func (s *Server) InFlight() int64 { return s.inFlight.Load() }

// New builds the API.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxUploadBytes <= 0 {
		cfg.MaxUploadBytes = 2 << 30
	}
	if cfg.RateLimit <= 0 {
		cfg.RateLimit = 50
	}
	if cfg.RateBurst <= 0 {
		cfg.RateBurst = 100
	}
	if cfg.UnauthRateLimit <= 0 {
		cfg.UnauthRateLimit = 10
	}
	if cfg.UnauthRateBurst <= 0 {
		cfg.UnauthRateBurst = 50
	}
	if cfg.BodyWindow <= 0 {
		cfg.BodyWindow = edge.DefaultBodyWindow
	}
	if cfg.BodyMinRate <= 0 {
		cfg.BodyMinRate = edge.DefaultBodyMinRate
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	s := &Server{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux(), limiters: map[string]*rate.Limiter{}, touched: map[string]time.Time{}, sums: map[string]map[string]string{},
		unauth: edge.NewKeyedLimiter(cfg.UnauthRateLimit, cfg.UnauthRateBurst)}
	s.metrics = newMetrics(cfg.Registry, cfg.Store, cfg.Processor, s.InFlight)
	s.routes()
	return s
}

// Wrap applies the API's middleware (request id, panic recovery, metrics,
// the minimum body rate) to h, so that the console's pages are measured
// and bounded like API routes.
func (s *Server) Wrap(h http.Handler) http.Handler {
	return s.withRequest(edge.LimitBodyRate(h, s.cfg.BodyWindow, s.cfg.BodyMinRate, time.Now, bodyTooSlow))
}

// Handler returns the root handler with all middleware applied.
func (s *Server) Handler() http.Handler {
	return s.Wrap(s.mux)
}

// authed wraps a handler that needs a token with the given permissions.
type apiHandler func(w http.ResponseWriter, r *http.Request, tok vault.Token) error

// routeOpts describe how a route is guarded. Its permissions are checked
// before the body is read; permissions that depend on the body are the
// handler's (see decided), which takes them from the one decoded value.
type routeOpts struct {
	perms []vault.Permission // every one is needed
	anyOf []vault.Permission // at least one is needed
	// faults: subject to fault injection (hold and export requests),
	// after the permission check.
	faults bool
	// query, if set, lists every query parameter the route knows; any
	// other is refused as validation_failed naming query.<name>, never
	// silently ignored. Every list endpoint (and every other route that
	// reads its query) sets it.
	query []string
}

// Known query parameters of the list endpoints. Adding a parameter to an
// endpoint is one more name here.
var (
	pageQuery       = []string{"limit", "cursor"}
	recordingsQuery = append([]string{"media_type", "from", "to", "status", "case_id", "label", "call_id", "participant", "legal_hold"}, pageQuery...)
	holdsQuery      = append([]string{"case_id"}, pageQuery...)
	auditQuery      = append([]string{"start"}, pageQuery...)
	proofQuery      = []string{"recording_id"}
)

// withQuery is o for a route that knows the given query parameters (and
// refuses any other).
func withQuery(o routeOpts, query []string) routeOpts {
	o.query = query
	return o
}

func (s *Server) handle(pattern string, o routeOpts, h apiHandler) {
	s.mux.Handle(pattern, s.guard(o, h))
}

func (s *Server) routes() {
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.Handle("GET /metrics", s.metricsHandler())
	s.mux.HandleFunc("GET /openapi.json", s.openapiJSON)
	s.mux.HandleFunc("GET /openapi.yaml", s.openapiYAML)

	view := routeOpts{perms: []vault.Permission{vault.PermRecordingView}}
	admin := routeOpts{perms: []vault.Permission{vault.PermAdmin}}
	s.handle("POST /api/v2/tokens", admin, s.createToken)
	s.handle("GET /api/v2/tokens", withQuery(admin, pageQuery), s.listTokens)
	s.handle("DELETE /api/v2/tokens/{id}", admin, s.revokeToken)
	s.handle("POST /api/v2/recordings", routeOpts{perms: []vault.Permission{vault.PermRecordingIngest}}, s.ingest)
	s.handle("GET /api/v2/recordings", withQuery(view, recordingsQuery), s.listRecordings)
	s.handle("GET /api/v2/recordings/{id}", view, s.getRecording)
	s.handle("GET /api/v2/recordings/{id}/media", view, s.getMedia) // = mediaRoute
	s.handle("DELETE /api/v2/recordings/{id}", routeOpts{perms: []vault.Permission{vault.PermRecordingDelete}}, s.deleteRecording)

	s.handle("POST /api/v2/recordings/legalholds", routeOpts{anyOf: []vault.Permission{vault.PermExportLegalHold, vault.PermLegalHoldRelease}}, decided(s, decodeRecordingHolds, s.applyRecordingHolds))
	s.handle("POST /api/v2/legalholds", routeOpts{perms: []vault.Permission{vault.PermExportLegalHold}, faults: true}, s.createHold)
	s.handle("GET /api/v2/legalholds", withQuery(view, holdsQuery), s.listHolds)
	s.handle("GET /api/v2/legalholds/{id}", view, s.getHold)
	s.handle("GET /api/v2/legalholds/{id}/recordings", withQuery(view, pageQuery), s.listHoldRecordings)
	s.handle("GET /api/v2/legalholds/{id}/proof", withQuery(view, proofQuery), s.holdProof)
	s.handle("POST /api/v2/legalholds/{id}/release", routeOpts{perms: []vault.Permission{vault.PermLegalHoldRelease}, faults: true}, s.releaseHold)

	s.handle("GET /api/v2/cases", withQuery(view, pageQuery), s.listCases)
	s.handle("GET /api/v2/cases/{case_id}", view, s.getCase)
	s.handle("POST /api/v2/cases/{case_id}/release", routeOpts{perms: []vault.Permission{vault.PermLegalHoldRelease}, faults: true}, s.releaseCase)

	exp := routeOpts{perms: []vault.Permission{vault.PermRecordingExport}}
	s.handle("POST /api/v2/bulk/recordingexports", exp, decided(s, decodeExportRequest, s.createExport))
	s.handle("GET /api/v2/bulk/recordingexports", withQuery(exp, pageQuery), s.listExports)
	s.handle("GET /api/v2/bulk/recordingexports/{id}", exp, s.getExport)
	s.handle("DELETE /api/v2/bulk/recordingexports/{id}", routeOpts{perms: exp.perms, faults: true}, s.cancelExport)
	s.handle("GET /api/v2/bulk/recordingexports/{id}/proof", withQuery(exp, proofQuery), s.exportProof)
	s.handle("GET /api/v2/bulk/recordingexports/{id}/package", exp, s.downloadPackage)
	s.handle("GET /api/v2/bulk/recordingexports/{id}/package/files", withQuery(exp, pageQuery), s.listPackageFiles)
	s.handle("GET /api/v2/bulk/recordingexports/{id}/package/files/{path...}", exp, s.getPackageFile)

	auditView := routeOpts{perms: []vault.Permission{vault.PermAuditView}}
	s.handle("GET /api/v2/audit/entries", withQuery(auditView, auditQuery), s.auditEntries)
	s.handle("GET /api/v2/audit/checkpoint", auditView, s.auditCheckpoint)
	s.handle("GET /api/v2/audit/proof/inclusion", auditView, s.auditInclusion)
	s.handle("GET /api/v2/audit/proof/consistency", auditView, s.auditConsistency)
	s.handle("POST /api/v2/audit/verify", auditView, s.auditVerify)
	s.mux.HandleFunc("GET /api/v2/signing-key", s.signingKey)

	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, r, newProblem(http.StatusNotFound, "not_found", "no such endpoint: "+r.Method+" "+r.URL.Path+"; see /openapi.json"))
	})
}

// guard authenticates, checks permissions, applies the rate limit and
// fault injection, then runs h and renders its error as a problem.
func (s *Server) guard(o routeOpts, h apiHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, p := s.authenticate(r)
		if p != nil {
			writeProblem(w, r, s.limitUnauthenticated(r, p))
			return
		}
		if p := s.rateLimit(tok); p != nil {
			writeProblem(w, r, p)
			return
		}
		if missing := tok.Missing(o.perms...); len(missing) > 0 {
			writeProblem(w, r, permissionProblem(missing))
			return
		}
		if len(o.anyOf) > 0 {
			if missing := tok.Missing(o.anyOf...); len(missing) == len(o.anyOf) {
				writeProblem(w, r, anyPermissionProblem(missing))
				return
			}
		}
		if p := unknownQuery(r, o.query); p != nil {
			s.fail(w, r, p)
			return
		}
		if id := r.PathValue("id"); id != "" && !vault.PlausibleID(id) {
			writeProblem(w, r, notFound(r))
			return
		}
		if o.faults {
			if p := s.injectFault(); p != nil {
				writeProblem(w, r, p)
				return
			}
		}
		if err := h(w, r, tok); err != nil {
			s.fail(w, r, err)
		}
	})
}

// unknownQuery refuses every query parameter of r that known does not
// list (all at once, in name order); nil known means the route does not
// check.
func unknownQuery(r *http.Request, known []string) error {
	if known == nil {
		return nil
	}
	var names []string
	for name := range r.URL.Query() {
		if !slices.Contains(known, name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	var probs vault.Problems
	for _, name := range names {
		probs.Add("query."+truncateName(name), "unknown_field", "is not a query parameter of this endpoint; known parameters are "+strings.Join(known, ", "))
	}
	return probs.Err()
}

// truncateName bounds a client-chosen name echoed in an error.
func truncateName(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// notFound names what was looked for: the kind of resource (from the
// route) and its id.
func notFound(r *http.Request) *Problem {
	kind, id := "resource", r.PathValue("id")
	switch {
	case strings.Contains(r.Pattern, " /api/v2/cases/"):
		kind, id = "case", r.PathValue("case_id")
	case strings.Contains(r.Pattern, "/recordingexports/"):
		kind = "export job"
	case strings.Contains(r.Pattern, "/legalholds/"):
		kind = "legal hold"
	case strings.Contains(r.Pattern, "/recordings/"):
		kind = "recording"
	case strings.Contains(r.Pattern, "/tokens/"):
		kind = "token"
	}
	if id == "" {
		return newProblem(http.StatusNotFound, "not_found", "no such resource")
	}
	return newProblem(http.StatusNotFound, "not_found", fmt.Sprintf("no %s has id %q", kind, truncateName(id)))
}

// fail renders err as a problem, logging errors that are not the client's.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, vault.ErrNotFound) {
		err = notFound(r)
	}
	p, known := problemFor(err)
	if !known {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "request_id", requestID(r.Context()), "err", err)
	}
	writeProblem(w, r, p)
}

func permissionProblem(missing []vault.Permission) *Problem {
	names := ""
	for i, m := range missing {
		if i > 0 {
			names += ", "
		}
		names += string(m)
	}
	p := newProblem(http.StatusForbidden, "permission_denied", "this token lacks the permission(s) "+names+"; ask an administrator for a token that has them")
	p.MissingPermissions = missing
	return p
}

// anyPermissionProblem is the 403 for a token that has none of the
// permissions of which a route needs one; it lacks them all.
func anyPermissionProblem(missing []vault.Permission) *Problem {
	p := permissionProblem(missing)
	names := ""
	for i, m := range missing {
		if i > 0 {
			names += " or "
		}
		names += string(m)
	}
	p.Message = "this token needs at least one of the permissions " + names + "; ask an administrator for a token that has the one the request needs"
	return p
}

func (s *Server) injectFault() *Problem {
	if s.cfg.Faults == nil {
		return nil
	}
	ra := s.cfg.Faults.Config().RetryAfter
	switch s.cfg.Faults.Decide() {
	case faults.Locked:
		return newProblem(http.StatusConflict, "recording_locked", "the recording is locked by another operation (injected fault); retry after the delay in Retry-After").withRetryAfter(ra)
	case faults.RateLimited:
		return newProblem(http.StatusTooManyRequests, "rate_limited", "too many requests (injected fault); retry after the delay in Retry-After").withRetryAfter(ra)
	case faults.Unavailable:
		return newProblem(http.StatusServiceUnavailable, "unavailable", "the service is temporarily unavailable (injected fault); retry after the delay in Retry-After").withRetryAfter(ra)
	}
	return nil
}

// now is the injected clock's time.
func (s *Server) now() time.Time { return s.cfg.Clock.Now() }

type ctxKey int

const requestIDKey ctxKey = 1

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

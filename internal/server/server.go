// Package server assembles a running holdfast server from its parts: the
// metadata store, blob store, signing key, processor, audit log and HTTP
// API. `holdfast serve` and `holdfast demo` both start one.
package server

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/holdfast/holdfast/internal/atomicfile"
	"github.com/holdfast/holdfast/internal/audit"
	"github.com/holdfast/holdfast/internal/auditlog"
	"github.com/holdfast/holdfast/internal/blob"
	"github.com/holdfast/holdfast/internal/blob/fsblob"
	"github.com/holdfast/holdfast/internal/blob/s3blob"
	"github.com/holdfast/holdfast/internal/blobgc"
	"github.com/holdfast/holdfast/internal/console"
	"github.com/holdfast/holdfast/internal/edge"
	"github.com/holdfast/holdfast/internal/export"
	"github.com/holdfast/holdfast/internal/faults"
	"github.com/holdfast/holdfast/internal/httpapi"
	"github.com/holdfast/holdfast/internal/jobs"
	"github.com/holdfast/holdfast/internal/processor"
	"github.com/holdfast/holdfast/internal/store"
	"github.com/holdfast/holdfast/internal/store/pgstore"
	"github.com/holdfast/holdfast/internal/store/sqlitestore"
	"github.com/holdfast/holdfast/internal/store/sqlstore"
	"github.com/holdfast/holdfast/internal/vault"
)

// Config is the server configuration of contract §2.
type Config struct {
	Listen         string
	DataDir        string
	DatabaseURL    string // "" = SQLite in DataDir
	BlobURL        string // "" = file://<data>/blobs
	SigningKeyFile string // "" = <data>/signing-key
	BootstrapToken string // "" = generate into <data>/bootstrap-token if no token exists
	Faults         string
	// ScrubRate is how many bytes per second blob scrubbing re-hashes
	// (0 turns scrubbing off).
	ScrubRate      int64
	MaxUploadBytes int64
	RateLimit      float64
	RateBurst      int
	// TrustedProxies lists the proxies (CIDRs or addresses) whose
	// X-Forwarded-For names the client (--trusted-proxies).
	TrustedProxies string
	// Edge bounds connections, idle keep-alives and slow bodies; zero
	// fields are derived from the file-descriptor limit.
	Edge edge.Limits
	// UnauthRateLimit and UnauthRateBurst bound requests without a valid
	// token per client address.
	UnauthRateLimit float64
	UnauthRateBurst int
	Logger          *slog.Logger
	Clock           vault.Clock
}

// ConfigError reports configuration that cannot work; the CLI exits 2.
type ConfigError struct{ Msg string }

func (e *ConfigError) Error() string { return e.Msg }

// App is an assembled server. Run serves until its context ends.
type App struct {
	cfg       Config
	log       *slog.Logger
	Store     store.Store
	db        *sqlstore.Store
	Blobs     blob.Store
	Audit     *auditlog.Log
	Processor *processor.Worker
	// Jobs is the job engine every background task runs on.
	Jobs    *jobs.Engine
	Exports *export.Engine
	API     *httpapi.Server
	// Console is the web console at /; Sessions are its sign-ins.
	Console  *console.Console
	Sessions *console.Sessions
	// Handler serves the API and the console.
	Handler http.Handler
	// BootstrapSecret is the admin token created at first start, if this
	// start created one ("" otherwise).
	BootstrapSecret string
	proxies         edge.Proxies
	limits          edge.Limits
	nofile          uint64
	edge            atomic.Pointer[edge.Listener] // set by Run

	auditMu  sync.Mutex
	auditErr error
}

// Open builds the server: it opens the stores, loads or creates the
// signing key, ensures an admin token exists and checks the audit log.
func Open(ctx context.Context, cfg Config) (*App, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = vault.SystemClock{}
	}
	if cfg.DataDir == "" {
		cfg.DataDir = "./holdfast-data"
	}
	fc, err := faults.Parse(cfg.Faults)
	if err != nil {
		return nil, &ConfigError{Msg: err.Error()}
	}
	proxies, err := edge.ParseProxies(cfg.TrustedProxies)
	if err != nil {
		return nil, &ConfigError{Msg: err.Error()}
	}
	nofile := edge.FileLimit()
	limits, err := cfg.Edge.Resolve(nofile)
	if err != nil {
		return nil, &ConfigError{Msg: err.Error()}
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, &ConfigError{Msg: fmt.Sprintf("data directory %s: %v", cfg.DataDir, err)}
	}
	a := &App{cfg: cfg, log: cfg.Logger, proxies: proxies, limits: limits, nofile: nofile}
	a.Store, err = openStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	a.Blobs, err = openBlobs(ctx, cfg)
	if err != nil {
		a.Store.Close()
		return nil, err
	}
	keyPath := cfg.SigningKeyFile
	if keyPath == "" {
		keyPath = filepath.Join(cfg.DataDir, "signing-key")
	}
	key, err := audit.LoadOrCreateKey(keyPath)
	if err != nil {
		a.Store.Close()
		return nil, &ConfigError{Msg: fmt.Sprintf("signing key %s: %v", keyPath, err)}
	}
	signer, err := audit.NewSigner(audit.DefaultOrigin(key.Public().(ed25519.PublicKey)), key)
	if err != nil {
		a.Store.Close()
		return nil, fmt.Errorf("server: signer: %w", err)
	}
	a.db = a.Store.(*sqlstore.Store)
	a.Audit = &auditlog.Log{Store: a.Store, Signer: signer, Keys: a.db}
	// Every replica signs with the log's one key: a foreign or retired key
	// refuses to start, naming both fingerprints.
	if err := a.Audit.ClaimKey(ctx, a.db, cfg.Clock.Now()); err != nil {
		a.Store.Close()
		var fe *auditlog.ForeignKeyError
		if errors.As(err, &fe) {
			return nil, &ConfigError{Msg: err.Error()}
		}
		return nil, err
	}
	if err := a.bootstrapToken(ctx); err != nil {
		a.Store.Close()
		return nil, err
	}
	// The embedded database belongs to this process alone, so whatever a
	// previous process left in flight is abandoned: reclaim it at once.
	// With a shared PostgreSQL other servers may be running; their
	// reservations and leases expire on their own instead.
	embedded := !strings.HasPrefix(cfg.DatabaseURL, "postgres")
	if embedded {
		if err := a.Store.ClearIdempotencyReservations(ctx); err != nil {
			a.Store.Close()
			return nil, err
		}
	}
	a.checkAudit(ctx)
	injector := faults.NewInjector(fc, rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x686f6c64)))
	a.Jobs = jobs.New(jobs.Config{Driver: a.db, Owner: vault.NewID("replica", cfg.Clock.Now()), Clock: cfg.Clock, Logger: cfg.Logger})
	a.Processor = processor.New(processor.Config{Store: a.Store, Blobs: a.Blobs, Clock: cfg.Clock, Logger: cfg.Logger, Delay: fc.ProcessingDelay,
		Jobs: a.db, Notify: a.Jobs.Notify})
	a.Jobs.Register(jobs.KindProcessRecording, a.Processor, 2)
	a.Jobs.Register(jobs.KindSignCheckpoint, auditlog.SignWorker{Log: a.Audit}, 1)
	a.Jobs.Every(jobs.KindSignCheckpoint, 5*time.Second)
	// Sweep removes blobs no recording refers to and untouched for an
	// hour. Content of a recording under hold is always referenced, so it
	// is never collected.
	a.Jobs.Register(jobs.KindSweepBlobs, &blobgc.Worker{Blobs: a.Blobs, Refs: a.Store, Clock: cfg.Clock, MinAge: time.Hour, Logger: cfg.Logger}, 1)
	a.Jobs.Every(jobs.KindSweepBlobs, 10*time.Minute)
	if embedded {
		if err := a.Store.ExpireExportLeases(ctx); err != nil {
			a.Store.Close()
			return nil, err
		}
	}
	dest := export.FilesystemDestination{Root: filepath.Join(cfg.DataDir, "exports")}
	var s3dest *s3Destination
	if s3, ok := a.Blobs.(*s3blob.Store); ok {
		s3dest = &s3Destination{blobs: s3, clock: cfg.Clock}
	}
	var uploader export.S3Uploader
	var checkDest func(vault.Destination) error
	if s3dest != nil {
		uploader, checkDest = s3dest, s3dest.check
	}
	a.Exports = export.New(export.Config{S3: uploader, Store: a.Store, Blobs: a.Blobs, Audit: a.Audit, Dest: dest, Clock: cfg.Clock, Logger: cfg.Logger,
		Owner: vault.NewID("engine", cfg.Clock.Now()), Yield: a.yieldToAPI})
	a.Sessions = console.NewSessions(a.Store, cfg.Clock, cfg.Logger)
	reg := prometheus.NewRegistry()
	checks, err := a.wireObjectLock(ctx, reg)
	if err != nil {
		a.Store.Close()
		return nil, err
	}
	checks = append(checks, a.wireScrub(reg)...)
	a.wireEdgeMetrics(reg)
	a.API = httpapi.New(httpapi.Config{
		Registry: reg, ReadyChecks: checks, CheckDestination: checkDest,
		Session:      a.Sessions.SecretHash,
		ExportNotify: a.Exports.Notify, PackageDir: dest.Local,
		Store: a.Store, Blobs: a.Blobs, Clock: cfg.Clock, Logger: cfg.Logger, Processor: a.Processor,
		Audit: a.Audit, Faults: injector, MaxUploadBytes: cfg.MaxUploadBytes,
		RateLimit: rateLimit(cfg.RateLimit), RateBurst: cfg.RateBurst,
		Proxies: proxies, UnauthRateLimit: rateLimit(cfg.UnauthRateLimit), UnauthRateBurst: cfg.UnauthRateBurst,
		BodyWindow: limits.BodyWindow, BodyMinRate: limits.BodyMinRate,
		AuditStatus: func() error { a.auditMu.Lock(); defer a.auditMu.Unlock(); return a.auditErr },
	})
	c, err := console.New(console.Config{API: a.API, Sessions: a.Sessions, Counts: a.Store, Audit: a.Audit, Clock: cfg.Clock, Logger: cfg.Logger})
	if err != nil {
		a.Store.Close()
		return nil, err
	}
	a.Console = c
	mux := http.NewServeMux()
	mux.Handle("/", a.API.Handler())
	consoleHandler := a.API.Wrap(c.Handler())
	for _, p := range console.Patterns {
		mux.Handle(p, consoleHandler)
	}
	a.Handler = mux
	return a, nil
}

func openStore(ctx context.Context, cfg Config) (*sqlstore.Store, error) {
	u := cfg.DatabaseURL
	switch {
	case u == "":
		return sqlitestore.Open(ctx, filepath.Join(cfg.DataDir, "holdfast.db"))
	case strings.HasPrefix(u, "sqlite://"):
		return sqlitestore.Open(ctx, strings.TrimPrefix(u, "sqlite://"))
	case strings.HasPrefix(u, "postgres://"), strings.HasPrefix(u, "postgresql://"):
		return pgstore.Open(ctx, u)
	}
	return nil, &ConfigError{Msg: fmt.Sprintf("database: %q is not a supported URL; use sqlite://PATH or leave it unset", u)}
}

func openBlobs(ctx context.Context, cfg Config) (blob.Store, error) {
	u := cfg.BlobURL
	if u == "" {
		return fsblob.Open(filepath.Join(cfg.DataDir, "blobs"))
	}
	pu, err := url.Parse(u)
	if err != nil {
		return nil, &ConfigError{Msg: fmt.Sprintf("blobs: %q is not a URL: %v", u, err)}
	}
	switch pu.Scheme {
	case "file":
		// A directory named explicitly may be shared with other servers:
		// leave their uploads in flight alone.
		return fsblob.Open(pu.Path, fsblob.KeepRecentTemps(time.Hour))
	case "s3":
		c, err := s3blob.ParseURL(u)
		if err != nil {
			return nil, &ConfigError{Msg: "blobs: " + err.Error()}
		}
		return s3blob.Open(ctx, c)
	}
	return nil, &ConfigError{Msg: fmt.Sprintf("blobs: unsupported scheme %q; use file:///path or s3://bucket/prefix?endpoint=…&region=…&path_style=true", pu.Scheme)}
}

func rateLimit(v float64) rate.Limit { return rate.Limit(v) }

// bootstrapToken ensures an admin token exists (contract §2).
func (a *App) bootstrapToken(ctx context.Context) error {
	now := a.cfg.Clock.Now()
	if secret := a.cfg.BootstrapToken; secret != "" {
		tok, err := a.Store.TokenBySecretHash(ctx, httpapi.HashSecret(secret))
		if err == nil {
			if tok.RevokedAt != nil {
				// A revoked secret stays revoked; a new one makes a new admin token.
				a.log.Warn("the bootstrap token was revoked and stays revoked; set HOLDFAST_BOOTSTRAP_TOKEN to a new secret to create a new admin token", "token", tok.ID)
			}
			return nil
		}
		if !errors.Is(err, vault.ErrNotFound) {
			return err
		}
		_, err = a.Store.CreateToken(ctx, store.CreateTokenParams{ID: vault.NewID("tok", now), Name: "bootstrap", Permissions: []vault.Permission{vault.PermAdmin},
			SecretHash: httpapi.HashSecret(secret), Actor: "system", Now: now})
		return err
	}
	n, err := a.Store.CountTokens(ctx)
	if err != nil || n > 0 {
		return err
	}
	secret := httpapi.NewSecret()
	path := filepath.Join(a.cfg.DataDir, "bootstrap-token")
	if err := atomicfile.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return fmt.Errorf("server: bootstrap token: %w", err)
	}
	if _, err := a.Store.CreateToken(ctx, store.CreateTokenParams{ID: vault.NewID("tok", now), Name: "bootstrap", Permissions: []vault.Permission{vault.PermAdmin},
		SecretHash: httpapi.HashSecret(secret), Actor: "system", Now: now}); err != nil {
		return err
	}
	a.BootstrapSecret = secret
	a.log.Info("created bootstrap admin token", "file", path)
	return nil
}

// checkAudit verifies the log against the last checkpoint; a mismatch is
// logged loudly and fails /readyz.
func (a *App) checkAudit(ctx context.Context) {
	problems, err := a.Audit.SelfCheck(ctx)
	a.auditMu.Lock()
	defer a.auditMu.Unlock()
	switch {
	case err != nil:
		a.auditErr = fmt.Errorf("audit self-check could not run: %w", err)
	case len(problems) > 0:
		a.auditErr = fmt.Errorf("audit log does not match its last signed checkpoint: %s (and %d problem(s) in all)", problems[0].String(), len(problems))
	}
	if a.auditErr != nil {
		for _, p := range problems {
			a.log.Error("AUDIT LOG TAMPERING OR CORRUPTION DETECTED", "index", p.Index, "problem", p.Message)
		}
		a.log.Error("AUDIT LOG CHECK FAILED; /readyz will report not ready", "err", a.auditErr)
	}
}

// Run serves on ln until ctx ends, then shuts down gracefully, writing a
// final checkpoint.
func (a *App) Run(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := a.Jobs.Run(ctx); err != nil {
			a.log.Error("job engine stopped", "err", err)
		}
	}()
	go func() {
		defer wg.Done()
		a.Exports.Run(ctx)
	}()
	srv, el := a.edgeServer(ln)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(el) }()
	a.log.Info("listening on " + ln.Addr().String())
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	shutCtx, done := context.WithTimeout(context.Background(), 10*time.Second)
	defer done()
	_ = srv.Shutdown(shutCtx)
	cancel()
	wg.Wait()
	if _, _, cerr := a.Audit.Checkpoint(shutCtx); cerr != nil {
		a.log.Error("final checkpoint failed", "err", cerr)
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// yieldToAPI pauses an export's copy loop briefly while API requests are
// being served, so a large export runs at lower priority than the API.
func (a *App) yieldToAPI(ctx context.Context) {
	for i := 0; i < 20 && a.API.InFlight() > 0 && ctx.Err() == nil; i++ {
		time.Sleep(time.Millisecond)
	}
}

// Close releases the stores.
func (a *App) Close() error { return a.Store.Close() }

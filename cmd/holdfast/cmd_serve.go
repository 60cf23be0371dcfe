package main

import (
	"fmt"
	"log/slog"
	"net"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/holdfast/holdfast/internal/edge"
	"github.com/holdfast/holdfast/internal/server"
)

type serveOptions struct {
	listen, data, database, blobs, signingKey, faults string
	maxUpload, scrubRate                              int64
	rateLimit                                         float64
	rateBurst                                         int
	logLevel                                          string
	trustedProxies                                    string
	unauthRateLimit                                   float64
	unauthRateBurst                                   int
	edge                                              edge.Limits
}

func newServeCommand(e *env) *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:     "serve",
		Example: "  holdfast serve\n  holdfast serve --data /var/lib/holdfast --listen 127.0.0.1:8640\n  holdfast serve --faults 'locked=0.3,rate_limited=0.1,unavailable=0.05,retry_after=2s,processing_delay=5s'",
		Short:   "Run the holdfast server",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runServe(cmd, e, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", "", "listen address (env HOLDFAST_LISTEN; default 127.0.0.1:8640)")
	f.StringVar(&o.data, "data", "", "data directory (env HOLDFAST_DATA; default ./holdfast-data)")
	f.StringVar(&o.database, "database", "", "metadata database URL (env HOLDFAST_DATABASE_URL; default embedded SQLite in the data directory)")
	f.StringVar(&o.blobs, "blobs", "", "blob storage URL (env HOLDFAST_BLOB_URL; default file://<data>/blobs)")
	f.StringVar(&o.signingKey, "signing-key", "", "Ed25519 signing key file (env HOLDFAST_SIGNING_KEY_FILE; default <data>/signing-key)")
	f.StringVar(&o.faults, "faults", "", "fault injection, e.g. 'locked=0.3,rate_limited=0.1,unavailable=0.05,retry_after=2s,processing_delay=5s' (env HOLDFAST_FAULTS)")
	f.Int64Var(&o.maxUpload, "max-upload-bytes", 2<<30, "largest accepted media upload in bytes")
	f.Int64Var(&o.scrubRate, "scrub-rate", 4<<20, "bytes per second re-hashed to check stored blobs against their ingest SHA-256 (0 turns scrubbing off)")
	f.Float64Var(&o.rateLimit, "rate-limit", 50, "requests per second allowed per token")
	f.IntVar(&o.rateBurst, "rate-burst", 100, "burst of requests allowed per token")
	f.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	f.StringVar(&o.trustedProxies, "trusted-proxies", "", "proxies whose X-Forwarded-For names the client, CIDRs or addresses, e.g. 10.0.0.0/8,192.0.2.7 (env HOLDFAST_TRUSTED_PROXIES; default none: the peer address is the client)")
	f.Float64Var(&o.unauthRateLimit, "unauth-rate-limit", 10, "requests per second allowed per client address without a valid token")
	f.IntVar(&o.unauthRateBurst, "unauth-rate-burst", 50, "burst of requests allowed per client address without a valid token")
	f.IntVar(&o.edge.MaxConns, "max-conns", 0, "most open connections in all (default: derived from the file-descriptor limit, (limit-64)/2, at most 10000)")
	f.IntVar(&o.edge.MaxConnsPerClient, "max-conns-per-client", 0, "most open connections per client address, IPv6 per /64 (default: an eighth of --max-conns, 4 to 256)")
	f.DurationVar(&o.edge.HeaderTimeout, "header-timeout", edge.DefaultHeaderTimeout, "longest time to read a request's headers")
	f.DurationVar(&o.edge.IdleTimeout, "idle-timeout", edge.DefaultIdleTimeout, "how long an idle keep-alive connection stays open")
	f.DurationVar(&o.edge.BodyWindow, "body-timeout", edge.DefaultBodyWindow, "a request body must send --body-min-rate bytes/s in every such window of waiting, or it is cut (408)")
	f.Int64Var(&o.edge.BodyMinRate, "body-min-rate", edge.DefaultBodyMinRate, "slowest accepted request body, bytes per second (see --body-timeout)")
	return cmd
}

func pick(flag, envName string, e *env, def string) string {
	if flag != "" {
		return flag
	}
	if v := e.getenv(envName); v != "" {
		return v
	}
	return def
}

func runServe(cmd *cobra.Command, e *env, o serveOptions) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return usagef("--log-level %q: use debug, info, warn or error", o.logLevel)
	}
	if o.edge.MaxConns < 0 || o.edge.MaxConnsPerClient < 0 || o.edge.HeaderTimeout <= 0 || o.edge.IdleTimeout <= 0 || o.edge.BodyWindow <= 0 || o.edge.BodyMinRate <= 0 {
		return usagef("--max-conns and --max-conns-per-client must not be negative, and the timeouts and --body-min-rate must be positive")
	}
	if o.unauthRateLimit <= 0 || o.unauthRateBurst <= 0 {
		return usagef("--unauth-rate-limit and --unauth-rate-burst must be positive")
	}
	if o.maxUpload <= 0 {
		return usagef("--max-upload-bytes must be positive, got %s", strconv.FormatInt(o.maxUpload, 10))
	}
	if o.scrubRate < 0 {
		return usagef("--scrub-rate must be 0 (off) or a positive number of bytes per second, got %d", o.scrubRate)
	}
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))
	cfg := server.Config{
		Listen:          pick(o.listen, "HOLDFAST_LISTEN", e, "127.0.0.1:8640"),
		DataDir:         pick(o.data, "HOLDFAST_DATA", e, "./holdfast-data"),
		DatabaseURL:     pick(o.database, "HOLDFAST_DATABASE_URL", e, ""),
		BlobURL:         pick(o.blobs, "HOLDFAST_BLOB_URL", e, ""),
		SigningKeyFile:  pick(o.signingKey, "HOLDFAST_SIGNING_KEY_FILE", e, ""),
		BootstrapToken:  e.getenv("HOLDFAST_BOOTSTRAP_TOKEN"),
		Faults:          pick(o.faults, "HOLDFAST_FAULTS", e, ""),
		MaxUploadBytes:  o.maxUpload,
		ScrubRate:       o.scrubRate,
		RateLimit:       o.rateLimit,
		RateBurst:       o.rateBurst,
		TrustedProxies:  pick(o.trustedProxies, "HOLDFAST_TRUSTED_PROXIES", e, ""),
		Edge:            o.edge,
		UnauthRateLimit: o.unauthRateLimit,
		UnauthRateBurst: o.unauthRateBurst,
		Logger:          log,
	}
	ctx := cmd.Context()
	app, err := server.Open(ctx, cfg)
	if err != nil {
		if ce, ok := err.(*server.ConfigError); ok {
			return &usageError{msg: ce.Msg}
		}
		return err
	}
	defer app.Close()
	if app.BootstrapSecret != "" {
		fmt.Fprintf(e.stderr, "created an admin token in %s/bootstrap-token\n", cfg.DataDir)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return usagef("cannot listen on %s: %v", cfg.Listen, err)
	}
	if cfg.Faults != "" {
		log.Warn("fault injection is on: a fraction of hold and export requests will be refused on purpose (rehearsal mode)", "faults", cfg.Faults)
	}
	err = app.Run(ctx, ln)
	if err != nil {
		log.Error("holdfast stopped", "err", err)
		return err
	}
	log.Info("holdfast shut down cleanly")
	return nil
}

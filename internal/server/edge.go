package server

import (
	"log/slog"
	"net"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/holdfast/holdfast/internal/edge"
	"github.com/holdfast/holdfast/internal/httpapi"
)

// edgeServer is the HTTP server with the edge's bounds (see
// docs/security.md, "What the edge bounds"): ln wrapped in the
// connection caps, and the header, idle and header-size limits.
func (a *App) edgeServer(ln net.Listener) (*http.Server, *edge.Listener) {
	el := edge.NewListener(ln, edge.ListenerConfig{MaxConns: a.limits.MaxConns, MaxConnsPerClient: a.limits.MaxConnsPerClient,
		Exempt: a.proxies.Trusted, Problem: httpapi.EdgeProblem, Logger: a.log})
	a.edge.Store(el)
	srv := &http.Server{
		Handler:           el.Serving(a.Handler),
		ReadHeaderTimeout: a.limits.HeaderTimeout,
		IdleTimeout:       a.limits.IdleTimeout,
		// net/http allows 4096 bytes over MaxHeaderBytes.
		MaxHeaderBytes: edge.MaxHeaderBytes - 4096,
		ConnState:      el.ConnState,
		ConnContext:    el.ConnContext,
		ErrorLog:       slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	a.log.Info("edge limits", "file_descriptors", a.nofile, "max_conns", a.limits.MaxConns, "max_conns_per_client", a.limits.MaxConnsPerClient,
		"header_timeout", a.limits.HeaderTimeout, "idle_timeout", a.limits.IdleTimeout, "body_window", a.limits.BodyWindow,
		"body_min_rate", a.limits.BodyMinRate, "trusted_proxies", a.proxies.String())
	return srv, el
}

const refusedHelp = "Connections refused at accept because a cap was reached: per_client (answered 429) or total (503)."

// wireEdgeMetrics exports the edge listener's counters, so an operator
// sees a flood being refused rather than guessing from latency.
func (a *App) wireEdgeMetrics(reg *prometheus.Registry) {
	stat := func(f func(edge.Stats) float64) func() float64 {
		return func() float64 {
			if el := a.edge.Load(); el != nil {
				return f(el.Stats())
			}
			return 0
		}
	}
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "holdfast_edge_connections_open", Help: "Client connections open (idle ones included)."},
			stat(func(s edge.Stats) float64 { return float64(s.Open) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "holdfast_edge_connections_idle", Help: "Idle keep-alive connections, the first closed under pressure."},
			stat(func(s edge.Stats) float64 { return float64(s.Idle) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "holdfast_edge_connections_refused_total", Help: refusedHelp, ConstLabels: prometheus.Labels{"cap": "per_client"}},
			stat(func(s edge.Stats) float64 { return float64(s.RefusedPerClient) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "holdfast_edge_connections_refused_total", Help: refusedHelp, ConstLabels: prometheus.Labels{"cap": "total"}},
			stat(func(s edge.Stats) float64 { return float64(s.RefusedTotal) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "holdfast_edge_connections_evicted_total", Help: "Idle keep-alive connections closed to make room for new ones."},
			stat(func(s edge.Stats) float64 { return float64(s.Evicted) })),
	)
}

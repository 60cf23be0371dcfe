package httpapi

import (
	"context"
	_ "embed"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/holdfast/holdfast/internal/store"
	"github.com/holdfast/holdfast/internal/vault"
)

//go:embed openapi.json
var openapiDoc []byte

// OpenAPI returns the API description served at /openapi.json.
func OpenAPI() []byte { return openapiDoc }

func (s *Server) openapiJSON(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openapiDoc)
}

// openapiYAML serves the same document as YAML. JSON is a subset of YAML
// 1.2, so the JSON bytes are a valid YAML document; no second copy can
// drift from the first.
func (s *Server) openapiYAML(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	_, _ = w.Write(openapiDoc)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers 200 only when the database and blob store answer and the
// audit log passed its startup self-check.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	checks := map[string]string{"database": "ok", "blobs": "ok", "audit": "ok"}
	ok := true
	if err := s.cfg.Store.Ping(ctx); err != nil {
		checks["database"], ok = err.Error(), false
	}
	if err := s.cfg.Blobs.Ping(ctx); err != nil {
		checks["blobs"], ok = err.Error(), false
	}
	if s.cfg.AuditStatus != nil {
		if err := s.cfg.AuditStatus(); err != nil {
			checks["audit"], ok = err.Error(), false
		}
	}
	failed := firstFailure(checks)
	for _, c := range s.cfg.ReadyChecks {
		state, err := c.Check(ctx)
		if err != nil {
			checks[c.Name], ok = err.Error(), false
			if failed == "" {
				failed = c.Name + ": " + err.Error()
			}
			continue
		}
		checks[c.Name] = state
	}
	if !ok {
		p := newProblem(http.StatusServiceUnavailable, "unavailable", "not ready: "+failed).withRetryAfter(5 * time.Second)
		writeProblem(w, r, p)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "checks": checks})
}

func firstFailure(checks map[string]string) string {
	for _, k := range []string{"database", "blobs", "audit"} {
		if checks[k] != "ok" {
			return k + ": " + checks[k]
		}
	}
	return ""
}

// metrics are the API's Prometheus collectors.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// recordingsCollector reports recordings by status from the store at
// scrape time, so the figure is always the database's own.
type recordingsCollector struct {
	st   store.Store
	desc *prometheus.Desc
}

func (c recordingsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c recordingsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts, err := c.st.CountRecordingsByStatus(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	for _, st := range []vault.Status{vault.StatusProcessing, vault.StatusCompleted, vault.StatusFailed} {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(counts[st]), string(st))
	}
}

func newMetrics(reg *prometheus.Registry, st store.Store, proc Enqueuer, inFlight func() int64) *metrics {
	m := &metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "holdfast_http_requests_total", Help: "HTTP requests by route pattern and status code.",
		}, []string{"route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "holdfast_http_request_duration_seconds", Help: "HTTP request latency by route pattern.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route"}),
	}
	reg.MustRegister(m.requests, m.latency)
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "holdfast_http_requests_in_flight", Help: "API requests being served (downloads excluded); exports yield to them.",
	}, func() float64 { return float64(inFlight()) }))
	if st != nil {
		reg.MustRegister(recordingsCollector{st: st, desc: prometheus.NewDesc("holdfast_recordings", "Recordings by status.", []string{"status"}, nil)})
	}
	if proc != nil {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "holdfast_processing_queue_depth", Help: "Recordings waiting to be probed.",
		}, func() float64 { return float64(proc.QueueDepth()) }))
	}
	return m
}

func (s *Server) metricsHandler() http.Handler {
	return promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})
}

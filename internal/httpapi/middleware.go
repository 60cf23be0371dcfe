package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// statusWriter records the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "req_" + hex.EncodeToString(b[:])
}

// withRequest assigns a request id, recovers panics into a problem,
// records metrics and logs each request.
func (s *Server) withRequest(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		if !streaming(r.URL.Path) {
			s.inFlight.Add(1)
			defer s.inFlight.Add(-1)
		}
		id := newRequestID()
		r = r.WithContext(context.WithValue(r.Context(), requestIDKey, id))
		w.Header().Set("X-Request-Id", id)
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic in handler", "method", r.Method, "path", r.URL.Path, "request_id", id, "panic", v)
				if sw.status == 0 {
					writeProblem(sw, r, newProblem(http.StatusInternalServerError, "internal_error", "the server hit an unexpected error; it has been logged with the request_id"))
				}
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			elapsed := time.Since(start)
			s.metrics.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
			s.metrics.latency.WithLabelValues(route).Observe(elapsed.Seconds())
			s.log.Debug("request", "method", r.Method, "path", r.URL.Path, "status", status, "duration", elapsed, "request_id", id)
		}()
		next.ServeHTTP(sw, r)
	})
}

// streaming reports whether a path serves long bodies (media and package
// downloads). They do not count as in-flight API requests for the export
// engine's yielding, or a long download would slow every export.
func streaming(path string) bool {
	return strings.HasSuffix(path, "/media") || strings.Contains(path, "/package")
}

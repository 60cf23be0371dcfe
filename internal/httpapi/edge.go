package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/holdfast/holdfast/internal/edge"
)

// EdgeProblem renders the body of an error that the connection layer
// (internal/edge) answers itself, before any handler runs: a refused
// connection, oversized headers, a malformed request. It is the same
// problem document every handler error is.
func EdgeProblem(status int, code, message string) []byte {
	p := newProblem(status, code, message)
	p.RequestID = newRequestID()
	if p.Title == "" {
		p.Title = http.StatusText(status)
	}
	b, _ := json.Marshal(p)
	return b
}

// clientKey is the key of r's per-client limits: the peer address, or the
// right-most untrusted X-Forwarded-For address when the peer is a trusted
// proxy.
func (s *Server) clientKey(r *http.Request) string {
	peer, _ := edge.PeerAddr(r.RemoteAddr)
	return edge.Key(s.cfg.Proxies.Client(peer, r.Header.Values("X-Forwarded-For")))
}

// limitUnauthenticated counts a request without a valid token against
// its client's allowance; past it the answer is 429 instead of p.
func (s *Server) limitUnauthenticated(r *http.Request, p *Problem) *Problem {
	if p.Status != http.StatusUnauthorized {
		return p
	}
	if ok, wait := s.unauth.Allow(s.clientKey(r), s.now()); !ok {
		return newProblem(http.StatusTooManyRequests, "rate_limited", "too many requests without a valid token from this address; retry after the delay in Retry-After").withRetryAfter(wait)
	}
	return p
}

// bodyTooSlow answers a request whose body arrived slower than the
// minimum rate (see edge.LimitBodyRate).
func bodyTooSlow(w http.ResponseWriter, r *http.Request) {
	writeProblem(w, r, newProblem(http.StatusRequestTimeout, "request_timeout", "the request body arrived slower than the server accepts; send it again at a steady rate"))
}

package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/holdfast/holdfast/internal/store"
	"github.com/holdfast/holdfast/internal/vault"
)

// HashSecret is how token secrets are stored: only their SHA-256. Secrets
// are 256-bit random values, so a plain hash is enough (no salt or
// stretching is needed against guessing).
func HashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// sessionKey carries the secret hash of a console session's token in a
// request the console hands to the API in-process.
type sessionKey struct{}

// WithSession returns ctx carrying secretHash (see [HashSecret]) as the
// credential of an in-process request from the console. The API then
// resolves and checks the token exactly as for a bearer token, so a
// revoked token ends the session at once.
func WithSession(ctx context.Context, secretHash string) context.Context {
	return context.WithValue(ctx, sessionKey{}, secretHash)
}

// mediaRoute is the one route that also accepts the console's session
// cookie, so that an <audio> element can play a recording. It is a GET:
// a cross-site page can make the browser fetch it, but never read it, and
// SameSite=Strict keeps the cookie off cross-site requests anyway.
const mediaRoute = "GET /api/v2/recordings/{id}/media"

// credential returns the secret hash r authenticates with: an in-process
// console request's session, the bearer token, or (on mediaRoute only)
// the console's session cookie.
func (s *Server) credential(r *http.Request) (string, *Problem) {
	if hash, ok := r.Context().Value(sessionKey{}).(string); ok && hash != "" {
		return hash, nil
	}
	h := r.Header.Get("Authorization")
	if h == "" && r.Pattern == mediaRoute && s.cfg.Session != nil {
		if hash, ok := s.cfg.Session(r); ok {
			return hash, nil
		}
	}
	scheme, secret, ok := strings.Cut(h, " ")
	if h == "" || !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(secret) == "" {
		return "", newProblem(http.StatusUnauthorized, "unauthenticated", "send a token as \"Authorization: Bearer <token>\"")
	}
	return HashSecret(strings.TrimSpace(secret)), nil
}

// Authenticate resolves the token of r exactly as every API route does
// (see [WithSession]); the console uses it to decide what to offer. The
// error is a *Problem (401, 429 past the per-address allowance of
// requests without a valid token, or 503).
func (s *Server) Authenticate(r *http.Request) (vault.Token, error) {
	tok, p := s.authenticate(r)
	if p != nil {
		return vault.Token{}, s.limitUnauthenticated(r, p)
	}
	return tok, nil
}

// authenticate resolves the token of r.
func (s *Server) authenticate(r *http.Request) (vault.Token, *Problem) {
	hash, p := s.credential(r)
	if p != nil {
		return vault.Token{}, p
	}
	tok, err := s.cfg.Store.TokenBySecretHash(r.Context(), hash)
	if errors.Is(err, vault.ErrNotFound) {
		return vault.Token{}, newProblem(http.StatusUnauthorized, "unauthenticated", "the token is not known to this server")
	}
	if err != nil {
		s.log.Error("token lookup failed", "err", err)
		return vault.Token{}, newProblem(http.StatusServiceUnavailable, "unavailable", "the token store is not answering; retry after the delay in Retry-After").withRetryAfter(5 * time.Second)
	}
	if tok.RevokedAt != nil {
		return vault.Token{}, newProblem(http.StatusUnauthorized, "unauthenticated", "the token was revoked; ask an administrator for a new one")
	}
	s.touch(r, tok)
	return tok, nil
}

// touchInterval bounds how often a token's last_used_at is written: a busy
// token costs one small UPDATE a minute, not one per request.
const touchInterval = time.Minute

// touch records the token's use when the stored time is older than
// touchInterval. A failure is logged, never fatal: it only loses a time.
func (s *Server) touch(r *http.Request, tok vault.Token) {
	now := s.now()
	if tok.LastUsedAt != nil && now.Sub(*tok.LastUsedAt) < touchInterval {
		return
	}
	// Concurrent requests with the same token all see the same stale time;
	// only the first of them in this process writes, so a burst of uploads
	// under one token is not a queue of identical fsynced UPDATEs.
	s.touchMu.Lock()
	last, seen := s.touched[tok.ID]
	if seen && now.Sub(last) < touchInterval {
		s.touchMu.Unlock()
		return
	}
	s.touched[tok.ID] = now
	s.touchMu.Unlock()
	if err := s.cfg.Store.TouchToken(r.Context(), store.TouchTokenParams{ID: tok.ID, Now: now, Interval: touchInterval}); err != nil {
		s.log.Warn("recording a token's last use failed", "token", tok.ID, "request_id", requestID(r.Context()), "err", err)
	}
}

// rateLimit applies the per-token rate limit.
func (s *Server) rateLimit(tok vault.Token) *Problem {
	s.limMu.Lock()
	lim, ok := s.limiters[tok.ID]
	if !ok {
		lim = rate.NewLimiter(s.cfg.RateLimit, s.cfg.RateBurst)
		s.limiters[tok.ID] = lim
	}
	s.limMu.Unlock()
	res := lim.Reserve()
	if !res.OK() {
		return newProblem(http.StatusTooManyRequests, "rate_limited", "this token is over its request rate; retry after the delay in Retry-After").withRetryAfter(time.Second)
	}
	if d := res.Delay(); d > 0 {
		res.Cancel()
		return newProblem(http.StatusTooManyRequests, "rate_limited", "this token is over its request rate; retry after the delay in Retry-After").withRetryAfter(d)
	}
	return nil
}

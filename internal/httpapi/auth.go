package httpapi

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/holdfast/holdfast/internal/vault"
)

// HashSecret is how token secrets are stored: only their SHA-256. Secrets
// are 256-bit random values, so a plain hash is enough (no salt or
// stretching is needed against guessing).
func HashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// authenticate resolves the bearer token of r.
func (s *Server) authenticate(r *http.Request) (vault.Token, *Problem) {
	h := r.Header.Get("Authorization")
	scheme, secret, ok := strings.Cut(h, " ")
	if h == "" || !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(secret) == "" {
		return vault.Token{}, newProblem(http.StatusUnauthorized, "unauthenticated", "send a token as \"Authorization: Bearer <token>\"")
	}
	tok, err := s.cfg.Store.TokenBySecretHash(r.Context(), HashSecret(strings.TrimSpace(secret)))
	if errors.Is(err, vault.ErrNotFound) {
		return vault.Token{}, newProblem(http.StatusUnauthorized, "unauthenticated", "the token is not known to this server")
	}
	if err != nil {
		s.log.Error("token lookup failed", "err", err)
		return vault.Token{}, newProblem(http.StatusServiceUnavailable, "unavailable", "the token store is not answering; retry after the delay in Retry-After").withRetryAfter(5 * time.Second)
	}
	return tok, nil
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

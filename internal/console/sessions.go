package console

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"sync"
	"time"

	"github.com/holdfast/holdfast/internal/vault"
)

// CookieName is the console's session cookie.
const CookieName = "holdfast_session"

// Session lifetimes: a session ends after IdleTimeout without a request
// and MaxAge after sign-in, whichever comes first; revoking its token ends
// it at once (every request re-checks the token).
const (
	IdleTimeout = time.Hour
	MaxAge      = 12 * time.Hour
)

// maxSessions bounds memory: signing in past it drops the oldest session.
const maxSessions = 10000

// Sessions keeps console sessions server-side, keyed by the SHA-256 of a
// random 256-bit id (the cookie's value), so the table never holds a
// usable cookie. A session holds only the hash of its token's secret,
// never the secret. It is safe for concurrent use.
//
// Sessions live in this process: behind a load balancer with several
// replicas, route a browser to one replica (sticky sessions) or sign in
// again.
type Sessions struct {
	clock vault.Clock
	mu    sync.Mutex
	m     map[string]*session
}

type session struct {
	secretHash string
	tokenID    string
	created    time.Time
	seen       time.Time
}

// NewSessions returns an empty session table.
func NewSessions(clock vault.Clock) *Sessions {
	return &Sessions{clock: clock, m: map[string]*session{}}
}

func idKey(id string) string {
	h := sha256.Sum256([]byte(id))
	return hex.EncodeToString(h[:])
}

// Create starts a session for the token whose secret hashes to
// secretHash and returns the cookie to set.
func (s *Sessions) Create(secretHash, tokenID string, secure bool) *http.Cookie {
	var b [32]byte
	_, _ = rand.Read(b[:])
	id := base64.RawURLEncoding.EncodeToString(b[:])
	now := s.clock.Now()
	s.mu.Lock()
	if len(s.m) >= maxSessions {
		s.sweepLocked(now)
	}
	if len(s.m) >= maxSessions {
		var oldest string
		for k, v := range s.m {
			if oldest == "" || v.created.Before(s.m[oldest].created) {
				oldest = k
			}
		}
		delete(s.m, oldest)
	}
	s.m[idKey(id)] = &session{secretHash: secretHash, tokenID: tokenID, created: now, seen: now}
	s.mu.Unlock()
	return &http.Cookie{Name: CookieName, Value: id, Path: "/", HttpOnly: true, Secure: secure,
		SameSite: http.SameSiteStrictMode, MaxAge: int(MaxAge / time.Second)}
}

// SecretHash resolves r's session cookie to its token's secret hash,
// refreshing the session's idle timer. It is the API's Config.Session.
func (s *Sessions) SecretHash(r *http.Request) (string, bool) {
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" {
		return "", false
	}
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.m[idKey(c.Value)]
	if !ok {
		return "", false
	}
	if now.Sub(sess.seen) > IdleTimeout || now.Sub(sess.created) > MaxAge {
		delete(s.m, idKey(c.Value))
		return "", false
	}
	sess.seen = now
	return sess.secretHash, true
}

// End deletes r's session, if any.
func (s *Sessions) End(r *http.Request) {
	if c, err := r.Cookie(CookieName); err == nil {
		s.mu.Lock()
		delete(s.m, idKey(c.Value))
		s.mu.Unlock()
	}
}

// EndToken deletes every session of a token (for example when the API
// answers that it is no longer valid).
func (s *Sessions) EndToken(tokenID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range s.m {
		if v.tokenID == tokenID {
			delete(s.m, k)
		}
	}
}

// Len is the number of live sessions.
func (s *Sessions) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

func (s *Sessions) sweepLocked(now time.Time) {
	for k, v := range s.m {
		if now.Sub(v.seen) > IdleTimeout || now.Sub(v.created) > MaxAge {
			delete(s.m, k)
		}
	}
}

// clearCookie expires the session cookie in the browser.
func clearCookie(secure bool) *http.Cookie {
	return &http.Cookie{Name: CookieName, Value: "", Path: "/", HttpOnly: true, Secure: secure,
		SameSite: http.SameSiteStrictMode, MaxAge: -1}
}

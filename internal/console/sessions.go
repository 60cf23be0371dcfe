package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/holdfast/holdfast/internal/store"
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
	// touchInterval bounds how often a session's last use is written.
	touchInterval = time.Minute
)

// SessionStore keeps sessions where every replica sees them (the
// metadata database).
type SessionStore interface {
	CreateSession(ctx context.Context, p store.CreateSessionParams) error
	GetSession(ctx context.Context, idHash string) (store.Session, error)
	TouchSession(ctx context.Context, p store.TouchSessionParams) error
	DeleteSession(ctx context.Context, idHash string) error
}

// Sessions are the console's sign-ins, kept server-side in the database
// keyed by the SHA-256 of a random 256-bit id (the cookie's value), so the
// table never holds a usable cookie, and any replica behind a load
// balancer knows every session. A session holds only the hash of its
// token's secret, never the secret. It is safe for concurrent use.
type Sessions struct {
	store SessionStore
	clock vault.Clock
	log   *slog.Logger
}

// NewSessions returns the session table of st.
func NewSessions(st SessionStore, clock vault.Clock, log *slog.Logger) *Sessions {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sessions{store: st, clock: clock, log: log}
}

func idKey(id string) string {
	h := sha256.Sum256([]byte(id))
	return hex.EncodeToString(h[:])
}

// Create starts a session for the token whose secret hashes to
// secretHash and returns the cookie to set.
func (s *Sessions) Create(ctx context.Context, secretHash, tokenID string, secure bool) (*http.Cookie, error) {
	var b [32]byte
	_, _ = rand.Read(b[:])
	id := base64.RawURLEncoding.EncodeToString(b[:])
	now := s.clock.Now()
	err := s.store.CreateSession(ctx, store.CreateSessionParams{
		Session:          store.Session{IDHash: idKey(id), SecretHash: secretHash, TokenID: tokenID, CreatedAt: now, SeenAt: now},
		ExpireSeenBefore: now.Add(-IdleTimeout), ExpireCreatedBefore: now.Add(-MaxAge),
	})
	if err != nil {
		return nil, fmt.Errorf("console: sign in: %w", err)
	}
	return &http.Cookie{Name: CookieName, Value: id, Path: "/", HttpOnly: true, Secure: secure,
		SameSite: http.SameSiteStrictMode, MaxAge: int(MaxAge / time.Second)}, nil
}

// SecretHash resolves r's session cookie to its token's secret hash,
// recording the session's use. It is the API's Config.Session. A database
// failure is logged and treated as no session (the API then answers 401).
func (s *Sessions) SecretHash(r *http.Request) (string, bool) {
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" || len(c.Value) > 100 {
		return "", false
	}
	key := idKey(c.Value)
	sess, err := s.store.GetSession(r.Context(), key)
	if errors.Is(err, vault.ErrNotFound) {
		return "", false
	}
	if err != nil {
		s.log.Error("console: session lookup failed", "err", err)
		return "", false
	}
	now := s.clock.Now()
	if now.Sub(sess.SeenAt) > IdleTimeout || now.Sub(sess.CreatedAt) > MaxAge {
		if err := s.store.DeleteSession(r.Context(), key); err != nil {
			s.log.Warn("console: deleting an expired session failed", "err", err)
		}
		return "", false
	}
	if err := s.store.TouchSession(r.Context(), store.TouchSessionParams{IDHash: key, Now: now, Interval: touchInterval}); err != nil {
		s.log.Warn("console: recording a session's use failed", "err", err)
	}
	return sess.SecretHash, true
}

// End deletes r's session, if any.
func (s *Sessions) End(r *http.Request) error {
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" {
		return nil
	}
	if err := s.store.DeleteSession(r.Context(), idKey(c.Value)); err != nil {
		return fmt.Errorf("console: sign out: %w", err)
	}
	return nil
}

// clearCookie expires the session cookie in the browser.
func clearCookie(secure bool) *http.Cookie {
	return &http.Cookie{Name: CookieName, Value: "", Path: "/", HttpOnly: true, Secure: secure,
		SameSite: http.SameSiteStrictMode, MaxAge: -1}
}

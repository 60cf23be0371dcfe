package httpapi

import (
	"context"
	"net/http"

	"github.com/holdfast/holdfast/internal/store"
	"github.com/holdfast/holdfast/internal/vault"
)

// idempotency tracks one request's Idempotency-Key.
type idempotency struct {
	key   store.IdempotencyKey
	prior *store.IdempotencyOutcome
	owned bool // this request reserved the key and must complete or release it
	done  bool // the key was completed (or answered from a replay)
}

// markDone records that the store completed the key with the resource.
func (i *idempotency) markDone() {
	if i != nil {
		i.done = true
	}
}

// reserveIdempotency reads and claims the Idempotency-Key header. It
// returns nil when the request has no key.
func (s *Server) reserveIdempotency(r *http.Request, tok vault.Token, route string) (*idempotency, error) {
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		return nil, nil
	}
	if len(key) > 255 || !printableASCII(key) {
		var p vault.Problems
		p.Add("header.Idempotency-Key", "invalid_value", "must be 1 to 255 printable ASCII characters, e.g. \"5f1c7a52-8d7e-4b8f-9d0e-3f2a1b6c9e10\"")
		return nil, p.Err()
	}
	k := store.IdempotencyKey{Key: key, TokenID: tok.ID, Route: route, Now: s.now()}
	prior, err := s.cfg.Store.ReserveIdempotencyKey(r.Context(), k)
	if err != nil {
		return nil, err
	}
	return &idempotency{key: k, prior: prior, owned: prior == nil}, nil
}

// completion is the store-side completion for a successful request.
func (i *idempotency) completion(fingerprint string, status int) *store.IdempotencyCompletion {
	if i == nil || !i.owned {
		return nil
	}
	return &store.IdempotencyCompletion{IdempotencyKey: i.key, Fingerprint: fingerprint, Status: status}
}

// settleIdempotency gives the key up unless the request completed it:
// after a failure (or a panic) a corrected request may use the same key.
// Handlers defer it right after reserving.
func (s *Server) settleIdempotency(ctx context.Context, i *idempotency) {
	if i == nil || !i.owned || i.done {
		return
	}
	if err := s.cfg.Store.ReleaseIdempotencyKey(context.WithoutCancel(ctx), i.key); err != nil {
		s.log.Error("releasing idempotency key failed", "err", err)
	}
}

// answerReplay checks a repeated request against the stored one. The
// same fingerprint is answered with the resource the first request
// created (fetched by get, at location+id) and the status it got; another
// fingerprint is 422. It reports whether it answered.
func (i *idempotency) answerReplay(w http.ResponseWriter, fingerprint, location string, get func(id string) (any, error)) (bool, error) {
	if i == nil || i.prior == nil {
		return false, nil
	}
	if i.prior.Fingerprint != fingerprint {
		return false, vault.ErrIdempotencyKeyReused
	}
	v, err := get(i.prior.ResourceID)
	if err != nil {
		return false, err
	}
	w.Header().Set("Location", location+i.prior.ResourceID)
	w.Header().Set("Idempotent-Replayed", "true")
	writeJSON(w, i.prior.Status, v)
	i.done = true
	return true, nil
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return s != ""
}

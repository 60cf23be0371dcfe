package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/holdfast/holdfast/internal/store"
	"github.com/holdfast/holdfast/internal/vault"
)

// testSessions checks console sessions: stored and read back, touched at
// most once per interval, deleted, and swept when expired.
func testSessions(t *testing.T, s store.Store) {
	ctx := t.Context()
	mk := func(id string, created, seen time.Time) store.Session {
		return store.Session{IDHash: id, SecretHash: "secret-" + id, TokenID: "tok_" + id, CreatedAt: created, SeenAt: seen}
	}
	create := func(ss store.Session, now time.Time) {
		t.Helper()
		if err := s.CreateSession(ctx, store.CreateSessionParams{Session: ss, ExpireSeenBefore: now.Add(-time.Hour), ExpireCreatedBefore: now.Add(-12 * time.Hour)}); err != nil {
			t.Fatalf("CreateSession(%s): %v", ss.IDHash, err)
		}
	}
	wantSession := func(id string, want store.Session) {
		t.Helper()
		got, err := s.GetSession(ctx, id)
		if err != nil {
			t.Fatalf("GetSession(%s): %v", id, err)
		}
		if got.IDHash != want.IDHash || got.SecretHash != want.SecretHash || got.TokenID != want.TokenID || !got.CreatedAt.Equal(want.CreatedAt) || !got.SeenAt.Equal(want.SeenAt) {
			t.Fatalf("GetSession(%s) = %+v, want %+v", id, got, want)
		}
	}
	wantGone := func(id string) {
		t.Helper()
		if _, err := s.GetSession(ctx, id); !errors.Is(err, vault.ErrNotFound) {
			t.Fatalf("GetSession(%s) = %v, want vault.ErrNotFound", id, err)
		}
	}
	a := mk("a", at(0), at(0))
	create(a, at(0))
	wantSession("a", a)
	wantGone("nope")

	// Touch writes at most once per interval.
	if err := s.TouchSession(ctx, store.TouchSessionParams{IDHash: "a", Now: at(30 * time.Second), Interval: time.Minute}); err != nil {
		t.Fatal(err)
	}
	wantSession("a", a)
	if err := s.TouchSession(ctx, store.TouchSessionParams{IDHash: "a", Now: at(2 * time.Minute), Interval: time.Minute}); err != nil {
		t.Fatal(err)
	}
	a.SeenAt = at(2 * time.Minute)
	wantSession("a", a)

	// Creating a session sweeps the expired ones, idle or too old.
	idle := mk("idle", at(0), at(0))
	old := mk("old", at(0), at(13*time.Hour-time.Minute))
	create(idle, at(0))
	create(old, at(0))
	now := at(13 * time.Hour)
	b := mk("b", now, now)
	create(b, now)
	wantGone("idle")
	wantGone("old")
	wantGone("a")
	wantSession("b", b)

	if err := s.DeleteSession(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	wantGone("b")
	if err := s.DeleteSession(ctx, "b"); err != nil {
		t.Errorf("deleting a session twice: %v", err)
	}
}

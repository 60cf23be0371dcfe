package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/holdfast/holdfast/internal/store"
	"github.com/holdfast/holdfast/internal/vault"
)

// createToken stores a token named after its id, with the secret "secret-<id>".
func createToken(t *testing.T, s store.Store, id string, now time.Time, perms ...vault.Permission) vault.Token {
	t.Helper()
	tok, err := s.CreateToken(t.Context(), store.CreateTokenParams{ID: id, Name: "name " + id, Permissions: perms, SecretHash: shaOf("secret-" + id), Actor: "system", Now: now})
	if err != nil {
		t.Fatalf("CreateToken(%s): %v", id, err)
	}
	return tok
}

func testTokenRevocation(t *testing.T, s store.Store) {
	ctx := t.Context()
	victim := createToken(t, s, newID("tok"), at(0), vault.PermRecordingView)
	other := createToken(t, s, newID("tok"), at(time.Second), vault.PermAuditView)
	before := auditSize(t, s)

	got, err := s.RevokeToken(ctx, store.RevokeTokenParams{ID: victim.ID, Actor: "tok_admin", Now: at(time.Hour)})
	if err != nil {
		t.Fatalf("RevokeToken: %v", err)
	}
	want := victim
	want.RevokedAt = ptr(at(time.Hour))
	sameJSON(t, "RevokeToken result", got, want)

	// The very next lookup of its secret sees the revocation.
	found, err := s.TokenBySecretHash(ctx, shaOf("secret-"+victim.ID))
	if err != nil {
		t.Fatalf("TokenBySecretHash(revoked): %v", err)
	}
	if found.RevokedAt == nil || !found.RevokedAt.Equal(at(time.Hour)) {
		t.Errorf("TokenBySecretHash(revoked).RevokedAt = %v, want %v", found.RevokedAt, at(time.Hour))
	}
	if o, err := s.TokenBySecretHash(ctx, shaOf("secret-"+other.ID)); err != nil || o.RevokedAt != nil {
		t.Errorf("another token after the revocation: %+v, %v; want it untouched", o, err)
	}

	// Revoking again changes nothing: same time, no second audit entry.
	again, err := s.RevokeToken(ctx, store.RevokeTokenParams{ID: victim.ID, Actor: "tok_admin", Now: at(2 * time.Hour)})
	if err != nil {
		t.Fatalf("RevokeToken again: %v", err)
	}
	sameJSON(t, "RevokeToken again", again, want)

	recs := auditTail(t, s, before, "token.revoked")
	e := recs[0].Entry
	if e.Actor != "tok_admin" || e.Subject != victim.ID || !e.Time.Equal(at(time.Hour)) {
		t.Errorf("token.revoked entry = %+v, want actor tok_admin, subject %s, time %v", e, victim.ID, at(time.Hour))
	}
	if d := data(t, recs[0]); d["name"] != victim.Name {
		t.Errorf("token.revoked data = %v, want name %q", d, victim.Name)
	}
	checkAudit(t, s)

	if _, err := s.RevokeToken(ctx, store.RevokeTokenParams{ID: newID("tok"), Actor: "tok_admin", Now: at(time.Hour)}); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("RevokeToken(unknown) error = %v, want vault.ErrNotFound", err)
	}
	if n := auditSize(t, s); n != before+1 {
		t.Errorf("audit size %d after one revocation, want %d", n, before+1)
	}
}

func testTokenTouch(t *testing.T, s store.Store) {
	ctx := t.Context()
	tok := createToken(t, s, newID("tok"), at(0), vault.PermRecordingView)
	before := auditSize(t, s)
	lastUsed := func() *time.Time {
		t.Helper()
		got, err := s.TokenBySecretHash(ctx, shaOf("secret-"+tok.ID))
		if err != nil {
			t.Fatal(err)
		}
		return got.LastUsedAt
	}
	if u := lastUsed(); u != nil {
		t.Fatalf("new token LastUsedAt = %v, want nil", u)
	}
	touch := func(now time.Time) {
		t.Helper()
		if err := s.TouchToken(ctx, store.TouchTokenParams{ID: tok.ID, Now: now, Interval: time.Minute}); err != nil {
			t.Fatalf("TouchToken(%v): %v", now, err)
		}
	}
	steps := []struct {
		now, want time.Time
	}{
		{at(10 * time.Second), at(10 * time.Second)}, // first use is recorded
		{at(30 * time.Second), at(10 * time.Second)}, // within the interval: no write
		{at(69 * time.Second), at(10 * time.Second)}, // still within
		{at(71 * time.Second), at(71 * time.Second)}, // past it: recorded
		{at(time.Hour), at(time.Hour)},               // much later
		{at(time.Hour - time.Second), at(time.Hour)}, // an older time never overwrites
	}
	for _, st := range steps {
		touch(st.now)
		if u := lastUsed(); u == nil || !u.Equal(st.want) {
			t.Errorf("after TouchToken(%v): LastUsedAt = %v, want %v", st.now, u, st.want)
		}
	}
	if err := s.TouchToken(ctx, store.TouchTokenParams{ID: newID("tok"), Now: at(0), Interval: time.Minute}); err != nil {
		t.Errorf("TouchToken(unknown) = %v, want nil (nothing to record)", err)
	}
	if n := auditSize(t, s); n != before {
		t.Errorf("TouchToken appended %d audit entries, want none", n-before)
	}
}

func testListTokensPagination(t *testing.T, s store.Store) {
	ctx := t.Context()
	var ids []string
	for i := range 7 {
		tok := createToken(t, s, newID("tok"), at(time.Duration(i)*time.Second), vault.PermRecordingView, vault.PermAuditView)
		ids = append(ids, tok.ID)
	}
	if _, err := s.RevokeToken(ctx, store.RevokeTokenParams{ID: ids[2], Actor: "tok_admin", Now: at(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchToken(ctx, store.TouchTokenParams{ID: ids[4], Now: at(time.Hour), Interval: time.Minute}); err != nil {
		t.Fatal(err)
	}
	var got []vault.Token
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("ListTokens does not end")
		}
		page, next, err := s.ListTokens(ctx, store.ListTokensParams{Limit: 3, Cursor: cursor})
		if err != nil {
			t.Fatalf("ListTokens: %v", err)
		}
		if len(page) > 3 {
			t.Fatalf("page of %d tokens with limit 3", len(page))
		}
		got = append(got, page...)
		if next == "" {
			break
		}
		cursor = next
	}
	if len(got) != len(ids) {
		t.Fatalf("listed %d tokens, want %d", len(got), len(ids))
	}
	for i, tok := range got {
		if tok.ID != ids[i] {
			t.Fatalf("token %d = %s, want %s (id order)", i, tok.ID, ids[i])
		}
		want := vault.Token{ID: ids[i], Name: "name " + ids[i], Permissions: []vault.Permission{vault.PermRecordingView, vault.PermAuditView},
			CreatedAt: vault.FormatTime(at(time.Duration(i) * time.Second))}
		switch i {
		case 2:
			want.RevokedAt = ptr(at(time.Hour))
		case 4:
			want.LastUsedAt = ptr(at(time.Hour))
		}
		sameJSON(t, "ListTokens item "+tok.ID, tok, want)
	}
	// An exact last page has no next cursor.
	if page, next, err := s.ListTokens(ctx, store.ListTokensParams{Limit: 7}); err != nil || len(page) != 7 || next != "" {
		t.Errorf("ListTokens(limit 7 of 7) = %d tokens, next %q, %v; want 7, \"\", nil", len(page), next, err)
	}
}

package e2e_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/holdfast/holdfast/internal/testserver"
)

// TestRevocationAcrossReplicas runs two `holdfast serve` replicas of one
// PostgreSQL database: a token revoked on one is refused (401) on its very
// next request to the other; a media read on one replica is an audit
// entry naming the token, seen from the other; and `holdfast audit
// verify` passes with those read entries in the log.
func TestRevocationAcrossReplicas(t *testing.T) {
	db := postgresSchema(t)
	key, _ := newKeyFile(t, t.TempDir(), "key.pem")
	common := []string{"--database", db, "--blobs", "file://" + t.TempDir(), "--signing-key", key}
	a := testserver.StartProcess(t, "", common...)
	b := testserver.StartProcess(t, "", common...)
	admin := testserver.AdminToken

	rec, err := ingest(context.Background(), sdk(t, a), makeCalls(41, 1)[0], wavBytes(t, makeCalls(41, 1)[0]))
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		ID    string `json:"id"`
		Token string `json:"token"`
	}
	decode(t, "create token", do(t, a.URL, admin, http.MethodPost, "/api/v2/tokens", map[string]any{"name": "reader", "permissions": []string{"recording:view"}}), &tok)

	// The reader reads media through B; A's log shows it.
	media := "/api/v2/recordings/" + rec.ID + "/media"
	wantStatus(t, "read on B", do(t, b.URL, tok.Token, http.MethodGet, media, nil), http.StatusOK)
	var reads int
	for _, e := range allAuditEntries(t, sdk(t, a)) {
		if e.Type == "recording.media_read" && e.Actor == tok.ID && e.Subject == rec.ID {
			reads++
		}
	}
	if reads != 1 {
		t.Errorf("A's audit log has %d recording.media_read entries by %s for %s, want 1", reads, tok.ID, rec.ID)
	}

	// Revoked on A: the next request on B is refused.
	wantStatus(t, "revoke on A", do(t, a.URL, admin, http.MethodDelete, "/api/v2/tokens/"+tok.ID, nil), http.StatusOK)
	wantProblem(t, "revoked token on B", do(t, b.URL, tok.Token, http.MethodGet, media, nil), http.StatusUnauthorized, "unauthenticated")
	wantProblem(t, "revoked token on A", do(t, a.URL, tok.Token, http.MethodGet, "/api/v2/recordings", nil), http.StatusUnauthorized, "unauthenticated")

	var page struct {
		Items []struct {
			ID         string  `json:"id"`
			LastUsedAt *string `json:"last_used_at"`
			RevokedAt  *string `json:"revoked_at"`
		} `json:"items"`
	}
	r := do(t, b.URL, admin, http.MethodGet, "/api/v2/tokens", nil)
	wantStatus(t, "list tokens on B", r, http.StatusOK)
	if err := json.Unmarshal(r.Body, &page); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, it := range page.Items {
		if it.ID == tok.ID {
			found = true
			if it.RevokedAt == nil || it.LastUsedAt == nil {
				t.Errorf("B lists the reader with revoked_at %v, last_used_at %v; want both set", it.RevokedAt, it.LastUsedAt)
			}
		}
	}
	if !found {
		t.Errorf("B does not list token %s: %s", tok.ID, r.Body)
	}

	if out, code := auditVerify(t, b); code != 0 {
		t.Fatalf("audit verify with read entries in the log: exit %d\n%s", code, out)
	}
}

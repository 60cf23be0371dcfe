package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/holdfast/holdfast/internal/testserver"
)

// TestTokenListRevoke drives `holdfast token list` and `token revoke`
// against a real server: the table and --json list every token (all
// pages) without secrets, and a revoked token is refused on its next use.
func TestTokenListRevoke(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	conn := []string{"--server", srv.URL, "--token", testserver.AdminToken}
	type token struct {
		ID          string   `json:"id"`
		Name        string   `json:"name"`
		Permissions []string `json:"permissions"`
		Token       string   `json:"token"`
		RevokedAt   *string  `json:"revoked_at"`
		LastUsedAt  *string  `json:"last_used_at"`
	}
	var created []token
	for _, name := range []string{"reader", "auditor"} {
		code, out, errs := runCLI(t, append([]string{"token", "create", "--name", name, "--perm", "recording:view", "--json"}, conn...)...)
		var tok token
		if code != 0 || json.Unmarshal([]byte(out), &tok) != nil {
			t.Fatalf("token create: %d %s %s", code, out, errs)
		}
		created = append(created, tok)
	}
	reader := created[0]

	code, out, errs := runCLI(t, append([]string{"token", "list", "--json"}, conn...)...)
	var listed []token
	if code != 0 || json.Unmarshal([]byte(out), &listed) != nil || len(listed) != 3 {
		t.Fatalf("token list --json: %d %s %s", code, out, errs)
	}
	if strings.Contains(out, reader.Token) || strings.Contains(out, testserver.AdminToken) || strings.Contains(out, `"token"`) {
		t.Fatalf("token list shows a secret: %s", out)
	}

	// The reader uses its token, then is revoked; its next use is refused.
	useReader := func() (int, string) {
		code, _, errs := runCLI(t, "token", "list", "--server", srv.URL, "--token", reader.Token)
		return code, errs
	}
	if code, errs := useReader(); code != 1 || !strings.Contains(errs, "403 permission_denied") {
		t.Fatalf("reader lists tokens: exit %d, %s; want 1 and 403 permission_denied", code, errs)
	}
	code, out, errs = runCLI(t, append([]string{"token", "revoke", reader.ID}, conn...)...)
	if code != 0 || !strings.Contains(out, "revoked token "+reader.ID+" (reader)") {
		t.Fatalf("token revoke: %d %s %s", code, out, errs)
	}
	if code, errs := useReader(); code != 1 || !strings.Contains(errs, "401 unauthenticated") || !strings.Contains(errs, "revoked") {
		t.Fatalf("revoked reader: exit %d, %s; want 1 and 401 unauthenticated", code, errs)
	}

	code, out, errs = runCLI(t, append([]string{"token", "list"}, conn...)...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 4 || !strings.HasPrefix(lines[0], "ID") || !strings.Contains(lines[0], "REVOKED") {
		t.Fatalf("token list: %d\n%s%s", code, out, errs)
	}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		revoked := f[len(f)-1] != "-"
		if revoked != (f[0] == reader.ID) {
			t.Errorf("token list row %q: revoked column wrong (only %s is revoked)", l, reader.ID)
		}
		if f[0] == reader.ID && f[len(f)-2] == "-" {
			t.Errorf("token list row %q: the reader was used, but LAST USED is empty", l)
		}
	}

	if code, _, errs := runCLI(t, append([]string{"token", "revoke", "tok_01JD0000000000000000000000"}, conn...)...); code != 1 || !strings.Contains(errs, "404 not_found") {
		t.Fatalf("revoke unknown: exit %d, %s", code, errs)
	}
	if code, _, _ := runCLI(t, append([]string{"token", "revoke"}, conn...)...); code != 2 {
		t.Fatalf("revoke without an id: exit %d, want 2", code)
	}
}

package main

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/holdfast/holdfast/internal/media/synth"
	"github.com/holdfast/holdfast/internal/testserver"
)

// TestCLIFlow drives token, ingest, hold and audit subcommands against a
// real server and checks their output and exit codes.
func TestCLIFlow(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	conn := []string{"--server", srv.URL, "--token", testserver.AdminToken}
	dir := t.TempDir()
	calls := synth.Generate(rand.New(rand.NewPCG(5, 6)), 3, synth.Options{Now: time.Now().UTC(), Spread: 24 * time.Hour, MinDuration: 2 * time.Second, MaxDuration: 4 * time.Second})
	if err := synth.WriteDir(dir, calls); err != nil {
		t.Fatal(err)
	}

	code, out, errs := runCLI(t, append([]string{"token", "create", "--name", "bot", "--perm", "recording:view,recording:export", "--json"}, conn...)...)
	var tok struct {
		ID, Token   string
		Permissions []string
	}
	if code != 0 || json.Unmarshal([]byte(out), &tok) != nil || !strings.HasPrefix(tok.Token, "hf_") || len(tok.Permissions) != 2 {
		t.Fatalf("token create: %d %s %s", code, out, errs)
	}
	if code, _, errs := runCLI(t, "token", "create", "--name", "x", "--perm", "nonsense", "--server", srv.URL, "--token", testserver.AdminToken); code != 1 ||
		!strings.Contains(errs, "validation_failed") || !strings.Contains(errs, "permissions[0]") {
		t.Fatalf("bad permission: exit %d, %s", code, errs)
	}

	code, out, errs = runCLI(t, append([]string{"ingest", "--dir", dir}, conn...)...)
	if code != 0 || strings.Count(out, "rec_") != 3 {
		t.Fatalf("ingest --dir: %d\n%s%s", code, out, errs)
	}
	var ids []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		ids = append(ids, strings.Fields(line)[0])
	}
	// Ingesting the same files again is idempotent: same recordings.
	_, again, _ := runCLI(t, append([]string{"ingest", "--dir", dir}, conn...)...)
	for i, line := range strings.Split(strings.TrimSpace(again), "\n") {
		if strings.Fields(line)[0] != ids[i] {
			t.Fatalf("re-ingest created new recordings:\n%s\nvs\n%s", again, out)
		}
	}
	one := calls[0].FileBase()
	if code, out, errs := runCLI(t, append([]string{"ingest", filepath.Join(dir, one+".wav"), "--metadata", filepath.Join(dir, one+".json"), "--siprec", filepath.Join(dir, one+".xml"), "--json"}, conn...)...); code != 0 || !strings.Contains(out, ids[0]) {
		t.Fatalf("single ingest: %d %s %s", code, out, errs)
	}

	code, out, errs = runCLI(t, append([]string{"hold", "apply", "--case", "LC-CLI-1", "--reason", "Discovery Request #1", "--ids", ids[0] + "," + ids[1], "--json"}, conn...)...)
	var hold struct {
		HoldID  string `json:"hold_id"`
		Matched int
	}
	if code != 0 || json.Unmarshal([]byte(out), &hold) != nil || hold.Matched != 2 {
		t.Fatalf("hold apply: %d %s %s", code, out, errs)
	}
	code, out, _ = runCLI(t, append([]string{"hold", "apply", "--case", "LC-CLI-2", "--reason", "r", "--media", "sip", "--since", "48h", "--include-future"}, conn...)...)
	if code != 0 || !strings.Contains(out, "on 3 recording(s)") || !strings.Contains(out, "ingested from now on") {
		t.Fatalf("hold apply --since: %d %s", code, out)
	}
	code, out, _ = runCLI(t, append([]string{"hold", "list", "--case", "LC-CLI-1"}, conn...)...)
	if code != 0 || !strings.Contains(out, hold.HoldID) || !strings.Contains(out, "active") || strings.Contains(out, "LC-CLI-2") {
		t.Fatalf("hold list: %d %s", code, out)
	}
	code, out, _ = runCLI(t, append([]string{"hold", "show", hold.HoldID}, conn...)...)
	if code != 0 || !strings.Contains(out, hold.HoldID) || !regexp.MustCompile(`(?m)^recordings\s+2$`).MatchString(out) || !strings.Contains(out, "LC-CLI-1") {
		t.Fatalf("hold show: %d %s", code, out)
	}
	if code, out, _ := runCLI(t, append([]string{"hold", "release", hold.HoldID, "--reason", "matter closed"}, conn...)...); code != 0 || !strings.Contains(out, "released hold "+hold.HoldID) {
		t.Fatalf("hold release: %d %s", code, out)
	}
	code, out, _ = runCLI(t, append([]string{"hold", "list", "--json"}, conn...)...)
	var holds []struct {
		HoldID string `json:"hold_id"`
		Active bool
	}
	if code != 0 || json.Unmarshal([]byte(out), &holds) != nil || len(holds) != 2 {
		t.Fatalf("hold list --json: %d %s", code, out)
	}
	for _, h := range holds {
		if (h.HoldID == hold.HoldID) == h.Active {
			t.Fatalf("hold %s active=%v after releasing %s", h.HoldID, h.Active, hold.HoldID)
		}
	}
	// A refused request exits 1 with the server's code in one sentence.
	code, _, errs = runCLI(t, append([]string{"hold", "release", "hold_01M8BCHP8X47VC73TD32H8GC8G", "--reason", "x"}, conn...)...)
	if code != 1 || !strings.Contains(errs, "404 not_found") || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
		t.Fatalf("unknown hold: exit %d, %q", code, errs)
	}
	// Usage errors exit 2 before any request.
	for _, args := range [][]string{
		{"hold", "apply", "--case", "X", "--reason", "r"},
		{"hold", "apply", "--case", "X", "--reason", "r", "--from", "yesterday"},
		{"ingest"},
		{"hold", "list"},
	} {
		full := args
		if len(args) < 2 || args[1] != "list" {
			full = append(args, conn...)
		}
		if code, _, errs := runCLI(t, full...); code != 2 {
			t.Fatalf("%v: exit %d (%s), want 2", args, code, errs)
		}
	}

	code, out, errs = runCLI(t, append([]string{"audit", "verify"}, conn...)...)
	if code != 0 || !strings.Contains(out, "audit log OK") {
		t.Fatalf("audit verify: %d %s %s", code, out, errs)
	}
	keyFile := filepath.Join(t.TempDir(), "k.pem")
	_, pem, _ := runCLI(t, append([]string{"key", "export"}, conn...)...)
	os.WriteFile(keyFile, []byte(pem), 0o600)
	if code, out, _ := runCLI(t, append([]string{"audit", "verify", "--key", keyFile, "--json"}, conn...)...); code != 0 || !strings.Contains(out, `"key_pinned":true`) {
		t.Fatalf("audit verify --key: %d %s", code, out)
	}
}

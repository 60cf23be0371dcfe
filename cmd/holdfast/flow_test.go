package main

import (
	"encoding/json"
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/holdfast/holdfast/client"
	"github.com/holdfast/holdfast/internal/media/synth"
	"github.com/holdfast/holdfast/internal/testserver"
)

// TestCLIMatterFlow follows a matter from the command line alone: find the
// recordings of a call by call id and by participant, hold them for a
// case, export the case, watch the job, list the case's holds, release the
// whole case in one command, revoke the token used (then 401), and read
// the audit entries of all of it.
func TestCLIMatterFlow(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	admin := []string{"--server", srv.URL, "--token", testserver.AdminToken}
	dir := t.TempDir()
	calls := synth.Generate(rand.New(rand.NewPCG(21, 22)), 3, synth.Options{Now: time.Now().UTC(), Spread: 24 * time.Hour, MinDuration: 2 * time.Second, MaxDuration: 3 * time.Second})
	if err := synth.WriteDir(dir, calls); err != nil {
		t.Fatal(err)
	}
	cli := func(conn []string, args ...string) (int, string, string) {
		t.Helper()
		return runCLI(t, append(args, conn...)...)
	}
	must := func(conn []string, args ...string) string {
		t.Helper()
		code, out, errs := cli(conn, args...)
		if code != 0 {
			t.Fatalf("holdfast %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errs)
		}
		return out
	}
	if code, out, errs := cli(admin, "ingest", "--dir", dir); code != 0 || strings.Count(out, "rec_") != 3 {
		t.Fatalf("ingest: %d %s %s", code, out, errs)
	}

	// A token for the legal team, used for everything that follows.
	var tok struct{ ID, Token string }
	if err := json.Unmarshal([]byte(must(admin, "token", "create", "--name", "legal-ops", "--json", "--perm",
		"recording:view,recording:export,recording:export:legalhold,legalhold:release,audit:view")), &tok); err != nil || tok.Token == "" {
		t.Fatalf("token create: %v", err)
	}
	legal := []string{"--server", srv.URL, "--token", tok.Token}

	// Find the call by its call id, and by a participant (any case).
	var found []client.Recording
	if err := json.Unmarshal([]byte(must(legal, "recordings", "list", "--call-id", calls[0].CallID, "--since", "2d", "--json")), &found); err != nil || len(found) != 1 || found[0].CallID != calls[0].CallID {
		t.Fatalf("recordings list --call-id: %v %+v", err, found)
	}
	callRec := found[0].ID
	who := strings.ToUpper(strings.TrimPrefix(calls[0].Participants[1].AOR, "sip:"))
	out := must(legal, "recordings", "list", "--participant", who)
	if !strings.Contains(out, callRec) || !strings.Contains(out, "recording(s)") {
		t.Fatalf("recordings list --participant %s:\n%s", who, out)
	}
	var all []client.Recording
	if err := json.Unmarshal([]byte(must(legal, "recordings", "list", "--json")), &all); err != nil || len(all) != 3 {
		t.Fatalf("recordings list --json: %v, %d items", err, len(all))
	}
	var other string
	for _, r := range all {
		if r.ID != callRec {
			other = r.ID
			break
		}
	}
	if out := must(legal, "recordings", "show", callRec); !strings.Contains(out, calls[0].CallID) || !strings.Contains(out, "legal hold:   none") {
		t.Fatalf("recordings show:\n%s", out)
	}

	// Hold them for a case, then export the case with a hold of its own.
	if out := must(legal, "hold", "apply", "--case", "LC-FLOW-1", "--reason", "Discovery Request #12345", "--ids", callRec+","+other); !strings.Contains(out, "on 2 recording(s)") {
		t.Fatalf("hold apply:\n%s", out)
	}
	out = must(legal, "export", "--case", "LC-FLOW-1", "--legal-hold", "--ids", callRec+","+other, "--out", filepath.Join(t.TempDir(), "discovery"), "--poll", "100ms")
	if !strings.Contains(out, "recordings exported: 2 of 2") || !strings.Contains(out, "pinned to the server's signing key") {
		t.Fatalf("export:\n%s", out)
	}
	jobID := regexp.MustCompile(`export (exp_\w+): completed`).FindStringSubmatch(out)
	if jobID == nil {
		t.Fatalf("no job id in:\n%s", out)
	}
	if out := must(legal, "exports", "show", jobID[1]); !strings.Contains(out, "completed") || !strings.Contains(out, "2/2 exported") || !strings.Contains(out, "LC-FLOW-1") {
		t.Fatalf("exports show:\n%s", out)
	}
	if out := must(legal, "exports", "list"); !strings.Contains(out, jobID[1]) {
		t.Fatalf("exports list:\n%s", out)
	}
	// An export of a case that does not exist fails, saying so.
	if code, _, errs := cli(legal, "export", "--case", "NOPE", "--out", filepath.Join(t.TempDir(), "nope")); code != 1 || !strings.Contains(errs, "nothing matched") {
		t.Fatalf("export --case NOPE: exit %d, %s", code, errs)
	}

	// The case's holds: the direct one and the export's own.
	var holds []client.Hold
	if err := json.Unmarshal([]byte(must(legal, "hold", "list", "--case", "LC-FLOW-1", "--json")), &holds); err != nil || len(holds) != 2 {
		t.Fatalf("hold list --case: %v %+v", err, holds)
	}
	if out := must(legal, "hold", "list", "--case", "LC-FLOW-1"); strings.Count(out, "active") != 2 || !strings.Contains(out, "HOLD DATE") {
		t.Fatalf("hold list table:\n%s", out)
	}
	if out := must(legal, "hold", "show", holds[0].HoldID); !regexp.MustCompile(`(?m)^recordings\s+2$`).MatchString(out) {
		t.Fatalf("hold show:\n%s", out)
	}

	// Release the whole case in one command.
	out = must(legal, "hold", "release", "--case", "LC-FLOW-1", "--reason", "Matter closed")
	if !strings.Contains(out, "released case LC-FLOW-1: 2 hold(s)") || !strings.Contains(out, holds[0].HoldID) || !strings.Contains(out, holds[1].HoldID) {
		t.Fatalf("hold release --case:\n%s", out)
	}
	var after []client.Recording
	held := "--held"
	if err := json.Unmarshal([]byte(must(legal, "recordings", "list", held, "--json")), &after); err != nil || len(after) != 0 {
		t.Fatalf("held recordings after the case release: %v %+v", err, after)
	}

	// Revoke the token: its next request is 401.
	var toks []client.Token
	if err := json.Unmarshal([]byte(must(admin, "token", "list", "--json")), &toks); err != nil ||
		!slices.ContainsFunc(toks, func(x client.Token) bool { return x.ID == tok.ID }) {
		t.Fatalf("token list: %v", err)
	}
	must(admin, "token", "revoke", tok.ID)
	if code, _, errs := cli(legal, "recordings", "list"); code != 1 || !strings.Contains(errs, "401") || !strings.Contains(errs, "unauthenticated") {
		t.Fatalf("revoked token: exit %d, %s", code, errs)
	}

	// The audit log shows all of it, one line per entry.
	out = must(admin, "audit", "entries")
	for _, typ := range []string{"recording.ingested", "token.created", "hold.applied", "export.created", "hold.released", "case.released", "token.revoked"} {
		if !strings.Contains(out, typ) {
			t.Errorf("audit entries lack %s:\n%s", typ, out)
		}
	}
	var entries []client.AuditEntry
	if err := json.Unmarshal([]byte(must(admin, "audit", "entries", "--start", "2", "--limit", "3", "--json")), &entries); err != nil || len(entries) != 3 || entries[0].Index != 2 {
		t.Fatalf("audit entries --start 2 --limit 3 --json: %v %+v", err, entries)
	}
}

// TestCLIVersion prints the version, commit and Go version both ways.
func TestCLIVersion(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, out, _ := runCLI(t, args...)
		if code != 0 || !strings.HasPrefix(out, "holdfast ") || !strings.Contains(out, "commit ") || !strings.Contains(out, "built with go1.") {
			t.Errorf("holdfast %s: exit %d, %q", args[0], code, out)
		}
	}
}

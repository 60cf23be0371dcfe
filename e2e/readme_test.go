package e2e_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/holdfast/holdfast/internal/testserver"
)

// TestREADMEWalkthrough makes the README come true: it installs holdfast
// with the README's own `go install` line, starts `holdfast serve` in a
// fresh directory, runs every shell block of the Walkthrough section in
// order (in one shell, so its variables carry over), and checks each output
// block against what the commands before it printed: every line, in order,
// with the counts exactly as shown (ids, hashes and byte counts elided
// with … in the README vary).
func TestREADMEWalkthrough(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"bash", "curl", "openssl"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is missing (CI=true, so this fails instead of skipping)", tool)
			}
			t.Skipf("SKIP: %s is not installed", tool)
		}
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	setup := section(t, string(readme), "## Set up and run", "## ")
	for _, line := range []string{"go install ./cmd/holdfast", "holdfast serve"} {
		if !strings.Contains(setup, "\n"+line) {
			t.Fatalf("the README's set-up block no longer says %q", line)
		}
	}

	// go install ./cmd/holdfast, into a private GOBIN.
	bin := t.TempDir()
	install := exec.Command("go", "install", "./cmd/holdfast")
	install.Dir = root
	install.Env = append(os.Environ(), "GOBIN="+bin)
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("go install ./cmd/holdfast: %v\n%s", err, out)
	}

	// holdfast serve, in a fresh directory (./holdfast-data), on a free port.
	work := t.TempDir()
	addr := testserver.FreePort(t)
	env := append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "HOLDFAST_SERVER=http://"+addr,
		"HOLDFAST_TOKEN=", "HOLDFAST_DATA=", "HOLDFAST_DATABASE_URL=", "HOLDFAST_BLOB_URL=", "HOLDFAST_FAULTS=")
	var serveLog bytes.Buffer
	serve := exec.Command(filepath.Join(bin, "holdfast"), "serve")
	serve.Dir, serve.Env = work, append(env, "HOLDFAST_LISTEN="+addr)
	serve.Stdout, serve.Stderr = &serveLog, &serveLog
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { serve.Process.Kill(); serve.Wait() })
	testserver.WaitHTTP(t, "http://"+addr+"/healthz", 60*time.Second)

	// Every shell block of the walkthrough, in one shell; output blocks
	// are checked against the blocks before them.
	walk := section(t, string(readme), "## Walkthrough", "### From Python")
	blocks := fences(walk)
	var script strings.Builder
	script.WriteString("set -e\nexec 2>&1\n")
	type check struct {
		after int // the output of shell blocks up to this one
		want  string
	}
	var checks []check
	shells := 0
	for _, b := range blocks {
		if b.lang == "sh" {
			fmt.Fprintf(&script, "echo '@@block %d@@'\n%s\n", shells, strings.ReplaceAll(b.body, "127.0.0.1:8640", addr))
			shells++
			continue
		}
		checks = append(checks, check{after: shells - 1, want: b.body})
	}
	if shells < 4 || len(checks) < 2 {
		t.Fatalf("found %d shell blocks and %d output blocks in the walkthrough", shells, len(checks))
	}
	sh := exec.Command("bash", "-c", script.String())
	sh.Dir, sh.Env = work, env
	out, err := sh.CombinedOutput()
	if err != nil {
		t.Fatalf("the walkthrough failed: %v\n%s\nserver log:\n%s", err, out, serveLog.String())
	}
	outputs := splitBlocks(string(out))
	for _, c := range checks {
		got := outputs[c.after]
		if err := matchLines(c.want, got); err != nil {
			t.Errorf("README output block after shell block %d does not come true: %v\nthe commands printed:\n%s", c.after, err, got)
		}
	}
	// The walkthrough's last words: nothing is held after the release.
	if last := outputs[shells-1]; !strings.Contains(last, "[]") {
		t.Errorf("after the case release, recordings list --held --json printed:\n%s", last)
	}
	t.Logf("walkthrough ran %d shell blocks and checked %d output blocks", shells, len(checks))
}

// section returns the README text from the heading start to the next
// heading that begins with end.
func section(t *testing.T, doc, start, end string) string {
	t.Helper()
	i := strings.Index(doc, "\n"+start)
	if i < 0 {
		t.Fatalf("the README has no %q", start)
	}
	rest := doc[i+1+len(start):]
	if j := strings.Index(rest, "\n"+end); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

type fence struct{ lang, body string }

// fences returns the fenced code blocks of md in order.
func fences(md string) []fence {
	var out []fence
	lines := strings.Split(md, "\n")
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if !strings.HasPrefix(l, "```") {
			continue
		}
		f := fence{lang: strings.TrimPrefix(l, "```")}
		var body []string
		for i++; i < len(lines) && lines[i] != "```"; i++ {
			body = append(body, lines[i])
		}
		f.body = strings.Join(body, "\n")
		out = append(out, f)
	}
	return out
}

var blockMarker = regexp.MustCompile(`(?m)^@@block (\d+)@@$`)

// splitBlocks cuts the shell's output at the block markers.
func splitBlocks(out string) []string {
	locs := blockMarker.FindAllStringIndex(out, -1)
	parts := make([]string, len(locs))
	for i, loc := range locs {
		end := len(out)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		parts[i] = out[loc[1]:end]
	}
	return parts
}

var (
	elided    = regexp.MustCompile(`[A-Za-z0-9_:./+-]*…`)
	byteCount = regexp.MustCompile(`\(\d+ bytes\)`)
)

// matchLines checks that every non-empty line of want appears in got, in
// order, where a token ending in … stands for any token and a byte count
// for any count; every other character, numbers included, must match.
func matchLines(want, got string) error {
	gotLines := strings.Split(got, "\n")
	pos := 0
	for _, w := range strings.Split(want, "\n") {
		if strings.TrimSpace(w) == "" {
			continue
		}
		w = byteCount.ReplaceAllString(w, "(… bytes)")
		var pat strings.Builder
		pat.WriteString("^")
		last := 0
		for _, loc := range elided.FindAllStringIndex(w, -1) {
			pat.WriteString(regexp.QuoteMeta(w[last:loc[0]]))
			pat.WriteString(`[A-Za-z0-9_:./+-]+`)
			last = loc[1]
		}
		pat.WriteString(regexp.QuoteMeta(w[last:]) + "$")
		re := regexp.MustCompile(pat.String())
		found := false
		for ; pos < len(gotLines); pos++ {
			if re.MatchString(strings.TrimRight(gotLines[pos], " \r")) {
				found, pos = true, pos+1
				break
			}
		}
		if !found {
			return fmt.Errorf("no line matching %q (in order)", w)
		}
	}
	return nil
}

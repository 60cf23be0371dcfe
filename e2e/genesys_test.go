package e2e_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/holdfast/holdfast/client"
	"github.com/holdfast/holdfast/internal/genesys/genesystest"
	"github.com/holdfast/holdfast/internal/testserver"
)

// TestGenesysImport is issue 13's "done when": 300 conversations (about
// 350 audio recordings, some still transcoding, some screen recordings)
// come in from the fake Genesys Cloud while it injects 429s and hands out
// expired URLs; the importer (a real process) is SIGKILLed mid-run and run
// again; every recording arrives exactly once with the fake's bytes and
// its Genesys labels; --protect protects exactly the held conversations at
// ≤ 100 per call and stops cleanly at the organisation's cap; and an export
// with --legal-hold gives a bag whose index.csv carries the conversation
// ids.
func TestGenesysImport(t *testing.T) {
	t.Parallel()
	start := time.Now()
	now := time.Now().UTC()
	convs, err := genesystest.Generate(genesystest.GenerateOptions{Conversations: 300, Start: now.Add(-6 * time.Hour), End: now.Add(-time.Minute),
		Seed: 13, SecondRecordingEvery: 6, TranscodingEvery: 15, Transcoding: 2, ScreenEvery: 25})
	if err != nil {
		t.Fatal(err)
	}
	// The organisation already protects 850 other conversations: room for 150.
	var others []string
	for i := range 850 {
		others = append(others, fmt.Sprintf("other-%04d", i))
	}
	fake := genesystest.New(genesystest.Options{Conversations: convs, DataAvailability: now.Add(-time.Hour),
		RateLimit: -1, Inject429Every: 40, RetryAfter: 1, ExpireEvery: 25, TokenTTL: 20 * time.Second, AlreadyProtected: others})
	t.Cleanup(fake.Close)

	byRec := map[string]genesystest.Recording{}
	convOf := map[string]string{}
	var audio, screens int
	for _, c := range convs {
		for _, r := range c.Recordings {
			if r.Media == "audio" {
				audio++
				byRec[r.ID] = r
				convOf[r.ID] = c.ID
			} else {
				screens++
			}
		}
	}
	if audio < 340 || audio > 360 || screens == 0 {
		t.Fatalf("generated %d audio and %d screen recordings; want about 350 audio", audio, screens)
	}

	srv := testserver.StartProcess(t, "")
	hc := sdk(t, srv)
	dir := t.TempDir()
	state := filepath.Join(dir, "import-state.json")
	importCmd := func(extra ...string) *exec.Cmd {
		args := append([]string{"import", "genesys", "--since", "7h", "--api-base", fake.URL, "--state", state,
			"--server", srv.URL, "--poll", "50ms"}, extra...)
		cmd := exec.Command(testserver.Binary(t), args...)
		cmd.Env = append(os.Environ(), "GENESYS_CLIENT_ID=test-client", "GENESYS_CLIENT_SECRET=test-secret", "HOLDFAST_TOKEN="+testserver.AdminToken)
		return cmd
	}

	// 1. Run the importer and SIGKILL it once it has imported 120.
	cmd := importCmd()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	imported := 0
	for sc.Scan() {
		if strings.Contains(sc.Text(), "] imported ") {
			imported++
			if imported == 120 {
				_ = cmd.Process.Kill()
				break
			}
		}
	}
	_ = cmd.Wait()
	if imported < 120 {
		t.Fatalf("the importer ended after %d imports, before it could be killed", imported)
	}
	before := genesysRecordings(t, hc)
	if len(before) < 120 || len(before) >= audio {
		t.Fatalf("after the kill holdfast holds %d Genesys recordings; want a partial import", len(before))
	}

	t.Logf("%s after %s", "killed the importer", time.Since(start).Round(time.Second))
	// 2. Run again to the end: only what is missing is imported.
	out, code := runCmd(t, importCmd())
	if code != 0 {
		t.Fatalf("rerun exited %d:\n%s", code, tail(out))
	}
	// An upload in flight at the kill may still have committed after the
	// count above, so the split is read from the summary and checked
	// against it: together they are every audio recording, once.
	var nImported, nSkipped int
	if _, err := fmt.Sscanf(after(out, "recordings imported: "), "%d", &nImported); err != nil {
		t.Fatalf("rerun summary without an imported count:\n%s", tail(out))
	}
	if _, err := fmt.Sscanf(after(out, "skipped (already present): "), "%d", &nSkipped); err != nil {
		t.Fatalf("rerun summary without a skipped count:\n%s", tail(out))
	}
	if nImported+nSkipped != audio || nSkipped < len(before) || nImported == 0 {
		t.Errorf("rerun imported %d and skipped %d; want %d in all, at least %d skipped", nImported, nSkipped, audio, len(before))
	}
	for _, want := range []string{"conversations found: 300", fmt.Sprintf("unsupported_media (not audio): %d", screens), "failed: 0"} {
		if !strings.Contains(out, want) {
			t.Errorf("rerun summary lacks %q:\n%s", want, tail(out))
		}
	}
	got := genesysRecordings(t, hc)
	if len(got) != audio {
		t.Fatalf("holdfast holds %d Genesys recordings, want %d", len(got), audio)
	}
	for gid, r := range got {
		want, ok := byRec[gid]
		sum := sha256.Sum256(want.Body)
		if !ok || r.Content.SHA256 != hex.EncodeToString(sum[:]) || r.Labels["genesys.conversation_id"] != convOf[gid] || r.CallID != convOf[gid] || r.MediaType != "SIP" {
			t.Errorf("Genesys recording %s stored as %+v", gid, r)
		}
	}
	st := fake.Stats()
	t.Logf("killed after %d imports (%d in holdfast); rerun imported %d, skipped %d; fake: %d API requests, %d 429s, %d expired URLs, %d 202s, %d tokens, %d batches, %d sync queries",
		imported, len(before), nImported, nSkipped, st.Requests, st.Served429, st.ExpiredURLs, st.Served202, st.TokensIssued, len(st.BatchSizes), st.SyncQueries)
	if st.Served429 == 0 || st.ExpiredURLs == 0 || st.Served202 == 0 || st.DownloadsWithAuth != 0 || st.SyncQueries == 0 || st.TokensIssued < 2 {
		t.Errorf("the fake saw %+v; want 429s, expired URLs, 202s, the synchronous query, token refreshes and no download with Authorization", st)
	}
	for _, n := range st.BatchSizes {
		if n > 100 {
			t.Errorf("a batch download request named %d recordings", n)
		}
	}
	t.Logf("%s after %s", "rerun to the end", time.Since(start).Round(time.Second))
	// A third run changes nothing.
	out, code = runCmd(t, importCmd())
	if code != 0 || !strings.Contains(out, "recordings imported: 0") || !strings.Contains(out, fmt.Sprintf("skipped (already present): %d", audio)) {
		t.Fatalf("third run exited %d:\n%s", code, tail(out))
	}
	if n := len(genesysRecordings(t, hc)); n != audio {
		t.Fatalf("after the third run holdfast holds %d, want %d", n, audio)
	}
	probed := got[firstKey(got)].ID
	waitCompleted(t, hc, []string{probed})
	if r, _ := hc.GetRecording(context.Background(), probed); r.Content.MediaFormat != "audio/webm" || r.Content.Codec != "opus" || r.Status != "completed" || r.DurationMS == nil {
		t.Errorf("imported WebM recording probed as %+v (%s)", r.Content, r.Status)
	}

	t.Logf("%s after %s", "third run and processing", time.Since(start).Round(time.Second))
	// 3. --protect: hold the recordings of 120 conversations; exactly those
	// are protected, at most 100 per call.
	held := holdConversations(t, hc, got, convs[:120], "LC-GEN-1")
	out, code = runCmd(t, importCmd("--protect"))
	if code != 0 || !strings.Contains(out, "deletion protection: 120 held conversation(s): 120 protected now") {
		t.Fatalf("--protect exited %d:\n%s", code, tail(out))
	}
	if p := ownProtected(fake); !slices.Equal(p, held) {
		t.Fatalf("the fake protects %d of ours, want exactly the %d held", len(p), len(held))
	}
	// 60 more held conversations, room for 30: protection stops at the cap.
	held = append(held, holdConversations(t, hc, got, convs[120:180], "LC-GEN-2")...)
	slices.Sort(held)
	out, code = runCmd(t, importCmd("--protect"))
	if code != 1 || !strings.Contains(out, "the organisation's limit of 1000 protected conversations is reached") ||
		!strings.Contains(out, "30 protected now, 120 already protected, 30 not protected") {
		t.Fatalf("--protect at the cap exited %d:\n%s", code, tail(out))
	}
	if n := len(fake.Protected()); n != 1000 {
		t.Fatalf("the fake protects %d conversations, want the cap of 1000", n)
	}
	for _, id := range ownProtected(fake) {
		if _, ok := slices.BinarySearch(held, id); !ok {
			t.Errorf("conversation %s protected but not held", id)
		}
	}
	for _, call := range fake.Stats().ProtectCalls {
		if len(call) > 100 {
			t.Errorf("a deletion-protection call named %d conversations", len(call))
		}
	}
	// holdfast's own holds are unaffected: a held recording cannot be deleted.
	victim := got[convs[170].Recordings[0].ID].ID
	if err := hc.DeleteRecording(context.Background(), victim); err == nil || !strings.Contains(err.Error(), "legal_hold_active") {
		t.Fatalf("deleting a held imported recording: %v", err)
	}

	t.Logf("%s after %s", "protection", time.Since(start).Round(time.Second))
	// 4. Export with a legal hold: a valid bag whose index.csv carries the
	// Genesys conversation ids.
	outDir := filepath.Join(dir, "discovery")
	out, code = runCLI(t, "export", "--server", srv.URL, "--token", testserver.AdminToken, "--case", "LC-GEN-EXPORT",
		"--legal-hold", "--media", "sip", "--since", "8h", "--out", outDir)
	if code != 0 || !strings.Contains(out, fmt.Sprintf("recordings exported: %d of %d", audio, audio)) {
		t.Fatalf("export exited %d:\n%s", code, tail(out))
	}
	bags, _ := filepath.Glob(filepath.Join(outDir, "LC-GEN-EXPORT_*"))
	if len(bags) != 1 {
		t.Fatalf("bags %v", bags)
	}
	rows := readIndex(t, filepath.Join(bags[0], "data", "index.csv"))
	if len(rows) != audio {
		t.Fatalf("index.csv has %d rows, want %d", len(rows), audio)
	}
	byHoldfast := map[string]string{}
	for gid, r := range got {
		byHoldfast[r.ID] = convOf[gid]
	}
	for _, row := range rows {
		if byHoldfast[row["id"]] == "" || row["call_id"] != byHoldfast[row["id"]] {
			t.Errorf("index.csv row %v: call_id is not the Genesys conversation id %q", row, byHoldfast[row["id"]])
		}
	}
	if out, code := runCLI(t, "verify", bags[0]); code != 0 {
		t.Fatalf("holdfast verify exited %d:\n%s", code, tail(out))
	}
	t.Logf("export and verify done after %s", time.Since(start).Round(time.Second))
}

// genesysRecordings lists holdfast's recordings by Genesys recording id,
// failing on a duplicate.
func genesysRecordings(t *testing.T, c *client.Client) map[string]client.Recording {
	t.Helper()
	out := map[string]client.Recording{}
	for cursor := ""; ; {
		page, err := c.ListRecordings(context.Background(), client.ListRecordingsParams{Limit: 1000, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Items {
			gid := r.Labels["genesys.recording_id"]
			if gid == "" {
				continue
			}
			if _, dup := out[gid]; dup {
				t.Errorf("Genesys recording %s is in holdfast twice", gid)
			}
			out[gid] = r
		}
		if page.NextCursor == "" {
			return out
		}
		cursor = page.NextCursor
	}
}

// holdConversations holds every imported recording of convs under a case
// and returns the conversation ids, sorted.
func holdConversations(t *testing.T, c *client.Client, got map[string]client.Recording, convs []genesystest.Conversation, caseID string) []string {
	t.Helper()
	var recIDs, convIDs []string
	for _, cv := range convs {
		for _, r := range cv.Recordings {
			if h, ok := got[r.ID]; ok {
				recIDs = append(recIDs, h.ID)
			}
		}
		convIDs = append(convIDs, cv.ID)
	}
	if _, err := c.CreateHold(context.Background(), client.CreateHoldRequest{CaseID: caseID, HoldReason: "Genesys litigation", Filter: client.Filter{RecordIDs: recIDs}}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(convIDs)
	return convIDs
}

// ownProtected is the fake's protected conversations that are ours (not
// the pre-existing "other-" ones), sorted.
func ownProtected(f *genesystest.Server) []string {
	var out []string
	for _, id := range f.Protected() {
		if !strings.HasPrefix(id, "other-") {
			out = append(out, id)
		}
	}
	return out
}

func readIndex(t *testing.T, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil || len(recs) == 0 {
		t.Fatalf("index.csv: %v", err)
	}
	var out []map[string]string
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = r[i]
		}
		out = append(out, m)
	}
	return out
}

func runCmd(t *testing.T, cmd *exec.Cmd) (string, int) {
	t.Helper()
	b, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(b), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b), 0
}

// after returns what follows the first occurrence of marker in s.
func after(s, marker string) string {
	_, rest, _ := strings.Cut(s, marker)
	return rest
}

func firstKey(m map[string]client.Recording) string {
	for k := range m {
		return k
	}
	return ""
}

// tail keeps the end of a long output for failure messages.
func tail(s string) string {
	if len(s) > 4000 {
		return "…" + s[len(s)-4000:]
	}
	return s
}

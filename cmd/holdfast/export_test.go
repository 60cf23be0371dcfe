package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/holdfast/holdfast/client"
	"github.com/holdfast/holdfast/internal/media/synth"
	"github.com/holdfast/holdfast/internal/testserver"
)

// runCLI runs a holdfast command line in-process and returns its exit
// code, stdout and stderr.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, stdin: strings.NewReader(""), getenv: func(string) string { return "" }}
	code := run(context.Background(), e, args)
	return code, out.String(), errb.String()
}

func ingestSynthetic(t *testing.T, c *client.Client, seed uint64, n int) []string {
	t.Helper()
	calls := synth.Generate(rand.New(rand.NewPCG(seed, seed)), n, synth.Options{Now: time.Now().UTC(), Spread: 24 * time.Hour, MinDuration: 5 * time.Second, MaxDuration: 15 * time.Second})
	var ids []string
	for _, call := range calls {
		var buf bytes.Buffer
		if err := call.WriteWAV(&buf); err != nil {
			t.Fatal(err)
		}
		b := buf.Bytes()
		rec, err := c.Ingest(context.Background(), client.IngestRequest{Metadata: call.Metadata(), SIPREC: call.SIPREC(),
			Media: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, rec.ID)
	}
	return ids
}

// exportJob is the part of a job the tests read.
type exportJob struct {
	ID       string `json:"id"`
	State    string `json:"state"`
	HoldID   string `json:"hold_id"`
	Progress struct {
		Matched, Exported, Pending, Failed int
	} `json:"progress"`
	Package *struct {
		Name, Location string
	} `json:"package"`
}

func postExport(t *testing.T, url, body string) exportJob {
	t.Helper()
	req, _ := http.NewRequest("POST", url+"/api/v2/bulk/recordingexports", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testserver.AdminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var j exportJob
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 202 || json.Unmarshal(raw, &j) != nil {
		t.Fatalf("export: %d %s", resp.StatusCode, raw)
	}
	return j
}

func getJob(t *testing.T, url, id string) (exportJob, error) {
	req, _ := http.NewRequest("GET", url+"/api/v2/bulk/recordingexports/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+testserver.AdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return exportJob{}, err
	}
	defer resp.Body.Close()
	var j exportJob
	err = json.NewDecoder(resp.Body).Decode(&j)
	return j, err
}

func waitFinished(t *testing.T, url, id string) exportJob {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		j, err := getJob(t, url, id)
		if err == nil && (j.State == "completed" || j.State == "completed_with_errors" || j.State == "failed" || j.State == "cancelled") {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s did not finish: %+v %v", id, j, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// manifestRecordings returns path → sha256 of data/recordings/ entries,
// failing if any path is listed twice.
func manifestRecordings(t *testing.T, dir string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "manifest-sha256.txt"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		sum, p, _ := strings.Cut(line, "  ")
		if _, dup := out[p]; dup {
			t.Fatalf("%s is listed twice in the manifest", p)
		}
		if strings.HasPrefix(p, "data/recordings/") {
			out[p] = sum
		}
	}
	return out
}

// indexRows returns index.csv rows without the hold_ids column, sorted,
// failing on a repeated recording.
func indexRows(t *testing.T, dir string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "data", "index.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var out []string
	for _, r := range rows[1:] {
		if seen[r[0]] {
			t.Fatalf("recording %s appears twice in index.csv", r[0])
		}
		seen[r[0]] = true
		out = append(out, strings.Join(r[:len(r)-1], ","))
	}
	sort.Strings(out)
	return out
}

// TestExportSurvivesSIGKILL kills a real server while an export job is
// half done, restarts it, and checks the job completes with every
// recording exactly once and the same content as an uninterrupted export.
func TestExportSurvivesSIGKILL(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	first := testserver.StartProcess(t, dataDir)
	ready := ingestSynthetic(t, first.Client(t), 21, 10)
	first.Kill()
	srv := testserver.StartProcess(t, dataDir, "--faults", "processing_delay=5s")
	c := srv.Client(t)
	slow := ingestSynthetic(t, c, 22, 3) // processing for 5 s
	job := postExport(t, srv.URL, `{"filter":{"media_type":"SIP"},"metadata":{"legal_hold":true,"case_id":"LC-CRASH"},"options":{"wait_for_processing":"2m"}}`)
	if job.Progress.Matched != 13 {
		t.Fatalf("matched %d", job.Progress.Matched)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		j, err := getJob(t, srv.URL, job.ID)
		if err == nil && j.Progress.Exported >= 5 {
			if j.Progress.Exported == 13 {
				t.Fatal("the job finished before the kill; the test cannot exercise a crash")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job made no progress: %+v", j)
		}
		time.Sleep(10 * time.Millisecond)
	}
	srv.Kill()
	srv.Restart()
	done := waitFinished(t, srv.URL, job.ID)
	if done.State != "completed" || done.Progress.Exported != 13 || done.Package == nil {
		t.Fatalf("after restart: %+v\n%s", done, srv.Log())
	}
	crashed := done.Package.Location
	got := manifestRecordings(t, crashed)
	if len(got) != 13 {
		t.Fatalf("%d recordings in the manifest, want 13", len(got))
	}
	for _, id := range append(append([]string{}, ready...), slow...) {
		if _, ok := got["data/recordings/"+id+".wav"]; !ok {
			t.Fatalf("recording %s missing from the bag", id)
		}
	}
	if code, out, errs := runCLI(t, "verify", crashed); code != 0 {
		t.Fatalf("verify of the resumed bag: %d\n%s%s", code, out, errs)
	}

	// An uninterrupted export of the same recordings has the same content.
	ids, _ := json.Marshal(append(append([]string{}, ready...), slow...))
	again := waitFinished(t, srv.URL, postExport(t, srv.URL, `{"filter":{"record_ids":`+string(ids)+`}}`).ID)
	if again.State != "completed" {
		t.Fatalf("second export: %+v", again)
	}
	want := manifestRecordings(t, again.Package.Location)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("resumed bag payload differs from an uninterrupted one:\n%v\n%v", got, want)
	}
	if a, b := indexRows(t, crashed), indexRows(t, again.Package.Location); strings.Join(a, "\n") != strings.Join(b, "\n") {
		t.Fatalf("index.csv differs:\n%v\n%v", a, b)
	}
}

// TestTamperedBagFailsVerify flips one byte in every file of a bag in
// turn; verify must exit 1 and name that file. The untouched bag passes
// verify --key and openssl.
func TestTamperedBagFailsVerify(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	ingestSynthetic(t, srv.Client(t), 31, 2)
	job := waitFinished(t, srv.URL, postExport(t, srv.URL, `{"filter":{"media_type":"SIP"},"metadata":{"legal_hold":true,"case_id":"LC-TAMPER"}}`).ID)
	bagDir := job.Package.Location

	keyFile := filepath.Join(t.TempDir(), "key.pem")
	code, pem, errs := runCLI(t, "key", "export", "--server", srv.URL, "--token", testserver.AdminToken)
	if code != 0 || !strings.Contains(pem, "BEGIN PUBLIC KEY") {
		t.Fatalf("key export: %d %s", code, errs)
	}
	os.WriteFile(keyFile, []byte(pem), 0o600)
	code, out, errs := runCLI(t, "verify", "--key", keyFile, bagDir)
	if code != 0 || !strings.Contains(out, "pinned with --key") {
		t.Fatalf("pristine bag: %d\n%s%s", code, out, errs)
	}
	if _, err := exec.LookPath("openssl"); err == nil {
		cmd := exec.Command("openssl", "pkeyutl", "-verify", "-pubin", "-inkey", keyFile, "-rawin", "-in", filepath.Join(bagDir, "tagmanifest-sha256.txt"),
			"-sigfile", filepath.Join(bagDir, "tagmanifest-sha256.txt.sig"))
		if b, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(b), "Signature Verified Successfully") {
			t.Fatalf("openssl rejects the signature: %v %s", err, b)
		}
	} else if os.Getenv("CI") == "true" {
		t.Fatal("openssl is required in CI")
	} else {
		t.Log("openssl not installed: skipping the openssl check")
	}
	// A foreign key is refused when pinned.
	otherKey := filepath.Join(t.TempDir(), "other.pem")
	os.WriteFile(otherKey, []byte("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n"), 0o600)
	if code, out, _ := runCLI(t, "verify", "--key", otherKey, bagDir); code != 1 || !strings.Contains(out, "tagmanifest-sha256.txt.sig") {
		t.Fatalf("foreign pinned key: exit %d\n%s", code, out)
	}

	var files []string
	filepath.WalkDir(bagDir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(bagDir, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if len(files) < 12 {
		t.Fatalf("bag has only %d files", len(files))
	}
	for _, rel := range files {
		t.Run(rel, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "bag")
			if err := os.CopyFS(dir, os.DirFS(bagDir)); err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, filepath.FromSlash(rel))
			b, _ := os.ReadFile(p)
			i := len(b) / 2
			b[i] ^= 0x01
			os.WriteFile(p, b, 0o600)
			code, out, errs := runCLI(t, "verify", dir)
			if code != 1 {
				t.Fatalf("verify exited %d after flipping byte %d of %s\n%s", code, i, rel, out)
			}
			if !strings.Contains(out, rel) || !strings.Contains(errs, "does not verify") {
				t.Fatalf("verify did not name %s:\n%s%s", rel, out, errs)
			}
		})
	}
}

// TestVerifyPlainBagItAndUsage covers a bag without custody and the exit
// code for usage errors.
func TestVerifyPlainBagItAndUsage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "data"), 0o755)
	os.WriteFile(filepath.Join(dir, "bagit.txt"), []byte("BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "data", "a.txt"), []byte("hello\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "manifest-sha256.txt"), []byte("5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03  data/a.txt\n"), 0o644)
	code, out, errs := runCLI(t, "verify", dir)
	if code != 0 || !strings.Contains(out, "plain BagIt") {
		t.Fatalf("plain bag: %d\n%s%s", code, out, errs)
	}
	if code, _, _ := runCLI(t, "verify"); code != 2 {
		t.Fatalf("missing DIR: exit %d, want 2", code)
	}
	if code, _, _ := runCLI(t, "verify", filepath.Join(dir, "nope")); code != 2 {
		t.Fatalf("missing directory: exit %d, want 2", code)
	}
	if code, _, _ := runCLI(t, "verify", "--bogus", dir); code != 2 {
		t.Fatalf("unknown flag: exit %d, want 2", code)
	}
}

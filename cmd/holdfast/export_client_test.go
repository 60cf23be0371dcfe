package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/holdfast/holdfast/client"
	"github.com/holdfast/holdfast/internal/media/synth"
	"github.com/holdfast/holdfast/internal/testserver"
)

// proxied is one request that passed through a recordingProxy.
type proxied struct {
	Method, Path, Range, IdempotencyKey string
	Status                              int
	Injected                            bool // answered by the proxy itself
}

// recordingProxy sits between the CLI and a server: it records every
// request and its answer, can answer chosen requests itself (as a load
// balancer would), and can slow package downloads down.
type recordingProxy struct {
	srv *httptest.Server
	mu  sync.Mutex
	log []proxied
	// inject, if set, may answer a request instead of the server.
	inject func(r *http.Request, seen []proxied) (status int, header map[string]string, body string, ok bool)
	// bytesPerSecond throttles package file downloads when > 0.
	bytesPerSecond int
}

func newRecordingProxy(t *testing.T, target string, configure ...func(*recordingProxy)) *recordingProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &recordingProxy{}
	for _, f := range configure {
		f(p)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.FlushInterval = -1
	rp.ErrorLog = log.New(io.Discard, "", 0) // a client killed mid-download is expected
	rp.ModifyResponse = func(resp *http.Response) error {
		if p.bytesPerSecond > 0 && strings.Contains(resp.Request.URL.Path, "/package/files/") {
			resp.Body = &slowBody{rc: resp.Body, bps: p.bytesPerSecond}
		}
		return nil
	}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entry := proxied{Method: r.Method, Path: r.URL.Path, Range: r.Header.Get("Range"), IdempotencyKey: r.Header.Get("Idempotency-Key")}
		if p.inject != nil {
			p.mu.Lock()
			seen := append([]proxied(nil), p.log...)
			p.mu.Unlock()
			if status, header, body, ok := p.inject(r, seen); ok {
				entry.Status, entry.Injected = status, true
				p.record(entry)
				for k, v := range header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(status)
				io.WriteString(w, body)
				return
			}
		}
		sw := &statusWriter{ResponseWriter: w}
		rp.ServeHTTP(sw, r)
		entry.Status = sw.status
		p.record(entry)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *recordingProxy) record(e proxied) {
	p.mu.Lock()
	p.log = append(p.log, e)
	p.mu.Unlock()
}

// since returns the requests from index n on.
func (p *recordingProxy) since(n int) []proxied {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]proxied(nil), p.log[n:]...)
}

func (p *recordingProxy) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.log)
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// slowBody delivers at most bps bytes per second, in small reads.
type slowBody struct {
	rc  io.ReadCloser
	bps int
}

func (s *slowBody) Read(b []byte) (int, error) {
	const chunk = 16 << 10
	if len(b) > chunk {
		b = b[:chunk]
	}
	n, err := s.rc.Read(b)
	time.Sleep(time.Duration(n) * time.Second / time.Duration(s.bps))
	return n, err
}

func (s *slowBody) Close() error { return s.rc.Close() }

// serverJobs lists every export job the server holds (straight from the
// server, not through any proxy).
func serverJobs(t *testing.T, serverURL string) []client.ExportJob {
	t.Helper()
	c, err := client.New(serverURL, testserver.AdminToken)
	if err != nil {
		t.Fatal(err)
	}
	var jobs []client.ExportJob
	cursor := ""
	for {
		p, err := c.ListExports(context.Background(), cursor, 100)
		if err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, p.Items...)
		if p.NextCursor == "" {
			return jobs
		}
		cursor = p.NextCursor
	}
}

func readExportState(t *testing.T, dir string) exportState {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, exportStateFile))
	if err != nil {
		t.Fatal(err)
	}
	var st exportState
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

var (
	retryLine   = regexp.MustCompile(`msg="retrying request".*reason="([^"]*)"`)
	summaryLine = regexp.MustCompile(`bag: (\S+) \((\d+) file\(s\) downloaded, (\d+) already verified\)`)
)

// retryReasons returns the reason of every retry the client logged.
func retryReasons(stderr string) []string {
	var out []string
	for _, line := range strings.Split(stderr, "\n") {
		if !strings.Contains(line, "retrying request") {
			continue
		}
		m := retryLine.FindStringSubmatch(line)
		if m == nil {
			out = append(out, "unparsed: "+line)
			continue
		}
		out = append(out, m[1])
	}
	return out
}

func isFault(status int) bool { return status == 409 || status == 429 || status == 503 }

// injectFirstPollFailure answers the first poll of a job with a load
// balancer's 502, so a retry is certain in every run.
func injectFirstPollFailure(r *http.Request, seen []proxied) (int, map[string]string, string, bool) {
	if r.Method != "GET" || !strings.HasPrefix(r.URL.Path, "/api/v2/bulk/recordingexports/") || strings.Contains(r.URL.Path, "/package") {
		return 0, nil, "", false
	}
	for _, s := range seen {
		if s.Injected {
			return 0, nil, "", false
		}
	}
	return http.StatusBadGateway, map[string]string{"Content-Type": "text/html"}, "<html>502 Bad Gateway</html>", true
}

// TestExportUnderFaults runs `holdfast export` against a server in
// rehearsal mode: the export still completes, the bag verifies, the
// server holds exactly one job, the client logged its retries, and no 400
// is ever retried.
func TestExportUnderFaults(t *testing.T) {
	t.Parallel()
	srv := testserver.StartProcess(t, "", "--faults", "locked=0.3,rate_limited=0.2,unavailable=0.1,retry_after=1s")
	ids := ingestSynthetic(t, srv.Client(t), 41, 6)

	// Besides the server's random faults, the proxy answers the first poll
	// of the job with a load balancer's 502, so at least one retry is
	// certain in every run.
	px := newRecordingProxy(t, srv.URL, func(px *recordingProxy) { px.inject = injectFirstPollFailure })

	out := filepath.Join(t.TempDir(), "out")
	args := []string{"export", "--case", "LC-2024-001", "--media", "sip", "--since", "48h", "--legal-hold", "--out", out,
		"--server", px.srv.URL, "--token", testserver.AdminToken, "--debug", "--poll", "200ms"}
	var code int
	var stdout, stderr string
	var allStderr strings.Builder
	for run := 1; ; run++ {
		code, stdout, stderr = runCLI(t, args...)
		allStderr.WriteString(stderr)
		if code == 0 {
			break
		}
		// With these fault rates the one faulted request (the job's
		// creation) exhausts its 8 attempts about once in 60 runs; the
		// contract's answer is to run the same command again, which
		// resumes with the same idempotency key.
		if run >= 3 || !regexp.MustCompile(`\((409 recording_locked|429 rate_limited|503 unavailable)\)`).MatchString(stderr) {
			t.Fatalf("export run %d exited %d\nstdout:\n%s\nstderr:\n%s", run, code, stdout, stderr)
		}
		t.Logf("run %d gave up on a transient fault; running the same command again:\n%s", run, stderr)
	}
	st := readExportState(t, out)
	if st.JobID == "" || !strings.HasPrefix(st.IdempotencyKey, "export-") {
		t.Fatalf("state file %+v", st)
	}
	if !strings.Contains(stdout, "export "+st.JobID+": completed") || !strings.Contains(stdout, "recordings exported: 6 of 6") ||
		!strings.Contains(stdout, "(case LC-2024-001)") {
		t.Fatalf("summary:\n%s", stdout)
	}
	m := summaryLine.FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("no bag line in the summary:\n%s", stdout)
	}
	bagDir := m[1]
	if code, vout, verr := runCLI(t, "verify", bagDir); code != 0 {
		t.Fatalf("verify %s: exit %d\n%s%s", bagDir, code, vout, verr)
	}
	for _, id := range ids {
		if _, err := os.Stat(filepath.Join(bagDir, "data", "recordings", id+".wav")); err != nil {
			t.Errorf("recording %s missing from the downloaded bag: %v", id, err)
		}
	}

	// Exactly one job on the server, for the case, with its hold.
	jobs := serverJobs(t, srv.URL)
	if len(jobs) != 1 {
		t.Fatalf("the server holds %d export jobs, want exactly 1: %+v", len(jobs), jobs)
	}
	j := jobs[0]
	if j.ID != st.JobID || j.Metadata.CaseID != "LC-2024-001" || !j.Metadata.LegalHold || j.HoldID == "" || j.Progress.Matched != 6 {
		t.Fatalf("job %+v", j)
	}

	// Every POST carried the state file's key; all but the last were faults.
	plog := px.since(0)
	var posts []proxied
	retryable := 0
	for _, e := range plog {
		if e.Status == 400 {
			t.Errorf("a 400 was answered during the export: %+v", e)
		}
		if e.Method == "POST" && e.Path == "/api/v2/bulk/recordingexports" {
			posts = append(posts, e)
		}
		if isFault(e.Status) || e.Status == 502 {
			retryable++
		}
	}
	created := 0
	for i, p := range posts {
		if p.IdempotencyKey != st.IdempotencyKey {
			t.Errorf("POST %d carried Idempotency-Key %q, the state file has %q", i, p.IdempotencyKey, st.IdempotencyKey)
		}
		switch {
		case p.Status == 202:
			created++
		case !isFault(p.Status):
			t.Errorf("POST %d answered %d", i, p.Status)
		}
	}
	if created != 1 || posts[len(posts)-1].Status != 202 {
		t.Fatalf("job creation answers %+v, want faults then one 202", posts)
	}

	// The client logged each retry at debug level with its reason.
	reasons := retryReasons(allStderr.String())
	if len(reasons) == 0 {
		t.Fatalf("no retry was logged:\n%s", allStderr.String())
	}
	gaveUp := strings.Count(allStderr.String(), "holdfast: the server refused")
	if len(reasons) != retryable-gaveUp {
		t.Errorf("%d retries logged, but the proxy saw %d retryable answers (%d runs gave up):\nreasons %q\nlog %+v", len(reasons), retryable, gaveUp, reasons, plog)
	}
	counts := map[string]int{}
	for _, r := range reasons {
		counts[r]++
		switch r {
		case "409 recording_locked", "429 rate_limited", "503 unavailable", "502 bad_gateway":
		default:
			t.Errorf("unexpected retry reason %q", r)
		}
	}
	if counts["502 bad_gateway"] != 1 {
		t.Errorf("the proxy's 502 was retried %d times, want 1", counts["502 bad_gateway"])
	}
	for _, e := range plog {
		if e.Injected || !isFault(e.Status) {
			continue
		}
		want := map[int]string{409: "409 recording_locked", 429: "429 rate_limited", 503: "503 unavailable"}[e.Status]
		if counts[want] == 0 {
			t.Errorf("the server answered %d but no retry names %q", e.Status, want)
		}
	}
	t.Logf("retries: %v", counts)

	// A usage error sends nothing and exits 2.
	before := px.count()
	badFrom := filepath.Join(t.TempDir(), "bad-from")
	code, _, stderr = runCLI(t, "export", "--case", "LC-2024-001", "--media", "sip", "--from", "yesterday", "--out", badFrom,
		"--server", px.srv.URL, "--token", testserver.AdminToken, "--debug")
	if code != 2 || !strings.Contains(stderr, "--from") {
		t.Fatalf("invalid --from: exit %d\n%s", code, stderr)
	}
	if n := px.count() - before; n != 0 {
		t.Fatalf("an invalid --from sent %d requests", n)
	}
	if _, err := os.Stat(filepath.Join(badFrom, exportStateFile)); err == nil {
		t.Error("an invalid --from left a state file behind")
	}

	// A request the server rejects (400) is never retried, even in
	// rehearsal mode: faults may come first, but after the 400 nothing.
	before = px.count()
	code, _, stderr = runCLI(t, "export", "--case=-bad", "--media", "sip", "--since", "48h", "--legal-hold", "--out", filepath.Join(t.TempDir(), "bad-case"),
		"--server", px.srv.URL, "--token", testserver.AdminToken, "--debug")
	reqs := px.since(before)
	n400 := 0
	for i, e := range reqs {
		switch {
		case e.Status == 400:
			n400++
			if i != len(reqs)-1 {
				t.Errorf("requests after a 400: %+v", reqs)
			}
		case !isFault(e.Status):
			t.Errorf("unexpected answer %+v", e)
		}
	}
	for _, r := range retryReasons(stderr) {
		if strings.HasPrefix(r, "400") {
			t.Errorf("a 400 was retried: %q", r)
		}
	}
	if code != 1 {
		t.Fatalf("bad case id: exit %d\n%s", code, stderr)
	}
	if n400 == 1 {
		if !strings.Contains(stderr, "(400 validation_failed)") || !strings.Contains(stderr, "case_id") {
			t.Errorf("bad case id error does not name the code and the field:\n%s", stderr)
		}
	} else {
		t.Logf("the bad request gave up on faults before the server validated it: %+v", reqs)
	}
	if jobs := serverJobs(t, srv.URL); len(jobs) != 1 {
		t.Fatalf("the server holds %d jobs after the rejected request", len(jobs))
	}

	// Without faults: exactly one request, no retry line, one sentence.
	plain := testserver.Start(t)
	px2 := newRecordingProxy(t, plain.URL)
	code, stdout, stderr = runCLI(t, "export", "--case=-bad", "--media", "sip", "--since", "48h", "--legal-hold", "--out", filepath.Join(t.TempDir(), "bad-case-2"),
		"--server", px2.srv.URL, "--token", testserver.AdminToken, "--debug")
	reqs = px2.since(0)
	if code != 1 || len(reqs) != 1 || reqs[0].Status != 400 || strings.Contains(stderr, "retrying request") {
		t.Fatalf("bad case id without faults: exit %d, requests %+v\n%s%s", code, reqs, stdout, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "holdfast: ") || !strings.Contains(lines[0], "400 validation_failed") || !strings.Contains(lines[0], "case_id") {
		t.Fatalf("error is not one sentence with the server's code:\n%s", stderr)
	}
}

// ingestLarge uploads n synthetic SIP calls of the given length.
func ingestLarge(t *testing.T, c *client.Client, seed uint64, n int, d time.Duration) {
	t.Helper()
	calls := synth.Generate(rand.New(rand.NewPCG(seed, seed)), n, synth.Options{Now: time.Now().UTC(), Spread: 24 * time.Hour, MinDuration: d, MaxDuration: d})
	for _, call := range calls {
		var buf bytes.Buffer
		if err := call.WriteWAV(&buf); err != nil {
			t.Fatal(err)
		}
		b := buf.Bytes()
		if _, err := c.Ingest(context.Background(), client.IngestRequest{Metadata: call.Metadata(), SIPREC: call.SIPREC(),
			Media: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }}); err != nil {
			t.Fatal(err)
		}
	}
}

// partFiles returns the .part files under dir with their sizes, and how
// many finished files there are.
func partFiles(dir string) (parts map[string]int64, done int) {
	parts = map[string]int64{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == exportStateFile || d.Name() == exportStateFile+".tmp" || d.Name() == exportLockFile {
			return nil
		}
		if strings.HasSuffix(p, ".part") {
			if fi, err := d.Info(); err == nil {
				parts[p] = fi.Size()
			}
		} else {
			done++
		}
		return nil
	})
	return parts, done
}

// TestInterruptedClientResumes SIGKILLs the holdfast CLI while it is
// downloading a bag; running the same command again resumes the same job,
// keeps the files already verified, continues the partial file with a
// Range request, and ends with a bag that verifies.
func TestInterruptedClientResumes(t *testing.T) {
	t.Parallel()
	srv := testserver.StartProcess(t, "")
	ingestLarge(t, srv.Client(t), 51, 4, 60*time.Second) // 4 × 1.9 MB
	px := newRecordingProxy(t, srv.URL, func(px *recordingProxy) { px.bytesPerSecond = 4 << 20 })
	bin := testserver.Binary(t)
	out := filepath.Join(t.TempDir(), "out")
	args := []string{"export", "--case", "LC-RESUME-1", "--media", "sip", "--since", "48h", "--legal-hold", "--out", out,
		"--server", px.srv.URL, "--token", testserver.AdminToken, "--poll", "100ms"}

	var firstOut bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &firstOut, &firstOut
	cmd.Env = append(os.Environ(), "HOLDFAST_TOKEN=", "HOLDFAST_SERVER=")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(60 * time.Second)
	var killedPart string
poll:
	for {
		select {
		case err := <-exited:
			t.Fatalf("the client finished (%v) before it could be interrupted:\n%s", err, firstOut.String())
		case <-deadline:
			cmd.Process.Kill()
			<-exited
			t.Fatalf("no partial recording appeared in %s:\n%s", out, firstOut.String())
		case <-time.After(2 * time.Millisecond):
		}
		parts, done := partFiles(out)
		for p, size := range parts {
			if size >= 100<<10 && done > 0 && strings.Contains(filepath.ToSlash(p), "/data/recordings/") {
				killedPart = p
				break poll
			}
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-exited
	st := readExportState(t, out)
	if st.JobID == "" {
		t.Fatalf("no job id in the state file after the kill: %+v", st)
	}
	partSize := int64(-1)
	if fi, err := os.Stat(killedPart); err == nil {
		partSize = fi.Size()
	}
	_, doneBefore := partFiles(out)
	t.Logf("killed with %s at %d bytes and %d finished file(s)", filepath.Base(killedPart), partSize, doneBefore)
	before := px.count()

	cmd = exec.Command(bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = append(os.Environ(), "HOLDFAST_TOKEN=", "HOLDFAST_SERVER=")
	if err := cmd.Run(); err != nil {
		t.Fatalf("second run: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	if !strings.Contains(stderr.String(), "resuming the export saved in") || strings.Contains(stderr.String(), "export job") && strings.Contains(stderr.String(), "created") {
		t.Errorf("second run did not resume the saved job:\n%s", stderr.String())
	}
	if st2 := readExportState(t, out); st2.JobID != st.JobID || st2.IdempotencyKey != st.IdempotencyKey {
		t.Fatalf("state changed: %+v → %+v", st, st2)
	}
	if jobs := serverJobs(t, srv.URL); len(jobs) != 1 || jobs[0].ID != st.JobID {
		t.Fatalf("the server holds %d jobs, want exactly the one %s", len(jobs), st.JobID)
	}
	m := summaryLine.FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("no summary:\n%s", stdout.String())
	}
	bagDir := m[1]
	downloaded, _ := strconv.Atoi(m[2])
	kept, _ := strconv.Atoi(m[3])
	if kept < 1 || kept != doneBefore || downloaded < 1 {
		t.Errorf("second run: %d downloaded, %d already verified; %d files were finished before the kill", downloaded, kept, doneBefore)
	}
	if code, vout, verr := runCLI(t, "verify", bagDir); code != 0 {
		t.Fatalf("verify: %d\n%s%s", code, vout, verr)
	}
	if parts, _ := partFiles(out); len(parts) != 0 {
		t.Errorf(".part files left behind: %v", parts)
	}
	second := px.since(before)
	for _, e := range second {
		if e.Method == "POST" {
			t.Errorf("the second run created something: %+v", e)
		}
	}
	// The partial file was continued from where it stopped.
	rel, _ := filepath.Rel(bagDir, strings.TrimSuffix(killedPart, ".part"))
	full, err := os.Stat(strings.TrimSuffix(killedPart, ".part"))
	if err != nil {
		t.Fatal(err)
	}
	if partSize > 0 && partSize < full.Size() {
		want := fmt.Sprintf("bytes=%d-", partSize)
		found := false
		for _, e := range second {
			if strings.HasSuffix(e.Path, "/"+filepath.ToSlash(rel)) {
				if e.Range == want && e.Status == http.StatusPartialContent {
					found = true
				} else {
					t.Errorf("second run fetched %s with Range %q (status %d), want %s", rel, e.Range, e.Status, want)
				}
			}
		}
		if !found {
			t.Errorf("second run did not resume %s with Range %s; requests %+v", rel, want, second)
		}
	}
}

// TestDemoRuns runs `holdfast demo` end to end.
func TestDemoRuns(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	start := time.Now()
	code, stdout, stderr := runCLI(t, "demo", "--dir", dir)
	el := time.Since(start)
	if code != 0 {
		t.Fatalf("demo exited %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	// No speed threshold here: the machines are shared and noisy. The
	// demo's duration is logged; docs/benchmarks.md is where speed lives.
	t.Logf("demo took %s", el)
	bag := regexp.MustCompile(`the bag:\s+ls -R (\S+)`).FindStringSubmatch(stdout)
	if bag == nil || !strings.HasPrefix(bag[1], filepath.Join(dir, "export", "DEMO-2026-001_")) {
		t.Fatalf("demo did not print the bag path:\n%s", stdout)
	}
	if fi, err := os.Stat(bag[1]); err != nil || !fi.IsDir() {
		t.Fatalf("the printed bag %s is not a directory: %v", bag[1], err)
	}
	keyFile := filepath.Join(dir, "signing-key.pem")
	if !strings.Contains(stdout, "holdfast verify --key "+keyFile+" "+bag[1]) {
		t.Errorf("no verify hint:\n%s", stdout)
	}
	if !regexp.MustCompile(`token: hf_demo_[0-9a-f]{32}`).MatchString(stdout) {
		t.Errorf("no token:\n%s", stdout)
	}
	if !strings.Contains(stdout, "recordings exported: 12 of 12") {
		t.Errorf("summary:\n%s", stdout)
	}
	if code, vout, verr := runCLI(t, "verify", "--key", keyFile, bag[1]); code != 0 {
		t.Fatalf("the demo's own verify hint fails: %d\n%s%s", code, vout, verr)
	}
}

package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/holdfast/holdfast/client"
	"github.com/holdfast/holdfast/internal/audit"
	"github.com/holdfast/holdfast/internal/media/synth"
	"github.com/holdfast/holdfast/internal/testserver"
)

// httpClient is shared by the raw-HTTP helpers; many goroutines use it at
// once in the concurrency test, so it keeps plenty of idle connections.
var httpClient = &http.Client{
	Timeout:   60 * time.Second,
	Transport: &http.Transport{MaxIdleConns: 200, MaxIdleConnsPerHost: 200, IdleConnTimeout: 30 * time.Second},
}

// resp is one raw HTTP answer.
type resp struct {
	Status int
	Header http.Header
	Body   []byte
}

// problem is an RFC 9457 problem+json body as the contract (§4) defines it.
type problem struct {
	Type               string       `json:"type"`
	Title              string       `json:"title"`
	Status             int          `json:"status"`
	Code               string       `json:"code"`
	Message            string       `json:"message"`
	Errors             []fieldError `json:"errors"`
	MissingPermissions []string     `json:"missing_permissions"`
	Holds              []struct {
		HoldID string `json:"hold_id"`
		CaseID string `json:"case_id"`
	} `json:"holds"`
	RequestID string `json:"request_id"`
}

type fieldError struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// do sends one request without any retry and returns the whole answer.
// body may be nil, a string or []byte (sent as application/json), or any
// other value (marshalled as JSON).
func do(t testing.TB, base, token, method, path string, body any) resp {
	t.Helper()
	r, err := doErr(base, token, method, path, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

// doErr is do for goroutines that must not call t.Fatal.
func doErr(base, token, method, path string, body any) (resp, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return resp{}, err
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		return resp{}, err
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	hr, err := httpClient.Do(req)
	if err != nil {
		return resp{}, err
	}
	defer hr.Body.Close()
	b, err := io.ReadAll(hr.Body)
	if err != nil {
		return resp{}, err
	}
	return resp{Status: hr.StatusCode, Header: hr.Header, Body: b}, nil
}

// wantStatus fails the test unless r has the given status.
func wantStatus(t testing.TB, what string, r resp, status int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s: status %d, want %d; body: %s", what, r.Status, status, r.Body)
	}
}

// decode unmarshals r's body into v or fails the test.
func decode(t testing.TB, what string, r resp, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("%s: decode %q: %v", what, r.Body, err)
	}
}

// wantProblem checks that r is a problem+json answer with the status and
// code, and returns it.
func wantProblem(t testing.TB, what string, r resp, status int, code string) problem {
	t.Helper()
	wantStatus(t, what, r, status)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Errorf("%s: Content-Type %q, want application/problem+json", what, ct)
	}
	var p problem
	decode(t, what, r, &p)
	if p.Status != status || p.Code != code {
		t.Fatalf("%s: problem status %d code %q, want %d %q; body: %s", what, p.Status, p.Code, status, code, r.Body)
	}
	if p.Type != "urn:holdfast:problem:"+code {
		t.Errorf("%s: problem type %q, want %q", what, p.Type, "urn:holdfast:problem:"+code)
	}
	if p.Title == "" || p.Message == "" || p.RequestID == "" {
		t.Errorf("%s: problem lacks title, message or request_id: %s", what, r.Body)
	}
	return p
}

// findFieldError returns the error naming field, or fails the test.
func findFieldError(t testing.TB, what string, p problem, field string) fieldError {
	t.Helper()
	for _, e := range p.Errors {
		if e.Field == field {
			return e
		}
	}
	t.Fatalf("%s: no error names field %q; errors: %+v", what, field, p.Errors)
	return fieldError{}
}

// sdk returns an SDK client for the server with the admin token.
func sdk(t testing.TB, s *testserver.Server) *client.Client {
	t.Helper()
	c, err := client.New(s.URL, testserver.AdminToken)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// makeCalls generates n short synthetic SIP calls (a few seconds each, so
// uploads stay small) that started in the last 72 hours.
func makeCalls(seed uint64, n int) []synth.Call {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	return synth.Generate(rng, n, synth.Options{Now: time.Now().UTC(), MinDuration: 2 * time.Second, MaxDuration: 4 * time.Second})
}

// wavBytes renders a call's WAV.
func wavBytes(t testing.TB, c synth.Call) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := c.WriteWAV(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// ingest uploads one call and returns the recording as the server answered.
func ingest(ctx context.Context, c *client.Client, call synth.Call, wav []byte) (client.Recording, error) {
	return c.Ingest(ctx, client.IngestRequest{
		Metadata:  call.Metadata(),
		Media:     func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(wav)), nil },
		MediaName: call.FileBase() + ".wav",
	})
}

// ingestAll uploads the calls with a few workers and returns the recording
// ids in the calls' order.
func ingestAll(t testing.TB, c *client.Client, calls []synth.Call) []string {
	t.Helper()
	ids := make([]string, len(calls))
	wavs := make([][]byte, len(calls))
	for i, call := range calls {
		wavs[i] = wavBytes(t, call)
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(calls))
	sem := make(chan struct{}, 4)
	for i := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			rec, err := ingest(context.Background(), c, calls[i], wavs[i])
			if err != nil {
				errs <- err
				return
			}
			ids[i] = rec.ID
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("ingest: %v", err)
	}
	return ids
}

// waitCompleted polls until every recording has left processing.
func waitCompleted(t testing.TB, c *client.Client, ids []string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for _, id := range ids {
		for {
			rec, err := c.GetRecording(context.Background(), id)
			if err != nil {
				t.Fatalf("get recording %s: %v", id, err)
			}
			if rec.Status != "processing" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("recording %s still processing after 30s", id)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// allAuditEntries reads the whole audit log through the API.
func allAuditEntries(t testing.TB, c *client.Client) []client.AuditEntry {
	t.Helper()
	var out []client.AuditEntry
	var start int64
	for {
		p, err := c.AuditEntries(context.Background(), start, 1000)
		if err != nil {
			t.Fatalf("audit entries from %d: %v", start, err)
		}
		out = append(out, p.Items...)
		if len(p.Items) == 0 || p.NextCursor == "" {
			return out
		}
		start = p.Items[len(p.Items)-1].Index + 1
	}
}

// runCLI runs the holdfast binary and returns its combined output and exit
// code.
func runCLI(t testing.TB, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(testserver.Binary(t), args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return out.String(), 0
	case errors.As(err, &ee):
		return out.String(), ee.ExitCode()
	default:
		t.Fatalf("run holdfast %v: %v", args, err)
		return "", -1
	}
}

// auditVerify runs `holdfast audit verify` against s.
func auditVerify(t testing.TB, s *testserver.Server) (string, int) {
	t.Helper()
	return runCLI(t, "audit", "verify", "--server", s.URL, "--token", testserver.AdminToken)
}

// recordingJSON fetches GET /api/v2/recordings/{id} as a generic JSON
// object, so tests can assert the exact wire values.
func recordingJSON(t testing.TB, s *testserver.Server, id string) map[string]any {
	t.Helper()
	r := do(t, s.URL, testserver.AdminToken, http.MethodGet, "/api/v2/recordings/"+id, nil)
	wantStatus(t, "GET recording "+id, r, http.StatusOK)
	var m map[string]any
	decode(t, "GET recording "+id, r, &m)
	return m
}

// holdsOf returns the holds[] of a recording JSON object.
func holdsOf(t testing.TB, rec map[string]any) []map[string]any {
	t.Helper()
	raw, ok := rec["holds"].([]any)
	if !ok {
		if rec["holds"] == nil {
			return nil
		}
		t.Fatalf("recording %v: holds is %T, want array", rec["id"], rec["holds"])
	}
	out := make([]map[string]any, len(raw))
	for i, h := range raw {
		m, ok := h.(map[string]any)
		if !ok {
			t.Fatalf("recording %v: holds[%d] is %T", rec["id"], i, h)
		}
		out[i] = m
	}
	return out
}

// holdRecordingIDs pages through a hold's recordings and returns those it
// still holds, in id order.
func holdRecordingIDs(t testing.TB, c *client.Client, holdID string) []string {
	t.Helper()
	out := []string{}
	for cursor := ""; ; {
		page, err := c.HoldRecordings(context.Background(), holdID, cursor, 1000)
		if err != nil {
			t.Fatalf("hold %s recordings: %v", holdID, err)
		}
		for _, hr := range page.Items {
			if hr.ReleasedAt == nil {
				out = append(out, hr.RecordingID)
			}
		}
		if cursor = page.NextCursor; cursor == "" {
			return out
		}
	}
}

// checkHoldProof fetches the proof that recordingID is under holdID and
// checks it, as an auditor would, against the recordings_root of the audit
// entry it names, itself proved in the signed log by its leaf hash.
func checkHoldProof(t testing.TB, c *client.Client, holdID, recordingID string) {
	t.Helper()
	ctx := context.Background()
	p, err := c.HoldProof(ctx, holdID, recordingID)
	if err != nil {
		t.Fatalf("proof of %s under %s: %v", recordingID, holdID, err)
	}
	page, err := c.AuditEntries(ctx, p.EntryIndex, 1)
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("audit entry %d: %v", p.EntryIndex, err)
	}
	e := page.Items[0]
	var d struct {
		HoldID string `json:"hold_id"`
		Count  int64  `json:"recording_count"`
		Root   string `json:"recordings_root"`
	}
	if err := json.Unmarshal(e.Data, &d); err != nil {
		t.Fatal(err)
	}
	if e.Subject != holdID || d.HoldID != holdID || d.Count != p.TreeSize || d.Root != p.RecordingsRoot || (e.Type != "hold.applied" && e.Type != "hold.extended") {
		t.Fatalf("proof %+v names audit entry %+v", p, e)
	}
	root, err := audit.ParseSetRoot(p.RecordingsRoot)
	if err != nil {
		t.Fatal(err)
	}
	proof := make(tlog.RecordProof, len(p.Proof))
	for i, h := range p.Proof {
		if proof[i], err = audit.ParseSetRoot(h); err != nil {
			t.Fatal(err)
		}
	}
	if err := audit.CheckSetProof(proof, p.TreeSize, root, p.LeafIndex, recordingID); err != nil {
		t.Errorf("proof of %s under hold %s: %v", recordingID, holdID, err)
	}
}

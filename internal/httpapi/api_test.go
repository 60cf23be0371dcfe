package httpapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/holdfast/holdfast/internal/blobgc"
	"github.com/holdfast/holdfast/internal/media/synth"
	"github.com/holdfast/holdfast/internal/testserver"
)

// apiHarness drives a test server with raw HTTP, so tests see exactly
// what a client sees.
type apiHarness struct {
	t   *testing.T
	srv *testserver.Server
}

func newAPIHarness(t *testing.T, opts ...testserver.Option) *apiHarness {
	t.Helper()
	return &apiHarness{t: t, srv: testserver.Start(t, opts...)}
}

// apiResponse is a fully read response.
type apiResponse struct {
	status int
	header http.Header
	body   []byte
}

func (r apiResponse) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.body)
	}
	return m
}

func (h *apiHarness) do(method, path, token string, body io.Reader, header map[string]string) apiResponse {
	h.t.Helper()
	req, err := http.NewRequest(method, h.srv.URL+path, body)
	if err != nil {
		h.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return apiResponse{status: resp.StatusCode, header: resp.Header, body: b}
}

func (h *apiHarness) postJSON(path, token, body string) apiResponse {
	h.t.Helper()
	return h.do("POST", path, token, strings.NewReader(body), map[string]string{"Content-Type": "application/json"})
}

// multipartBody builds an ingest body from parts (name → bytes), in order.
func multipartBody(t *testing.T, parts ...[2]string) (io.Reader, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		w, err := mw.CreateFormFile(p[0], p[0])
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(p[1]))
	}
	mw.Close()
	return &buf, mw.FormDataContentType()
}

func (h *apiHarness) ingest(token string, header map[string]string, parts ...[2]string) apiResponse {
	h.t.Helper()
	body, ctype := multipartBody(h.t, parts...)
	hdr := map[string]string{"Content-Type": ctype}
	for k, v := range header {
		hdr[k] = v
	}
	return h.do("POST", "/api/v2/recordings", token, body, hdr)
}

// call makes one synthetic call with its WAV bytes.
func call(t *testing.T, seed uint64) (synth.Call, []byte) {
	t.Helper()
	c := synth.Generate(rand.New(rand.NewPCG(seed, seed)), 1, synth.Options{Now: time.Now().UTC(), Spread: 24 * time.Hour, MinDuration: 3 * time.Second, MaxDuration: 8 * time.Second})[0]
	var buf bytes.Buffer
	if err := c.WriteWAV(&buf); err != nil {
		t.Fatal(err)
	}
	return c, buf.Bytes()
}

// assertProblem checks a problem+json answer.
func assertProblem(t *testing.T, r apiResponse, status int, code string) map[string]any {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json", ct)
	}
	p := r.json(t)
	if p["code"] != code || p["status"] != float64(status) || p["type"] != "urn:holdfast:problem:"+code {
		t.Fatalf("problem %v, want code %s", p, code)
	}
	if p["message"] == "" || p["title"] == "" || p["request_id"] == "" || p["request_id"] != r.header.Get("X-Request-Id") {
		t.Fatalf("problem lacks message/title/request_id: %v", p)
	}
	return p
}

func assertRetryAfter(t *testing.T, r apiResponse, want string) {
	t.Helper()
	ra, xra := r.header.Get("Retry-After"), r.header.Get("X-Retry-After")
	if ra == "" || ra != xra {
		t.Fatalf("Retry-After %q / X-Retry-After %q, want equal and set", ra, xra)
	}
	if want != "" && ra != want {
		t.Fatalf("Retry-After %q, want %q", ra, want)
	}
}

func fieldList(t *testing.T, p map[string]any) []string {
	t.Helper()
	errs, _ := p["errors"].([]any)
	var out []string
	for _, e := range errs {
		m := e.(map[string]any)
		if m["message"] == "" || m["code"] == "" {
			t.Fatalf("field error without message/code: %v", m)
		}
		out = append(out, m["field"].(string))
	}
	return out
}

func TestIngestCompletesWithRightDigestsAndProbe(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t)
	c, wav := call(t, 1)
	r := h.ingest(testserver.AdminToken, nil, [2]string{"metadata", string(c.Metadata())}, [2]string{"media", string(wav)})
	if r.status != http.StatusAccepted {
		t.Fatalf("ingest: %d %s", r.status, r.body)
	}
	rec := r.json(t)
	id := rec["id"].(string)
	if r.header.Get("Location") != "/api/v2/recordings/"+id || rec["status"] != "processing" {
		t.Fatalf("Location %q status %v", r.header.Get("Location"), rec["status"])
	}
	s256, s512 := sha256.Sum256(wav), sha512.Sum512(wav)
	var got map[string]any
	deadline := time.Now().Add(10 * time.Second)
	for {
		got = h.do("GET", "/api/v2/recordings/"+id, testserver.AdminToken, nil, nil).json(t)
		if got["status"] != "processing" || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	content := got["content"].(map[string]any)
	wantMS := float64(c.Duration().Milliseconds())
	if got["status"] != "completed" || content["sha256"] != hex.EncodeToString(s256[:]) || content["sha512"] != hex.EncodeToString(s512[:]) ||
		content["size_bytes"] != float64(len(wav)) || content["codec"] != "pcm_s16le" || content["sample_rate"] != float64(8000) ||
		content["channels"] != float64(2) || got["duration_ms"] != wantMS || content["media_format"] != "audio/wav" || got["completed_at"] == nil {
		t.Fatalf("completed recording wrong (want duration %v):\n%v", wantMS, got)
	}
	if got["call_id"] != c.CallID || got["media_type"] != "SIP" || got["legal_hold"] != false {
		t.Fatalf("metadata not kept: %v", got)
	}
	// The blob on disk holds exactly the uploaded bytes.
	sum := hex.EncodeToString(s256[:])
	disk, err := os.ReadFile(filepath.Join(h.srv.DataDir, "blobs", sum[:2], sum[2:4], sum))
	if err != nil || !bytes.Equal(disk, wav) {
		t.Fatalf("blob on disk differs: %v", err)
	}
}

func TestIngestTakesMissingFieldsFromSIPREC(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t)
	c, wav := call(t, 2)
	r := h.ingest(testserver.AdminToken, nil, [2]string{"metadata", `{"media_type":"sip","direction":"outbound"}`},
		[2]string{"siprec", string(c.SIPREC())}, [2]string{"media", string(wav)})
	if r.status != http.StatusAccepted {
		t.Fatalf("ingest: %d %s", r.status, r.body)
	}
	rec := r.json(t)
	parts := rec["participants"].([]any)
	if rec["call_id"] != c.CallID || rec["started_at"] != c.StartedAt.Format(time.RFC3339) || rec["ended_at"] != c.EndedAt.Format(time.RFC3339) ||
		len(parts) != len(c.Participants) || parts[0].(map[string]any)["aor"] != c.Participants[0].AOR || rec["media_type"] != "SIP" || rec["direction"] != "outbound" {
		t.Fatalf("SIPREC fields not taken: %v", rec)
	}
	// A broken SIPREC document is a field error, listed with the others.
	r = h.ingest(testserver.AdminToken, nil, [2]string{"metadata", `{"direction":"up"}`}, [2]string{"siprec", "<recording"}, [2]string{"media", string(wav)})
	p := assertProblem(t, r, 400, "validation_failed")
	if got := strings.Join(fieldList(t, p), ","); got != "metadata.media_type,metadata.direction,siprec" {
		t.Fatalf("fields %s", got)
	}
}

func TestThreeBadFieldsOneAnswer(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t)
	_, wav := call(t, 3)
	r := h.ingest(testserver.AdminToken, nil, [2]string{"metadata", `{"media_type":"FAX","started_at":"2026-11-25 10:00","direction":"sideways"}`}, [2]string{"media", string(wav)})
	p := assertProblem(t, r, http.StatusBadRequest, "validation_failed")
	if got := strings.Join(fieldList(t, p), ","); got != "metadata.media_type,metadata.started_at,metadata.direction" {
		t.Fatalf("fields %s", got)
	}
	if !strings.Contains(p["message"].(string), "metadata.media_type") || !strings.Contains(p["message"].(string), "2 more") {
		t.Fatalf("message %q", p["message"])
	}
	// Nothing was created.
	list := h.do("GET", "/api/v2/recordings", testserver.AdminToken, nil, nil).json(t)
	if n := len(list["items"].([]any)); n != 0 {
		t.Fatalf("%d recordings exist after a rejected upload", n)
	}
}

// TestErrorTable covers every row of contract §4 that the core produces.
func TestErrorTable(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t)
	c, wav := call(t, 4)
	meta := string(c.Metadata())
	limited := h.postJSON("/api/v2/tokens", testserver.AdminToken, `{"name":"viewer","permissions":["recording:view"]}`).json(t)["token"].(string)

	t.Run("malformed_json", func(t *testing.T) {
		assertProblem(t, h.postJSON("/api/v2/legalholds", testserver.AdminToken, `{"case_id":`), 400, "malformed_json")
		assertProblem(t, h.postJSON("/api/v2/legalholds", testserver.AdminToken, `["not","an","object"]`), 400, "malformed_json")
		assertProblem(t, h.ingest(testserver.AdminToken, nil, [2]string{"metadata", "{nope"}, [2]string{"media", string(wav)}), 400, "malformed_json")
	})
	t.Run("unauthenticated", func(t *testing.T) {
		assertProblem(t, h.do("GET", "/api/v2/recordings", "", nil, nil), 401, "unauthenticated")
		assertProblem(t, h.do("GET", "/api/v2/recordings", "hf_unknown", nil, nil), 401, "unauthenticated")
	})
	t.Run("permission_denied", func(t *testing.T) {
		p := assertProblem(t, h.ingest(limited, nil, [2]string{"metadata", meta}, [2]string{"media", string(wav)}), 403, "permission_denied")
		if mp := p["missing_permissions"].([]any); len(mp) != 1 || mp[0] != "recording:ingest" {
			t.Fatalf("missing_permissions %v", mp)
		}
		p = assertProblem(t, h.postJSON("/api/v2/tokens", limited, `{"name":"x","permissions":["admin"]}`), 403, "permission_denied")
		if mp := p["missing_permissions"].([]any); len(mp) != 1 || mp[0] != "admin" {
			t.Fatalf("missing_permissions %v", mp)
		}
	})
	t.Run("not_found", func(t *testing.T) {
		assertProblem(t, h.do("GET", "/api/v2/recordings/rec_01M8BCHP8X47VC73TD32H8GC8G", testserver.AdminToken, nil, nil), 404, "not_found")
		assertProblem(t, h.do("GET", "/api/v2/nothing-here", testserver.AdminToken, nil, nil), 404, "not_found")
	})
	t.Run("legal_hold_active", func(t *testing.T) {
		id := h.ingest(testserver.AdminToken, nil, [2]string{"metadata", meta}, [2]string{"media", string(wav)}).json(t)["id"].(string)
		hold := h.postJSON("/api/v2/legalholds", testserver.AdminToken, `{"case_id":"LC-2024-001","hold_reason":"r","filter":{"record_ids":["`+id+`"]}}`)
		if hold.status != 201 {
			t.Fatalf("hold: %d %s", hold.status, hold.body)
		}
		p := assertProblem(t, h.do("DELETE", "/api/v2/recordings/"+id, testserver.AdminToken, nil, nil), 409, "legal_hold_active")
		holds := p["holds"].([]any)
		if len(holds) != 1 || holds[0].(map[string]any)["hold_id"] != hold.json(t)["hold_id"] || holds[0].(map[string]any)["case_id"] != "LC-2024-001" {
			t.Fatalf("holds %v", holds)
		}
		if r := h.do("GET", "/api/v2/recordings/"+id, testserver.AdminToken, nil, nil); r.status != 200 {
			t.Fatalf("held recording gone after refused delete: %d", r.status)
		}
	})
	t.Run("unsupported_media_type", func(t *testing.T) {
		png := "\x89PNG\r\n\x1a\n" + strings.Repeat("\x00", 600)
		assertProblem(t, h.ingest(testserver.AdminToken, nil, [2]string{"metadata", meta}, [2]string{"media", png}), 415, "unsupported_media_type")
		assertProblem(t, h.postJSON("/api/v2/recordings", testserver.AdminToken, meta), 415, "unsupported_media_type")
	})
	t.Run("idempotency_key_reused", func(t *testing.T) {
		key := map[string]string{"Idempotency-Key": "reuse-1"}
		first := h.ingest(testserver.AdminToken, key, [2]string{"metadata", meta}, [2]string{"media", string(wav)})
		if first.status != 202 {
			t.Fatalf("first: %d %s", first.status, first.body)
		}
		again := h.ingest(testserver.AdminToken, key, [2]string{"metadata", meta}, [2]string{"media", string(wav)})
		if again.status != 202 || again.json(t)["id"] != first.json(t)["id"] || again.header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay: %d %s", again.status, again.body)
		}
		other := strings.Replace(meta, `"inbound"`, `"internal"`, 1)
		other = strings.Replace(other, `"outbound"`, `"internal"`, 1)
		other = strings.Replace(other, `"SIP"`, `"sip"`, 1)
		assertProblem(t, h.ingest(testserver.AdminToken, key, [2]string{"metadata", other}, [2]string{"media", string(wav)}), 422, "idempotency_key_reused")
	})
}

func TestIdempotencyInProgress(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t)
	c, wav := call(t, 5)
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	first := make(chan apiResponse, 1)
	go func() {
		first <- h.do("POST", "/api/v2/recordings", testserver.AdminToken, pr, map[string]string{"Content-Type": mw.FormDataContentType(), "Idempotency-Key": "slow-1"})
	}()
	w, _ := mw.CreateFormFile("metadata", "m.json")
	w.Write(c.Metadata())
	w, _ = mw.CreateFormFile("media", "c.wav")
	w.Write(wav[:1000]) // the upload is now in flight
	// Wait until the server is serving it (the /metrics request itself is
	// the other one in flight), then give the handler a moment to reserve
	// the key.
	for deadline := time.Now().Add(10 * time.Second); ; {
		if inFlightAtLeast(h.do("GET", "/metrics", "", nil, nil).body, 2) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the slow upload never reached the server")
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	var busy apiResponse
	deadline := time.Now().Add(10 * time.Second)
	for {
		busy = h.ingest(testserver.AdminToken, map[string]string{"Idempotency-Key": "slow-1"}, [2]string{"metadata", string(c.Metadata())}, [2]string{"media", string(wav)})
		if busy.status == 409 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	assertProblem(t, busy, 409, "idempotency_in_progress")
	assertRetryAfter(t, busy, "")
	w.Write(wav[1000:])
	mw.Close()
	pw.Close()
	r := <-first
	if r.status != 202 {
		t.Fatalf("slow upload: %d %s", r.status, r.body)
	}
	again := h.ingest(testserver.AdminToken, map[string]string{"Idempotency-Key": "slow-1"}, [2]string{"metadata", string(c.Metadata())}, [2]string{"media", string(wav)})
	if again.status != 202 || again.json(t)["id"] != r.json(t)["id"] {
		t.Fatalf("after completion the key must replay the same recording: %d %s", again.status, again.body)
	}
}

func TestPayloadTooLarge(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t, testserver.WithMaxUpload(10000))
	c, wav := call(t, 6)
	p := assertProblem(t, h.ingest(testserver.AdminToken, nil, [2]string{"metadata", string(c.Metadata())}, [2]string{"media", string(wav)}), 413, "payload_too_large")
	if !strings.Contains(p["message"].(string), "10000") {
		t.Fatalf("message does not name the limit: %v", p["message"])
	}
	list := h.do("GET", "/api/v2/recordings", testserver.AdminToken, nil, nil).json(t)
	if len(list["items"].([]any)) != 0 {
		t.Fatal("an oversized upload created a recording")
	}
}

func TestRateLimited(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t, testserver.WithRateLimit(0.5, 1))
	if r := h.do("GET", "/api/v2/recordings", testserver.AdminToken, nil, nil); r.status != 200 {
		t.Fatalf("first request: %d", r.status)
	}
	r := h.do("GET", "/api/v2/recordings", testserver.AdminToken, nil, nil)
	assertProblem(t, r, 429, "rate_limited")
	assertRetryAfter(t, r, "2")
}

func TestInjectedFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		spec   string
		status int
		code   string
	}{
		{"locked=1,retry_after=3s", 409, "recording_locked"},
		{"rate_limited=1,retry_after=2s", 429, "rate_limited"},
		{"unavailable=1,retry_after=1s", 503, "unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			t.Parallel()
			h := newAPIHarness(t, testserver.WithFaults(tt.spec))
			r := h.postJSON("/api/v2/legalholds", testserver.AdminToken, `{"hold_reason":"r","filter":{"media_type":"SIP"}}`)
			assertProblem(t, r, tt.status, tt.code)
			assertRetryAfter(t, r, strings.TrimSuffix(strings.Split(tt.spec, "retry_after=")[1], "s"))
			// Decided before any state changes: no hold exists.
			if l := h.do("GET", "/api/v2/legalholds", testserver.AdminToken, nil, nil).json(t); len(l["items"].([]any)) != 0 {
				t.Fatalf("injected fault still created a hold: %v", l)
			}
			// Reads and ingest are never faulted.
			if r := h.do("GET", "/api/v2/recordings", testserver.AdminToken, nil, nil); r.status != 200 {
				t.Fatalf("read was faulted: %d", r.status)
			}
		})
	}
}

func TestMediaRangeAndDigests(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t)
	c, wav := call(t, 7)
	id := h.ingest(testserver.AdminToken, nil, [2]string{"metadata", string(c.Metadata())}, [2]string{"media", string(wav)}).json(t)["id"].(string)
	sum := sha256.Sum256(wav)
	full := h.do("GET", "/api/v2/recordings/"+id+"/media", testserver.AdminToken, nil, nil)
	if full.status != 200 || !bytes.Equal(full.body, wav) || full.header.Get("ETag") != `"`+hex.EncodeToString(sum[:])+`"` ||
		full.header.Get("Repr-Digest") != "sha-256=:"+base64.StdEncoding.EncodeToString(sum[:])+":" || full.header.Get("Content-Type") != "audio/wav" {
		t.Fatalf("full media: %d headers %v", full.status, full.header)
	}
	part := h.do("GET", "/api/v2/recordings/"+id+"/media", testserver.AdminToken, nil, map[string]string{"Range": "bytes=100-199"})
	if part.status != 206 || !bytes.Equal(part.body, wav[100:200]) || part.header.Get("Content-Range") != fmt.Sprintf("bytes 100-199/%d", len(wav)) {
		t.Fatalf("range: %d %q", part.status, part.header.Get("Content-Range"))
	}
	bad := h.do("GET", "/api/v2/recordings/"+id+"/media", testserver.AdminToken, nil, map[string]string{"Range": fmt.Sprintf("bytes=%d-", len(wav)+10)})
	if bad.status != 416 {
		t.Fatalf("unsatisfiable range: %d", bad.status)
	}
}

func TestDeleteRemovesRecordingAndCollectorRemovesBlob(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t)
	c, wav := call(t, 8)
	id := h.ingest(testserver.AdminToken, nil, [2]string{"metadata", string(c.Metadata())}, [2]string{"media", string(wav)}).json(t)["id"].(string)
	if r := h.do("DELETE", "/api/v2/recordings/"+id, testserver.AdminToken, nil, nil); r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	assertProblem(t, h.do("GET", "/api/v2/recordings/"+id, testserver.AdminToken, nil, nil), 404, "not_found")
	sum := sha256.Sum256(wav)
	hx := hex.EncodeToString(sum[:])
	blobPath := filepath.Join(h.srv.DataDir, "blobs", hx[:2], hx[2:4], hx)
	app := h.srv.App
	// Young content is left alone (an identical upload may be in flight)…
	if n, err := blobgc.Sweep(context.Background(), app.Blobs, app.Store, time.Now(), time.Hour); err != nil || n != 0 {
		t.Fatalf("sweep of young content removed %d (%v)", n, err)
	}
	// …and collected once it is old enough and still unreferenced.
	if n, err := blobgc.Sweep(context.Background(), app.Blobs, app.Store, time.Now().Add(2*time.Hour), time.Hour); err != nil || n != 1 {
		t.Fatalf("sweep removed %d (%v), want 1", n, err)
	}
	if _, err := os.Stat(blobPath); !os.IsNotExist(err) {
		t.Fatalf("blob survived collection: %v", err)
	}
}

func TestListRecordingsFiltersAndPages(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t)
	base := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	_, wav := call(t, 9)
	var ids []string
	for i := range 7 {
		mt := "SIP"
		if i%3 == 2 {
			mt = "CHAT"
		}
		meta := fmt.Sprintf(`{"media_type":%q,"started_at":%q,"labels":{"genesys.recording_id":"g:%d","parity":"%d"}}`, mt, base.Add(time.Duration(i)*time.Hour).Format(time.RFC3339), i, i%2)
		r := h.ingest(testserver.AdminToken, nil, [2]string{"metadata", meta}, [2]string{"media", string(wav)})
		if r.status != 202 {
			t.Fatalf("ingest %d: %d %s", i, r.status, r.body)
		}
		ids = append(ids, r.json(t)["id"].(string))
	}
	var seen []string
	cursor := ""
	for pages := 0; ; pages++ {
		q := "/api/v2/recordings?media_type=sip&limit=2"
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		page := h.do("GET", q, testserver.AdminToken, nil, nil).json(t)
		for _, it := range page["items"].([]any) {
			seen = append(seen, it.(map[string]any)["id"].(string))
		}
		cursor, _ = page["next_cursor"].(string)
		if cursor == "" || pages > 10 {
			break
		}
	}
	want := []string{ids[0], ids[1], ids[3], ids[4], ids[6]}
	if strings.Join(seen, ",") != strings.Join(want, ",") {
		t.Fatalf("paged SIP ids\n got %v\nwant %v", seen, want)
	}
	r := h.do("GET", "/api/v2/recordings?from="+base.Add(time.Hour).Format(time.RFC3339)+"&to="+base.Add(3*time.Hour).Format(time.RFC3339), testserver.AdminToken, nil, nil).json(t)
	if items := r["items"].([]any); len(items) != 2 || items[0].(map[string]any)["id"] != ids[1] || items[1].(map[string]any)["id"] != ids[2] {
		t.Fatalf("[from,to) selected %v", items)
	}
	for q, want := range map[string][]string{
		"label=genesys.recording_id:g%3A3":                {ids[3]},
		"label=parity:1":                                  {ids[1], ids[3], ids[5]},
		"label=parity:1&label=genesys.recording_id:g%3A5": {ids[5]},
		"label=parity:1&media_type=CHAT":                  {ids[5]},
		"label=genesys.recording_id:g%3A3&label=parity:0": nil,
		"label=genesys.recording_id:g":                    nil,
		"label=genesys.recording_id:G%3A3":                nil,
	} {
		var got []string
		for _, it := range h.do("GET", "/api/v2/recordings?"+q, testserver.AdminToken, nil, nil).json(t)["items"].([]any) {
			got = append(got, it.(map[string]any)["id"].(string))
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("?%s selected %v, want %v", q, got, want)
		}
	}
	p := assertProblem(t, h.do("GET", "/api/v2/recordings?from=2026-11-20&limit=0&status=done&media_type=FAX&label=no-colon&label=bad%20key:x", testserver.AdminToken, nil, nil), 400, "validation_failed")
	if got := strings.Join(fieldList(t, p), ","); got != "query.limit,query.media_type,query.from,query.status,query.label,query.label" {
		t.Fatalf("query fields %s", got)
	}
}

func TestOperationsEndpoints(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t)
	if r := h.do("GET", "/healthz", "", nil, nil); r.status != 200 {
		t.Fatalf("healthz %d", r.status)
	}
	if r := h.do("GET", "/readyz", "", nil, nil); r.status != 200 || r.json(t)["status"] != "ready" {
		t.Fatalf("readyz %d %s", r.status, r.body)
	}
	c, wav := call(t, 10)
	h.ingest(testserver.AdminToken, nil, [2]string{"metadata", string(c.Metadata())}, [2]string{"media", string(wav)})
	m := string(h.do("GET", "/metrics", "", nil, nil).body)
	for _, want := range []string{
		`holdfast_http_requests_total{route="POST /api/v2/recordings",status="202"} 1`,
		`holdfast_http_request_duration_seconds_bucket{route="POST /api/v2/recordings"`,
		`holdfast_recordings{status="completed"}`,
		`holdfast_processing_queue_depth`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestCreateHoldIdempotent(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t)
	c, wav := call(t, 11)
	h.ingest(testserver.AdminToken, nil, [2]string{"metadata", string(c.Metadata())}, [2]string{"media", string(wav)})
	body := `{"case_id":"LC-IDEM","hold_reason":"r","filter":{"media_type":"SIP"}}`
	key := map[string]string{"Content-Type": "application/json", "Idempotency-Key": "hold-1"}
	first := h.do("POST", "/api/v2/legalholds", testserver.AdminToken, strings.NewReader(body), key)
	again := h.do("POST", "/api/v2/legalholds", testserver.AdminToken, strings.NewReader(body), key)
	if first.status != 201 || again.status != 201 || first.json(t)["hold_id"] != again.json(t)["hold_id"] || again.header.Get("Idempotent-Replayed") != "true" || again.json(t)["matched"] != float64(1) {
		t.Fatalf("replay: %d %s / %d %s", first.status, first.body, again.status, again.body)
	}
	assertProblem(t, h.do("POST", "/api/v2/legalholds", testserver.AdminToken, strings.NewReader(strings.Replace(body, `"r"`, `"other"`, 1)), key), 422, "idempotency_key_reused")
	if l := h.do("GET", "/api/v2/legalholds", testserver.AdminToken, nil, nil).json(t); len(l["items"].([]any)) != 1 {
		t.Fatalf("%d holds exist, want 1", len(l["items"].([]any)))
	}
}

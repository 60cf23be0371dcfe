package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/holdfast/holdfast/client"
)

// reply is one scripted answer of the fake server.
type reply struct {
	status int
	header map[string]string
	body   string
	// hangup closes the connection without answering (a connection error).
	hangup bool
}

// problem builds a problem+json reply.
func problem(status int, code string, header map[string]string) reply {
	h := map[string]string{"Content-Type": "application/problem+json"}
	for k, v := range header {
		h[k] = v
	}
	return reply{status: status, header: h,
		body: fmt.Sprintf(`{"type":"urn:holdfast:problem:%s","title":"t","status":%d,"code":%q,"message":"scripted %s","request_id":"req-%d"}`, code, status, code, code, status)}
}

func okJSON(status int, body string) reply {
	return reply{status: status, header: map[string]string{"Content-Type": "application/json"}, body: body}
}

// received is one request the fake server got.
type received struct {
	method, path, query string
	rawPath             string
	header              http.Header
	body                []byte
}

// scripted is an httptest server that answers each request with the next
// scripted reply and records every request.
type scripted struct {
	t     *testing.T
	srv   *httptest.Server
	mu    sync.Mutex
	queue []reply
	reqs  []received
}

func newScripted(t *testing.T, replies ...reply) *scripted {
	t.Helper()
	s := &scripted{t: t, queue: replies}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *scripted) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.reqs = append(s.reqs, received{method: r.Method, path: r.URL.Path, rawPath: r.URL.EscapedPath(), query: r.URL.RawQuery, header: r.Header.Clone(), body: body})
	var rp reply
	if len(s.queue) == 0 {
		rp = reply{status: 599, body: "script exhausted"}
		s.t.Errorf("request %d (%s %s) arrived after the script ran out", len(s.reqs), r.Method, r.URL.Path)
	} else {
		rp = s.queue[0]
		s.queue = s.queue[1:]
	}
	s.mu.Unlock()
	if rp.hangup {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	for k, v := range rp.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(rp.status)
	io.WriteString(w, rp.body)
}

func (s *scripted) requests() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.reqs...)
}

// logRecords is a slog.Handler that keeps every record.
type logRecords struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (h *logRecords) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecords) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, r.Clone())
	return nil
}
func (h *logRecords) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logRecords) WithGroup(string) slog.Handler      { return h }

// retries returns the "retrying request" records as attribute maps.
func (h *logRecords) retries(t *testing.T) []map[string]slog.Value {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []map[string]slog.Value
	for _, r := range h.recs {
		if r.Message != "retrying request" {
			continue
		}
		if r.Level != slog.LevelDebug {
			t.Errorf("retry logged at %s, want DEBUG", r.Level)
		}
		m := map[string]slog.Value{}
		r.Attrs(func(a slog.Attr) bool { m[a.Key] = a.Value.Resolve(); return true })
		out = append(out, m)
	}
	return out
}

// sleeps records the waits the client asks for without waiting.
type sleeps struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) got() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

// fixture is a client wired to a scripted server, a sleep recorder and a
// log recorder.
type fixture struct {
	srv    *scripted
	c      *client.Client
	sleeps *sleeps
	logs   *logRecords
}

func newFixture(t *testing.T, p client.RetryPolicy, replies ...reply) *fixture {
	t.Helper()
	f := &fixture{srv: newScripted(t, replies...), sleeps: &sleeps{}, logs: &logRecords{}}
	// No keep-alive: every attempt is a fresh connection, so net/http never
	// replays a request on its own and the server sees exactly the
	// client's attempts.
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	c, err := client.New(f.srv.srv.URL, "tok", client.WithHTTPClient(hc), client.WithRetryPolicy(p),
		client.WithSleep(f.sleeps.sleep), client.WithLogger(slog.New(f.logs)))
	if err != nil {
		t.Fatal(err)
	}
	f.c = c
	return f
}

// fastPolicy has short backoff ceilings so jittered waits are easy to bound.
func fastPolicy() client.RetryPolicy {
	return client.RetryPolicy{MaxAttempts: 8, BaseDelay: 10 * time.Millisecond, MaxDelay: 80 * time.Millisecond, MaxRetryAfter: 30 * time.Second, Deadline: 10 * time.Minute}
}

const recJSON = `{"id":"rec_1","media_type":"SIP","status":"completed"}`

func TestRetryableAnswersAreRetried(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		fail   reply
		reason string
	}{
		{"409 recording_locked", problem(409, "recording_locked", nil), "409 recording_locked"},
		{"409 idempotency_in_progress", problem(409, "idempotency_in_progress", nil), "409 idempotency_in_progress"},
		{"429", problem(429, "rate_limited", nil), "429 rate_limited"},
		{"502 without a problem body", reply{status: 502, body: "bad gateway from the proxy"}, "502 bad_gateway"},
		{"503", problem(503, "unavailable", nil), "503 unavailable"},
		{"504 without a body", reply{status: 504}, "504 gateway_timeout"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, fastPolicy(), tc.fail, tc.fail, okJSON(200, recJSON))
			rec, err := f.c.GetRecording(context.Background(), "rec_1")
			if err != nil {
				t.Fatalf("GetRecording: %v", err)
			}
			if rec.ID != "rec_1" {
				t.Fatalf("decoded %+v", rec)
			}
			if n := len(f.srv.requests()); n != 3 {
				t.Fatalf("%d requests, want 3", n)
			}
			waits := f.sleeps.got()
			if len(waits) != 2 {
				t.Fatalf("waits %v, want 2", waits)
			}
			for i, w := range waits {
				if ceil := fastPolicy().BaseDelay << i; w < 0 || w > ceil {
					t.Errorf("wait %d = %s, want within [0, %s]", i, w, ceil)
				}
			}
			logs := f.logs.retries(t)
			if len(logs) != 2 {
				t.Fatalf("%d retry log records, want 2", len(logs))
			}
			for i, l := range logs {
				if got := l["reason"].String(); got != tc.reason {
					t.Errorf("retry %d logged reason %q, want %q", i, got, tc.reason)
				}
				if got := l["attempt"].Int64(); got != int64(i+1) {
					t.Errorf("retry %d logged attempt %d", i, got)
				}
				if got := l["wait"].Duration(); got != waits[i] {
					t.Errorf("retry %d logged wait %s, slept %s", i, got, waits[i])
				}
				if l["method"].String() != "GET" || l["path"].String() != "/api/v2/recordings/rec_1" {
					t.Errorf("retry %d logged %v", i, l)
				}
			}
		})
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	t.Parallel()
	// An HTTP-date is rendered when the request arrives, in whole seconds.
	const date = "date:"
	cases := []struct {
		name     string
		header   map[string]string
		policy   func(*client.RetryPolicy)
		min, max time.Duration
	}{
		{"delay-seconds", map[string]string{"Retry-After": "3"}, nil, 3 * time.Second, 3 * time.Second},
		{"X-Retry-After when Retry-After is absent", map[string]string{"X-Retry-After": "7"}, nil, 7 * time.Second, 7 * time.Second},
		{"Retry-After wins over X-Retry-After", map[string]string{"Retry-After": "2", "X-Retry-After": "9"}, nil, 2 * time.Second, 2 * time.Second},
		{"unparseable Retry-After falls back to X-Retry-After", map[string]string{"Retry-After": "soon", "X-Retry-After": "4"}, nil, 4 * time.Second, 4 * time.Second},
		{"HTTP-date", map[string]string{"Retry-After": date + "12s"}, nil, 10 * time.Second, 12 * time.Second},
		{"HTTP-date in X-Retry-After", map[string]string{"X-Retry-After": date + "6s"}, nil, 4 * time.Second, 6 * time.Second},
		{"capped at MaxRetryAfter", map[string]string{"Retry-After": "3600"}, func(p *client.RetryPolicy) { p.MaxRetryAfter = 5 * time.Second }, 5 * time.Second, 5 * time.Second},
		{"HTTP-date capped at MaxRetryAfter", map[string]string{"Retry-After": date + "1h"}, func(p *client.RetryPolicy) { p.MaxRetryAfter = 5 * time.Second }, 5 * time.Second, 5 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := fastPolicy()
			if tc.policy != nil {
				tc.policy(&p)
			}
			h := map[string]string{}
			for k, v := range tc.header {
				if d, ok := strings.CutPrefix(v, date); ok {
					dur, _ := time.ParseDuration(d)
					v = time.Now().Add(dur).UTC().Format(http.TimeFormat)
				}
				h[k] = v
			}
			f := newFixture(t, p, problem(429, "rate_limited", h), okJSON(200, recJSON))
			if _, err := f.c.GetRecording(context.Background(), "rec_1"); err != nil {
				t.Fatal(err)
			}
			waits := f.sleeps.got()
			if len(waits) != 1 || waits[0] < tc.min || waits[0] > tc.max {
				t.Fatalf("waits %v, want one in [%s, %s]", waits, tc.min, tc.max)
			}
		})
	}
}

func TestRetryAfterInErrorWhenNotRetried(t *testing.T) {
	t.Parallel()
	p := fastPolicy()
	p.MaxAttempts = 1
	f := newFixture(t, p, problem(429, "rate_limited", map[string]string{"X-Retry-After": "11"}))
	_, err := f.c.GetRecording(context.Background(), "x")
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != 429 || ce.Code != "rate_limited" || ce.RetryAfter != 11*time.Second {
		t.Fatalf("err %#v", err)
	}
	if len(f.sleeps.got()) != 0 || len(f.srv.requests()) != 1 {
		t.Fatal("retried with MaxAttempts 1")
	}
}

func TestNonRetryableAnswers(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		reply reply
		check func(t *testing.T, e *client.Error)
	}{
		{"400 validation_failed lists every field", reply{status: 400, header: map[string]string{"Content-Type": "application/problem+json", "Retry-After": "5"},
			body: `{"type":"urn:holdfast:problem:validation_failed","title":"Request validation failed","status":400,"code":"validation_failed",
"message":"metadata.hold_date: must be an RFC 3339 timestamp","errors":[{"field":"metadata.hold_date","code":"invalid_timestamp","message":"must be an RFC 3339 timestamp"},
{"field":"filter.media_type","code":"invalid_value","message":"must be one of SIP, SCREEN"}],"request_id":"req-400"}`},
			func(t *testing.T, e *client.Error) {
				if len(e.Errors) != 2 || e.Errors[0] != (client.FieldError{Field: "metadata.hold_date", Code: "invalid_timestamp", Message: "must be an RFC 3339 timestamp"}) ||
					e.Errors[1].Field != "filter.media_type" {
					t.Errorf("errors %+v", e.Errors)
				}
				if e.Type != "urn:holdfast:problem:validation_failed" || e.Title != "Request validation failed" {
					t.Errorf("type/title %q %q", e.Type, e.Title)
				}
				if e.RetryAfter != 5*time.Second {
					t.Errorf("RetryAfter %s, want 5s (decoded even though a 400 is not retried)", e.RetryAfter)
				}
				if s := e.Error(); !strings.Contains(s, "metadata.hold_date") || !strings.Contains(s, "filter.media_type") || !strings.Contains(s, "req-400") {
					t.Errorf("Error() = %q", s)
				}
			}},
		{"400 malformed_json", problem(400, "malformed_json", nil), nil},
		{"500 audit_log_inconsistent is permanent", problem(500, "audit_log_inconsistent", nil), nil},
		{"401", problem(401, "unauthenticated", nil), nil},
		{"403 names missing permissions", reply{status: 403, header: map[string]string{"Content-Type": "application/problem+json"},
			body: `{"status":403,"code":"permission_denied","message":"this token lacks the permission(s) recording:export, audit:view","missing_permissions":["recording:export","audit:view"],"request_id":"req-403"}`},
			func(t *testing.T, e *client.Error) {
				if strings.Join(e.MissingPermissions, ",") != "recording:export,audit:view" {
					t.Errorf("missing_permissions %v", e.MissingPermissions)
				}
			}},
		{"404", problem(404, "not_found", nil), nil},
		{"409 legal_hold_active with holds", reply{status: 409, header: map[string]string{"Content-Type": "application/problem+json", "Retry-After": "1"},
			body: `{"status":409,"code":"legal_hold_active","message":"held","holds":[{"hold_id":"hold_1","case_id":"LC-1"},{"hold_id":"hold_2"}],"request_id":"req-409"}`},
			func(t *testing.T, e *client.Error) {
				if len(e.Holds) != 2 || e.Holds[0] != (client.ProblemHold{HoldID: "hold_1", CaseID: "LC-1"}) || e.Holds[1].HoldID != "hold_2" {
					t.Errorf("holds %+v", e.Holds)
				}
			}},
		{"409 with an unknown code", problem(409, "conflict", map[string]string{"Retry-After": "1"}), nil},
		{"413", problem(413, "payload_too_large", nil), nil},
		{"415", problem(415, "unsupported_media_type", nil), nil},
		{"422 idempotency_key_reused", problem(422, "idempotency_key_reused", map[string]string{"Retry-After": "1"}), nil},
		{"500", problem(500, "internal", nil), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, call := range []struct {
				name string
				do   func(c *client.Client) error
			}{
				{"GET", func(c *client.Client) error { _, err := c.GetRecording(context.Background(), "rec_1"); return err }},
				{"DELETE", func(c *client.Client) error { return c.DeleteRecording(context.Background(), "rec_1") }},
				{"POST with key", func(c *client.Client) error {
					_, err := c.CreateExport(context.Background(), client.ExportRequest{Filter: client.Filter{MediaType: "SIP"}}, "key-1")
					return err
				}},
			} {
				f := newFixture(t, fastPolicy(), tc.reply)
				err := call.do(f.c)
				var e *client.Error
				if !errors.As(err, &e) {
					t.Fatalf("%s: err %v (%T), want *client.Error", call.name, err, err)
				}
				if n := len(f.srv.requests()); n != 1 {
					t.Fatalf("%s: %d requests, want exactly 1", call.name, n)
				}
				if w := f.sleeps.got(); len(w) != 0 {
					t.Fatalf("%s: waited %v", call.name, w)
				}
				if l := f.logs.retries(t); len(l) != 0 {
					t.Fatalf("%s: logged retries %v", call.name, l)
				}
				if e.Status != tc.reply.status {
					t.Errorf("%s: Status %d, want %d", call.name, e.Status, tc.reply.status)
				}
				if e.Code == "" || e.Message == "" || !strings.HasPrefix(e.RequestID, "req-") {
					t.Errorf("%s: code %q message %q request_id %q", call.name, e.Code, e.Message, e.RequestID)
				}
				if tc.check != nil {
					tc.check(t, e)
				}
			}
		})
	}
}

func TestErrorWithoutProblemBody(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fastPolicy(), reply{status: 404, body: "no such thing\n"})
	_, err := f.c.GetRecording(context.Background(), "x")
	var e *client.Error
	if !errors.As(err, &e) || e.Status != 404 || e.Code != "not_found" || e.Message != "no such thing" {
		t.Fatalf("err %#v", err)
	}
}

func TestPOSTRetriedOnlyWithIdempotencyKey(t *testing.T) {
	t.Parallel()
	t.Run("without a key a 503 is final", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, fastPolicy(), problem(503, "unavailable", map[string]string{"Retry-After": "1"}))
		_, err := f.c.CreateToken(context.Background(), "n", []string{"admin"})
		var e *client.Error
		if !errors.As(err, &e) || e.Status != 503 {
			t.Fatalf("err %v", err)
		}
		reqs := f.srv.requests()
		if len(reqs) != 1 || reqs[0].method != "POST" || reqs[0].header.Get("Idempotency-Key") != "" {
			t.Fatalf("requests %+v", reqs)
		}
		if len(f.sleeps.got()) != 0 || len(f.logs.retries(t)) != 0 {
			t.Fatal("a POST without Idempotency-Key was retried")
		}
	})
	t.Run("without a key a connection error is final", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, fastPolicy(), reply{hangup: true})
		if _, err := f.c.CreateToken(context.Background(), "n", []string{"admin"}); err == nil {
			t.Fatal("no error")
		}
		if n := len(f.srv.requests()); n != 1 {
			t.Fatalf("%d requests, want 1", n)
		}
	})
	t.Run("with a key the same key and body are sent every time", func(t *testing.T) {
		t.Parallel()
		from := time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)
		req := client.ExportRequest{Filter: client.Filter{MediaType: "SIP", From: &from}, Metadata: &client.ExportMetadata{LegalHold: true, CaseID: "LC-2024-001"}}
		f := newFixture(t, fastPolicy(),
			problem(503, "unavailable", map[string]string{"Retry-After": "1"}),
			problem(409, "recording_locked", map[string]string{"Retry-After": "1"}),
			reply{hangup: true},
			problem(429, "rate_limited", map[string]string{"X-Retry-After": "2"}),
			okJSON(202, `{"id":"exp_1","state":"queued","progress":{"matched":3}}`))
		job, err := f.c.CreateExport(context.Background(), req, "export-key-123")
		if err != nil {
			t.Fatal(err)
		}
		if job.ID != "exp_1" || job.Progress.Matched != 3 {
			t.Fatalf("job %+v", job)
		}
		reqs := f.srv.requests()
		if len(reqs) != 5 {
			t.Fatalf("%d requests, want 5", len(reqs))
		}
		for i, r := range reqs {
			if r.method != "POST" || r.path != "/api/v2/bulk/recordingexports" {
				t.Errorf("request %d: %s %s", i, r.method, r.path)
			}
			if k := r.header.Get("Idempotency-Key"); k != "export-key-123" {
				t.Errorf("request %d: Idempotency-Key %q", i, k)
			}
			if r.header.Get("Authorization") != "Bearer tok" || r.header.Get("Content-Type") != "application/json" {
				t.Errorf("request %d: headers %v", i, r.header)
			}
			if !bytes.Equal(r.body, reqs[0].body) {
				t.Errorf("request %d body %s differs from the first %s", i, r.body, reqs[0].body)
			}
		}
		if !bytes.Contains(reqs[0].body, []byte(`"case_id":"LC-2024-001"`)) || !bytes.Contains(reqs[0].body, []byte(`"legal_hold":true`)) {
			t.Errorf("body %s", reqs[0].body)
		}
		waits := f.sleeps.got()
		if len(waits) != 4 || waits[0] != time.Second || waits[1] != time.Second || waits[2] > fastPolicy().BaseDelay<<2 || waits[3] != 2*time.Second {
			t.Errorf("waits %v", waits)
		}
		var reasons []string
		for _, l := range f.logs.retries(t) {
			reasons = append(reasons, l["reason"].String())
		}
		if len(reasons) != 4 || reasons[0] != "503 unavailable" || reasons[1] != "409 recording_locked" ||
			!strings.HasPrefix(reasons[2], "connection error") || reasons[3] != "429 rate_limited" {
			t.Errorf("reasons %q", reasons)
		}
	})
	t.Run("a generated key is stable across attempts", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, fastPolicy(), problem(503, "unavailable", nil), okJSON(201, `{"hold_id":"hold_1"}`))
		h, err := f.c.CreateHold(context.Background(), client.CreateHoldRequest{CaseID: "LC-1", HoldReason: "r", Filter: client.Filter{MediaType: "SIP"}})
		if err != nil || h.HoldID != "hold_1" {
			t.Fatalf("%+v %v", h, err)
		}
		reqs := f.srv.requests()
		if len(reqs) != 2 || reqs[0].header.Get("Idempotency-Key") == "" || reqs[0].header.Get("Idempotency-Key") != reqs[1].header.Get("Idempotency-Key") {
			t.Fatalf("keys %q %q", reqs[0].header.Get("Idempotency-Key"), reqs[len(reqs)-1].header.Get("Idempotency-Key"))
		}
		if !bytes.Equal(reqs[0].body, reqs[1].body) {
			t.Fatal("body differs between attempts")
		}
	})
}

// multipartParts parses a recorded multipart body into name → content.
func multipartParts(t *testing.T, r received) map[string]string {
	t.Helper()
	mt, params, err := mime.ParseMediaType(r.header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		t.Fatalf("Content-Type %q", r.header.Get("Content-Type"))
	}
	mr := multipart.NewReader(bytes.NewReader(r.body), params["boundary"])
	out := map[string]string{}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("multipart: %v", err)
		}
		b, _ := io.ReadAll(p)
		out[p.FormName()+"|"+p.FileName()] = string(b)
	}
}

func TestIngestRetriedWithWholeBody(t *testing.T) {
	t.Parallel()
	media := bytes.Repeat([]byte("RIFF-wave-bytes-"), 64<<10) // 1 MiB
	var opened, closed atomic.Int32
	f := newFixture(t, fastPolicy(),
		problem(503, "unavailable", map[string]string{"Retry-After": "1"}),
		reply{hangup: true},
		problem(409, "idempotency_in_progress", map[string]string{"Retry-After": "2"}),
		okJSON(202, `{"id":"rec_9","status":"processing"}`))
	rec, err := f.c.Ingest(context.Background(), client.IngestRequest{
		Metadata: []byte(`{"media_type":"SIP","started_at":"2026-11-25T10:00:00Z"}`),
		SIPREC:   []byte(`<recording xmlns="urn:ietf:params:xml:ns:recording:1"/>`),
		Media: func() (io.ReadCloser, error) {
			opened.Add(1)
			return closeCounter{bytes.NewReader(media), &closed}, nil
		},
		MediaName: "call.wav",
	})
	if err != nil || rec.ID != "rec_9" {
		t.Fatalf("%+v %v", rec, err)
	}
	reqs := f.srv.requests()
	if len(reqs) != 4 {
		t.Fatalf("%d requests, want 4", len(reqs))
	}
	if n := opened.Load(); n != 4 {
		t.Fatalf("media opened %d times, want once per attempt (4)", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for closed.Load() != 4 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := closed.Load(); n != 4 {
		t.Errorf("media closed %d times, want 4", n)
	}
	key := reqs[0].header.Get("Idempotency-Key")
	if key == "" {
		t.Fatal("Ingest sent no Idempotency-Key")
	}
	var first map[string]string
	for i, r := range reqs {
		if r.method != "POST" || r.path != "/api/v2/recordings" || r.header.Get("Idempotency-Key") != key {
			t.Errorf("request %d: %s %s key %q", i, r.method, r.path, r.header.Get("Idempotency-Key"))
		}
		parts := multipartParts(t, r)
		if parts["media|call.wav"] != string(media) {
			t.Errorf("request %d: media part has %d bytes, want %d", i, len(parts["media|call.wav"]), len(media))
		}
		if first == nil {
			first = parts
			if len(parts) != 3 || parts["metadata|metadata.json"] == "" || parts["siprec|siprec.xml"] == "" {
				t.Fatalf("parts %v", keys(parts))
			}
		} else if fmt.Sprint(parts) != fmt.Sprint(first) {
			t.Errorf("request %d: parts differ from the first attempt", i)
		}
	}
}

type closeCounter struct {
	io.Reader
	n *atomic.Int32
}

func (c closeCounter) Close() error { c.n.Add(1); return nil }

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestConnectionErrorsRetried(t *testing.T) {
	t.Parallel()
	t.Run("server hangs up", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, fastPolicy(), reply{hangup: true}, reply{hangup: true}, okJSON(200, recJSON))
		if _, err := f.c.GetRecording(context.Background(), "rec_1"); err != nil {
			t.Fatal(err)
		}
		if n := len(f.srv.requests()); n != 3 {
			t.Fatalf("%d requests, want 3", n)
		}
		for _, l := range f.logs.retries(t) {
			if !strings.HasPrefix(l["reason"].String(), "connection error") {
				t.Errorf("reason %q", l["reason"].String())
			}
		}
	})
	t.Run("DELETE after hang-up", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, fastPolicy(), reply{hangup: true}, reply{status: 204})
		if err := f.c.DeleteRecording(context.Background(), "rec_1"); err != nil {
			t.Fatal(err)
		}
		if n := len(f.srv.requests()); n != 2 {
			t.Fatalf("%d requests, want 2", n)
		}
	})
	t.Run("refused port", func(t *testing.T) {
		t.Parallel()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		var sl sleeps
		logs := &logRecords{}
		p := fastPolicy()
		p.MaxAttempts = 4
		c, err := client.New("http://"+addr, "tok", client.WithRetryPolicy(p), client.WithSleep(sl.sleep), client.WithLogger(slog.New(logs)))
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.GetRecording(context.Background(), "rec_1")
		var e *client.Error
		if err == nil || errors.As(err, &e) {
			t.Fatalf("err %v, want a connection error", err)
		}
		if !strings.Contains(err.Error(), "refused") {
			t.Errorf("err %v does not say the connection was refused", err)
		}
		if w := sl.got(); len(w) != 3 {
			t.Fatalf("waits %v, want 3 (4 attempts)", w)
		}
		for _, l := range logs.retries(t) {
			if !strings.HasPrefix(l["reason"].String(), "connection error") || !strings.Contains(l["reason"].String(), "refused") {
				t.Errorf("reason %q", l["reason"].String())
			}
		}
	})
	t.Run("refused port that comes up", func(t *testing.T) {
		t.Parallel()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		var started bool
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, recJSON)
		})}
		t.Cleanup(func() { srv.Close() })
		sleep := func(ctx context.Context, d time.Duration) error {
			if !started {
				started = true
				ln, err := net.Listen("tcp", addr)
				if err != nil {
					return nil // the port was taken meanwhile; the call will fail below
				}
				go srv.Serve(ln)
			}
			return nil
		}
		c, err := client.New("http://"+addr, "tok", client.WithRetryPolicy(fastPolicy()), client.WithSleep(sleep))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.GetRecording(context.Background(), "rec_1"); err != nil {
			t.Skipf("port %s was reused by someone else: %v", addr, err)
		}
		if !started {
			t.Fatal("the first attempt did not fail")
		}
	})
}

func TestMaxAttempts(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 3, 5} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			p := fastPolicy()
			p.MaxAttempts = n
			var replies []reply
			for range n {
				replies = append(replies, problem(503, "unavailable", nil))
			}
			f := newFixture(t, p, replies...)
			_, err := f.c.GetRecording(context.Background(), "rec_1")
			var e *client.Error
			if !errors.As(err, &e) || e.Status != 503 {
				t.Fatalf("err %v", err)
			}
			if got := len(f.srv.requests()); got != n {
				t.Fatalf("%d requests, want %d", got, n)
			}
			if got := len(f.sleeps.got()); got != n-1 {
				t.Fatalf("%d waits, want %d", got, n-1)
			}
			if got := len(f.logs.retries(t)); got != n-1 {
				t.Fatalf("%d retry logs, want %d", got, n-1)
			}
		})
	}
	t.Run("default is 8", func(t *testing.T) {
		t.Parallel()
		var replies []reply
		for range 8 {
			replies = append(replies, reply{status: 502})
		}
		f := newFixture(t, client.RetryPolicy{BaseDelay: time.Millisecond}, replies...)
		if _, err := f.c.GetRecording(context.Background(), "rec_1"); err == nil {
			t.Fatal("no error")
		}
		if got := len(f.srv.requests()); got != 8 {
			t.Fatalf("%d requests, want 8", got)
		}
	})
}

func TestDeadline(t *testing.T) {
	t.Parallel()
	t.Run("a Retry-After beyond the deadline stops at once", func(t *testing.T) {
		t.Parallel()
		p := fastPolicy()
		p.Deadline = 2 * time.Second
		f := newFixture(t, p, problem(503, "unavailable", map[string]string{"Retry-After": "5"}))
		_, err := f.c.GetRecording(context.Background(), "rec_1")
		if err == nil || !strings.Contains(err.Error(), "deadline") {
			t.Fatalf("err %v, want one naming the deadline", err)
		}
		var e *client.Error
		if !errors.As(err, &e) || e.Code != "unavailable" {
			t.Fatalf("the deadline error does not wrap the last answer: %v", err)
		}
		if n := len(f.srv.requests()); n != 1 || len(f.sleeps.got()) != 0 {
			t.Fatalf("%d requests, waits %v", n, f.sleeps.got())
		}
	})
	t.Run("real waits add up to the deadline", func(t *testing.T) {
		t.Parallel()
		p := client.RetryPolicy{MaxAttempts: 1000, BaseDelay: 40 * time.Millisecond, MaxDelay: 40 * time.Millisecond, Deadline: 400 * time.Millisecond}
		var replies []reply
		for range 1000 {
			replies = append(replies, problem(503, "unavailable", nil))
		}
		srv := newScripted(t, replies...)
		c, err := client.New(srv.srv.URL, "tok", client.WithRetryPolicy(p))
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err = c.GetRecording(context.Background(), "rec_1")
		el := time.Since(start)
		if err == nil || !strings.Contains(err.Error(), "deadline") {
			t.Fatalf("err %v, want one naming the deadline", err)
		}
		if el > p.Deadline+2*time.Second {
			t.Fatalf("gave up after %s with a %s deadline", el, p.Deadline)
		}
		if n := len(srv.requests()); n < 2 || n >= 1000 {
			t.Fatalf("%d requests", n)
		}
	})
}

func TestBackoffFullJitter(t *testing.T) {
	t.Parallel()
	p := client.RetryPolicy{MaxAttempts: 200, BaseDelay: 10 * time.Millisecond, MaxDelay: 300 * time.Millisecond, Deadline: -1}
	var replies []reply
	for range p.MaxAttempts - 1 {
		replies = append(replies, reply{status: 503})
	}
	replies = append(replies, okJSON(200, recJSON))
	f := newFixture(t, p, replies...)
	if _, err := f.c.GetRecording(context.Background(), "rec_1"); err != nil {
		t.Fatal(err)
	}
	waits := f.sleeps.got()
	if len(waits) != p.MaxAttempts-1 {
		t.Fatalf("%d waits", len(waits))
	}
	low, high := 0, 0
	for n, w := range waits {
		ceil := p.MaxDelay
		if n < 30 {
			ceil = min(p.MaxDelay, p.BaseDelay<<n)
		}
		if w < 0 || w > ceil {
			t.Errorf("wait after attempt %d = %s, outside [0, %s]", n+1, w, ceil)
		}
		if ceil == p.MaxDelay {
			if w < ceil/2 {
				low++
			} else {
				high++
			}
		}
	}
	// Full jitter: waits at the ceiling spread over the whole range, not
	// bunched at the top (equal jitter) or fixed (no jitter).
	if low < 20 || high < 20 {
		t.Errorf("waits at the %s ceiling: %d below half, %d above; want both well represented", p.MaxDelay, low, high)
	}
	distinct := map[time.Duration]bool{}
	for _, w := range waits {
		distinct[w] = true
	}
	if len(distinct) < len(waits)/2 {
		t.Errorf("only %d distinct waits out of %d", len(distinct), len(waits))
	}
}

func TestContextCancellation(t *testing.T) {
	t.Parallel()
	t.Run("during a wait", func(t *testing.T) {
		t.Parallel()
		srv := newScripted(t, problem(503, "unavailable", map[string]string{"Retry-After": "30"}))
		c, err := client.New(srv.srv.URL, "tok")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		start := time.Now()
		_, err = c.GetRecording(ctx, "rec_1")
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v, want context.Canceled", err)
		}
		if el := time.Since(start); el > 2*time.Second {
			t.Fatalf("returned %s after the cancel", el)
		}
		if n := len(srv.requests()); n != 1 {
			t.Fatalf("%d requests", n)
		}
	})
	t.Run("during a request", func(t *testing.T) {
		t.Parallel()
		release := make(chan struct{})
		var hits atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		t.Cleanup(srv.Close)
		t.Cleanup(func() { close(release) })
		c, err := client.New(srv.URL, "tok")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err = c.GetRecording(ctx, "rec_1")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err %v, want context.DeadlineExceeded", err)
		}
		if el := time.Since(start); el > 2*time.Second {
			t.Fatalf("returned after %s", el)
		}
		if n := hits.Load(); n != 1 {
			t.Fatalf("%d requests; a cancelled call must not retry", n)
		}
	})
	t.Run("a sleep that reports cancellation stops the loop", func(t *testing.T) {
		t.Parallel()
		srv := newScripted(t, reply{status: 503})
		ctx, cancel := context.WithCancel(context.Background())
		c, err := client.New(srv.srv.URL, "tok", client.WithSleep(func(ctx context.Context, d time.Duration) error {
			cancel()
			return ctx.Err()
		}))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.GetRecording(ctx, "rec_1"); !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v", err)
		}
		if n := len(srv.requests()); n != 1 {
			t.Fatalf("%d requests", n)
		}
	})
}

func TestRangeDownload(t *testing.T) {
	t.Parallel()
	t.Run("Range header and 206", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, fastPolicy(), reply{status: 503}, reply{status: 206, body: "tail"})
		var buf bytes.Buffer
		n, err := f.c.DownloadPackageFile(context.Background(), "exp_1", "data/recordings/rec 1.wav", 6, &buf)
		if err != nil || n != 4 || buf.String() != "tail" {
			t.Fatalf("%d %q %v", n, buf.String(), err)
		}
		for _, r := range f.srv.requests() {
			if r.header.Get("Range") != "bytes=6-" || r.path != "/api/v2/bulk/recordingexports/exp_1/package/files/data/recordings/rec 1.wav" {
				t.Errorf("request %s Range %q", r.path, r.header.Get("Range"))
			}
		}
	})
	t.Run("ignored Range", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, fastPolicy(), reply{status: 200, body: "the whole file"})
		var buf bytes.Buffer
		if _, err := f.c.DownloadPackageFile(context.Background(), "exp_1", "bagit.txt", 4, &buf); !errors.Is(err, client.ErrRangeIgnored) || buf.Len() != 0 {
			t.Fatalf("err %v, wrote %q", err, buf.String())
		}
	})
}

// TestRequestHeaders checks what every attempt carries.
func TestRequestHeaders(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fastPolicy(), reply{status: 502}, okJSON(200, `{"items":[],"next_cursor":""}`))
	from := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("X", 3600))
	if _, err := f.c.ListRecordings(context.Background(), client.ListRecordingsParams{MediaType: "SIP", From: &from, Limit: 5, Cursor: "c1"}); err != nil {
		t.Fatal(err)
	}
	for i, r := range f.srv.requests() {
		if r.header.Get("Authorization") != "Bearer tok" || r.header.Get("User-Agent") == "" || r.header.Get("Idempotency-Key") != "" {
			t.Errorf("request %d headers %v", i, r.header)
		}
		q := r.query
		for _, want := range []string{"media_type=SIP", "from=2026-01-02T02%3A04%3A05Z", "limit=5", "cursor=c1"} {
			if !strings.Contains(q, want) {
				t.Errorf("request %d query %q lacks %q", i, q, want)
			}
		}
	}
}

// TestUnopenableMediaNotRetried: a request that cannot even be built is
// not a connection error; nothing is sent and nothing is retried.
func TestUnopenableMediaNotRetried(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fastPolicy())
	var opened atomic.Int32
	boom := errors.New("open call.wav: no such file or directory")
	_, err := f.c.Ingest(context.Background(), client.IngestRequest{Metadata: []byte(`{}`), Media: func() (io.ReadCloser, error) {
		opened.Add(1)
		return nil, boom
	}})
	if !errors.Is(err, boom) {
		t.Fatalf("err %v", err)
	}
	if opened.Load() != 1 || len(f.srv.requests()) != 0 || len(f.sleeps.got()) != 0 {
		t.Fatalf("opened %d times, %d requests, waits %v", opened.Load(), len(f.srv.requests()), f.sleeps.got())
	}
}

// TestEscapedPathSegments: ids and package paths are escaped once.
func TestEscapedPathSegments(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fastPolicy(), okJSON(200, recJSON), okJSON(200, `{"id":"exp 1/2","state":"queued"}`))
	if _, err := f.c.GetRecording(context.Background(), "rec 1%"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.GetExport(context.Background(), "exp 1/2"); err != nil {
		t.Fatal(err)
	}
	reqs := f.srv.requests()
	if reqs[0].path != "/api/v2/recordings/rec 1%" {
		t.Errorf("path %q", reqs[0].path)
	}
	if reqs[1].rawPath != "/api/v2/bulk/recordingexports/exp%201%2F2" {
		t.Errorf("path %q", reqs[1].rawPath)
	}
}

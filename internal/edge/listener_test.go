package edge

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// testProblem renders problems for the tests' listeners.
func testProblem(status int, code, message string) []byte {
	b, _ := json.Marshal(map[string]any{"status": status, "code": code, "message": message})
	return b
}

// startEdge serves h on a loopback Listener with cfg; GET /block waits
// until release is closed.
func startEdge(t *testing.T, cfg ListenerConfig, h http.Handler) (*Listener, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Problem = testProblem
	el := NewListener(ln, cfg)
	srv := &http.Server{Handler: el.Serving(h), MaxHeaderBytes: MaxHeaderBytes - 4096, ReadHeaderTimeout: 10 * time.Second,
		ConnState: el.ConnState, ConnContext: el.ConnContext}
	go func() { _ = srv.Serve(el) }()
	t.Cleanup(func() { _ = srv.Close() })
	return el, ln.Addr().String()
}

// blockingMux answers "ok", and GET /block only once release is closed
// (or the client has gone).
func blockingMux(release chan struct{}) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("/block", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
			io.WriteString(w, "ok")
		case <-r.Context().Done(): // the client went away
		}
	})
	return mux
}

// rawConn is a client connection from a chosen loopback address.
type rawConn struct {
	net.Conn
	br *bufio.Reader
}

func dialFrom(t *testing.T, from, addr string) *rawConn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{Conn: c, br: bufio.NewReader(c)}
}

func (c *rawConn) send(t *testing.T, s string) {
	t.Helper()
	if _, err := io.WriteString(c, s); err != nil {
		t.Fatal(err)
	}
}

// answer reads one response.
func (c *rawConn) answer(t *testing.T) (*http.Response, []byte) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		t.Fatalf("reading an answer: %v", err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading an answer's body: %v", err)
	}
	return resp, b
}

// get sends GET path and returns the answer.
func (c *rawConn) get(t *testing.T, path string) (*http.Response, []byte) {
	t.Helper()
	c.send(t, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n")
	return c.answer(t)
}

// closedByServer reports whether the server has closed the connection,
// waiting up to wait for it.
func (c *rawConn) closedByServer(wait time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(wait))
	_, err := c.br.ReadByte()
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func wantProblem(t *testing.T, resp *http.Response, body []byte, status int, code string) {
	t.Helper()
	var p struct {
		Status int    `json:"status"`
		Code   string `json:"code"`
	}
	if resp.StatusCode != status || resp.Header.Get("Content-Type") != "application/problem+json" || json.Unmarshal(body, &p) != nil || p.Code != code || p.Status != status {
		t.Fatalf("answer %d %s %q, want %d problem+json with code %s", resp.StatusCode, resp.Header.Get("Content-Type"), body, status, code)
	}
}

func TestPerClientCapClosesIdleFirst(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	defer close(release)
	el, addr := startEdge(t, ListenerConfig{MaxConns: 100, MaxConnsPerClient: 3}, blockingMux(release))

	// Three idle keep-alive connections from one address fill its share.
	var idle []*rawConn
	for range 3 {
		c := dialFrom(t, "127.0.0.1", addr)
		if resp, _ := c.get(t, "/"); resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		idle = append(idle, c)
	}
	waitFor(t, "3 idle connections", func() bool { return el.Stats().Idle == 3 })

	// A fourth is served, and the one idle the longest makes room.
	c4 := dialFrom(t, "127.0.0.1", addr)
	if resp, _ := c4.get(t, "/"); resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if !idle[0].closedByServer(5 * time.Second) {
		t.Fatal("the longest idle connection was not closed to make room")
	}
	if idle[1].closedByServer(50 * time.Millisecond) {
		t.Fatal("a younger idle connection was closed too")
	}
	if s := el.Stats(); s.Evicted != 1 || s.Open != 3 {
		t.Fatalf("stats %+v, want 1 evicted and 3 open", s)
	}

	// With every connection of the address busy, a new one is refused
	// with a problem, and other addresses are not affected.
	for _, c := range []*rawConn{idle[1], idle[2], c4} {
		c.send(t, "GET /block HTTP/1.1\r\nHost: x\r\n\r\n")
	}
	waitFor(t, "no idle connections", func() bool { return el.Stats().Idle == 0 })
	refused := dialFrom(t, "127.0.0.1", addr)
	resp, body := refused.answer(t)
	wantProblem(t, resp, body, http.StatusTooManyRequests, "rate_limited")
	if resp.Header.Get("Retry-After") != "1" || resp.Header.Get("X-Retry-After") != "1" {
		t.Fatalf("refusal headers %v", resp.Header)
	}
	if !refused.closedByServer(5 * time.Second) {
		t.Fatal("a refused connection stayed open")
	}
	other := dialFrom(t, "127.0.0.2", addr)
	if resp, _ := other.get(t, "/"); resp.StatusCode != 200 {
		t.Fatalf("another address got %d", resp.StatusCode)
	}
	if s := el.Stats(); s.RefusedPerClient != 1 || s.RefusedTotal != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestTotalCap(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	defer close(release)
	el, addr := startEdge(t, ListenerConfig{MaxConns: 3, MaxConnsPerClient: 3}, blockingMux(release))

	a := dialFrom(t, "127.0.0.1", addr)
	b := dialFrom(t, "127.0.0.2", addr)
	c := dialFrom(t, "127.0.0.3", addr)
	for _, x := range []*rawConn{a, b} {
		x.send(t, "GET /block HTTP/1.1\r\nHost: x\r\n\r\n")
	}
	if resp, _ := c.get(t, "/"); resp.StatusCode != 200 {
		t.Fatal(resp.Status)
	}
	waitFor(t, "one idle connection", func() bool { return el.Stats().Idle == 1 })

	// At the total cap the idle connection, of another address, makes room.
	d := dialFrom(t, "127.0.0.4", addr)
	if resp, _ := d.get(t, "/"); resp.StatusCode != 200 {
		t.Fatal(resp.Status)
	}
	if !c.closedByServer(5 * time.Second) {
		t.Fatal("the idle connection was not closed at the total cap")
	}
	d.send(t, "GET /block HTTP/1.1\r\nHost: x\r\n\r\n")
	waitFor(t, "no idle connections", func() bool { return el.Stats().Idle == 0 })
	e := dialFrom(t, "127.0.0.5", addr)
	resp, body := e.answer(t)
	wantProblem(t, resp, body, http.StatusServiceUnavailable, "unavailable")
	if s := el.Stats(); s.RefusedTotal != 1 || s.Open != 3 {
		t.Fatalf("stats %+v", s)
	}

	// Closed connections free their places.
	a.Close()
	waitFor(t, "a free place", func() bool { return el.Stats().Open == 2 })
	f := dialFrom(t, "127.0.0.6", addr)
	if resp, _ := f.get(t, "/"); resp.StatusCode != 200 {
		t.Fatal(resp.Status)
	}
}

func TestExemptPeersHaveNoClientCap(t *testing.T) {
	t.Parallel()
	proxies, _ := ParseProxies("127.0.0.1")
	el, addr := startEdge(t, ListenerConfig{MaxConns: 10, MaxConnsPerClient: 1, Exempt: proxies.Trusted}, blockingMux(nil))
	for range 4 {
		c := dialFrom(t, "127.0.0.1", addr)
		if resp, _ := c.get(t, "/"); resp.StatusCode != 200 {
			t.Fatal(resp.Status)
		}
	}
	if s := el.Stats(); s.Open != 4 || s.Evicted != 0 {
		t.Fatalf("stats %+v: a trusted proxy was held to the per-client cap", s)
	}
}

// TestNetHTTPErrorsBecomeProblems sends requests net/http refuses before
// any handler runs; each answer is a problem document.
func TestNetHTTPErrorsBecomeProblems(t *testing.T) {
	t.Parallel()
	_, addr := startEdge(t, ListenerConfig{MaxConns: 100, MaxConnsPerClient: 100}, blockingMux(nil))
	for _, tc := range []struct {
		name, req string
		status    int
		code, msg string
	}{
		{"headers over the limit", "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", MaxHeaderBytes) + "\r\n\r\n", 431, "headers_too_large", strconv.Itoa(MaxHeaderBytes)},
		{"bad Content-Length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 12x\r\n\r\n", 400, "malformed_request", "malformed"},
		{"two Content-Lengths", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400, "malformed_request", "malformed"},
		{"negative Content-Length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n", 400, "malformed_request", "malformed"},
		{"no Host", "GET / HTTP/1.1\r\n\r\n", 400, "malformed_request", "Host"},
		{"bad header line", "GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n", 400, "malformed_request", "malformed"},
		{"unknown Transfer-Encoding", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "not_implemented", "Transfer-Encoding"},
		{"HTTP/2.0 over HTTP/1", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505, "http_version_not_supported", "HTTP/1.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := dialFrom(t, "127.0.0.1", addr)
			c.send(t, tc.req)
			resp, body := c.answer(t)
			wantProblem(t, resp, body, tc.status, tc.code)
			if !strings.Contains(string(body), tc.msg) {
				t.Errorf("message %s does not mention %q", body, tc.msg)
			}
		})
	}

	// On a keep-alive connection too, after a good request.
	c := dialFrom(t, "127.0.0.1", addr)
	if resp, _ := c.get(t, "/"); resp.StatusCode != 200 {
		t.Fatal(resp.Status)
	}
	c.send(t, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: zz\r\n\r\n")
	resp, body := c.answer(t)
	wantProblem(t, resp, body, 400, "malformed_request")
}

// TestHandlerAnswersAreNeverRewritten serves content that ends with the
// exact bytes of a net/http error: it arrives unchanged.
func TestHandlerAnswersAreNeverRewritten(t *testing.T) {
	t.Parallel()
	fake := "HTTP/1.1 400 Bad Request" + goErrorHeaders + "400 Bad Request"
	content := strings.Repeat("x", 40000) + fake
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(content)))
		io.Copy(w, io.MultiReader(strings.NewReader(content[:40000]), strings.NewReader(fake)))
	})
	_, addr := startEdge(t, ListenerConfig{MaxConns: 10, MaxConnsPerClient: 10}, mux)
	c := dialFrom(t, "127.0.0.1", addr)
	for range 2 {
		resp, body := c.get(t, "/")
		if resp.StatusCode != 200 || string(body) != content {
			t.Fatalf("status %d, %d bytes; the content was altered", resp.StatusCode, len(body))
		}
	}
}

func TestParseGoErrorRejectsLookalikes(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"HTTP/1.1 200 OK" + goErrorHeaders + "200 OK",
		"HTTP/1.1 400 Bad Request" + goErrorHeaders + "something else",
		"HTTP/1.1 400 Bad Request\r\nDate: now" + goErrorHeaders + "400 Bad Request",
		"HTTP/1.0 400 Bad Request" + goErrorHeaders + "400 Bad Request",
		"HTTP/1.1 4xx Bad Request" + goErrorHeaders + "4xx Bad Request",
	} {
		if _, _, _, ok := parseGoError([]byte(s)); ok {
			t.Errorf("%q was taken for a net/http error", s)
		}
	}
}

// FuzzParseGoError feeds parseGoError any write: it never panics, and
// what it takes for a net/http error is one (a 4xx/5xx status line
// repeated as the body after net/http's error headers) with a code.
func FuzzParseGoError(f *testing.F) {
	f.Add([]byte("HTTP/1.1 431 Request Header Fields Too Large" + goErrorHeaders + "431 Request Header Fields Too Large"))
	f.Add([]byte("HTTP/1.1 400 Bad Request: missing required Host header" + goErrorHeaders + "400 Bad Request: missing required Host header"))
	f.Add([]byte("HTTP/1.1 501 Not Implemented" + goErrorHeaders + "Unsupported transfer encoding"))
	f.Add([]byte("HTTP/1.1 200 OK\r\nDate: x\r\n\r\nok"))
	f.Fuzz(func(t *testing.T, b []byte) {
		status, code, msg, ok := parseGoError(b)
		if !ok {
			return
		}
		if status < 400 || status > 599 || code == "" || msg == "" {
			t.Fatalf("%q: status %d, code %q, message %q", b, status, code, msg)
		}
		if !strings.HasPrefix(string(b), "HTTP/1.1 "+strconv.Itoa(status)+" ") || !strings.Contains(string(b), goErrorHeaders) {
			t.Fatalf("%q was taken for a net/http error", b)
		}
	})
}

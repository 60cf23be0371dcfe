package edge

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// bodyServer serves, under LimitBodyRate with a 2 s window and 5 kB/s
// (10 kB per window; generous, so that a loaded machine does not stall a
// steady client for a whole window): POST /read reads the whole body and answers
// its length (pausing pause between 1 kB reads), POST /ignore answers at
// once without reading.
func bodyServer(t *testing.T, pause time.Duration) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /read", func(w http.ResponseWriter, r *http.Request) {
		n, buf := 0, make([]byte, 1000)
		for {
			m, err := io.ReadFull(r.Body, buf)
			n += m
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				break
			}
			if err != nil {
				http.Error(w, "read failed: "+err.Error(), http.StatusBadRequest)
				return
			}
			time.Sleep(pause)
		}
		io.WriteString(w, strconv.Itoa(n))
	})
	mux.HandleFunc("POST /ignore", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ignored") })
	h := LimitBodyRate(mux, 2*time.Second, 5000, time.Now, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusRequestTimeout)
		w.Write(testProblem(http.StatusRequestTimeout, "request_timeout", "too slow"))
	})
	_, addr := startEdge(t, ListenerConfig{MaxConns: 100, MaxConnsPerClient: 100}, h)
	return addr
}

func post(path string, n int) string {
	return "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: " + strconv.Itoa(n) + "\r\n\r\n"
}

func TestTrickledBodyIsCut(t *testing.T) {
	t.Parallel()
	addr := bodyServer(t, 0)
	for _, tc := range []struct {
		name  string
		send  func(c *rawConn)
		limit time.Duration
	}{
		{"one byte every 100 ms", func(c *rawConn) {
			c.Write([]byte(post("/read", 1000)))
			for range 1000 {
				if _, err := c.Write([]byte("a")); err != nil {
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
		}, 10 * time.Second},
		{"2 GB declared, a few bytes sent", func(c *rawConn) { c.Write([]byte(post("/read", 2<<30) + "abc")) }, 10 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := dialFrom(t, "127.0.0.1", addr)
			start := time.Now()
			go tc.send(c)
			resp, body := c.answer(t)
			wantProblem(t, resp, body, http.StatusRequestTimeout, "request_timeout")
			if !resp.Close {
				t.Error("the answer does not announce that the connection closes")
			}
			if !c.closedByServer(5 * time.Second) {
				t.Fatal("the connection stayed open")
			}
			if d := time.Since(start); d > tc.limit {
				t.Fatalf("cut after %s", d)
			}
		})
	}
}

func TestUnreadBodyIsBounded(t *testing.T) {
	t.Parallel()
	addr := bodyServer(t, 0)
	c := dialFrom(t, "127.0.0.1", addr)
	// 100 kB declared, 10 bytes sent: net/http drains what it can after
	// the answer, and the window bounds that.
	c.send(t, post("/ignore", 100000)+"0123456789")
	if resp, body := c.answer(t); resp.StatusCode != 200 || string(body) != "ignored" {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
	if !c.closedByServer(5 * time.Second) {
		t.Fatal("a connection with an unfinished, unread body stayed open")
	}
}

func TestSteadyBodiesPass(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		pause time.Duration // handler's pause between reads
		send  func(c *rawConn, n int)
		n     int
	}{
		{"large and fast", 0, func(c *rawConn, n int) { c.Write([]byte(strings.Repeat("x", n))) }, 8 << 20},
		{"well above the minimum rate for more than a window", 0, func(c *rawConn, n int) {
			for i := 0; i < n; i += 2000 {
				c.Write([]byte(strings.Repeat("x", 2000)))
				time.Sleep(50 * time.Millisecond)
			}
		}, 120000},
		// The handler pauses for more than a window in all while the
		// client waits: only time spent waiting for the client counts.
		{"slow handler", 400 * time.Millisecond, func(c *rawConn, n int) { c.Write([]byte(strings.Repeat("x", n))) }, 8000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			addr := bodyServer(t, tc.pause)
			c := dialFrom(t, "127.0.0.1", addr)
			c.send(t, post("/read", tc.n))
			go tc.send(c, tc.n)
			resp, body := c.answer(t)
			if resp.StatusCode != 200 || string(body) != strconv.Itoa(tc.n) {
				t.Fatalf("%d %q, want 200 %d", resp.StatusCode, body, tc.n)
			}
			// The connection is still good for another request.
			c.send(t, post("/read", 3)+"abc")
			if resp, body := c.answer(t); resp.StatusCode != 200 || string(body) != "3" {
				t.Fatalf("second request: %d %q", resp.StatusCode, body)
			}
		})
	}
}

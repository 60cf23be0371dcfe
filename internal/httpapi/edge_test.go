package httpapi_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/holdfast/holdfast/internal/edge"
	"github.com/holdfast/holdfast/internal/testserver"
)

// edgeGet sends GET path with the given token ("" for none) and
// X-Forwarded-For ("" for none) and returns status, problem code and
// headers.
func edgeGet(t *testing.T, base, path, token, xff string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p struct {
		Code string `json:"code"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&p)
	return resp.StatusCode, p.Code, resp.Header
}

func TestUnauthenticatedRequestsAreLimitedPerClient(t *testing.T) {
	t.Parallel()
	const path = "/api/v2/recordings"
	t.Run("behind a trusted proxy", func(t *testing.T) {
		t.Parallel()
		srv := testserver.Start(t, testserver.WithUnauthRateLimit(0.01, 2), testserver.WithTrustedProxies("127.0.0.1"))
		for _, token := range []string{"", "hf_not_a_token"} {
			if st, code, _ := edgeGet(t, srv.URL, path, token, "198.51.100.1"); st != 401 || code != "unauthenticated" {
				t.Fatalf("token %q: %d %s, want 401", token, st, code)
			}
		}
		st, code, h := edgeGet(t, srv.URL, path, "", "198.51.100.1")
		if st != 429 || code != "rate_limited" {
			t.Fatalf("third request without a token: %d %s, want 429 rate_limited", st, code)
		}
		if ra, err := strconv.Atoi(h.Get("Retry-After")); err != nil || ra < 1 || h.Get("X-Retry-After") != h.Get("Retry-After") {
			t.Fatalf("Retry-After %q, X-Retry-After %q", h.Get("Retry-After"), h.Get("X-Retry-After"))
		}
		// A bad token is limited too; addresses a client put left of
		// its own are ignored; a valid token is not limited by this.
		for _, xff := range []string{"198.51.100.1", "198.51.100.2, 198.51.100.1"} {
			if st, code, _ := edgeGet(t, srv.URL, path, "hf_not_a_token", xff); st != 429 || code != "rate_limited" {
				t.Fatalf("X-Forwarded-For %q: %d %s, want 429", xff, st, code)
			}
		}
		if st, _, _ := edgeGet(t, srv.URL, path, testserver.AdminToken, "198.51.100.1"); st != 200 {
			t.Fatalf("a valid token from a limited address: %d", st)
		}
		// Another client behind the same proxy has its own allowance.
		if st, code, _ := edgeGet(t, srv.URL, path, "", "198.51.100.2"); st != 401 {
			t.Fatalf("another client: %d %s, want 401", st, code)
		}
	})
	t.Run("without trusted proxies the header is ignored", func(t *testing.T) {
		t.Parallel()
		srv := testserver.Start(t, testserver.WithUnauthRateLimit(0.01, 2))
		edgeGet(t, srv.URL, path, "", "198.51.100.1")
		edgeGet(t, srv.URL, path, "", "198.51.100.2")
		if st, code, _ := edgeGet(t, srv.URL, path, "", "198.51.100.3"); st != 429 || code != "rate_limited" {
			t.Fatalf("%d %s: X-Forwarded-For from an untrusted peer gave a new allowance", st, code)
		}
	})
}

// rawExchange sends req on a new connection to the server and reads the
// answer.
func rawExchange(t *testing.T, base, req string) (*http.Response, map[string]any) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go func() { _, _ = io.WriteString(c, req) }()
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		t.Fatalf("%d: body is not JSON: %v", resp.StatusCode, err)
	}
	return resp, p
}

// TestHTTPLayerErrorsAreProblems checks the answers net/http gives by
// itself, through the whole assembled server, over raw TCP.
func TestHTTPLayerErrorsAreProblems(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.WithEdge(edge.Limits{BodyWindow: 300 * time.Millisecond, BodyMinRate: 1000}))
	auth := "Authorization: Bearer " + testserver.AdminToken + "\r\n"
	for _, tc := range []struct {
		name, req string
		status    int
		code      string
	}{
		{"headers over 32 KiB", "GET /api/v2/recordings HTTP/1.1\r\nHost: x\r\n" + auth + "X-Pad: " + strings.Repeat("p", 33<<10) + "\r\n\r\n", 431, "headers_too_large"},
		{"bad Content-Length", "POST /api/v2/legalholds HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Type: application/json\r\nContent-Length: 1e3\r\n\r\n{}", 400, "malformed_request"},
		{"two different Content-Lengths", "POST /api/v2/legalholds HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}", 400, "malformed_request"},
		{"a body that stops", "POST /api/v2/legalholds HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n{\"hold_reason\":", 408, "request_timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp, p := rawExchange(t, srv.URL, tc.req)
			if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != "application/problem+json" || p["code"] != tc.code {
				t.Fatalf("%d %s %v, want %d problem %s", resp.StatusCode, resp.Header.Get("Content-Type"), p, tc.status, tc.code)
			}
			if p["status"] != float64(tc.status) || p["type"] != "urn:holdfast:problem:"+tc.code || p["title"] == "" || !strings.HasPrefix(p["request_id"].(string), "req_") {
				t.Fatalf("problem members: %v", p)
			}
		})
	}
}

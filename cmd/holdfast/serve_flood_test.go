package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/holdfast/holdfast/internal/testserver"
)

// floodConn is one connection of the flood, read by its own goroutine.
type floodConn struct {
	kind string
	c    net.Conn

	mu       sync.Mutex
	statuses []int
	codes    []string
	closedAt time.Time // when the server closed it (zero: still open)
	done     chan struct{}
}

// read records every answer until the connection ends.
func (f *floodConn) read() {
	defer close(f.done)
	br := bufio.NewReader(f.c)
	for {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			break
		}
		var p struct {
			Code string `json:"code"`
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		resp.Body.Close()
		if resp.Header.Get("Content-Type") == "application/problem+json" {
			_ = json.Unmarshal(b, &p)
		}
		f.mu.Lock()
		f.statuses = append(f.statuses, resp.StatusCode)
		f.codes = append(f.codes, p.Code)
		f.mu.Unlock()
	}
	_, _ = io.Copy(io.Discard, br)
	f.mu.Lock()
	f.closedAt = time.Now()
	f.mu.Unlock()
}

func (f *floodConn) closed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return !f.closedAt.IsZero()
}

func (f *floodConn) answers() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.codes...)
}

func (f *floodConn) answered(code string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.codes {
		if c == code {
			return true
		}
	}
	return false
}

// TestFloodFromOneAddress runs `holdfast serve` with a file-descriptor
// limit of 2048 and opens more connections than that from 127.0.0.1:
// idle keep-alives, bodies trickled at one byte every 2 s, a declared 2 GB
// Content-Length with a short body, headers that never end, and silence.
// A client at 127.0.0.2 must still be answered promptly, every flood
// connection must be closed by the server within its timeouts, and the
// server must serve 127.0.0.1 again once the flood is over.
func TestFloodFromOneAddress(t *testing.T) {
	t.Parallel()
	const (
		nofile = 2048
		flood  = 2600 // more connections than the server has descriptors
	)
	// A liveness bound, not a speed threshold: generous because machines
	// are noisy, more so for a server built with the race detector.
	prompt := 5 * time.Second
	if testserver.RaceEnabled {
		prompt = 15 * time.Second
	}
	needFiles(t, flood+500)
	srv := testserver.StartProcessNoFile(t, nofile, "--header-timeout", "3s", "--body-timeout", "2s", "--idle-timeout", "5s")
	addr := strings.TrimPrefix(srv.URL, "http://")
	m := regexp.MustCompile(`file_descriptors=(\d+) max_conns=(\d+) max_conns_per_client=(\d+)`).FindStringSubmatch(srv.Log())
	if m == nil || m[1] != strconv.Itoa(nofile) {
		t.Fatalf("the server did not log its edge limits for %d descriptors:\n%s", nofile, srv.Log())
	}
	perClient, _ := strconv.Atoi(m[3])
	t.Logf("server limits: %s descriptors, %s connections, %d per client", m[1], m[2], perClient)

	// The flood's uploads carry a token of their own (an attacker's is
	// not the operator's): the probes measure the edge, not contention
	// on one token's bookkeeping.
	floodToken, err := srv.Client(t).CreateToken(context.Background(), "flood", []string{"recording:ingest"})
	if err != nil {
		t.Fatal(err)
	}
	auth := "Authorization: Bearer " + floodToken.Secret + "\r\n"
	openers := map[string]string{
		"idle":     "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
		"trickle":  "POST /api/v2/recordings HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n--b\r\n",
		"unauthed": "POST /api/v2/recordings/legalholds HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{",
		"2gb":      "POST /api/v2/recordings HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 2147483648\r\n\r\n--b\r\nContent-Disposition: form-data; name=\"media\"\r\n\r\nRIFF",
		"headers":  "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ",
		"silent":   "",
	}
	kinds := []string{"idle", "trickle", "unauthed", "2gb", "headers", "silent"}

	var (
		mu    sync.Mutex
		conns []*floodConn // guarded by mu
	)
	all := func() []*floodConn {
		mu.Lock()
		defer mu.Unlock()
		return append([]*floodConn(nil), conns...)
	}
	t.Cleanup(func() {
		for _, f := range all() {
			f.c.Close()
			<-f.done
		}
	})

	// Open the flood in the background, paced at about 1000 connections
	// a second so that it is still arriving while another client is served.
	start := time.Now()
	var wg sync.WaitGroup
	next := make(chan int)
	var dialFailures atomic.Int64
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				c, err := net.DialTimeout("tcp", addr, 5*time.Second)
				if err != nil {
					dialFailures.Add(1)
					continue
				}
				f := &floodConn{kind: kinds[i%len(kinds)], c: c, done: make(chan struct{})}
				mu.Lock()
				conns = append(conns, f)
				mu.Unlock()
				go f.read()
				_, _ = io.WriteString(c, openers[f.kind])
			}
		}()
	}
	opened := make(chan struct{})
	go func() {
		defer close(opened)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for i := range flood {
			next <- i
			<-tick.C
		}
		close(next)
		wg.Wait()
	}()

	// Keep the trickles and the endless headers going: one byte every 2 s.
	stop := make(chan struct{})
	trickled := make(chan struct{})
	go func() {
		defer close(trickled)
		tick := time.NewTicker(2 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			for _, f := range all() {
				if (f.kind == "trickle" || f.kind == "unauthed" || f.kind == "headers") && !f.closed() {
					_ = f.c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
					_, _ = f.c.Write([]byte("a"))
				}
			}
		}
	}()
	var stopOnce sync.Once
	stopTrickle := func() { stopOnce.Do(func() { close(stop); <-trickled }) }
	defer stopTrickle()

	// While the flood arrives and stands, another address is served
	// promptly.
	other := addrClient("127.0.0.2", prompt)
	for round := 1; ; round++ {
		probe(t, other, srv.URL, prompt, fmt.Sprintf("during the flood (round %d, %d connections opened)", round, len(all())))
		select {
		case <-opened:
		default:
			time.Sleep(300 * time.Millisecond)
			continue
		}
		break
	}
	flooded := all()
	t.Logf("opened %d connections from 127.0.0.1 in %s (%d dials failed)", len(flooded), time.Since(start).Round(time.Millisecond), dialFailures.Load())
	time.Sleep(200 * time.Millisecond)
	probe(t, other, srv.URL, prompt, "with the whole flood open")

	// The flood holds no more than its address's share.
	open, refused := 0, 0
	for _, f := range flooded {
		if !f.closed() {
			open++
		}
		if f.answered("rate_limited") {
			refused++
		}
	}
	if open > perClient {
		t.Errorf("%d flood connections are open, more than the %d one address may hold", open, perClient)
	}
	if refused == 0 {
		t.Error("no flood connection was refused with a 429 rate_limited problem")
	}
	t.Logf("%d flood connections open once all were opened; %d were refused with 429 rate_limited", open, refused)

	// The server closes every kind of flood connection by itself: within
	// the header timeout (3 s), the body window (2 s) or the idle timeout
	// (5 s), plus a generous margin.
	deadline := time.Now().Add(20 * time.Second)
	for {
		left := map[string]int{}
		for _, f := range flooded {
			if !f.closed() {
				left[f.kind]++
			}
		}
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("flood connections the server never closed, by kind: %v", left)
		}
		time.Sleep(200 * time.Millisecond)
	}
	slowest := time.Duration(0)
	for _, f := range flooded {
		f.mu.Lock()
		slowest = max(slowest, f.closedAt.Sub(start))
		f.mu.Unlock()
	}
	t.Logf("the server closed all %d flood connections within %s of the first", len(flooded), slowest.Round(time.Millisecond))
	// Bodies that were admitted and then trickled or left short were cut
	// with 408. (A connection may also end unanswered: a refusal the
	// client could not read before the close, or a cut whose answer was
	// lost the same way.)
	for kind, code := range map[string]string{"trickle": "request_timeout", "2gb": "request_timeout", "unauthed": "unauthenticated"} {
		n := 0
		for _, f := range flooded {
			if f.kind != kind {
				continue
			}
			switch a := f.answers(); {
			case len(a) == 0 || a[0] == "rate_limited":
			case len(a) == 1 && a[0] == code:
				n++
			default:
				t.Errorf("a %s connection was answered %v, want %s or a refusal", kind, a, code)
			}
		}
		if n == 0 {
			t.Errorf("no %s connection was answered %s", kind, code)
		}
	}

	// Afterwards the flooding address is served again.
	stopTrickle()
	probe(t, addrClient("127.0.0.1", prompt), srv.URL, prompt, "after the flood")

	// The operator sees the refusals in the metrics.
	resp, err := other.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	var metrics []byte
	metrics, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	m = regexp.MustCompile(`(?m)^holdfast_edge_connections_refused_total\{cap="per_client"\} (\d+)$`).FindStringSubmatch(string(metrics))
	if m == nil {
		t.Fatalf("no per-client refusal counter in /metrics:\n%s", metrics)
	}
	if n, _ := strconv.Atoi(m[1]); n < refused {
		t.Errorf("the metrics count %d per-client refusals, the flood saw %d", n, refused)
	}
	if strings.Contains(srv.Log(), "too many open files") {
		t.Fatalf("the server ran out of file descriptors:\n%s", srv.Log())
	}
}

// probe checks GET /healthz and an authenticated GET /api/v2/recordings.
func probe(t *testing.T, c *http.Client, base string, prompt time.Duration, when string) {
	t.Helper()
	for _, path := range []string{"/healthz", "/api/v2/recordings"} {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, base+path, nil)
		req.Header.Set("Authorization", "Bearer "+testserver.AdminToken)
		start := time.Now()
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s: GET %s: %v", when, path, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		took := time.Since(start)
		if resp.StatusCode != http.StatusOK || took > prompt {
			t.Fatalf("%s: GET %s answered %d after %s", when, path, resp.StatusCode, took)
		}
		t.Logf("%s: GET %s answered 200 in %s", when, path, took.Round(time.Millisecond))
	}
}

// addrClient is an HTTP client whose connections come from the loopback
// address from.
func addrClient(from string, timeout time.Duration) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: timeout}
	return &http.Client{Timeout: timeout, Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
}

// needFiles raises this process's soft file-descriptor limit to n if it
// is lower; the test cannot run if the hard limit is lower too.
func needFiles(t *testing.T, n uint64) {
	t.Helper()
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		t.Fatal(err)
	}
	if r.Cur >= n {
		return
	}
	if r.Max < n {
		t.Fatalf("the flood needs %d file descriptors in the test process, and its hard limit is %d (raise it: ulimit -Hn)", n, r.Max)
	}
	r.Cur = n
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		t.Fatal(err)
	}
}

// Package testserver starts real holdfast servers for tests: in-process
// (the assembled server on an httptest listener) or as a `holdfast serve`
// process that a test can SIGKILL and restart.
//
// It is only for tests; nothing in the product imports it.
package testserver

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/holdfast/holdfast/client"
	"github.com/holdfast/holdfast/internal/edge"
	"github.com/holdfast/holdfast/internal/server"
)

// RaceEnabled reports whether the tests, and the servers Binary builds
// for them, run under the race detector, which makes them several times
// slower; liveness bounds can allow for it.
const RaceEnabled = raceEnabled

// testBodyWindow is the minimum-body-rate window of test servers.
const testBodyWindow = 2 * time.Minute

// AdminToken is the bootstrap admin token every test server starts with.
const AdminToken = "hf_test_admin_token_0123456789abcdefghijklmnopqrstuv"

// Server is a running test server.
type Server struct {
	URL     string
	DataDir string
	App     *server.App // nil for process servers
	cmd     *exec.Cmd
	wrap    []string // a command that runs the server, such as prlimit
	args    []string
	env     []string
	logMu   sync.Mutex
	log     strings.Builder
	t       testing.TB
}

// Option adjusts a test server's configuration.
type Option func(*server.Config)

// WithFaults sets the fault specification.
func WithFaults(spec string) Option { return func(c *server.Config) { c.Faults = spec } }

// WithMaxUpload sets the upload limit.
func WithMaxUpload(n int64) Option { return func(c *server.Config) { c.MaxUploadBytes = n } }

// WithRateLimit sets the per-token rate limit.
func WithRateLimit(perSecond float64, burst int) Option {
	return func(c *server.Config) { c.RateLimit, c.RateBurst = perSecond, burst }
}

// WithUnauthRateLimit sets the per-address limit of requests without a
// valid token (test servers otherwise allow 1000/s).
func WithUnauthRateLimit(perSecond float64, burst int) Option {
	return func(c *server.Config) { c.UnauthRateLimit, c.UnauthRateBurst = perSecond, burst }
}

// WithTrustedProxies sets the trusted proxies (CIDRs).
func WithTrustedProxies(cidrs string) Option {
	return func(c *server.Config) { c.TrustedProxies = cidrs }
}

// WithEdge sets the connection and timing bounds.
func WithEdge(l edge.Limits) Option { return func(c *server.Config) { c.Edge = l } }

// Start runs an assembled server in this process on a loopback port, with
// a fresh data directory. It stops when the test ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	dir := t.TempDir()
	// Tests stall request bodies on purpose while they look at the
	// server; a long body window keeps a loaded machine from cutting
	// them (WithEdge sets a short one to test the cut).
	cfg := server.Config{DataDir: dir, BootstrapToken: AdminToken, RateLimit: 1000, RateBurst: 2000, UnauthRateLimit: 1000, UnauthRateBurst: 2000,
		Edge: edge.Limits{BodyWindow: testBodyWindow}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, o := range opts {
		o(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	app, err := server.Open(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatalf("testserver: open: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		t.Fatalf("testserver: listen: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		<-done
		app.Close()
	})
	return &Server{URL: "http://" + ln.Addr().String(), DataDir: dir, App: app, t: t}
}

// Client returns an SDK client with the admin token.
func (s *Server) Client(t testing.TB, opts ...client.Option) *client.Client {
	t.Helper()
	return s.ClientWithToken(t, AdminToken, opts...)
}

// ClientWithToken returns an SDK client with the given token.
func (s *Server) ClientWithToken(t testing.TB, token string, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.New(s.URL, token, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary builds the holdfast command once per test binary and returns
// its path.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "holdfast-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "holdfast")
		args := []string{"build", "-o", binPath}
		if raceEnabled {
			args = append(args, "-race")
		}
		args = append(args, "github.com/holdfast/holdfast/cmd/holdfast")
		cmd := exec.Command("go", args...)
		cmd.Dir = moduleRoot()
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatalf("testserver: %v", buildErr)
	}
	return binPath
}

func moduleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// FreePort returns a loopback address that was free a moment ago.
func FreePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// StartProcess runs `holdfast serve` as a child process with a fresh data
// directory (or dataDir, if not empty) and extra flags.
func StartProcess(t testing.TB, dataDir string, extraArgs ...string) *Server {
	t.Helper()
	return StartProcessEnv(t, dataDir, nil, extraArgs...)
}

// StartProcessEnv is StartProcess with extra environment variables
// ("KEY=value"), such as the AWS credentials of an S3 blob store.
func StartProcessEnv(t testing.TB, dataDir string, env []string, extraArgs ...string) *Server {
	t.Helper()
	return startProcess(t, dataDir, env, nil, extraArgs)
}

// StartProcessNoFile is StartProcess with the server's file-descriptor
// limit (soft and hard) set to nofile, through util-linux's prlimit.
func StartProcessNoFile(t testing.TB, nofile int, extraArgs ...string) *Server {
	t.Helper()
	p, err := exec.LookPath("prlimit")
	if err != nil {
		t.Fatalf("testserver: prlimit (util-linux) is needed to limit the server's file descriptors: %v", err)
	}
	return startProcess(t, "", nil, []string{p, fmt.Sprintf("--nofile=%d:%d", nofile, nofile), "--"}, extraArgs)
}

func startProcess(t testing.TB, dataDir string, env, wrap, extraArgs []string) *Server {
	t.Helper()
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	addr := FreePort(t)
	s := &Server{URL: "http://" + addr, DataDir: dataDir, t: t, wrap: wrap,
		args: append([]string{"serve", "--listen", addr, "--data", dataDir, "--rate-limit", "1000", "--rate-burst", "2000",
			"--unauth-rate-limit", "1000", "--unauth-rate-burst", "2000", "--body-timeout", testBodyWindow.String()}, extraArgs...),
		env: append(append(os.Environ(), "HOLDFAST_BOOTSTRAP_TOKEN="+AdminToken), env...)}
	s.start()
	t.Cleanup(s.Kill)
	return s
}

func (s *Server) start() {
	s.t.Helper()
	argv := append(append(append([]string(nil), s.wrap...), Binary(s.t)), s.args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = s.env
	stderr, err := cmd.StderrPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.cmd = cmd
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		once := sync.Once{}
		for sc.Scan() {
			line := sc.Text()
			s.logMu.Lock()
			s.log.WriteString(line + "\n")
			s.logMu.Unlock()
			if strings.Contains(line, "listening on ") {
				once.Do(func() { close(ready) })
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(60 * time.Second):
		s.Kill()
		s.t.Fatalf("testserver: server did not log 'listening on' within 60s; log:\n%s", s.Log())
	}
}

// Log returns what the server process has logged so far.
func (s *Server) Log() string {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return s.log.String()
}

// Kill SIGKILLs the server process and waits for it to exit.
func (s *Server) Kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Restart starts the process again on the same address and data.
func (s *Server) Restart() {
	s.t.Helper()
	s.Kill()
	s.start()
}

// WaitHTTP polls url until it answers 200 or the timeout passes.
func WaitHTTP(t testing.TB, url string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not answer 200 within %s", url, timeout)
}

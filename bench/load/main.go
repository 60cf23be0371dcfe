// Command load is a load benchmark in the spirit of JMeter runs against a
// real `holdfast serve`: it seeds recordings, then drives a bounded mixed
// workload (ingest, per-recording holds, releases, deletes, lists, export
// creation, package downloads) with vegeta, and reports throughput,
// p50/p95/p99 and status codes per endpoint, the server's RSS over time,
// and the p99 of a cheap authenticated GET while idle and while an export
// runs. It talks to loopback only and stops by itself.
//
// Usage: go run ./bench/load [-database postgres://127.0.0.1:5432/test?sslmode=disable]
package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/holdfast/holdfast/internal/media/synth"
)

const token = "hf_bench_load_admin_token_0123456789abcdefghijklmnopq"

type config struct {
	bin, database, out string
	seed, rate         int
	callSec            float64
	mixed, idle, busy  time.Duration
}

func main() {
	var c config
	flag.StringVar(&c.bin, "bin", "", "holdfast binary (default: go build ./cmd/holdfast into a scratch directory)")
	flag.StringVar(&c.database, "database", "", "metadata database URL (default embedded SQLite); a postgres:// URL gets a fresh schema that is dropped afterwards")
	flag.StringVar(&c.out, "out", "", "also write the results as JSON to this file")
	flag.IntVar(&c.seed, "seed", 100, "recordings ingested before the workload")
	flag.IntVar(&c.rate, "rate", 20, "requests per second of the mixed workload")
	flag.Float64Var(&c.callSec, "call-seconds", 5, "audio length of each synthetic call (8 kHz stereo PCM, 32 KB/s)")
	flag.DurationVar(&c.mixed, "mixed", 30*time.Second, "duration of the mixed phase (at most 60s)")
	flag.DurationVar(&c.idle, "idle", 10*time.Second, "duration of the idle latency phase (at most 60s)")
	flag.DurationVar(&c.busy, "busy", 20*time.Second, "duration of the during-export latency phase (at most 60s)")
	flag.Parse()
	for _, d := range []*time.Duration{&c.mixed, &c.idle, &c.busy} {
		*d = min(*d, 60*time.Second)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, c); err != nil {
		log.Fatalf("load: %v", err)
	}
}

// Results is what one run measured.
type Results struct {
	Machine    string              `json:"machine"`
	Database   string              `json:"database"`
	Seeded     int                 `json:"seeded"`
	SeedSec    float64             `json:"seed_seconds"`
	Mixed      map[string]Endpoint `json:"mixed"`
	MixedRPS   float64             `json:"mixed_throughput_rps"`
	IdleP99    float64             `json:"idle_p99_ms"`
	BusyP99    float64             `json:"busy_p99_ms"`
	Ratio      float64             `json:"busy_over_idle_p99"`
	Exports    int                 `json:"exports_during_busy"`
	RSS        []RSSSample         `json:"rss"`
	PeakRSSMiB float64             `json:"peak_rss_mib"`
}

// Endpoint summarises one endpoint of the mixed phase.
type Endpoint struct {
	Requests int            `json:"requests"`
	RPS      float64        `json:"throughput_rps"`
	P50      float64        `json:"p50_ms"`
	P95      float64        `json:"p95_ms"`
	P99      float64        `json:"p99_ms"`
	Codes    map[string]int `json:"codes"`
	Errors   []string       `json:"errors,omitempty"`
}

// RSSSample is the server's resident set size at a moment of the run.
type RSSSample struct {
	Sec   float64 `json:"t_sec"`
	Phase string  `json:"phase"`
	MiB   float64 `json:"rss_mib"`
}

func run(ctx context.Context, c config) error {
	work, err := os.MkdirTemp("", "holdfast-load.")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if c.bin == "" {
		c.bin = filepath.Join(work, "holdfast")
		log.Printf("building holdfast ...")
		if out, err := exec.CommandContext(ctx, "go", "build", "-o", c.bin, "./cmd/holdfast").CombinedOutput(); err != nil {
			return fmt.Errorf("go build: %w: %s", err, out)
		}
	}
	res := &Results{Machine: machine(), Database: "sqlite"}
	dbURL := c.database
	if strings.HasPrefix(dbURL, "postgres") {
		res.Database = "postgresql"
		u, drop, err := freshSchema(dbURL)
		if err != nil {
			return err
		}
		defer drop()
		dbURL = u
	}
	s, err := startServer(ctx, c.bin, filepath.Join(work, "data"), dbURL)
	if err != nil {
		return err
	}
	defer s.stop()
	t0 := time.Now()
	var rssMu sync.Mutex
	phase := "seed"
	rssDone := make(chan struct{})
	go func() { // sample RSS every 500 ms
		defer close(rssDone)
		for {
			rssMu.Lock()
			res.RSS = append(res.RSS, RSSSample{Sec: time.Since(t0).Seconds(), Phase: phase, MiB: s.rssMiB()})
			rssMu.Unlock()
			select {
			case <-s.done:
				return
			case <-ctx.Done():
				return
			case <-time.After(500 * time.Millisecond):
			}
		}
	}()
	setPhase := func(p string) { rssMu.Lock(); phase = p; rssMu.Unlock() }

	rng := rand.New(rand.NewPCG(7, 11))
	bodies, err := ingestBodies(rng, 20, c.callSec)
	if err != nil {
		return err
	}
	log.Printf("seeding %d recordings ...", c.seed)
	st := newState(rng)
	ts := time.Now()
	if err := s.seed(ctx, bodies, c.seed, st); err != nil {
		return err
	}
	res.Seeded, res.SeedSec = c.seed, time.Since(ts).Seconds()

	setPhase("mixed")
	log.Printf("mixed workload: %d req/s for %s ...", c.rate, c.mixed)
	res.Mixed, res.MixedRPS = s.mixed(ctx, c, bodies, st)

	setPhase("idle")
	log.Printf("idle latency for %s ...", c.idle)
	res.IdleP99 = s.cheapP99(ctx, st, c.idle, nil)
	setPhase("export")
	log.Printf("latency during exports for %s ...", c.busy)
	var exports int
	res.BusyP99 = s.cheapP99(ctx, st, c.busy, func(ctx context.Context) {
		for ctx.Err() == nil {
			if _, err := s.exportAndWait(ctx, map[string]any{"media_type": "SIP"}); err == nil {
				exports++
			} else if ctx.Err() == nil {
				log.Printf("export: %v", err)
				return
			}
		}
	})
	res.Exports = exports
	if res.IdleP99 > 0 {
		res.Ratio = res.BusyP99 / res.IdleP99
	}
	s.stop()
	<-rssDone
	for _, r := range res.RSS {
		res.PeakRSSMiB = max(res.PeakRSSMiB, r.MiB)
	}
	printSummary(os.Stdout, res)
	if c.out != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		return os.WriteFile(c.out, b, 0o644)
	}
	return nil
}

// ---------------------------------------------------------------- shared state

// state is what the workload knows about the server's objects; the
// targeter draws from it and the result reader feeds it.
type state struct {
	mu        sync.Mutex
	rng       *rand.Rand
	recs      []string // live recording ids
	held      []string // hold ids not yet released
	cases     []string // case ids with possibly active holds
	exports   []string // completed export ids
	pending   []string // export ids not yet seen completed
	caseCount int
}

func newState(rng *rand.Rand) *state { return &state{rng: rng} }

func (st *state) pick(xs []string) string {
	if len(xs) == 0 {
		return ""
	}
	return xs[st.rng.IntN(len(xs))]
}

// ---------------------------------------------------------------- workload

// op is one kind of request of the mixed workload with its weight.
type op struct {
	name   string
	weight int
}

var ops = []op{
	{"ingest", 20}, {"hold", 15}, {"release", 8}, {"delete", 10},
	{"list", 25}, {"export", 4}, {"download", 4}, {"get", 14},
}

func (s *server) mixed(ctx context.Context, c config, bodies []ingestBody, st *state) (map[string]Endpoint, float64) {
	total := 0
	for _, o := range ops {
		total += o.weight
	}
	hdr := func(ct string) http.Header {
		h := http.Header{"Authorization": {"Bearer " + token}}
		if ct != "" {
			h.Set("Content-Type", ct)
		}
		return h
	}
	api := s.url + "/api/v2"
	jsonBody := func(v any) []byte { b, _ := json.Marshal(v); return b }
	var seq int
	// The targeter names each request by a fragment (#op) so results can be
	// told apart; the fragment is never sent.
	targeter := func(t *vegeta.Target) error {
		st.mu.Lock()
		defer st.mu.Unlock()
		seq++
		n := st.rng.IntN(total)
		var name string
		for _, o := range ops {
			if n < o.weight {
				name = o.name
				break
			}
			n -= o.weight
		}
		rec := st.pick(st.recs)
		t.Body, t.Header = nil, hdr("")
		switch {
		case name == "hold" && rec != "":
			st.caseCount++
			cs := fmt.Sprintf("LOAD-%d", st.caseCount%40)
			t.Method, t.URL, t.Header = "POST", api+"/recordings/legalholds", hdr("application/json")
			t.Body = jsonBody(map[string]any{"recordings": []any{map[string]any{"id": rec, "metadata": map[string]any{
				"legal_hold": true, "hold_reason": "load benchmark", "case_id": cs}}}})
		case name == "release" && (len(st.held) > 0 || len(st.cases) > 0):
			t.Header = hdr("application/json")
			t.Body = jsonBody(map[string]any{"release_reason": "load benchmark"})
			if st.rng.IntN(2) == 0 && len(st.held) > 0 {
				i := st.rng.IntN(len(st.held))
				t.Method, t.URL = "POST", api+"/legalholds/"+st.held[i]+"/release#release-hold"
				st.held = append(st.held[:i], st.held[i+1:]...)
			} else if len(st.cases) > 0 {
				t.Method, t.URL = "POST", api+"/cases/"+st.pick(st.cases)+"/release#release-case"
			} else {
				return s.listTarget(t, api, st, hdr)
			}
		case name == "delete" && rec != "":
			t.Method, t.URL = "DELETE", api+"/recordings/"+rec+"#delete"
		case name == "export" && len(st.recs) >= 5:
			ids := make([]string, 5)
			for i := range ids {
				ids[i] = st.pick(st.recs)
			}
			t.Method, t.URL, t.Header = "POST", api+"/bulk/recordingexports#export", hdr("application/json")
			t.Body = jsonBody(map[string]any{"filter": map[string]any{"record_ids": ids}})
		case name == "download" && len(st.exports) > 0:
			t.Method, t.URL = "GET", api+"/bulk/recordingexports/"+st.pick(st.exports)+"/package#download"
		case name == "get" && rec != "":
			t.Method, t.URL = "GET", api+"/recordings/"+rec+"#get"
		case name == "list":
			return s.listTarget(t, api, st, hdr)
		default: // ingest, or an op that has nothing to act on yet
			b := bodies[seq%len(bodies)]
			t.Method, t.URL, t.Header, t.Body = "POST", api+"/recordings#ingest", hdr(b.contentType), b.body
		}
		if !strings.Contains(t.URL, "#") {
			t.URL += "#hold"
		}
		return nil
	}
	atk := vegeta.NewAttacker(vegeta.MaxBody(64<<10), vegeta.Timeout(60*time.Second),
		vegeta.Workers(8), vegeta.MaxWorkers(64), vegeta.KeepAlive(true))
	pollCtx, stopPoll := context.WithCancel(ctx)
	defer stopPoll()
	go s.pollExports(pollCtx, st)
	metrics := map[string]*vegeta.Metrics{}
	errs := map[string]map[string]bool{}
	var all vegeta.Metrics
	results := atk.Attack(vegeta.Targeter(targeter), vegeta.Rate{Freq: c.rate, Per: time.Second}, c.mixed, "mixed")
	for {
		var r *vegeta.Result
		select {
		case <-ctx.Done():
			atk.Stop()
			r = nil
		case r = <-results:
		}
		if r == nil {
			break
		}
		name := endpointName(r)
		m := metrics[name]
		if m == nil {
			m = &vegeta.Metrics{}
			metrics[name] = m
			errs[name] = map[string]bool{}
		}
		m.Add(r)
		all.Add(r)
		if r.Code >= 400 && r.Code != 409 || r.Code == 0 {
			e := fmt.Sprintf("%d %s", r.Code, firstLine(r.Error, r.Body))
			if len(errs[name]) < 3 {
				errs[name][e] = true
			}
		}
		st.learn(name, r)
	}
	all.Close()
	out := map[string]Endpoint{}
	for name, m := range metrics {
		m.Close()
		e := Endpoint{Requests: int(m.Requests), RPS: float64(m.Requests) / c.mixed.Seconds(),
			P50: ms(m.Latencies.P50), P95: ms(m.Latencies.P95), P99: ms(m.Latencies.P99), Codes: m.StatusCodes}
		for k := range errs[name] {
			e.Errors = append(e.Errors, k)
		}
		out[name] = e
	}
	return out, all.Throughput
}

func (s *server) listTarget(t *vegeta.Target, api string, st *state, hdr func(string) http.Header) error {
	q := []string{"media_type=SIP&limit=50", "legal_hold=true&limit=50", "case_id=LOAD-1&limit=50",
		"status=completed&limit=100", "participant=a&limit=20"}[st.rng.IntN(5)]
	t.Method, t.URL, t.Header, t.Body = "GET", api+"/recordings?"+q+"#list", hdr(""), nil
	return nil
}

// endpointName is the fragment the targeter put on the URL, with the
// delete outcome split: a 409 is a refusal because of a hold, expected.
func endpointName(r *vegeta.Result) string {
	_, frag, _ := strings.Cut(r.URL, "#")
	if frag == "delete" && r.Code == http.StatusConflict {
		return "delete (409 held)"
	}
	return frag
}

// learn feeds a result back into the state.
func (st *state) learn(name string, r *vegeta.Result) {
	st.mu.Lock()
	defer st.mu.Unlock()
	switch {
	case name == "ingest" && r.Code == http.StatusAccepted:
		var v struct{ ID string }
		if json.Unmarshal(r.Body, &v) == nil && v.ID != "" {
			st.recs = append(st.recs, v.ID)
		}
	case name == "hold" && r.Code == http.StatusOK:
		var v struct {
			Results []struct {
				HoldID string `json:"hold_id"`
			}
		}
		if json.Unmarshal(r.Body, &v) == nil {
			for _, x := range v.Results {
				if x.HoldID != "" {
					st.held = append(st.held, x.HoldID)
				}
			}
		}
		st.cases = append(st.cases, fmt.Sprintf("LOAD-%d", st.caseCount%40))
	case name == "delete" && r.Code == http.StatusNoContent:
		u, _ := url.Parse(r.URL)
		id := u.Path[strings.LastIndexByte(u.Path, '/')+1:]
		for i, x := range st.recs {
			if x == id {
				st.recs = append(st.recs[:i], st.recs[i+1:]...)
				break
			}
		}
	case name == "export" && r.Code == http.StatusAccepted:
		var v struct{ ID string }
		if json.Unmarshal(r.Body, &v) == nil && v.ID != "" {
			st.pending = append(st.pending, v.ID)
		}
	}
}

// pollExports moves exports that completed from pending to exports.
func (s *server) pollExports(ctx context.Context, st *state) {
	for ctx.Err() == nil {
		st.mu.Lock()
		pending := append([]string(nil), st.pending...)
		st.mu.Unlock()
		for _, id := range pending {
			var job struct{ State string }
			if code, err := s.getJSON(ctx, "/api/v2/bulk/recordingexports/"+id, &job); err != nil || code != 200 {
				continue
			}
			if job.State == "running" || job.State == "queued" || job.State == "waiting_for_recordings" {
				continue
			}
			st.mu.Lock()
			for i, x := range st.pending {
				if x == id {
					st.pending = append(st.pending[:i], st.pending[i+1:]...)
					break
				}
			}
			if strings.HasPrefix(job.State, "completed") {
				st.exports = append(st.exports, id)
			}
			st.mu.Unlock()
		}
		select {
		case <-ctx.Done():
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// cheapP99 runs GET /api/v2/recordings/{id} at 20 req/s for d and returns
// its p99 in ms; if bg is set it runs alongside until d ends.
func (s *server) cheapP99(ctx context.Context, st *state, d time.Duration, bg func(context.Context)) float64 {
	st.mu.Lock()
	rec := st.pick(st.recs)
	st.mu.Unlock()
	var wg sync.WaitGroup
	bgCtx, cancel := context.WithCancel(ctx)
	if bg != nil {
		wg.Add(1)
		go func() { defer wg.Done(); bg(bgCtx) }()
		time.Sleep(200 * time.Millisecond) // let the first export start
	}
	tr := vegeta.NewStaticTargeter(vegeta.Target{Method: "GET", URL: s.url + "/api/v2/recordings/" + rec,
		Header: http.Header{"Authorization": {"Bearer " + token}}})
	atk := vegeta.NewAttacker(vegeta.KeepAlive(true), vegeta.Timeout(30*time.Second))
	var m vegeta.Metrics
	for r := range atk.Attack(tr, vegeta.Rate{Freq: 20, Per: time.Second}, d, "cheap") {
		m.Add(r)
	}
	m.Close()
	cancel()
	wg.Wait()
	return ms(m.Latencies.P99)
}

// exportAndWait exports filter and waits for the job to end.
func (s *server) exportAndWait(ctx context.Context, filter map[string]any) (string, error) {
	b, _ := json.Marshal(map[string]any{"filter": filter})
	req, _ := http.NewRequestWithContext(ctx, "POST", s.url+"/api/v2/bulk/recordingexports", bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.hc.Do(req)
	if err != nil {
		return "", err
	}
	var job struct{ ID, State string }
	err = json.NewDecoder(resp.Body).Decode(&job)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusAccepted {
		return "", fmt.Errorf("POST export: %s: %v", resp.Status, err)
	}
	for ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
		if _, err := s.getJSON(ctx, "/api/v2/bulk/recordingexports/"+job.ID, &job); err != nil {
			return "", err
		}
		if strings.HasPrefix(job.State, "completed") || job.State == "failed" || job.State == "cancelled" {
			return job.State, nil
		}
	}
	return "", ctx.Err()
}

// ---------------------------------------------------------------- seeding

type ingestBody struct {
	contentType string
	body        []byte
}

// ingestBodies builds n multipart ingest bodies of synthetic SIP calls.
func ingestBodies(rng *rand.Rand, n int, sec float64) ([]ingestBody, error) {
	d := time.Duration(sec * float64(time.Second))
	calls := synth.Generate(rng, n, synth.Options{MinDuration: d, MaxDuration: d})
	out := make([]ingestBody, 0, n)
	for _, c := range calls {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		if err := mw.WriteField("metadata", string(c.Metadata())); err != nil {
			return nil, err
		}
		w, err := mw.CreateFormFile("media", c.CallID+".wav")
		if err != nil {
			return nil, err
		}
		if err := c.WriteWAV(w); err != nil {
			return nil, err
		}
		if err := mw.Close(); err != nil {
			return nil, err
		}
		out = append(out, ingestBody{mw.FormDataContentType(), buf.Bytes()})
	}
	return out, nil
}

// seed ingests n recordings with 4 concurrent clients, then holds every
// fourth one so that some deletes are refused.
func (s *server) seed(ctx context.Context, bodies []ingestBody, n int, st *state) error {
	var mu sync.Mutex
	var firstErr error
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				b := bodies[i%len(bodies)]
				var v struct{ ID string }
				code, err := s.send(ctx, "POST", "/api/v2/recordings", b.contentType, b.body, &v)
				mu.Lock()
				if err == nil && code != http.StatusAccepted {
					err = fmt.Errorf("ingest: status %d", code)
				}
				if err != nil && firstErr == nil {
					firstErr = err
				}
				if err == nil {
					st.recs = append(st.recs, v.ID)
				}
				mu.Unlock()
			}
		}()
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	var items []any
	for i := 0; i < len(st.recs); i += 4 {
		items = append(items, map[string]any{"id": st.recs[i], "metadata": map[string]any{
			"legal_hold": true, "hold_reason": "load benchmark seed", "case_id": "LOAD-SEED"}})
	}
	b, _ := json.Marshal(map[string]any{"recordings": items})
	code, err := s.send(ctx, "POST", "/api/v2/recordings/legalholds", "application/json", b, nil)
	if err == nil && code != http.StatusOK {
		err = fmt.Errorf("seed hold: status %d", code)
	}
	return err
}

// ---------------------------------------------------------------- server

type server struct {
	url  string
	cmd  *exec.Cmd
	done chan struct{}
	hc   *http.Client
	logf *os.File
}

// startServer runs `holdfast serve` on data with database (empty: SQLite).
func startServer(ctx context.Context, bin, data, database string) (*server, error) {
	if err := os.MkdirAll(data, 0o750); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	logf, err := os.Create(data + ".log")
	if err != nil {
		return nil, err
	}
	args := []string{"serve", "--listen", addr, "--data", data,
		"--rate-limit", "1000000", "--rate-burst", "1000000", "--log-level", "warn"}
	if database != "" {
		args = append(args, "--database", database)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "HOLDFAST_BOOTSTRAP_TOKEN="+token)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	s := &server{url: "http://" + addr, cmd: cmd, done: make(chan struct{}), logf: logf,
		hc: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}, Timeout: 2 * time.Minute}}
	go func() { cmd.Wait(); close(s.done) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if resp, err := s.hc.Get(s.url + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case <-s.done:
			b, _ := os.ReadFile(logf.Name())
			return nil, fmt.Errorf("holdfast serve exited early: %s", b)
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("holdfast serve did not answer /healthz within 60s")
		}
	}
}

// stop ends the server (SIGTERM, then SIGKILL after 20s).
func (s *server) stop() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.logf.Close()
}

// rssMiB reads VmRSS from /proc/<pid>/status.
func (s *server) rssMiB() float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				kb, _ := strconv.ParseFloat(f[0], 64)
				return kb / 1024
			}
		}
	}
	return 0
}

func (s *server) send(ctx context.Context, method, path, ct string, body []byte, v any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, s.url+path, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", ct)
	resp, err := s.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if v != nil {
		_ = json.NewDecoder(resp.Body).Decode(v)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

func (s *server) getJSON(ctx context.Context, path string, v any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", s.url+path, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := s.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	return resp.StatusCode, json.NewDecoder(resp.Body).Decode(v)
}

// freshSchema creates an empty schema in the PostgreSQL at base and
// returns a URL that uses it and a function that drops it.
func freshSchema(base string) (string, func(), error) {
	db, err := sql.Open("pgx", base)
	if err != nil {
		return "", nil, err
	}
	schema := fmt.Sprintf("load_%d", time.Now().UnixNano())
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		db.Close()
		return "", nil, fmt.Errorf("create schema: %w", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		db.Close()
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), func() { db.Exec("DROP SCHEMA " + schema + " CASCADE"); db.Close() }, nil
}

// ---------------------------------------------------------------- report

func machine() string {
	m := fmt.Sprintf("%s/%s, %d CPUs", runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				m += ", " + strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		m += ", load average " + strings.Join(strings.Fields(string(b))[:3], " ")
	}
	return m
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// firstLine is the start of a failed response's body, or vegeta's error
// when there is no body.
func firstLine(e string, body []byte) string {
	if len(bytes.TrimSpace(body)) == 0 {
		return e
	}
	s, _, _ := strings.Cut(string(body), "\n")
	if len(s) > 120 {
		s = s[:120]
	}
	return s
}

func printSummary(w io.Writer, r *Results) {
	fmt.Fprintf(w, "\nholdfast load benchmark — %s\nmachine: %s\nseeded %d recordings in %.1fs\n\n", r.Database, r.Machine, r.Seeded, r.SeedSec)
	fmt.Fprintf(w, "mixed phase: %.1f req/s overall\n", r.MixedRPS)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "endpoint\treq\treq/s\tp50 ms\tp95 ms\tp99 ms\tstatus codes\t")
	names := make([]string, 0, len(r.Mixed))
	for n := range r.Mixed {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		e := r.Mixed[n]
		codes := make([]string, 0, len(e.Codes))
		for c, k := range e.Codes {
			codes = append(codes, fmt.Sprintf("%s×%d", c, k))
		}
		sort.Strings(codes)
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.1f\t%.1f\t%.1f\t%s\t\n", n, e.Requests, e.RPS, e.P50, e.P95, e.P99, strings.Join(codes, " "))
	}
	tw.Flush()
	for _, n := range names {
		for _, e := range r.Mixed[n].Errors {
			fmt.Fprintf(w, "  error %s: %s\n", n, e)
		}
	}
	fmt.Fprintf(w, "\ncheap GET p99: idle %.1f ms, during %d exports %.1f ms, ratio %.2f (goal ≤ 2)\n",
		r.IdleP99, r.Exports, r.BusyP99, r.Ratio)
	fmt.Fprintf(w, "server RSS: peak %.0f MiB; by phase (max):", r.PeakRSSMiB)
	peak := map[string]float64{}
	var order []string
	for _, s := range r.RSS {
		if _, ok := peak[s.Phase]; !ok {
			order = append(order, s.Phase)
		}
		peak[s.Phase] = max(peak[s.Phase], s.MiB)
	}
	for _, p := range order {
		fmt.Fprintf(w, " %s %.0f", p, peak[p])
	}
	fmt.Fprintln(w)
}

// Command exportbench measures holdfast's discovery export against the
// limits of the machine it runs on, all in one run:
//
//   - export time ÷ `cp -r` of the same blob bytes;
//   - export time ÷ the compute limit (Go SHA-256 + SHA-512 of the same
//     files, spread over runtime.NumCPU() goroutines);
//   - `holdfast verify` time ÷ the compute limit;
//   - single-core SHA-256 / SHA-512 throughput and a few hashing
//     strategies, to see whether SHA-512 is the bottleneck;
//   - API latency (GET /api/v2/recordings?limit=10) with and without a
//     large export running;
//   - the server's peak RSS while exporting 1,000 and 10,000 tiny
//     recordings.
//
// It is a benchmark script, not a test: run it through bench/run.sh. All
// file reads are warm-cache (nothing is dropped from the page cache), and
// every timed figure is the median of -reps runs.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"
	"unsafe"

	"github.com/holdfast/holdfast/client"
	"github.com/holdfast/holdfast/internal/media/synth"
)

const token = "hf_bench_admin_token_0123456789abcdefghijklmnopqrstuv"

// bytesPerSecond of synth's two-channel 16-bit 8 kHz WAV audio.
const bytesPerSecond = 2 * 2 * synth.DefaultSampleRate

type config struct {
	bin        string
	work       string
	bytes      int64
	files      int
	reps       int
	memCounts  []int
	latencySec float64
	out        string
}

func main() {
	var c config
	var memCounts string
	flag.StringVar(&c.bin, "bin", "", "holdfast binary (required)")
	flag.StringVar(&c.work, "work", "", "scratch directory (required; not removed)")
	flag.Int64Var(&c.bytes, "bytes", 1_000_000_000, "total bytes of synthetic recordings for the export benchmark")
	flag.IntVar(&c.files, "files", 400, "number of recordings for the export benchmark")
	flag.IntVar(&c.reps, "reps", 3, "repetitions of each timed measurement (median reported)")
	flag.StringVar(&memCounts, "mem", "1000,10000", "recording counts for the memory benchmark (comma-separated; empty skips it)")
	flag.Float64Var(&c.latencySec, "latency-baseline", 5, "seconds of the no-export latency baseline")
	flag.StringVar(&c.out, "out", "", "write results as JSON to this file")
	flag.Parse()
	if c.bin == "" || c.work == "" {
		log.Fatal("exportbench: -bin and -work are required")
	}
	for _, s := range strings.Split(memCounts, ",") {
		if s = strings.TrimSpace(s); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n <= 0 {
				log.Fatalf("exportbench: -mem %q: not a positive count", s)
			}
			c.memCounts = append(c.memCounts, n)
		}
	}
	log.SetFlags(log.Ltime)
	log.SetPrefix("exportbench: ")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := run(ctx, c)
	if err != nil {
		log.Fatal(err)
	}
	if c.out != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(c.out, append(b, '\n'), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	printSummary(os.Stdout, res)
}

// ---------------------------------------------------------------- results

// Results is everything one run measured. Durations are seconds.
type Results struct {
	Machine   Machine   `json:"machine"`
	Files     int       `json:"files"`
	Bytes     int64     `json:"bytes"`
	Reps      int       `json:"reps"`
	IngestSec float64   `json:"ingest_sec"`
	Rounds    []Round   `json:"rounds"`
	Median    Round     `json:"median"`
	Hash      HashStats `json:"hash"`
	Latency   Latency   `json:"latency"`
	Memory    []Memory  `json:"memory"`
	Notes     []string  `json:"notes"`
}

// Machine describes where the figures came from.
type Machine struct {
	NumCPU    int    `json:"num_cpu"`
	CPUModel  string `json:"cpu_model"`
	CPUFlags  string `json:"cpu_flags"`
	GoVersion string `json:"go_version"`
	Kernel    string `json:"kernel"`
	Date      string `json:"date"`
	LoadAvg   string `json:"loadavg_at_start"`
}

// Round is one interleaved repetition of the four timed measurements, so
// that noise from other tenants hits numerators and denominators alike.
type Round struct {
	CpSec             float64 `json:"cp_sec"`
	CpSyncSec         float64 `json:"cp_sync_sec"`
	ComputeSec        float64 `json:"compute_limit_sec"`
	ExportSec         float64 `json:"export_sec"`
	VerifySec         float64 `json:"verify_sec"`
	ExportOverCp      float64 `json:"export_over_cp"`
	ExportOverCompute float64 `json:"export_over_compute"`
	VerifyOverCompute float64 `json:"verify_over_compute"`
	ExportOverCpSync  float64 `json:"export_over_cp_sync"`
	// CPU seconds (user+system) each step consumed: robust to other
	// tenants, unlike wall time. Export CPU is the server's.
	CpCPU      float64 `json:"cp_cpu_sec"`
	ComputeCPU float64 `json:"compute_limit_cpu_sec"`
	ExportCPU  float64 `json:"export_cpu_sec"`
	VerifyCPU  float64 `json:"verify_cpu_sec"`
}

// HashStats answers "is SHA-512 the bottleneck?".
type HashStats struct {
	// Single-core, in memory, 1 MiB writes, MB (10^6 bytes) per CPU-second
	// of the hashing thread, and per wall second.
	SHA256MBs     float64 `json:"sha256_mb_per_cpu_s"`
	SHA512MBs     float64 `json:"sha512_mb_per_cpu_s"`
	SHA256WallMBs float64 `json:"sha256_mb_s_wall"`
	SHA512WallMBs float64 `json:"sha512_mb_s_wall"`
	// Both hashes of the same data on one goroutine (sequential).
	BothSerialMBs float64 `json:"both_serial_mb_s"`
	// Both hashes, one goroutine per algorithm (what bag.WriteFile does).
	BothPairMBs float64 `json:"both_pair_mb_s"`
	// Both hashes, files spread over NumCPU goroutines (the compute limit),
	// in memory; the compute limit itself also reads the files.
	BothAllCoresMBs float64 `json:"both_all_cores_mb_s"`
	// Read-from-page-cache + both hashes on one goroutine, by buffer size,
	// MB per CPU-second of that thread.
	BufferMBs map[string]float64 `json:"buffer_mb_s"`
	// OpenSSL's throughput on this machine (openssl speed -evp), if found.
	OpenSSL256MBs float64 `json:"openssl_sha256_mb_s,omitempty"`
	OpenSSL512MBs float64 `json:"openssl_sha512_mb_s,omitempty"`
}

// Latency is the API latency with and without a running export.
type Latency struct {
	IdleN       int     `json:"idle_n"`
	IdleP50ms   float64 `json:"idle_p50_ms"`
	IdleP95ms   float64 `json:"idle_p95_ms"`
	IdleP99ms   float64 `json:"idle_p99_ms"`
	IdleMaxms   float64 `json:"idle_max_ms"`
	ExportN     int     `json:"export_n"`
	ExportP50ms float64 `json:"export_p50_ms"`
	ExportP95ms float64 `json:"export_p95_ms"`
	ExportP99ms float64 `json:"export_p99_ms"`
	ExportMaxms float64 `json:"export_max_ms"`
	ExportSec   float64 `json:"export_sec_under_load"`
}

// Memory is the server's peak RSS for an export of N tiny recordings.
type Memory struct {
	Recordings    int     `json:"recordings"`
	Bytes         int64   `json:"bytes"`
	ExportSec     float64 `json:"export_sec"`
	PeakRSSMiB    float64 `json:"peak_rss_mib"`        // VmHWM of a server started after ingest: startup + export
	IdleRSSMiB    float64 `json:"idle_rss_mib"`        // VmRSS of that server just before the export
	IngestPeakMiB float64 `json:"ingest_peak_rss_mib"` // VmHWM of the server that ingested
	IngestSec     float64 `json:"ingest_sec"`
}

// ---------------------------------------------------------------- the run

func run(ctx context.Context, c config) (*Results, error) {
	res := &Results{Machine: machine(), Reps: c.reps}
	res.Hash.BufferMBs = map[string]float64{}
	log.Printf("machine: %d CPU(s), %s, %s, load %s", res.Machine.NumCPU, res.Machine.CPUModel, res.Machine.GoVersion, res.Machine.LoadAvg)

	// 1. Synthetic recordings, generated once.
	src := filepath.Join(c.work, "src")
	dur := max(time.Duration(c.bytes/int64(c.files)/bytesPerSecond)*time.Second, time.Second)
	t0 := time.Now()
	calls, err := generate(src, c.files, dur, 1)
	if err != nil {
		return nil, err
	}
	var total int64
	for _, call := range calls {
		total += call.WAVSize()
	}
	res.Files, res.Bytes = len(calls), total
	log.Printf("generated %d WAVs of %s each, %.1f MB in %s", len(calls), dur, float64(total)/1e6, time.Since(t0).Round(time.Millisecond))

	// 2. A server with a fresh data dir, and everything ingested.
	srv, err := startServer(ctx, c.bin, filepath.Join(c.work, "data"))
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	t0 = time.Now()
	if err := ingestAll(ctx, srv, src, calls); err != nil {
		return nil, err
	}
	res.IngestSec = time.Since(t0).Seconds()
	log.Printf("ingested and processed in %.1fs", res.IngestSec)
	if err := os.RemoveAll(src); err != nil {
		return nil, err
	}
	blobDir := filepath.Join(srv.data, "blobs")
	blobs, blobBytes, err := listFiles(blobDir)
	if err != nil {
		return nil, err
	}
	if blobBytes != total {
		res.Notes = append(res.Notes, fmt.Sprintf("blob directory holds %d bytes in %d files (generated %d bytes)", blobBytes, len(blobs), total))
	}

	// The baselines (hashing, cp -r, compute limit, verify) are measured
	// with the server stopped (SIGSTOP), so that its background work does
	// not take CPU from them; it runs again (SIGCONT) for each export.
	srv.pause()

	// 3. Hash micro-measurements (not part of the ratios).
	if err := hashStats(ctx, &res.Hash, blobs); err != nil {
		return nil, err
	}

	// 4. Interleaved rounds: cp -r, compute limit, export, verify.
	for i := range c.reps {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var r Round
		dst := filepath.Join(c.work, "cp-"+strconv.Itoa(i))
		if r.CpSec, r.CpCPU, err = timeCmd(ctx, "cp", "-r", blobDir, dst); err != nil {
			return nil, err
		}
		os.RemoveAll(dst)
		if r.CpSyncSec, _, err = timeCmd(ctx, "sh", "-c", `cp -r "$1" "$2" && sync -f "$2"`, "sh", blobDir, dst); err != nil {
			return nil, err
		}
		os.RemoveAll(dst)
		c0 := selfCPU()
		if r.ComputeSec, err = computeLimit(ctx, blobs, runtime.NumCPU()); err != nil {
			return nil, err
		}
		r.ComputeCPU = selfCPU() - c0
		srv.resume()
		c0 = srv.cpu()
		sec, bagDir, err := srv.export(ctx, "BENCH-1", nil)
		if err != nil {
			return nil, err
		}
		r.ExportSec, r.ExportCPU = sec, srv.cpu()-c0
		srv.pause()
		if r.VerifySec, r.VerifyCPU, err = timeCmd(ctx, c.bin, "verify", bagDir); err != nil {
			return nil, fmt.Errorf("holdfast verify %s: %w", bagDir, err)
		}
		os.RemoveAll(bagDir)
		r.ExportOverCp = r.ExportSec / r.CpSec
		r.ExportOverCpSync = r.ExportSec / r.CpSyncSec
		r.ExportOverCompute = r.ExportSec / r.ComputeSec
		r.VerifyOverCompute = r.VerifySec / r.ComputeSec
		log.Printf("round %d: cp -r %.2fs (+sync %.2fs), compute limit %.2fs, export %.2fs, verify %.2fs; CPU s: cp %.2f, compute %.2f, export %.2f, verify %.2f",
			i+1, r.CpSec, r.CpSyncSec, r.ComputeSec, r.ExportSec, r.VerifySec, r.CpCPU, r.ComputeCPU, r.ExportCPU, r.VerifyCPU)
		res.Rounds = append(res.Rounds, r)
	}
	res.Median = medianRound(res.Rounds)

	// 5. API latency, idle and during a large export.
	srv.resume()
	if err := latency(ctx, srv, c.latencySec, &res.Latency); err != nil {
		return nil, err
	}
	srv.stop()
	os.RemoveAll(srv.data)

	// 6. Memory with many tiny recordings.
	for _, n := range c.memCounts {
		m, err := memory(ctx, c, n)
		if err != nil {
			return nil, err
		}
		res.Memory = append(res.Memory, m)
	}
	return res, nil
}

// ---------------------------------------------------------------- machine

func machine() Machine {
	m := Machine{NumCPU: runtime.NumCPU(), GoVersion: runtime.Version(), Date: time.Now().UTC().Format(time.RFC3339)}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			switch strings.TrimSpace(k) {
			case "model name":
				if m.CPUModel == "" {
					m.CPUModel = strings.TrimSpace(v)
				}
			case "flags":
				if m.CPUFlags == "" {
					var keep []string
					for _, f := range strings.Fields(v) {
						if f == "sha_ni" || f == "avx2" || f == "avx512f" || f == "avx512vl" || f == "bmi2" || f == "sha512" {
							keep = append(keep, f)
						}
					}
					m.CPUFlags = strings.Join(keep, " ")
				}
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(b))
		if len(f) >= 3 {
			m.LoadAvg = strings.Join(f[:3], " ")
		}
	}
	return m
}

// ---------------------------------------------------------------- synthetic data

// generate writes n calls of duration dur as X.wav + X.json into dir, in
// parallel, and returns them.
func generate(dir string, n int, dur time.Duration, seed uint64) ([]synth.Call, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	calls := synth.Generate(rand.New(rand.NewPCG(seed, 0xbe0c)), n, synth.Options{MinDuration: dur, MaxDuration: dur})
	seen := map[string]bool{}
	for i := range calls {
		for seen[calls[i].CallID] { // Call-IDs are random; make them unique
			calls[i].CallID = "x" + calls[i].CallID
		}
		seen[calls[i].CallID] = true
	}
	jobs := make(chan int)
	errs := make(chan error, runtime.NumCPU())
	var wg sync.WaitGroup
	for range runtime.NumCPU() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if err := writeCall(dir, i, calls[i]); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for i := range calls {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	return calls, nil
}

func callBase(dir string, i int) string { return filepath.Join(dir, fmt.Sprintf("call-%06d", i)) }

func writeCall(dir string, i int, c synth.Call) error {
	base := callBase(dir, i)
	f, err := os.Create(base + ".wav")
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 256<<10)
	if err := c.WriteWAV(bw); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.WriteFile(base+".json", c.Metadata(), 0o644)
}

// ---------------------------------------------------------------- server

type server struct {
	url, data string
	cmd       *exec.Cmd
	done      chan struct{}
	hc        *http.Client
	api       *client.Client
	logf      *os.File
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startServer runs `holdfast serve` on data (created if missing).
func startServer(ctx context.Context, bin, data string) (*server, error) {
	if err := os.MkdirAll(data, 0o750); err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	logf, err := os.OpenFile(data+".log", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve", "--listen", addr, "--data", data,
		"--rate-limit", "1000000", "--rate-burst", "1000000", "--log-level", "warn")
	cmd.Env = append(os.Environ(), "HOLDFAST_BOOTSTRAP_TOKEN="+token)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	s := &server{url: "http://" + addr, data: data, cmd: cmd, done: make(chan struct{}), logf: logf,
		hc: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 5 * time.Minute}}
	go func() { cmd.Wait(); close(s.done) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := s.hc.Get(s.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-s.done:
			return nil, fmt.Errorf("holdfast serve exited early; see %s", logf.Name())
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("holdfast serve did not answer /healthz within 60s; see %s", logf.Name())
		}
	}
	s.api, err = client.New(s.url, token, client.WithHTTPClient(s.hc))
	if err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// pause stops the server process (SIGSTOP); resume continues it.
func (s *server) pause()  { _ = s.cmd.Process.Signal(syscall.SIGSTOP) }
func (s *server) resume() { _ = s.cmd.Process.Signal(syscall.SIGCONT) }

// stop ends the server gracefully (SIGTERM, then SIGKILL after 20s).
func (s *server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.done:
	default:
		_ = s.cmd.Process.Signal(syscall.SIGCONT)
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(20 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	}
	s.logf.Close()
}

// cpu returns the server process's CPU time (utime+stime) in seconds.
func (s *server) cpu() float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields after the parenthesised command name; utime and stime are
	// fields 14 and 15 of the whole line, in clock ticks (USER_HZ = 100).
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100
}

// procStatus returns a field of /proc/<pid>/status in KiB.
func (s *server) procStatus(field string) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				n, _ := strconv.ParseFloat(f[0], 64)
				return n
			}
		}
	}
	return -1
}

// ingestAll uploads every call with a few concurrent uploads and waits
// until none is still processing.
func ingestAll(ctx context.Context, s *server, dir string, calls []synth.Call) error {
	jobs := make(chan int)
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				base := callBase(dir, i)
				meta, err := os.ReadFile(base + ".json")
				if err == nil {
					_, err = s.api.Ingest(ctx, client.IngestRequest{Metadata: meta, MediaName: filepath.Base(base) + ".wav",
						IdempotencyKey: "bench-" + calls[i].CallID,
						Media:          func() (io.ReadCloser, error) { return os.Open(base + ".wav") }})
				}
				if err != nil {
					select {
					case errs <- fmt.Errorf("ingest %s: %w", base, err):
					default:
					}
					return
				}
			}
		}()
	}
loop:
	for i := range calls {
		select {
		case jobs <- i:
		case err := <-errs:
			close(jobs)
			wg.Wait()
			return err
		case <-ctx.Done():
			break loop
		}
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	for {
		p, err := s.api.ListRecordings(ctx, client.ListRecordingsParams{Status: "processing", Limit: 1})
		if err != nil {
			return err
		}
		if len(p.Items) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	p, err := s.api.ListRecordings(ctx, client.ListRecordingsParams{Status: "failed", Limit: 1})
	if err != nil {
		return err
	}
	if len(p.Items) > 0 {
		return fmt.Errorf("recording %s failed processing: %s", p.Items[0].ID, p.Items[0].FailureReason)
	}
	return nil
}

type exportJob struct {
	ID      string `json:"id"`
	State   string `json:"state"`
	Error   string `json:"error"`
	Package *struct {
		Location string `json:"location"`
	} `json:"package"`
	Progress struct {
		Matched  int `json:"matched"`
		Exported int `json:"exported"`
		Failed   int `json:"failed"`
	} `json:"progress"`
}

func (s *server) do(ctx context.Context, method, path string, body []byte) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, s.url+path, bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// export runs one export of every SIP recording and returns the seconds
// from POST to `completed` and the bag directory. If started is not nil,
// it is closed right after the POST was accepted.
func (s *server) export(ctx context.Context, caseID string, started chan<- struct{}) (float64, string, error) {
	body, _ := json.Marshal(map[string]any{
		"filter":   map[string]any{"media_type": "SIP", "from": "2024-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
		"metadata": map[string]any{"legal_hold": true, "case_id": caseID},
	})
	t0 := time.Now()
	resp, b, err := s.do(ctx, http.MethodPost, "/api/v2/bulk/recordingexports", body)
	if err != nil {
		return 0, "", err
	}
	if resp.StatusCode != http.StatusAccepted {
		return 0, "", fmt.Errorf("POST export: %s: %s", resp.Status, b)
	}
	if started != nil {
		close(started)
	}
	var job exportJob
	if err := json.Unmarshal(b, &job); err != nil {
		return 0, "", err
	}
	for {
		select {
		case <-ctx.Done():
			return 0, "", ctx.Err()
		case <-time.After(25 * time.Millisecond):
		}
		resp, b, err := s.do(ctx, http.MethodGet, "/api/v2/bulk/recordingexports/"+job.ID, nil)
		if err != nil {
			return 0, "", err
		}
		if resp.StatusCode != http.StatusOK {
			return 0, "", fmt.Errorf("GET export: %s: %s", resp.Status, b)
		}
		if err := json.Unmarshal(b, &job); err != nil {
			return 0, "", err
		}
		switch job.State {
		case "completed":
			sec := time.Since(t0).Seconds()
			if job.Package == nil || job.Package.Location == "" {
				return 0, "", fmt.Errorf("export %s completed without a package location", job.ID)
			}
			return sec, job.Package.Location, nil
		case "completed_with_errors", "failed", "cancelled":
			return 0, "", fmt.Errorf("export %s ended %s (%d failed): %s", job.ID, job.State, job.Progress.Failed, job.Error)
		}
	}
}

// ---------------------------------------------------------------- measurements

// timeCmd runs a command and returns its wall time and the CPU time
// (user+system) of it and its children.
func timeCmd(ctx context.Context, name string, args ...string) (wall, cpu float64, err error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	var before syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &before)
	t0 := time.Now()
	err = cmd.Run()
	wall = time.Since(t0).Seconds()
	if err != nil {
		return 0, 0, fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out.Bytes())
	}
	var after syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &after)
	return wall, rusageSec(after) - rusageSec(before), nil
}

func rusageSec(r syscall.Rusage) float64 {
	return float64(r.Utime.Nano()+r.Stime.Nano()) / 1e9
}

// selfCPU is this process's CPU time so far.
func selfCPU() float64 {
	var r syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &r)
	return rusageSec(r)
}

// threadCPU is the calling OS thread's CPU time (CLOCK_THREAD_CPUTIME_ID).
func threadCPU() time.Duration {
	var ts syscall.Timespec
	_, _, _ = syscall.Syscall(syscall.SYS_CLOCK_GETTIME, 3, uintptr(unsafe.Pointer(&ts)), 0)
	return time.Duration(ts.Nano())
}

// listFiles returns the regular files under dir and their total size.
func listFiles(dir string) ([]string, int64, error) {
	var files []string
	var total int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		files = append(files, p)
		total += fi.Size()
		return nil
	})
	return files, total, err
}

// computeLimit reads every file once and computes SHA-256 and SHA-512 of
// it, with files spread over workers goroutines (each goroutine hashes
// its file sequentially, 1 MiB at a time). It returns the wall time.
func computeLimit(ctx context.Context, files []string, workers int) (float64, error) {
	t0 := time.Now()
	err := forEachFile(ctx, files, workers, func(buf []byte, f *os.File) error {
		return readHash(f, buf, sha256.New(), sha512.New())
	})
	return time.Since(t0).Seconds(), err
}

func forEachFile(ctx context.Context, files []string, workers int, fn func(buf []byte, f *os.File) error) error {
	ch := make(chan string)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 1<<20)
			for p := range ch {
				f, err := os.Open(p)
				if err == nil {
					err = fn(buf, f)
					f.Close()
				}
				if err != nil {
					mu.Lock()
					first = cmp(first, err)
					mu.Unlock()
				}
			}
		}()
	}
	for _, p := range files {
		if ctx.Err() != nil {
			break
		}
		ch <- p
	}
	close(ch)
	wg.Wait()
	return cmp(first, ctx.Err())
}

func cmp(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func readHash(r io.Reader, buf []byte, hs ...hash.Hash) error {
	for {
		n, err := io.ReadFull(r, buf)
		for _, h := range hs {
			h.Write(buf[:n])
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// hashStats measures single-core hash throughput and hashing strategies.
// Each figure is the median of 3 runs.
func hashStats(ctx context.Context, hs *HashStats, files []string) error {
	const size = 256 << 20
	data := make([]byte, size)
	r := rand.NewChaCha8([32]byte{7})
	r.Read(data)
	mbs := func(f func()) float64 {
		var xs []float64
		for range 3 {
			t0 := time.Now()
			f()
			xs = append(xs, float64(size)/1e6/time.Since(t0).Seconds())
		}
		return median(xs)
	}
	feed := func(h hash.Hash, b []byte) {
		for off := 0; off < len(b); off += 1 << 20 {
			h.Write(b[off:min(off+1<<20, len(b))])
		}
	}
	// Single-core figures per CPU-second of the hashing thread, so that
	// other tenants' load does not distort them (openssl speed does the
	// same by default).
	cpuMBs := func(newH func() hash.Hash) float64 {
		var xs []float64
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		for range 3 {
			t0 := threadCPU()
			feed(newH(), data)
			xs = append(xs, float64(size)/1e6/(threadCPU()-t0).Seconds())
		}
		return median(xs)
	}
	hs.SHA256MBs = cpuMBs(sha256.New)
	hs.SHA512MBs = cpuMBs(sha512.New)
	hs.SHA256WallMBs = mbs(func() { feed(sha256.New(), data) })
	hs.SHA512WallMBs = mbs(func() { feed(sha512.New(), data) })
	hs.BothSerialMBs = mbs(func() {
		h1, h2 := sha256.New(), sha512.New()
		for off := 0; off < size; off += 1 << 20 {
			h1.Write(data[off : off+1<<20])
			h2.Write(data[off : off+1<<20])
		}
	})
	hs.BothPairMBs = mbs(func() {
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); feed(sha256.New(), data) }()
		go func() { defer wg.Done(); feed(sha512.New(), data) }()
		wg.Wait()
	})
	hs.BothAllCoresMBs = mbs(func() {
		n := runtime.NumCPU()
		part := size / n
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				b := data[i*part : (i+1)*part]
				feed(sha256.New(), b)
				feed(sha512.New(), b)
			}()
		}
		wg.Wait()
	})
	log.Printf("single core per CPU-s: sha256 %.0f MB/s, sha512 %.0f MB/s (wall: %.0f, %.0f); both serial %.0f MB/s; both in 2 goroutines %.0f MB/s; all cores %.0f MB/s",
		hs.SHA256MBs, hs.SHA512MBs, hs.SHA256WallMBs, hs.SHA512WallMBs, hs.BothSerialMBs, hs.BothPairMBs, hs.BothAllCoresMBs)

	// Buffer size: read from page cache + both hashes, one goroutine, on
	// about 256 MB of the blob files.
	var sub []string
	var subBytes int64
	for _, p := range files {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		sub = append(sub, p)
		subBytes += fi.Size()
		if subBytes >= size {
			break
		}
	}
	// Timed in CPU-seconds of the (locked) reading-and-hashing thread,
	// which includes its read syscalls, so other tenants do not skew it.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for _, bs := range []int{32 << 10, 256 << 10, 1 << 20, 4 << 20} {
		var xs []float64
		for range 3 {
			buf := make([]byte, bs)
			t0 := threadCPU()
			for _, p := range sub {
				f, err := os.Open(p)
				if err != nil {
					return err
				}
				err = readHash(f, buf, sha256.New(), sha512.New())
				f.Close()
				if err != nil {
					return err
				}
			}
			xs = append(xs, float64(subBytes)/1e6/(threadCPU()-t0).Seconds())
		}
		hs.BufferMBs[fmt.Sprintf("%dKiB", bs>>10)] = median(xs)
	}
	log.Printf("read+both hashes, one goroutine, MB per CPU-s, by buffer: %v", hs.BufferMBs)
	hs.OpenSSL256MBs = opensslSpeed(ctx, "sha256")
	hs.OpenSSL512MBs = opensslSpeed(ctx, "sha512")
	if hs.OpenSSL512MBs > 0 {
		log.Printf("openssl speed (1 MiB blocks, one core): sha256 %.0f MB/s, sha512 %.0f MB/s", hs.OpenSSL256MBs, hs.OpenSSL512MBs)
	}
	return nil
}

// opensslSpeed runs `openssl speed -evp alg` on 1 MiB blocks and returns
// MB/s, or 0 if openssl is missing or its output is not understood.
func opensslSpeed(ctx context.Context, alg string) float64 {
	if _, err := exec.LookPath("openssl"); err != nil {
		return 0
	}
	out, err := exec.CommandContext(ctx, "openssl", "speed", "-seconds", "2", "-bytes", "1048576", "-evp", alg).Output()
	if err != nil {
		return 0
	}
	// The last line is "<alg>   <N.NNk>" in 1000s of bytes per second.
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	f := strings.Fields(lines[len(lines)-1])
	if len(f) < 2 {
		return 0
	}
	v, err := strconv.ParseFloat(strings.TrimSuffix(f[len(f)-1], "k"), 64)
	if err != nil {
		return 0
	}
	return v * 1000 / 1e6
}

// latency measures GET /api/v2/recordings?limit=10 in a closed loop (one
// request at a time), first with the server idle, then while an export of
// every recording runs.
func latency(ctx context.Context, s *server, idleSec float64, l *Latency) error {
	get := func() (time.Duration, error) {
		t0 := time.Now()
		resp, b, err := s.do(ctx, http.MethodGet, "/api/v2/recordings?limit=10", nil)
		if err != nil {
			return 0, err
		}
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("GET recordings: %s: %s", resp.Status, b)
		}
		return time.Since(t0), nil
	}
	var idle []time.Duration
	end := time.Now().Add(time.Duration(idleSec * float64(time.Second)))
	for time.Now().Before(end) {
		d, err := get()
		if err != nil {
			return err
		}
		idle = append(idle, d)
	}
	l.IdleN = len(idle)
	l.IdleP50ms, l.IdleP95ms, l.IdleP99ms, l.IdleMaxms = pct(idle)

	started := make(chan struct{})
	done := make(chan struct{})
	var busy []time.Duration
	var loopErr error
	go func() {
		defer close(done)
		select {
		case <-started:
		case <-ctx.Done():
			return
		}
		for {
			select {
			case <-stopLoop:
				return
			default:
			}
			d, err := get()
			if err != nil {
				loopErr = err
				return
			}
			busy = append(busy, d)
		}
	}()
	sec, bagDir, err := s.export(ctx, "BENCH-1", started)
	close(stopLoop)
	<-done
	if err != nil {
		return err
	}
	if loopErr != nil {
		return loopErr
	}
	os.RemoveAll(bagDir)
	l.ExportSec = sec
	l.ExportN = len(busy)
	l.ExportP50ms, l.ExportP95ms, l.ExportP99ms, l.ExportMaxms = pct(busy)
	log.Printf("latency idle: n=%d p50 %.1fms p95 %.1fms p99 %.1fms; during export (%.1fs): n=%d p50 %.1fms p95 %.1fms p99 %.1fms",
		l.IdleN, l.IdleP50ms, l.IdleP95ms, l.IdleP99ms, sec, l.ExportN, l.ExportP50ms, l.ExportP95ms, l.ExportP99ms)
	return nil
}

var stopLoop = make(chan struct{})

func pct(ds []time.Duration) (p50, p95, p99, mx float64) {
	if len(ds) == 0 {
		return
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(q float64) float64 {
		i := min(int(q*float64(len(s))), len(s)-1)
		return float64(s[i]) / 1e6
	}
	return at(0.50), at(0.95), at(0.99), float64(s[len(s)-1]) / 1e6
}

// memory ingests n one-second recordings into a fresh server, restarts it
// (so its peak RSS covers only startup and the export), exports them all
// and reads the child's VmHWM.
func memory(ctx context.Context, c config, n int) (Memory, error) {
	m := Memory{Recordings: n}
	dir := filepath.Join(c.work, fmt.Sprintf("mem-%d", n))
	src := filepath.Join(dir, "src")
	data := filepath.Join(dir, "data")
	calls, err := generate(src, n, time.Second, uint64(n))
	if err != nil {
		return m, err
	}
	for _, call := range calls {
		m.Bytes += call.WAVSize()
	}
	srv, err := startServer(ctx, c.bin, data)
	if err != nil {
		return m, err
	}
	t0 := time.Now()
	err = ingestAll(ctx, srv, src, calls)
	m.IngestSec = time.Since(t0).Seconds()
	m.IngestPeakMiB = srv.procStatus("VmHWM") / 1024
	srv.stop()
	if err != nil {
		return m, err
	}
	os.RemoveAll(src)
	srv, err = startServer(ctx, c.bin, data)
	if err != nil {
		return m, err
	}
	defer srv.stop()
	time.Sleep(time.Second) // let startup work settle
	m.IdleRSSMiB = srv.procStatus("VmRSS") / 1024
	sec, bagDir, err := srv.export(ctx, "BENCH-1", nil)
	if err != nil {
		return m, err
	}
	m.ExportSec = sec
	m.PeakRSSMiB = srv.procStatus("VmHWM") / 1024
	log.Printf("memory: %d recordings (%.0f MB): ingest %.1fs (server peak %.0f MiB); after restart idle %.0f MiB, export %.1fs, peak RSS %.0f MiB",
		n, float64(m.Bytes)/1e6, m.IngestSec, m.IngestPeakMiB, m.IdleRSSMiB, sec, m.PeakRSSMiB)
	if _, _, err := timeCmd(ctx, c.bin, "verify", bagDir); err != nil {
		return m, fmt.Errorf("verify of the %d-recording bag: %w", n, err)
	}
	srv.stop()
	os.RemoveAll(dir)
	return m, nil
}

// ---------------------------------------------------------------- summary

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func medianRound(rs []Round) Round {
	col := func(f func(Round) float64) float64 {
		var xs []float64
		for _, r := range rs {
			xs = append(xs, f(r))
		}
		return median(xs)
	}
	return Round{
		CpSec:             col(func(r Round) float64 { return r.CpSec }),
		CpSyncSec:         col(func(r Round) float64 { return r.CpSyncSec }),
		ComputeSec:        col(func(r Round) float64 { return r.ComputeSec }),
		ExportSec:         col(func(r Round) float64 { return r.ExportSec }),
		VerifySec:         col(func(r Round) float64 { return r.VerifySec }),
		ExportOverCp:      col(func(r Round) float64 { return r.ExportOverCp }),
		ExportOverCpSync:  col(func(r Round) float64 { return r.ExportOverCpSync }),
		ExportOverCompute: col(func(r Round) float64 { return r.ExportOverCompute }),
		VerifyOverCompute: col(func(r Round) float64 { return r.VerifyOverCompute }),
		CpCPU:             col(func(r Round) float64 { return r.CpCPU }),
		ComputeCPU:        col(func(r Round) float64 { return r.ComputeCPU }),
		ExportCPU:         col(func(r Round) float64 { return r.ExportCPU }),
		VerifyCPU:         col(func(r Round) float64 { return r.VerifyCPU }),
	}
}

func printSummary(w io.Writer, r *Results) {
	m := r.Median
	mb := float64(r.Bytes) / 1e6
	fmt.Fprintf(w, "\nholdfast export benchmark — %d recordings, %.1f MB, median of %d rounds, warm page cache\n", r.Files, mb, r.Reps)
	fmt.Fprintf(w, "machine: %d CPU(s), %s [%s], %s, kernel %s, %s, load at start %s\n\n",
		r.Machine.NumCPU, r.Machine.CPUModel, r.Machine.CPUFlags, r.Machine.GoVersion, r.Machine.Kernel, r.Machine.Date, r.Machine.LoadAvg)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "measurement\twall s (median)\tMB/s\tCPU s (median)\twall s per round")
	row := func(name string, sec, cpu float64, f func(Round) float64) {
		var vals []string
		for _, x := range r.Rounds {
			vals = append(vals, fmt.Sprintf("%.2f", f(x)))
		}
		c := "-"
		if cpu > 0 {
			c = fmt.Sprintf("%.2f", cpu)
		}
		fmt.Fprintf(tw, "%s\t%.2f\t%.0f\t%s\t%s\n", name, sec, mb/sec, c, strings.Join(vals, " "))
	}
	row("cp -r blobs", m.CpSec, m.CpCPU, func(x Round) float64 { return x.CpSec })
	row("cp -r blobs + sync -f", m.CpSyncSec, 0, func(x Round) float64 { return x.CpSyncSec })
	row(fmt.Sprintf("compute limit (sha256+sha512, %d goroutines)", r.Machine.NumCPU), m.ComputeSec, m.ComputeCPU, func(x Round) float64 { return x.ComputeSec })
	row("export (POST → completed)", m.ExportSec, m.ExportCPU, func(x Round) float64 { return x.ExportSec })
	row("holdfast verify", m.VerifySec, m.VerifyCPU, func(x Round) float64 { return x.VerifySec })
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ratio (median of per-round ratios)\tvalue\tgoal\tmet")
	ratio := func(name string, v float64, goal string, lim float64) {
		met := "-"
		if lim > 0 {
			met = map[bool]string{true: "yes", false: "NO"}[v <= lim]
		}
		fmt.Fprintf(tw, "%s\t%.2f×\t%s\t%s\n", name, v, goal, met)
	}
	ratio("export ÷ cp -r", m.ExportOverCp, "≤ 1.5×", 1.5)
	ratio("export ÷ (cp -r + sync)", m.ExportOverCpSync, "(info)", 0)
	ratio("export ÷ compute limit", m.ExportOverCompute, "(info)", 0)
	ratio("verify ÷ compute limit", m.VerifyOverCompute, "≤ 1.2×", 1.2)
	tw.Flush()
	h := r.Hash
	fmt.Fprintf(w, "\nhashing, Go, in memory, 1 MiB writes, one core, MB per CPU-second: sha256 %.0f | sha512 %.0f  (wall MB/s: %.0f | %.0f)\n",
		h.SHA256MBs, h.SHA512MBs, h.SHA256WallMBs, h.SHA512WallMBs)
	fmt.Fprintf(w, "sha256+sha512 of the same bytes, wall MB/s: one goroutine %.0f | one goroutine per hash (bag.WriteFile) %.0f | data split over %d goroutines %.0f\n",
		h.BothSerialMBs, h.BothPairMBs, r.Machine.NumCPU, h.BothAllCoresMBs)
	var keys []string
	for k := range h.BufferMBs {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		x, _ := strconv.Atoi(strings.TrimSuffix(a, "KiB"))
		y, _ := strconv.Atoi(strings.TrimSuffix(b, "KiB"))
		return x - y
	})
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %.0f", k, h.BufferMBs[k]))
	}
	fmt.Fprintf(w, "read from page cache + sha256 + sha512, one goroutine, MB per CPU-second, by read size: %s\n", strings.Join(parts, " | "))
	if h.OpenSSL512MBs > 0 {
		fmt.Fprintf(w, "openssl speed -evp, 1 MiB blocks, one core, MB per CPU-second: sha256 %.0f | sha512 %.0f\n", h.OpenSSL256MBs, h.OpenSSL512MBs)
	}
	l := r.Latency
	fmt.Fprintf(w, "\nAPI latency, GET /api/v2/recordings?limit=10, closed loop:\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\tn\tp50 ms\tp95 ms\tp99 ms\tmax ms")
	fmt.Fprintf(tw, "idle\t%d\t%.1f\t%.1f\t%.1f\t%.1f\n", l.IdleN, l.IdleP50ms, l.IdleP95ms, l.IdleP99ms, l.IdleMaxms)
	fmt.Fprintf(tw, "during export (%.1fs)\t%d\t%.1f\t%.1f\t%.1f\t%.1f\n", l.ExportSec, l.ExportN, l.ExportP50ms, l.ExportP95ms, l.ExportP99ms, l.ExportMaxms)
	tw.Flush()
	if len(r.Memory) > 0 {
		fmt.Fprintf(w, "\nserver memory, export of N one-second recordings (server restarted after ingest):\n")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "recordings\tMB\tingest s\tingest peak RSS MiB\tidle RSS MiB\texport s\texport peak RSS MiB (VmHWM)")
		for _, x := range r.Memory {
			fmt.Fprintf(tw, "%d\t%.0f\t%.1f\t%.0f\t%.0f\t%.1f\t%.0f\n", x.Recordings, float64(x.Bytes)/1e6, x.IngestSec, x.IngestPeakMiB, x.IdleRSSMiB, x.ExportSec, x.PeakRSSMiB)
		}
		tw.Flush()
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}

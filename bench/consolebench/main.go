// Command consolebench measures the p95 latency of every console page with
// a small and a large vault (by default 1,000 and 100,000 recordings), to
// check that pages cost the same however many recordings there are (every
// page is keyset-paged or reads counters).
//
// For each size it fills a fresh data directory through the real store
// code (sqlstore, the same CreateRecording / FinishProcessing / CreateHold
// transactions with their audit entries) but with SQLite's synchronous=OFF,
// so 100,000 recordings take a minute rather than an hour of fsyncs; no
// HTTP and no media bytes are involved. It then starts `holdfast serve` on
// that directory, signs in to the console like a browser and requests each
// page -reqs times after a warm-up, reporting p50 and p95.
//
// It is a benchmark, not a test: run it with bench/console.sh.
package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/holdfast/holdfast/internal/store"
	"github.com/holdfast/holdfast/internal/store/sqlitestore"
	"github.com/holdfast/holdfast/internal/store/sqlstore"
	"github.com/holdfast/holdfast/internal/vault"
)

const token = "hf_bench_admin_token_0123456789abcdefghijklmnopqrstuv"

func main() {
	bin := flag.String("bin", "", "holdfast binary (required)")
	work := flag.String("work", "", "scratch directory (required; not removed)")
	sizes := flag.String("sizes", "1000,100000", "recording counts to compare")
	reqs := flag.Int("reqs", 200, "timed requests per page")
	flag.Parse()
	if *bin == "" || *work == "" {
		log.Fatal("consolebench: -bin and -work are required")
	}
	var ns []int
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 100 {
			log.Fatalf("consolebench: bad size %q (at least 100)", s)
		}
		ns = append(ns, n)
	}
	var vaults []*server
	for _, n := range ns {
		dir := filepath.Join(*work, "data-"+strconv.Itoa(n))
		start := time.Now()
		f, err := fill(context.Background(), dir, n)
		if err != nil {
			log.Fatalf("consolebench: fill %d: %v", n, err)
		}
		fmt.Fprintf(os.Stderr, "filled %d recordings in %s\n", n, time.Since(start).Round(time.Millisecond))
		v, err := startVault(*bin, dir, f)
		if err != nil {
			log.Fatalf("consolebench: start %d: %v", n, err)
		}
		defer v.stop()
		vaults = append(vaults, v)
	}
	measured, err := measure(vaults, *reqs)
	if err != nil {
		log.Fatalf("consolebench: %v", err)
	}
	results := map[int][]pageResult{}
	for i, n := range ns {
		results[n] = measured[i]
	}
	report(os.Stdout, ns, results)
}

// filled is what the pages are asked about.
type filled struct {
	recordingID string // a recording in the middle of the id order
	deepCursor  string // a cursor half-way through the recordings
	caseID      string
}

// fill creates n recordings (9 in 10 completed, the rest failed) started
// over the last 30 days, and 20 cases each holding 50 of them.
func fill(ctx context.Context, dir string, n int) (filled, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return filled{}, err
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(30000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(OFF)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "holdfast.db")+"?"+q.Encode())
	if err != nil {
		return filled{}, err
	}
	db.SetMaxOpenConns(1)
	st, err := sqlstore.New(ctx, db, sqlitestore.Dialect())
	if err != nil {
		return filled{}, err
	}
	defer st.Close()
	now := time.Now().UTC()
	ids := make([]string, n)
	names := []string{"Alice Adams", "Bruno Silva", "Chen Wei", "Dana Kowalski", "Priya Patel", "Noor Haddad"}
	for i := range n {
		started := now.Add(-time.Duration(n-i) * 30 * 24 * time.Hour / time.Duration(n))
		ingested := now.Add(-time.Duration(n-i) * time.Millisecond)
		ended := started.Add(3 * time.Minute)
		var sum [32]byte
		_, _ = rand.Read(sum[:])
		rec := vault.Recording{
			ID: vault.NewID("rec", ingested), MediaType: "SIP", Status: vault.StatusProcessing,
			CallID: fmt.Sprintf("%x@pbx%d.example.com", sum[:6], i%3), StartedAt: started, EndedAt: &ended, Direction: "inbound",
			Participants: []vault.Participant{{AOR: fmt.Sprintf("sip:agent%d@example.com", i%50), Name: names[i%len(names)], Role: "agent"}},
			Labels:       map[string]string{"queue": "billing"},
			Content:      vault.Content{SizeBytes: 96044, SHA256: hex.EncodeToString(sum[:]), SHA512: hex.EncodeToString(append(sum[:], sum[:]...)), MediaFormat: "audio/wav"},
			IngestedAt:   ingested,
		}
		if _, err := st.CreateRecording(ctx, store.CreateRecordingParams{Recording: rec, Actor: "bench"}); err != nil {
			return filled{}, err
		}
		res := vault.ProbeResult{OK: true, MediaFormat: "audio/wav", Codec: "pcm_s16le", SampleRate: 8000, Channels: 2, DurationMS: 180000}
		if i%10 == 9 {
			res = vault.ProbeResult{FailureReason: "not a WAV file"}
		}
		if _, err := st.FinishProcessing(ctx, store.FinishProcessingParams{ID: rec.ID, Result: res, Now: ingested}); err != nil {
			return filled{}, err
		}
		ids[i] = rec.ID
	}
	// Every recording is finished: the processing jobs their ingest
	// enqueued have nothing left to do, and would only load the server
	// while it is measured.
	if _, err := db.ExecContext(ctx, `DELETE FROM jobs WHERE kind = 'process_recording'`); err != nil {
		return filled{}, err
	}
	f := filled{recordingID: ids[n/2], deepCursor: base64.RawURLEncoding.EncodeToString([]byte(ids[n/2])), caseID: "BENCH-10"}
	for c := range 20 {
		var held []string
		for k := range 50 {
			held = append(held, ids[(c*7919+k*104729)%n])
		}
		slices.Sort(held)
		held = slices.Compact(held)
		_, err := st.CreateHold(ctx, store.CreateHoldParams{HoldID: vault.NewID("hold", now), Spec: store.HoldSpec{CaseID: "BENCH-" + strconv.Itoa(c), HoldReason: "benchmark", HoldDate: now},
			Filter: vault.RecordingFilter{RecordIDs: held}, Actor: "bench", Now: now})
		if err != nil {
			return filled{}, err
		}
	}
	return f, nil
}

type pageResult struct {
	page     string
	p50, p95 time.Duration
}

// server is one running holdfast with a signed-in console session.
type server struct {
	base  string
	hc    *http.Client
	f     filled
	cmd   *exec.Cmd
	pages []string
}

func (v *server) stop() {
	_ = v.cmd.Process.Signal(os.Interrupt)
	_ = v.cmd.Wait()
}

// startVault starts `holdfast serve` on dir and signs in to the console.
func startVault(bin, dir string, f filled) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "serve", "--listen", addr, "--data", dir, "--rate-limit", "100000", "--rate-burst", "100000")
	cmd.Env = append(os.Environ(), "HOLDFAST_BOOTSTRAP_TOKEN="+token)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	jar, _ := cookiejar.New(nil)
	v := &server{base: "http://" + addr, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second}, f: f, cmd: cmd}
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := v.hc.Get(v.base + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			v.stop()
			return nil, fmt.Errorf("server not ready within 60s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	req, _ := http.NewRequest(http.MethodPost, v.base+"/signin", strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", v.base)
	res, err := v.hc.Do(req)
	if err != nil {
		v.stop()
		return nil, err
	}
	res.Body.Close()
	v.pages = []string{
		"/", "/recordings", "/recordings?status=failed", "/recordings?cursor=" + f.deepCursor,
		"/recordings?media_type=SIP&from=2020-01-01T00:00", "/recordings?legal_hold=true", "/recordings?participant=chen",
		"/recordings/" + f.recordingID, "/cases", "/cases/" + f.caseID, "/exports", "/audit", "/audit?start=10",
	}
	return v, nil
}

func (v *server) get(p string) (time.Duration, error) {
	t0 := time.Now()
	res, err := v.hc.Get(v.base + p)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %d", p, res.StatusCode)
	}
	return time.Since(t0), nil
}

// measure times every page on every vault, alternating between the vaults
// request by request, so that a change in the machine's background load
// hits every size alike.
func measure(vaults []*server, reqs int) ([][]pageResult, error) {
	out := make([][]pageResult, len(vaults))
	for i := range vaults[0].pages {
		if _, err := vaults[0].get(vaults[0].pages[i]); err != nil {
			fmt.Fprintf(os.Stderr, "skipping %s: %v\n", vaults[0].pages[i], err)
			continue
		}
		ds := make([][]time.Duration, len(vaults))
		for r := -10; r < reqs; r++ {
			for k, v := range vaults {
				d, err := v.get(v.pages[i])
				if err != nil {
					return nil, err
				}
				if r >= 0 {
					ds[k] = append(ds[k], d)
				}
			}
		}
		for k := range vaults {
			slices.Sort(ds[k])
			out[k] = append(out[k], pageResult{page: shorten(vaults[k].pages[i]), p50: ds[k][len(ds[k])/2], p95: ds[k][len(ds[k])*95/100]})
		}
	}
	return out, nil
}

func report(w io.Writer, ns []int, results map[int][]pageResult) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprint(tw, "page")
	for _, n := range ns {
		fmt.Fprintf(tw, "\tp50 @%d\tp95 @%d", n, n)
	}
	if len(ns) == 2 {
		fmt.Fprint(tw, "\tp95 ratio")
	}
	fmt.Fprintln(tw)
	for i, r := range results[ns[0]] {
		fmt.Fprint(tw, r.page)
		for _, n := range ns {
			rs := results[n]
			if i < len(rs) && rs[i].page == r.page {
				fmt.Fprintf(tw, "\t%s\t%s", ms(rs[i].p50), ms(rs[i].p95))
			} else {
				fmt.Fprint(tw, "\t-\t-")
			}
		}
		if len(ns) == 2 && i < len(results[ns[1]]) && results[ns[1]][i].page == r.page {
			fmt.Fprintf(tw, "\t%.2f×", float64(results[ns[1]][i].p95)/float64(r.p95))
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}

func shorten(p string) string {
	if i := strings.Index(p, "cursor="); i >= 0 {
		return p[:i] + "cursor=<half-way>"
	}
	if strings.HasPrefix(p, "/recordings/rec_") {
		return "/recordings/{id}"
	}
	return p
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

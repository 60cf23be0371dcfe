// Command replicabench measures how soon a legal hold answered by one
// replica is in force on another: two `holdfast serve` processes (A, B)
// share one PostgreSQL schema and one S3 bucket; in each round the driver
// places a hold on A and, as soon as A answers, deletes the same recording
// on B, which must answer 409. It reports the latency from sending the
// hold to receiving B's refusal (p50, p95, p99, max), the two requests'
// own latencies, and the number of rounds where B did not refuse (which
// must be 0).
//
// It is a benchmark script, not a test: run it through bench/replicas.sh,
// which needs PostgreSQL and an S3-compatible server (see .ci/run).
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
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/holdfast/holdfast/internal/blob/s3blob"
	"github.com/holdfast/holdfast/internal/media/synth"
)

const token = "hf_bench_admin_token_0123456789abcdefghijklmnopqrstuv"

func main() {
	bin := flag.String("bin", "", "holdfast binary")
	work := flag.String("work", os.TempDir(), "scratch directory")
	pg := flag.String("database", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "PostgreSQL URL (a schema is created in it)")
	endpoint := flag.String("s3", "http://127.0.0.1:7070", "S3 endpoint (credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)")
	rounds := flag.Int("rounds", 500, "hold/delete rounds")
	recs := flag.Int("recordings", 20, "recordings to cycle through")
	flag.Parse()
	if err := run(*bin, *work, *pg, *endpoint, *rounds, *recs); err != nil {
		log.Fatal(err)
	}
}

func run(bin, work, pg, endpoint string, rounds, nrec int) error {
	ctx := context.Background()
	schema := fmt.Sprintf("bench_%d", time.Now().UnixNano())
	admin, err := sql.Open("pgx", pg)
	if err != nil {
		return err
	}
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		return fmt.Errorf("create schema: %w", err)
	}
	defer admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
	u, _ := url.Parse(pg)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()

	bucket := fmt.Sprintf("hf-bench-%d", time.Now().UnixNano())
	cfg := s3blob.Config{Bucket: bucket, Endpoint: endpoint, Region: "us-east-1", PathStyle: true}
	client, err := s3blob.NewClient(ctx, cfg)
	if err != nil {
		return err
	}
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &bucket, ObjectLockEnabledForBucket: aws.Bool(true)}); err != nil {
		return fmt.Errorf("create bucket: %w", err)
	}
	blobs := fmt.Sprintf("s3://%s/blobs?endpoint=%s&region=us-east-1&path_style=true", bucket, url.QueryEscape(endpoint))

	keyFile := filepath.Join(work, "signing-key")
	args := []string{"--database", u.String(), "--blobs", blobs, "--signing-key", keyFile, "--rate-limit", "10000", "--rate-burst", "10000"}
	a, err := start(bin, filepath.Join(work, "a"), args)
	if err != nil {
		return err
	}
	defer a.stop()
	b, err := start(bin, filepath.Join(work, "b"), args)
	if err != nil {
		return err
	}
	defer b.stop()

	ids, err := ingest(a.url, nrec)
	if err != nil {
		return err
	}
	var total, hold, del []time.Duration
	misses := 0
	for i := range rounds {
		id := ids[i%len(ids)]
		t0 := time.Now()
		st, body, err := call(http.MethodPost, a.url+"/api/v2/recordings/legalholds",
			`{"recordings":[{"id":"`+id+`","metadata":{"legal_hold":true,"hold_reason":"bench","hold_date":"2026-11-30T00:00:00Z","case_id":"BENCH"}}]}`)
		if err != nil || st != 200 {
			return fmt.Errorf("hold on A: %d %s %v", st, body, err)
		}
		t1 := time.Now()
		dst, dbody, err := call(http.MethodDelete, b.url+"/api/v2/recordings/"+id, "")
		t2 := time.Now()
		if err != nil {
			return err
		}
		if dst != http.StatusConflict {
			misses++
			log.Printf("round %d: B answered %d %s", i, dst, dbody)
		}
		total, hold, del = append(total, t2.Sub(t0)), append(hold, t1.Sub(t0)), append(del, t2.Sub(t1))
		var res struct {
			Results []struct {
				HoldID string `json:"hold_id"`
			} `json:"results"`
		}
		if err := json.Unmarshal(body, &res); err != nil || len(res.Results) != 1 {
			return fmt.Errorf("hold answer %s: %v", body, err)
		}
		if st, body, err := call(http.MethodPost, a.url+"/api/v2/legalholds/"+res.Results[0].HoldID+"/release", `{"release_reason":"bench round over"}`); err != nil || st != 200 {
			return fmt.Errorf("release on A: %d %s %v", st, body, err)
		}
	}
	fmt.Printf("rounds %d, misses %d (B answered something other than 409)\n", rounds, misses)
	for _, m := range []struct {
		name string
		d    []time.Duration
	}{{"hold sent on A -> 409 from B", total}, {"hold on A (request)", hold}, {"delete on B (request)", del}} {
		fmt.Printf("%-30s p50 %7s  p95 %7s  p99 %7s  max %7s\n", m.name, pct(m.d, 50), pct(m.d, 95), pct(m.d, 99), pct(m.d, 100))
	}
	if misses > 0 {
		return fmt.Errorf("%d rounds missed", misses)
	}
	return nil
}

func pct(d []time.Duration, p int) string {
	s := slices.Clone(d)
	slices.Sort(s)
	i := min(len(s)-1, len(s)*p/100)
	return s[i].Round(10 * time.Microsecond).String()
}

var httpClient = &http.Client{Timeout: 30 * time.Second}

func call(method, u, body string) (int, []byte, error) {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, r)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

type replica struct {
	url string
	cmd *exec.Cmd
}

func (r *replica) stop() {
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
}

func start(bin, data string, args []string) (*replica, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, append([]string{"serve", "--listen", addr, "--data", data, "--log-level", "warn"}, args...)...)
	cmd.Env = append(os.Environ(), "HOLDFAST_BOOTSTRAP_TOKEN="+token)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	r := &replica{url: "http://" + addr, cmd: cmd}
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if st, _, err := call(http.MethodGet, r.url+"/readyz", ""); err == nil && st == 200 {
			return r, nil
		}
	}
	r.stop()
	return nil, fmt.Errorf("replica on %s did not become ready", addr)
}

func multipartBody(meta, wav []byte) (io.Reader, string, error) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, part := range []struct {
		name, file string
		data       []byte
	}{{"metadata", "m.json", meta}, {"media", "call.wav", wav}} {
		w, err := mw.CreateFormFile(part.name, part.file)
		if err != nil {
			return nil, "", err
		}
		if _, err := w.Write(part.data); err != nil {
			return nil, "", err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, "", err
	}
	return &b, mw.FormDataContentType(), nil
}

func ingest(base string, n int) ([]string, error) {
	calls := synth.Generate(rand.New(rand.NewPCG(7, 7)), n, synth.Options{Now: time.Now().UTC(), MinDuration: time.Second, MaxDuration: 2 * time.Second})
	var ids []string
	for _, c := range calls {
		var wav bytes.Buffer
		if err := c.WriteWAV(&wav); err != nil {
			return nil, err
		}
		body, ct, err := multipartBody(c.Metadata(), wav.Bytes())
		if err != nil {
			return nil, err
		}
		req, _ := http.NewRequest(http.MethodPost, base+"/api/v2/recordings", body)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", ct)
		resp, err := httpClient.Do(req)
		if err != nil {
			return nil, err
		}
		var rec struct {
			ID string `json:"id"`
		}
		err = json.NewDecoder(resp.Body).Decode(&rec)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusAccepted {
			return nil, fmt.Errorf("ingest: %d %v", resp.StatusCode, err)
		}
		ids = append(ids, rec.ID)
	}
	return ids, nil
}

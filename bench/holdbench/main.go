// Command holdbench measures holds and listings over a million recordings,
// against the database's own cost, on SQLite and on PostgreSQL, each in
// one run on the same machine:
//
//   - building a database of -n recordings with set-based SQL (no HTTP);
//   - POST /api/v2/legalholds with {"filter":{"media_type":"SIP"}} over
//     all but one of them, against a bare INSERT … SELECT of the same
//     rows into the same table of the same database;
//   - the size of that hold's response body and of its audit entry;
//   - GET /api/v2/recordings?limit=100 a million rows deep, against the
//     first page, unfiltered and under each filter the server knows;
//   - database bytes per recording and per held recording, for the
//     capacity model in docs/scale.md.
//
// It is a benchmark, not a test: run it through bench/run-holds.sh. Every
// timed figure is the median of -reps runs, alternating the order of the
// two sides of each ratio.
package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/holdfast/holdfast/internal/store/pgstore"
	"github.com/holdfast/holdfast/internal/store/sqlitestore"
	"github.com/holdfast/holdfast/internal/store/sqlstore"
)

const token = "hf_bench_admin_token_0123456789abcdefghijklmnopqrstuv"

type config struct {
	bin, work, pgURL string
	n, reps, pages   int
	backends         []string
}

// result is one backend's figures.
type result struct {
	Backend        string             `json:"backend"`
	Recordings     int                `json:"recordings"`
	SeedSeconds    float64            `json:"seed_seconds"`
	BareSeconds    float64            `json:"bare_insert_select_seconds"`
	HoldSeconds    float64            `json:"hold_seconds"`
	HoldRatio      float64            `json:"hold_ratio"`
	Matched        int                `json:"matched"`
	BodyBytes      int                `json:"hold_response_bytes"`
	EntryBytes     int                `json:"audit_entry_bytes"`
	Pages          []pageResult       `json:"pages"`
	BytesPerRec    float64            `json:"db_bytes_per_recording"`
	BytesPerHeld   float64            `json:"db_bytes_per_held_recording"`
	HoldRowsPerSec float64            `json:"hold_rows_per_second"`
	Extra          map[string]float64 `json:"extra,omitempty"`
}

type pageResult struct {
	Query    string  `json:"query"`
	FirstMS  float64 `json:"first_page_ms"`
	DeepMS   float64 `json:"deep_page_ms"`
	Ratio    float64 `json:"ratio"`
	DeepRows int     `json:"deep_rows"`
}

func main() {
	var c config
	var backends, out string
	flag.StringVar(&c.bin, "bin", "", "holdfast binary (required)")
	flag.StringVar(&c.work, "work", "", "scratch directory (required)")
	flag.StringVar(&c.pgURL, "pg", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "PostgreSQL URL; a schema of its own is created and dropped")
	flag.IntVar(&c.n, "n", 1_000_001, "recordings in the database (all SIP but the last)")
	flag.IntVar(&c.reps, "reps", 3, "repetitions of each timed measurement (median reported)")
	flag.IntVar(&c.pages, "pages", 30, "requests per page measurement")
	flag.StringVar(&backends, "backends", "sqlite,postgres", "backends to measure")
	flag.StringVar(&out, "out", "", "also write the results as JSON to this file")
	flag.Parse()
	if c.bin == "" || c.work == "" {
		flag.Usage()
		os.Exit(2)
	}
	c.backends = strings.Split(backends, ",")
	// An interrupt cancels the statements and requests under way, so the
	// server is stopped and the PostgreSQL schema dropped on the way out.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var all []result
	for _, b := range c.backends {
		r, err := run(ctx, c, b)
		if err != nil {
			stop()
			log.Fatalf("%s: %v", b, err)
		}
		all = append(all, r)
		report(r)
	}
	if out != "" {
		b, _ := json.MarshalIndent(all, "", "  ")
		if err := os.WriteFile(out, b, 0o644); err != nil {
			log.Fatal(err)
		}
	}
}

// bench is one backend under measurement.
type bench struct {
	c       config
	backend string
	db      *sql.DB
	store   *sqlstore.Store
	dbURL   string // for holdfast serve --database ("" = embedded SQLite)
	data    string
	cleanup func()
}

func run(ctx context.Context, c config, backend string) (result, error) {
	b := &bench{c: c, backend: backend, data: filepath.Join(c.work, backend)}
	if err := os.MkdirAll(b.data, 0o750); err != nil {
		return result{}, err
	}
	var err error
	switch backend {
	case "sqlite":
		b.store, err = sqlitestore.Open(ctx, filepath.Join(b.data, "holdfast.db"))
		b.cleanup = func() {}
	case "postgres":
		err = b.openPG(ctx)
	default:
		err = fmt.Errorf("unknown backend %q", backend)
	}
	if err != nil {
		return result{}, err
	}
	defer b.cleanup()
	defer b.store.Close()
	b.db = b.store.DB()
	res := result{Backend: backend, Recordings: c.n, Extra: map[string]float64{}}

	log.Printf("%s: seeding %d recordings", backend, c.n)
	t0 := time.Now()
	if err := b.seed(ctx); err != nil {
		return res, fmt.Errorf("seed: %w", err)
	}
	res.SeedSeconds = time.Since(t0).Seconds()
	if _, err := b.db.ExecContext(ctx, `ANALYZE`); err != nil {
		return res, err
	}
	sizeBefore, err := b.size(ctx)
	if err != nil {
		return res, err
	}
	res.BytesPerRec = float64(sizeBefore) / float64(c.n)

	srv, err := startServer(ctx, c.bin, b.data, b.dbURL)
	if srv != nil {
		srv.ctx = ctx
	}
	if err != nil {
		return res, err
	}
	defer srv.stop()

	var bare, hold []float64
	for rep := range c.reps {
		steps := []func() error{
			func() error {
				d, err := b.bareInsert(ctx, rep)
				bare = append(bare, d)
				return err
			},
			func() error {
				d, err := b.apiHold(ctx, srv, rep, &res)
				hold = append(hold, d)
				return err
			},
		}
		if rep%2 == 1 {
			slices.Reverse(steps)
		}
		for _, step := range steps {
			if err := step(); err != nil {
				return res, err
			}
		}
	}
	res.BareSeconds, res.HoldSeconds = median(bare), median(hold)
	ratios := make([]float64, len(hold))
	for i := range hold {
		ratios[i] = hold[i] / bare[i]
	}
	res.HoldRatio = median(ratios)
	for i, r := range ratios {
		res.Extra[fmt.Sprintf("hold_ratio_round_%d", i+1)] = r
	}
	res.HoldRowsPerSec = float64(res.Matched) / res.HoldSeconds

	// Leave one hold in place to measure what held recordings cost.
	if _, _, err := srv.post("/api/v2/legalholds", `{"case_id": "BENCH-CASE", "hold_reason": "bench: size", "filter": {"media_type": "SIP"}}`); err != nil {
		return res, err
	}
	if _, err := b.db.ExecContext(ctx, `ANALYZE`); err != nil {
		return res, err
	}
	sizeAfter, err := b.size(ctx)
	if err != nil {
		return res, err
	}
	res.BytesPerHeld = float64(sizeAfter-sizeBefore) / float64(res.Matched)

	res.Pages, err = pages(srv, c)
	return res, err
}

// openPG creates a schema of its own in the PostgreSQL database.
func (b *bench) openPG(ctx context.Context) error {
	admin, err := sql.Open("pgx", b.c.pgURL)
	if err != nil {
		return err
	}
	schema := fmt.Sprintf("holdbench_%d", os.Getpid())
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		admin.Close()
		return err
	}
	u, err := url.Parse(b.c.pgURL)
	if err != nil {
		return err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	b.dbURL = u.String()
	b.cleanup = func() {
		_, _ = admin.ExecContext(context.Background(), `DROP SCHEMA `+schema+` CASCADE`)
		admin.Close()
	}
	b.store, err = pgstore.Open(ctx, b.dbURL)
	return err
}

// seed inserts the recordings with one set-based statement: n recordings,
// one second apart, all SIP but the last (CHAT), completed, each labelled
// queue=billing.
func (b *bench) seed(ctx context.Context) error {
	const cols = `id, media_type, status, call_id, started_at, participants, labels, size_bytes, sha256, sha512, media_format, ingested_at, completed_at`
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	sha256 := strings.Repeat("0", 64)
	sha512 := strings.Repeat("0", 128)
	var q string
	switch b.backend {
	case "sqlite":
		q = `WITH RECURSIVE c(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM c WHERE x < $1 - 1)
INSERT INTO recordings (` + cols + `)
SELECT printf('rec_%026d', x), CASE WHEN x = $1 - 1 THEN 'CHAT' ELSE 'SIP' END, 'completed', printf('call-%d@bench.example', x),
	$2 + x * 1000000000, '[]', '{"queue":"billing"}', 160000, $3, $4, 'audio/wav', $2 + x * 1000000000, $2 + x * 1000000000 FROM c`
	default:
		q = `INSERT INTO recordings (` + cols + `)
SELECT 'rec_' || lpad(x::text, 26, '0'), CASE WHEN x = $1 - 1 THEN 'CHAT' ELSE 'SIP' END, 'completed', 'call-' || x || '@bench.example',
	$2::bigint + x::bigint * 1000000000, '[]', '{"queue":"billing"}', 160000, $3, $4, 'audio/wav', $2::bigint + x::bigint * 1000000000, $2::bigint + x::bigint * 1000000000
FROM generate_series(0, $1::int - 1) AS x`
	}
	tx, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, q, b.c.n, base, sha256, sha512); err != nil {
		_ = tx.Rollback()
		return err
	}
	// The label rows and per-status counters the store keeps in its own
	// transactions.
	for _, stmt := range []string{`INSERT INTO recording_labels (name, value, recording_id) SELECT 'queue', 'billing', id FROM recordings`,
		`DELETE FROM recording_counts`, `INSERT INTO recording_counts (status, n) SELECT status, COUNT(*) FROM recordings GROUP BY status`} {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			_ = tx.Rollback()
			return err
		}
	}
	return tx.Commit()
}

// bareInsert times the database's own cost of the hold: the same rows
// into the same table, in one INSERT … SELECT in one transaction. The rows
// are removed afterwards (not timed).
func (b *bench) bareInsert(ctx context.Context, rep int) (float64, error) {
	id := fmt.Sprintf("hold_bare%021d", rep)
	if _, err := b.db.ExecContext(ctx, `INSERT INTO holds (id, hold_reason, hold_date, applied_at, applied_by) VALUES ($1, 'bare', 0, 0, 'bench')`, id); err != nil {
		return 0, err
	}
	t0 := time.Now()
	tx, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO hold_recordings (hold_id, recording_id, applied_at) SELECT CAST($1 AS TEXT), id, CAST($2 AS BIGINT) FROM recordings WHERE media_type = $3`,
		id, time.Now().UnixNano(), "SIP"); err != nil {
		_ = tx.Rollback()
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	d := time.Since(t0).Seconds()
	log.Printf("%s: bare INSERT … SELECT %.2fs", b.backend, d)
	return d, b.dropRows(ctx, id)
}

// dropRows removes a measured hold's rows so every repetition starts from
// the same table (not timed).
func (b *bench) dropRows(ctx context.Context, holdID string) error {
	if _, err := b.db.ExecContext(ctx, `DELETE FROM hold_recordings WHERE hold_id = $1`, holdID); err != nil {
		return err
	}
	if _, err := b.db.ExecContext(ctx, `UPDATE holds SET released_at = 1 WHERE id = $1`, holdID); err != nil {
		return err
	}
	if b.backend == "postgres" {
		_, err := b.db.ExecContext(ctx, `VACUUM ANALYZE hold_recordings`)
		return err
	}
	_, err := b.db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
	return err
}

// apiHold times the hold through the API of a running server and records
// the size of its answer and of its audit entry.
func (b *bench) apiHold(ctx context.Context, srv *server, rep int, res *result) (float64, error) {
	t0 := time.Now()
	body, status, err := srv.post("/api/v2/legalholds", fmt.Sprintf(`{"case_id": "BENCH-%d", "hold_reason": "bench", "filter": {"media_type": "SIP"}}`, rep))
	d := time.Since(t0).Seconds()
	if err != nil {
		return 0, err
	}
	if status != http.StatusCreated {
		return 0, fmt.Errorf("hold: %d %s", status, body)
	}
	var h struct {
		HoldID  string `json:"hold_id"`
		Matched int    `json:"matched"`
	}
	if err := json.Unmarshal(body, &h); err != nil {
		return 0, err
	}
	res.Matched, res.BodyBytes = h.Matched, len(body)
	entry, err := srv.holdEntry(h.HoldID)
	if err != nil {
		return 0, err
	}
	res.EntryBytes = len(entry)
	log.Printf("%s: hold over %d recordings %.2fs, body %d B, audit entry %d B", b.backend, h.Matched, d, len(body), len(entry))
	return d, b.dropRows(ctx, h.HoldID)
}

// size is the database's size in bytes: the SQLite file (with its WAL
// checkpointed), or the PostgreSQL tables of the schema with their indexes.
func (b *bench) size(ctx context.Context) (int64, error) {
	if b.backend == "sqlite" {
		if _, err := b.db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
			return 0, err
		}
		var pages, pageSize, free int64
		if err := b.db.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages); err != nil {
			return 0, err
		}
		if err := b.db.QueryRowContext(ctx, `PRAGMA page_size`).Scan(&pageSize); err != nil {
			return 0, err
		}
		if err := b.db.QueryRowContext(ctx, `PRAGMA freelist_count`).Scan(&free); err != nil {
			return 0, err
		}
		return (pages - free) * pageSize, nil
	}
	var n int64
	err := b.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = current_schema() AND c.relkind = 'r'`).Scan(&n)
	return n, err
}

// pages times the first page and a page a million rows deep, unfiltered
// and under each filter that selects (almost) every recording.
func pages(srv *server, c config) ([]pageResult, error) {
	deepAfter := fmt.Sprintf("rec_%026d", c.n-101) // the last 100 rows follow it
	var out []pageResult
	for _, q := range []string{"", "media_type=SIP", "status=completed", "from=2025-01-01T00:00:00Z&to=2099-01-01T00:00:00Z",
		"case_id=BENCH-CASE", "legal_hold=true", "label=queue:billing", "label=queue:none"} {
		base := "/api/v2/recordings?limit=100"
		if q != "" {
			base += "&" + q
		}
		deep := base + "&cursor=" + base64.RawURLEncoding.EncodeToString([]byte(deepAfter))
		if _, status, err := srv.get(base); err != nil {
			return nil, err
		} else if status != http.StatusOK {
			log.Printf("skipping filter %q: %d", q, status)
			continue
		}
		var first, deepT []float64
		rows := 0
		for i := range c.pages {
			for _, p := range []string{base, deep} {
				if i%2 == 1 {
					p = map[string]string{base: deep, deep: base}[p]
				}
				t0 := time.Now()
				body, status, err := srv.get(p)
				d := float64(time.Since(t0).Microseconds()) / 1000
				if err != nil || status != http.StatusOK {
					return nil, fmt.Errorf("GET %s: %d %v", p, status, err)
				}
				if p == deep {
					deepT = append(deepT, d)
					var page struct {
						Items []json.RawMessage `json:"items"`
					}
					_ = json.Unmarshal(body, &page)
					rows = len(page.Items)
				} else {
					first = append(first, d)
				}
			}
		}
		r := pageResult{Query: q, FirstMS: median(first), DeepMS: median(deepT), DeepRows: rows}
		r.Ratio = r.DeepMS / r.FirstMS
		out = append(out, r)
	}
	return out, nil
}

func report(r result) {
	fmt.Printf("\n== %s: %d recordings (seeded in %.1f s)\n", r.Backend, r.Recordings, r.SeedSeconds)
	fmt.Printf("hold by filter over %d recordings: %.2f s; bare INSERT … SELECT: %.2f s (medians); ratio %.2f, median of the rounds' ratios %v (goal ≤ 2)\n",
		r.Matched, r.HoldSeconds, r.BareSeconds, r.HoldRatio, roundRatios(r))
	fmt.Printf("hold response body: %d B; its audit entry: %d B (goal < 4096 each)\n", r.BodyBytes, r.EntryBytes)
	fmt.Printf("database: %.0f B per recording, %.0f B per held recording; hold rate %.0f rows/s\n", r.BytesPerRec, r.BytesPerHeld, r.HoldRowsPerSec)
	for _, p := range r.Pages {
		q := p.Query
		if q == "" {
			q = "(no filter)"
		}
		fmt.Printf("GET /api/v2/recordings?limit=100 %-55s first %.1f ms, 999,901 rows deep %.1f ms (%d rows): ratio %.2f\n", q, p.FirstMS, p.DeepMS, p.DeepRows, p.Ratio)
	}
}

func roundRatios(r result) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := r.Extra[fmt.Sprintf("hold_ratio_round_%d", i)]
		if !ok {
			return out
		}
		out = append(out, fmt.Sprintf("%.2f", v))
	}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// server is a running `holdfast serve`.
type server struct {
	ctx  context.Context
	url  string
	cmd  *exec.Cmd
	done chan struct{}
	hc   *http.Client
}

func startServer(ctx context.Context, bin, data, dbURL string) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	args := []string{"serve", "--listen", addr, "--data", data, "--rate-limit", "1000000", "--rate-burst", "1000000", "--log-level", "warn"}
	if dbURL != "" {
		args = append(args, "--database", dbURL)
	}
	logf, err := os.OpenFile(data+".log", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "HOLDFAST_BOOTSTRAP_TOKEN="+token)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{url: "http://" + addr, cmd: cmd, done: make(chan struct{}), hc: &http.Client{Timeout: 10 * time.Minute}}
	go func() { cmd.Wait(); logf.Close(); close(s.done) }()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if resp, err := s.hc.Get(s.url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case <-s.done:
			return nil, fmt.Errorf("holdfast serve exited early; see %s.log", data)
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, errors.New("holdfast serve was not ready within 2 minutes")
		}
	}
}

func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

func (s *server) do(method, path, body string) ([]byte, int, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	ctx := s.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	req, err := http.NewRequestWithContext(ctx, method, s.url+path, rd)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return b, resp.StatusCode, err
}

func (s *server) get(path string) ([]byte, int, error) { return s.do(http.MethodGet, path, "") }
func (s *server) post(path, body string) ([]byte, int, error) {
	return s.do(http.MethodPost, path, body)
}

// holdEntry returns the hold.applied audit entry of a hold as the API
// serves it (the newest entries are read, newest last).
func (s *server) holdEntry(holdID string) ([]byte, error) {
	body, status, err := s.get("/api/v2/audit/entries?start=0&limit=1")
	if err != nil || status != http.StatusOK {
		return nil, fmt.Errorf("audit entries: %d %v", status, err)
	}
	var page struct {
		TreeSize int64 `json:"tree_size"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		return nil, err
	}
	start := max(page.TreeSize-20, 0)
	body, status, err = s.get(fmt.Sprintf("/api/v2/audit/entries?start=%d&limit=20", start))
	if err != nil || status != http.StatusOK {
		return nil, fmt.Errorf("audit entries: %d %v", status, err)
	}
	var entries struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(body, &entries); err != nil {
		return nil, err
	}
	for _, raw := range slices.Backward(entries.Items) {
		var e struct {
			Type    string `json:"type"`
			Subject string `json:"subject"`
		}
		if json.Unmarshal(raw, &e) == nil && e.Type == "hold.applied" && e.Subject == holdID {
			var compact bytes.Buffer
			if err := json.Compact(&compact, raw); err != nil {
				return nil, err
			}
			return compact.Bytes(), nil
		}
	}
	return nil, fmt.Errorf("no hold.applied entry for %s among the last 20", holdID)
}

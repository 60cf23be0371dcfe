package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/holdfast/holdfast/client"
	"github.com/holdfast/holdfast/internal/media/synth"
	"github.com/holdfast/holdfast/internal/server"
)

func newDemoCommand(e *env) *cobra.Command {
	var dir string
	var calls, processing int
	var keep bool
	cmd := &cobra.Command{
		Use:     "demo",
		Example: "  holdfast demo\n  holdfast demo --dir ./demo --calls 20",
		Short:   "Run the whole flow on an embedded server: synthetic SIP calls, a legal-hold export, verification",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if calls < 1 || processing < 0 || processing > calls {
				return usagef("--calls must be at least 1 and --processing between 0 and --calls")
			}
			return runDemo(cmd.Context(), e, dir, calls, processing, keep)
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "directory for the demo's data and bag (default: a new temporary directory)")
	cmd.Flags().IntVar(&calls, "calls", 12, "synthetic SIP calls to ingest")
	cmd.Flags().IntVar(&processing, "processing", 3, "how many of them are still processing when the export starts")
	cmd.Flags().BoolVar(&keep, "keep-running", false, "keep serving the demo server until interrupted")
	return cmd
}

func runDemo(ctx context.Context, e *env, dir string, n, processing int, keep bool) error {
	start := time.Now()
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "holdfast-demo-"); err != nil {
			return err
		}
	}
	dataDir := filepath.Join(dir, "data")
	token := "hf_demo_" + client.NewIdempotencyKey()
	const delay = 3 * time.Second
	app, err := server.Open(ctx, server.Config{DataDir: dataDir, BootstrapToken: token, RateLimit: 1000, RateBurst: 2000,
		Faults: fmt.Sprintf("processing_delay=%s", delay), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return err
	}
	defer app.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srvCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- app.Run(srvCtx, ln) }()
	defer func() { stop(); <-done }()
	url := "http://" + ln.Addr().String()
	fmt.Fprintf(e.stdout, "holdfast demo: server on %s, data in %s\n", url, dataDir)

	c, err := client.New(url, token)
	if err != nil {
		return err
	}
	generated := synth.Generate(rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 42)), n, synth.Options{Now: time.Now().UTC(), Spread: 40 * time.Hour,
		MinDuration: 20 * time.Second, MaxDuration: 90 * time.Second})
	ingest := func(calls []synth.Call) ([]client.Recording, error) {
		var recs []client.Recording
		for _, call := range calls {
			var buf bytes.Buffer
			if err := call.WriteWAV(&buf); err != nil {
				return nil, err
			}
			b := buf.Bytes()
			rec, err := c.Ingest(ctx, client.IngestRequest{Metadata: call.Metadata(), SIPREC: call.SIPREC(), MediaName: call.FileBase() + ".wav",
				Media: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }})
			if err != nil {
				return nil, err
			}
			recs = append(recs, rec)
		}
		return recs, nil
	}
	first, err := ingest(generated[:n-processing])
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "ingested %d synthetic SIP calls (two-channel WAV with SIPREC metadata); waiting for them to be probed\n", len(first))
	for _, r := range first {
		for {
			got, err := c.GetRecording(ctx, r.ID)
			if err != nil {
				return err
			}
			if got.Status != "processing" {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if _, err := ingest(generated[n-processing:]); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "ingested %d more that are still processing (for %s) as the export starts\n\n", processing, delay)

	out := filepath.Join(dir, "export")
	o := &exportOptions{caseID: "DEMO-2026-001", legalHold: true, out: out, poll: 250 * time.Millisecond, wait: "1m"}
	o.sel.media = "sip"
	o.sel.since = 48 * time.Hour
	o.cf.server, o.cf.token = url, token
	fmt.Fprintf(e.stdout, "$ holdfast export --case DEMO-2026-001 --media sip --since 48h --legal-hold --out %s\n", out)
	if err := runExport(ctx, e, o); err != nil {
		return err
	}
	bags, _ := filepath.Glob(filepath.Join(out, "DEMO-2026-001_*"))
	bagDir := ""
	if len(bags) == 1 {
		bagDir = bags[0]
	}
	keyFile := filepath.Join(dir, "signing-key.pem")
	if pemKey, err := c.SigningKey(ctx); err == nil {
		_ = os.WriteFile(keyFile, pemKey, 0o644)
	}
	fmt.Fprintf(e.stdout, "\ndemo finished in %s.\n\nWhat to look at next:\n", time.Since(start).Round(100*time.Millisecond))
	fmt.Fprintf(e.stdout, "  the bag:        ls -R %s\n", bagDir)
	fmt.Fprintf(e.stdout, "  verify offline: holdfast verify --key %s %s\n", keyFile, bagDir)
	fmt.Fprintf(e.stdout, "  check the sig:  openssl pkeyutl -verify -pubin -inkey %s -rawin -in %s/tagmanifest-sha256.txt -sigfile %s/tagmanifest-sha256.txt.sig\n", keyFile, bagDir, bagDir)
	fmt.Fprintf(e.stdout, "  the API:        holdfast serve --data %s   (token: %s)\n", dataDir, token)
	fmt.Fprintf(e.stdout, "                  curl -H 'Authorization: Bearer %s' http://127.0.0.1:8640/api/v2/legalholds\n", token)
	fmt.Fprintf(e.stdout, "\nthe demo's files (%s) stay in %s; remove them with: rm -rf %s\n", humanBytes(dirSize(dir)), dir, dir)
	if keep {
		fmt.Fprintf(e.stdout, "\nthe demo server keeps running on %s until you press Ctrl-C\n", url)
		<-ctx.Done()
	}
	return nil
}

// dirSize is the total size of the regular files under dir.
func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// humanBytes renders a size as people read it ("57 MB").
func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%d MB", n>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%d kB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

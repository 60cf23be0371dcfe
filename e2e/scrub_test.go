package e2e_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/holdfast/holdfast/internal/testserver"
)

// TestScrubFindsChangedBlobs changes the stored bytes of one recording
// behind holdfast's back, on disk and in S3, and checks that scrubbing
// reports it by recording id: in /readyz (503 naming it), the
// holdfast_scrub_mismatches gauge and a recording.scrub_mismatch audit
// entry, while the untouched recording is not reported.
func TestScrubFindsChangedBlobs(t *testing.T) {
	t.Run("disk", func(t *testing.T) {
		srv := testserver.StartProcess(t, "", "--scrub-rate", "100000000")
		calls := makeCalls(101, 2)
		ids := ingestAll(t, sdk(t, srv), calls)
		waitProcessed(t, sdk(t, srv), ids)
		sum := sha256.Sum256(wavBytes(t, calls[0]))
		hx := hex.EncodeToString(sum[:])
		path := filepath.Join(srv.DataDir, "blobs", hx[0:2], hx[2:4], hx)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)/2] ^= 0xff
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		wantScrubReport(t, srv, ids[0], ids[1])
	})
	t.Run("s3", func(t *testing.T) {
		blobURL, env, cfg, s3c := s3BlobURL(t)
		srv := testserver.StartProcessEnv(t, "", env, "--blobs", blobURL, "--scrub-rate", "100000000")
		calls := makeCalls(102, 2)
		ids := ingestAll(t, sdk(t, srv), calls)
		waitProcessed(t, sdk(t, srv), ids)
		wav := wavBytes(t, calls[0])
		sum := sha256.Sum256(wav)
		hx := hex.EncodeToString(sum[:])
		key := cfg.Prefix + "/" + hx[:2] + "/" + hx
		wav[len(wav)/2] ^= 0xff
		if _, err := s3c.PutObject(t.Context(), &s3.PutObjectInput{Bucket: &cfg.Bucket, Key: &key, Body: bytes.NewReader(wav)}); err != nil {
			t.Fatal(err)
		}
		wantScrubReport(t, srv, ids[0], ids[1])
	})
}

func wantScrubReport(t *testing.T, srv *testserver.Server, bad, good string) {
	t.Helper()
	var ready resp
	waitUntil(t, "/readyz reports the changed blob", 60*time.Second, func() bool {
		ready = do(t, srv.URL, "", http.MethodGet, "/readyz", nil)
		return ready.Status == http.StatusServiceUnavailable
	})
	if !strings.Contains(string(ready.Body), bad) || strings.Contains(string(ready.Body), good) {
		t.Errorf("/readyz = %s; want it to name %s and not %s", ready.Body, bad, good)
	}
	m := do(t, srv.URL, "", http.MethodGet, "/metrics", nil)
	if !strings.Contains(string(m.Body), "\nholdfast_scrub_mismatches 1\n") {
		t.Errorf("metrics lack holdfast_scrub_mismatches 1")
	}
	var found bool
	for _, e := range allAuditEntries(t, sdk(t, srv)) {
		if e.Type == "recording.scrub_mismatch" {
			if e.Subject != bad {
				t.Errorf("scrub mismatch audited for %s, want %s", e.Subject, bad)
			}
			found = true
		}
	}
	if !found {
		t.Error("no recording.scrub_mismatch audit entry")
	}
}

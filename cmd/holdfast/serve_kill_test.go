package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/holdfast/holdfast/client"
	"github.com/holdfast/holdfast/internal/media/synth"
	"github.com/holdfast/holdfast/internal/testserver"
)

// TestKillMidUploadAndRestart SIGKILLs a real server while an upload is
// streaming and while earlier recordings are still processing, then
// restarts it: the partial upload leaves no recording and no complete
// looking blob, and the processing recordings finish.
func TestKillMidUploadAndRestart(t *testing.T) {
	t.Parallel()
	srv := testserver.StartProcess(t, "", "--faults", "processing_delay=2s")
	c := srv.Client(t)
	ctx := context.Background()
	calls := synth.Generate(rand.New(rand.NewPCG(11, 12)), 4, synth.Options{Now: time.Now().UTC(), MinDuration: 20 * time.Second, MaxDuration: 40 * time.Second})
	wavs := make([][]byte, len(calls))
	for i, call := range calls {
		var buf bytes.Buffer
		if err := call.WriteWAV(&buf); err != nil {
			t.Fatal(err)
		}
		wavs[i] = buf.Bytes()
	}
	var ids []string
	for i := range 3 {
		rec, err := c.Ingest(ctx, client.IngestRequest{Metadata: calls[i].Metadata(), Media: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(wavs[i])), nil }})
		if err != nil {
			t.Fatal(err)
		}
		if rec.Status != "processing" {
			t.Fatalf("recording %d is %s, want processing (processing_delay)", i, rec.Status)
		}
		ids = append(ids, rec.ID)
	}

	// Start the fourth upload and stop feeding it half way.
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	req, _ := http.NewRequest("POST", srv.URL+"/api/v2/recordings", pr)
	req.Header.Set("Authorization", "Bearer "+testserver.AdminToken)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	done := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	w, _ := mw.CreateFormFile("metadata", "m.json")
	w.Write(calls[3].Metadata())
	w, _ = mw.CreateFormFile("media", "c.wav")
	half := len(wavs[3]) / 2
	if _, err := w.Write(wavs[3][:half]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // let the server write what it has
	srv.Kill()
	pw.CloseWithError(io.ErrClosedPipe)
	<-done

	assertNoPartialBlob(t, srv.DataDir)
	srv.Restart()
	assertNoPartialBlob(t, srv.DataDir)
	if entries, _ := os.ReadDir(filepath.Join(srv.DataDir, "blobs", ".tmp")); len(entries) != 0 {
		t.Fatalf("temporary upload files survived the restart: %d", len(entries))
	}

	deadline := time.Now().Add(30 * time.Second)
	for {
		page, err := c.ListRecordings(ctx, client.ListRecordingsParams{})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) != 3 {
			t.Fatalf("after restart %d recordings exist, want the 3 complete uploads", len(page.Items))
		}
		completed := 0
		for i, r := range page.Items {
			if r.ID != ids[i] {
				t.Fatalf("recording %d is %s, want %s", i, r.ID, ids[i])
			}
			if r.Status == "completed" {
				sum := sha256.Sum256(wavs[i])
				if r.Content.SHA256 != hex.EncodeToString(sum[:]) || r.DurationMS == nil || *r.DurationMS != calls[i].Duration().Milliseconds() {
					t.Fatalf("recording %d completed wrong: %+v", i, r)
				}
				completed++
			}
		}
		if completed == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("recordings left in processing before the crash did not finish after restart:\n%s", srv.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
	out, err := exec.Command(testserver.Binary(t), "audit", "verify", "--server", srv.URL, "--token", testserver.AdminToken).CombinedOutput()
	if err != nil {
		t.Fatalf("audit verify after crash: %v\n%s", err, out)
	}
}

// assertNoPartialBlob checks that every blob stored under a final name
// hashes to that name.
func assertNoPartialBlob(t *testing.T, dataDir string) {
	t.Helper()
	root := filepath.Join(dataDir, "blobs")
	n := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.Contains(path, string(filepath.Separator)+".tmp"+string(filepath.Separator)) {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		if hex.EncodeToString(sum[:]) != filepath.Base(path) {
			t.Errorf("blob %s does not hash to its name: partial content under a final name", path)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("%d complete blobs on disk, want 3", n)
	}
}

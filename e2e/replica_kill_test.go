package e2e_test

import (
	"archive/tar"
	"bytes"
	"encoding/csv"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/holdfast/holdfast/client"
	"github.com/holdfast/holdfast/internal/testserver"
)

// TestReplicaDiesMidWork SIGKILLs replica A while 50 recordings are still
// processing and an export of 200 recordings is half done (the 150 ready
// ones copied, the job waiting for the rest). Replica B, on the same
// PostgreSQL and S3 bucket, finishes both within a minute of the kill; the
// bag downloaded from B verifies and lists each recording once.
func TestReplicaDiesMidWork(t *testing.T) {
	a, b, _, _ := twoReplicas(t, "--faults", "processing_delay=15s")
	ca, cb := sdk(t, a), sdk(t, b)
	ready := ingestAll(t, ca, makeCalls(121, 150))
	waitUntil(t, "the first 150 recordings are processed", 120*time.Second, func() bool {
		for _, id := range ready {
			r, err := cb.GetRecording(t.Context(), id)
			if err != nil || r.Status == "processing" {
				return false
			}
		}
		return true
	})
	late := ingestAll(t, ca, makeCalls(122, 50))
	job, err := ca.CreateExport(t.Context(), client.ExportRequest{Filter: client.Filter{MediaType: "SIP"}, Options: &client.ExportOptions{WaitForProcessing: "5m"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	if job.Progress.Matched != 200 {
		t.Fatalf("export matched %d recordings, want 200", job.Progress.Matched)
	}
	waitUntil(t, "A has copied the 150 ready recordings", 180*time.Second, func() bool {
		j, err := ca.GetExport(t.Context(), job.ID)
		return err == nil && j.Progress.Exported >= 150 && j.State == "waiting_for_recordings"
	})
	processing := 0
	for _, id := range late {
		if r, err := cb.GetRecording(t.Context(), id); err == nil && r.Status == "processing" {
			processing++
		}
	}
	if processing != 50 {
		t.Fatalf("%d of the 50 late recordings are processing at the kill, want 50", processing)
	}
	a.Kill()
	killed := time.Now()

	waitUntil(t, "B finishes the export and the processing", 60*time.Second, func() bool {
		j, err := cb.GetExport(t.Context(), job.ID)
		return err == nil && j.Finished()
	})
	took := time.Since(killed)
	for _, id := range late {
		if r, err := cb.GetRecording(t.Context(), id); err != nil || r.Status != "completed" {
			t.Errorf("late recording %s after the kill: %+v, %v", id, r.Status, err)
		}
	}
	done, err := cb.GetExport(t.Context(), job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if done.State != "completed" || done.Progress.Exported != 200 || done.Package == nil {
		t.Fatalf("export after the kill: state %s, progress %+v, failures %+v, error %q", done.State, done.Progress, done.Failures, done.Error)
	}
	t.Logf("B finished the export and the processing %s after A was killed", took.Round(time.Second))

	dir := downloadBag(t, b, job.ID)
	if out, code := runCLI(t, "verify", dir); code != 0 {
		t.Fatalf("holdfast verify of the bag from B: exit %d\n%s", code, out)
	}
	f, err := os.Open(filepath.Join(dir, "data", "index.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, r := range rows[1:] {
		seen[r[0]]++
	}
	for _, id := range append(ready, late...) {
		if seen[id] != 1 {
			t.Errorf("recording %s appears %d times in index.csv", id, seen[id])
		}
	}
	if len(rows)-1 != 200 {
		t.Errorf("index.csv has %d rows, want 200", len(rows)-1)
	}

}

// downloadBag fetches a finished export's tar from s and unpacks it,
// returning the bag directory.
func downloadBag(t *testing.T, s *testserver.Server, jobID string) string {
	t.Helper()
	r := do(t, s.URL, testserver.AdminToken, http.MethodGet, "/api/v2/bulk/recordingexports/"+jobID+"/package", nil)
	wantStatus(t, "package download", r, http.StatusOK)
	root := t.TempDir()
	tr := tar.NewReader(bytes.NewReader(r.Body))
	top := ""
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.FromSlash(h.Name)
		if top == "" {
			top = strings.SplitN(h.Name, "/", 2)[0]
		}
		path := filepath.Join(root, name)
		if h.Typeflag == tar.TypeDir {
			os.MkdirAll(path, 0o750)
			continue
		}
		os.MkdirAll(filepath.Dir(path), 0o750)
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(root, top)
}

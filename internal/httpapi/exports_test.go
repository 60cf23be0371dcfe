package httpapi_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/holdfast/holdfast/internal/bag"
	"github.com/holdfast/holdfast/internal/custody"
	"github.com/holdfast/holdfast/internal/testserver"
)

// waitJob polls a job until it reaches a final state.
func (h *apiHarness) waitJob(id string, timeout time.Duration) map[string]any {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		job := h.do("GET", "/api/v2/bulk/recordingexports/"+id, testserver.AdminToken, nil, nil).json(h.t)
		switch job["state"] {
		case "completed", "completed_with_errors", "failed", "cancelled":
			return job
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("job %s still %v after %s: %v", id, job["state"], timeout, job)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ingestCalls uploads n synthetic calls that started within the last day.
func (h *apiHarness) ingestCalls(seed uint64, n int, mediaType string) []string {
	h.t.Helper()
	var ids []string
	for i := range n {
		c, wav := call(h.t, seed*100+uint64(i))
		meta := strings.Replace(string(c.Metadata()), `"SIP"`, `"`+mediaType+`"`, 1)
		r := h.ingest(testserver.AdminToken, nil, [2]string{"metadata", meta}, [2]string{"media", string(wav)})
		if r.status != 202 {
			h.t.Fatalf("ingest: %d %s", r.status, r.body)
		}
		ids = append(ids, r.json(h.t)["id"].(string))
	}
	return ids
}

// TestUsersExportRequestWorks sends the exact request that failed for the
// user elsewhere and checks every promise of contract §7.
func TestUsersExportRequestWorks(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t)
	sip := h.ingestCalls(1, 4, "SIP")
	chat := h.ingestCalls(2, 1, "CHAT")
	now := time.Now().UTC()
	body := fmt.Sprintf(`{"filter": {"media_type": "SIP", "from": %q, "to": %q}, "metadata": {"legal_hold": true, "case_id": "LC-2024-001"}}`,
		now.Add(-48*time.Hour).Format(time.RFC3339), now.Add(time.Minute).Format(time.RFC3339))
	r := h.postJSON("/api/v2/bulk/recordingexports", testserver.AdminToken, body)
	if r.status != http.StatusAccepted {
		t.Fatalf("export: %d %s", r.status, r.body)
	}
	job := r.json(t)
	holdID, _ := job["hold_id"].(string)
	if holdID == "" || job["state"] != "queued" || r.header.Get("Location") != "/api/v2/bulk/recordingexports/"+job["id"].(string) {
		t.Fatalf("job %v, Location %q", job, r.header.Get("Location"))
	}
	if p := job["progress"].(map[string]any); p["matched"] != float64(4) {
		t.Fatalf("matched %v, want the 4 SIP recordings", p["matched"])
	}
	// Every matched recording is held by the time the answer arrived.
	for _, id := range sip {
		rec := h.do("GET", "/api/v2/recordings/"+id, testserver.AdminToken, nil, nil).json(t)
		holds := rec["holds"].([]any)
		if rec["legal_hold"] != true || len(holds) != 1 || holds[0].(map[string]any)["hold_id"] != holdID || holds[0].(map[string]any)["case_id"] != "LC-2024-001" {
			t.Fatalf("recording %s not held by %s: %v", id, holdID, rec)
		}
		if !strings.Contains(holds[0].(map[string]any)["hold_reason"].(string), "LC-2024-001") {
			t.Fatalf("default hold_reason does not name the case: %v", holds[0])
		}
	}
	if rec := h.do("GET", "/api/v2/recordings/"+chat[0], testserver.AdminToken, nil, nil).json(t); rec["legal_hold"] != false {
		t.Fatal("a CHAT recording outside the filter was held")
	}
	done := h.waitJob(job["id"].(string), 30*time.Second)
	if done["state"] != "completed" {
		t.Fatalf("job ended %v", done)
	}
	pkg := done["package"].(map[string]any)
	wantName := "LC-2024-001_" + job["id"].(string)
	if pkg["name"] != wantName || pkg["download_url"] != "/api/v2/bulk/recordingexports/"+job["id"].(string)+"/package" || len(pkg["tagmanifest_sha256"].(string)) != 64 {
		t.Fatalf("package %v", pkg)
	}
	dir := pkg["location"].(string)
	rep, err := bag.Validate(context.Background(), dir, bag.Options{})
	if err != nil || !rep.Valid() || rep.PayloadFiles != 9 {
		t.Fatalf("bag invalid (%v): %+v", err, rep)
	}
	res := custody.Verify(dir, h.srv.App.Audit.Signer.PublicKey())
	if len(res.Problems) != 0 || res.Recordings != 4 || !res.HasCustody {
		t.Fatalf("custody: %+v", res)
	}

	// The tar stream, file list and single files with Range.
	tr := h.do("GET", "/api/v2/bulk/recordingexports/"+job["id"].(string)+"/package", testserver.AdminToken, nil, nil)
	if tr.status != 200 || tr.header.Get("Content-Type") != "application/x-tar" {
		t.Fatalf("package: %d %v", tr.status, tr.header)
	}
	names := map[string][]byte{}
	rd := tar.NewReader(bytes.NewReader(tr.body))
	for {
		hd, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(hd.Name, wantName+"/") {
			t.Fatalf("tar entry %q outside the bag's top directory", hd.Name)
		}
		if hd.Typeflag == tar.TypeDir {
			continue
		}
		b, _ := io.ReadAll(rd)
		names[strings.TrimPrefix(hd.Name, wantName+"/")] = b
	}
	for _, want := range []string{"bagit.txt", "bag-info.txt", "manifest-sha256.txt", "manifest-sha512.txt", "tagmanifest-sha256.txt", "tagmanifest-sha512.txt",
		"tagmanifest-sha256.txt.sig", "custody/custody.json", "data/index.csv", "data/recordings/" + sip[0] + ".wav", "data/metadata/" + sip[0] + ".json"} {
		if _, ok := names[want]; !ok {
			t.Errorf("tar lacks %s", want)
		}
	}
	sum := sha256.Sum256(names["tagmanifest-sha256.txt"])
	if hex.EncodeToString(sum[:]) != pkg["tagmanifest_sha256"] {
		t.Fatal("tagmanifest_sha256 does not match the file")
	}
	list := h.do("GET", "/api/v2/bulk/recordingexports/"+job["id"].(string)+"/package/files", testserver.AdminToken, nil, nil).json(t)
	items := list["items"].([]any)
	if len(items) != len(names) {
		t.Fatalf("file list has %d entries, tar has %d", len(items), len(names))
	}
	for _, it := range items {
		f := it.(map[string]any)
		b := names[f["path"].(string)]
		s := sha256.Sum256(b)
		if f["sha256"] != hex.EncodeToString(s[:]) || f["size_bytes"] != float64(len(b)) {
			t.Fatalf("file list entry %v does not match the file", f)
		}
	}
	rel := "data/recordings/" + sip[1] + ".wav"
	part := h.do("GET", "/api/v2/bulk/recordingexports/"+job["id"].(string)+"/package/files/"+rel, testserver.AdminToken, nil, map[string]string{"Range": "bytes=44-99"})
	if part.status != 206 || !bytes.Equal(part.body, names[rel][44:100]) {
		t.Fatalf("ranged file: %d", part.status)
	}
	assertProblem(t, h.do("GET", "/api/v2/bulk/recordingexports/"+job["id"].(string)+"/package/files/../holdfast.db", testserver.AdminToken, nil, nil), 404, "not_found")
	assertProblem(t, h.do("GET", "/api/v2/bulk/recordingexports/"+job["id"].(string)+"/package/files/data/nope.wav", testserver.AdminToken, nil, nil), 404, "not_found")
}

func TestExportRequestShapesAndErrors(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t)
	ids := h.ingestCalls(3, 2, "SIP")
	exporter := h.postJSON("/api/v2/tokens", testserver.AdminToken, `{"name":"exporter","permissions":["recording:export"]}`).json(t)["token"].(string)

	// Shorthand shapes from other platforms mean the same as canonical ones.
	r := h.postJSON("/api/v2/bulk/recordingexports", testserver.AdminToken, fmt.Sprintf(`{"legal_hold": true, "case_id": "LC-7", "record_ids": [%q], "media_type": "sip"}`, ids[0]))
	if r.status != 202 {
		t.Fatalf("shorthand: %d %s", r.status, r.body)
	}
	j := r.json(t)
	if j["hold_id"] == "" || j["metadata"].(map[string]any)["case_id"] != "LC-7" || j["filter"].(map[string]any)["media_type"] != "SIP" ||
		j["progress"].(map[string]any)["matched"] != float64(1) {
		t.Fatalf("shorthand job %v", j)
	}
	// case_id alone selects the recordings under that case's holds.
	r = h.postJSON("/api/v2/bulk/recordingexports", testserver.AdminToken, `{"case_id": "LC-7"}`)
	if r.status != 202 || r.json(t)["progress"].(map[string]any)["matched"] != float64(1) || r.json(t)["hold_id"] != nil {
		t.Fatalf("case selection: %d %s", r.status, r.body)
	}

	tests := []struct {
		name, query, body string
		token             string
		status            int
		code              string
		fields            string
		msgPart           string
	}{
		{"legal_hold as query parameter", "?legal_hold=true", `{"filter":{"media_type":"SIP"}}`, testserver.AdminToken, 400, "validation_failed", "query.legal_hold", "JSON body under metadata"},
		{"same field twice", "", `{"legal_hold": true, "metadata": {"legal_hold": false}, "filter": {"media_type": "SIP"}}`, testserver.AdminToken, 400, "validation_failed", "legal_hold,metadata.legal_hold", "both"},
		{"no selector", "", `{"metadata": {"legal_hold": true}}`, testserver.AdminToken, 400, "validation_failed", "filter", "at least one"},
		{"bad hold_date", "", `{"filter":{"media_type":"SIP"},"metadata":{"legal_hold":true,"hold_date":"2023-11-01"}}`, testserver.AdminToken, 400, "validation_failed", "metadata.hold_date", "2023-11-01T00:00:00.000Z"},
		{"legal_hold string", "", `{"filter":{"media_type":"SIP"},"metadata":{"legal_hold":"true"}}`, testserver.AdminToken, 400, "validation_failed", "metadata.legal_hold", "JSON boolean"},
		{"unknown record id", "", `{"filter":{"record_ids":["rec_01M8BCHP8X47VC73TD32H8GC8G"]}}`, testserver.AdminToken, 400, "validation_failed", "filter.record_ids[0]", "no recording"},
		{"bad wait", "", `{"filter":{"media_type":"SIP"},"options":{"wait_for_processing":"soon"}}`, testserver.AdminToken, 400, "validation_failed", "options.wait_for_processing", "15m"},
		{"hold needs legalhold permission", "", `{"filter":{"media_type":"SIP"},"metadata":{"legal_hold":true}}`, exporter, 403, "permission_denied", "", "recording:export:legalhold"},
		{"malformed", "", `{"filter":`, testserver.AdminToken, 400, "malformed_json", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.postJSON("/api/v2/bulk/recordingexports"+tt.query, tt.token, tt.body)
			p := assertProblem(t, r, tt.status, tt.code)
			if got := strings.Join(fieldList(t, p), ","); got != tt.fields {
				t.Fatalf("fields %q, want %q (%v)", got, tt.fields, p)
			}
			if !strings.Contains(string(r.body), tt.msgPart) {
				t.Fatalf("answer lacks %q: %s", tt.msgPart, r.body)
			}
		})
	}
	// A rejected request changed nothing: only the two jobs above exist,
	// and only the first placed a hold.
	if l := h.do("GET", "/api/v2/bulk/recordingexports", testserver.AdminToken, nil, nil).json(t); len(l["items"].([]any)) != 2 {
		t.Fatalf("%d jobs exist", len(l["items"].([]any)))
	}
	if l := h.do("GET", "/api/v2/legalholds", testserver.AdminToken, nil, nil).json(t); len(l["items"].([]any)) != 1 {
		t.Fatalf("%d holds exist", len(l["items"].([]any)))
	}
	// The exporter token can export without a hold.
	if r := h.postJSON("/api/v2/bulk/recordingexports", exporter, `{"filter":{"media_type":"SIP"}}`); r.status != 202 {
		t.Fatalf("plain export by exporter: %d %s", r.status, r.body)
	}
}

// TestSlowAndFailedRecordings: a recording still processing past
// wait_for_processing and one that failed processing become failure
// entries; the rest are exported.
func TestSlowAndFailedRecordings(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t, testserver.WithFaults("processing_delay=2s"))
	ready := h.ingestCalls(4, 2, "SIP")
	broken := h.ingest(testserver.AdminToken, nil, [2]string{"metadata", fmt.Sprintf(`{"media_type":"SIP","started_at":%q}`, time.Now().UTC().Add(-time.Hour).Format(time.RFC3339))},
		[2]string{"media", "RIFF\x24\x00\x00\x00WAVEjunk" + strings.Repeat("\x00", 40)}).json(t)["id"].(string)
	deadline := time.Now().Add(20 * time.Second)
	for _, id := range append(ready, broken) {
		for h.do("GET", "/api/v2/recordings/"+id, testserver.AdminToken, nil, nil).json(t)["status"] == "processing" {
			if time.Now().After(deadline) {
				t.Fatal("recordings did not finish processing")
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	slow := h.ingestCalls(5, 1, "SIP")[0] // processing for 2 s
	r := h.postJSON("/api/v2/bulk/recordingexports", testserver.AdminToken, `{"filter":{"media_type":"SIP"},"metadata":{"legal_hold":true,"case_id":"LC-9"},"options":{"wait_for_processing":"500ms"}}`)
	if r.status != 202 {
		t.Fatalf("export: %d %s", r.status, r.body)
	}
	if rec := h.do("GET", "/api/v2/recordings/"+slow, testserver.AdminToken, nil, nil).json(t); rec["status"] != "processing" || rec["legal_hold"] != true {
		t.Fatalf("the processing recording must be held and included: %v", rec)
	}
	job := h.waitJob(r.json(t)["id"].(string), 30*time.Second)
	if job["state"] != "completed_with_errors" {
		t.Fatalf("state %v", job)
	}
	codes := map[string]string{}
	for _, f := range job["failures"].([]any) {
		m := f.(map[string]any)
		codes[m["recording_id"].(string)] = m["code"].(string)
		if m["message"] == "" {
			t.Fatalf("failure without message: %v", m)
		}
	}
	if codes[slow] != "recording_not_ready" || codes[broken] != "recording_failed_processing" || len(codes) != 2 {
		t.Fatalf("failures %v", codes)
	}
	p := job["progress"].(map[string]any)
	if p["exported"] != float64(2) || p["failed"] != float64(2) || p["pending"] != float64(0) || p["percent"] != float64(100) {
		t.Fatalf("progress %v", p)
	}
	dir := job["package"].(map[string]any)["location"].(string)
	rep, err := bag.Validate(context.Background(), dir, bag.Options{})
	if err != nil || !rep.Valid() || rep.PayloadFiles != 5 {
		t.Fatalf("bag: %v %+v", err, rep)
	}
}

func TestCancelKeepsHold(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t, testserver.WithFaults("processing_delay=30s"))
	id := h.ingestCalls(6, 1, "SIP")[0]
	r := h.postJSON("/api/v2/bulk/recordingexports", testserver.AdminToken, `{"filter":{"media_type":"SIP"},"metadata":{"legal_hold":true,"case_id":"LC-3"}}`)
	job := r.json(t)
	deadline := time.Now().Add(10 * time.Second)
	for h.do("GET", "/api/v2/bulk/recordingexports/"+job["id"].(string), testserver.AdminToken, nil, nil).json(t)["state"] != "waiting_for_recordings" {
		if time.Now().After(deadline) {
			t.Fatal("job never waited for the processing recording")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if c := h.do("DELETE", "/api/v2/bulk/recordingexports/"+job["id"].(string), testserver.AdminToken, nil, nil); c.status != 202 {
		t.Fatalf("cancel: %d %s", c.status, c.body)
	}
	done := h.waitJob(job["id"].(string), 15*time.Second)
	if done["state"] != "cancelled" || done["package"] != nil {
		t.Fatalf("after cancel: %v", done)
	}
	rec := h.do("GET", "/api/v2/recordings/"+id, testserver.AdminToken, nil, nil).json(t)
	if rec["legal_hold"] != true {
		t.Fatal("cancelling the export released its hold")
	}
	assertProblem(t, h.do("DELETE", "/api/v2/recordings/"+id, testserver.AdminToken, nil, nil), 409, "legal_hold_active")
	assertProblem(t, h.do("GET", "/api/v2/bulk/recordingexports/"+job["id"].(string)+"/package", testserver.AdminToken, nil, nil), 404, "not_found")
}

// TestContentMismatchIsNeverExportedSilently corrupts a stored blob; the
// export records content_mismatch instead of packaging the bad bytes.
func TestContentMismatchIsNeverExportedSilently(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t)
	ids := h.ingestCalls(7, 2, "SIP")
	rec := h.do("GET", "/api/v2/recordings/"+ids[0], testserver.AdminToken, nil, nil).json(t)
	deadline := time.Now().Add(10 * time.Second)
	for rec["status"] == "processing" && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		rec = h.do("GET", "/api/v2/recordings/"+ids[0], testserver.AdminToken, nil, nil).json(t)
	}
	sum := rec["content"].(map[string]any)["sha256"].(string)
	blobPath := filepath.Join(h.srv.DataDir, "blobs", sum[:2], sum[2:4], sum)
	b, err := os.ReadFile(blobPath)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(blobPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	job := h.waitJob(h.postJSON("/api/v2/bulk/recordingexports", testserver.AdminToken, `{"filter":{"media_type":"SIP"}}`).json(t)["id"].(string), 30*time.Second)
	fails := job["failures"].([]any)
	if job["state"] != "completed_with_errors" || len(fails) != 1 || fails[0].(map[string]any)["code"] != "content_mismatch" || fails[0].(map[string]any)["recording_id"] != ids[0] {
		t.Fatalf("job %v", job)
	}
	dir := job["package"].(map[string]any)["location"].(string)
	if _, err := os.Stat(filepath.Join(dir, "data", "recordings", ids[0]+".wav")); !os.IsNotExist(err) {
		t.Fatalf("the corrupted recording is in the bag: %v", err)
	}
	if rep, err := bag.Validate(context.Background(), dir, bag.Options{}); err != nil || !rep.Valid() {
		t.Fatalf("bag: %v %+v", err, rep)
	}
}

package client_test

// SDK happy paths against a real in-process server. The package is
// client_test because internal/testserver imports client.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/holdfast/holdfast/client"
	"github.com/holdfast/holdfast/internal/audit"
	"github.com/holdfast/holdfast/internal/media/synth"
	"github.com/holdfast/holdfast/internal/testserver"
)

// ingestCalls uploads n synthetic SIP calls and returns the recordings
// and their WAV bytes.
func ingestCalls(t *testing.T, c *client.Client, seed uint64, n int) ([]client.Recording, [][]byte) {
	t.Helper()
	calls := synth.Generate(rand.New(rand.NewPCG(seed, seed)), n, synth.Options{Now: time.Now().UTC(), Spread: 24 * time.Hour, MinDuration: 2 * time.Second, MaxDuration: 4 * time.Second})
	var recs []client.Recording
	var wavs [][]byte
	for _, call := range calls {
		var buf bytes.Buffer
		if err := call.WriteWAV(&buf); err != nil {
			t.Fatal(err)
		}
		b := buf.Bytes()
		rec, err := c.Ingest(context.Background(), client.IngestRequest{Metadata: call.Metadata(), SIPREC: call.SIPREC(), MediaName: call.FileBase() + ".wav",
			Media: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }})
		if err != nil {
			t.Fatalf("Ingest: %v", err)
		}
		recs = append(recs, rec)
		wavs = append(wavs, b)
	}
	return recs, wavs
}

func waitCompleted(t *testing.T, c *client.Client, id string) client.Recording {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r, err := c.GetRecording(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != "processing" {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("recording %s still processing", id)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func apiError(t *testing.T, err error, status int, code string) *client.Error {
	t.Helper()
	var e *client.Error
	if !errors.As(err, &e) {
		t.Fatalf("err %v (%T), want *client.Error %d %s", err, err, status, code)
	}
	if e.Status != status || e.Code != code {
		t.Fatalf("got %d %s (%s), want %d %s", e.Status, e.Code, e.Message, status, code)
	}
	if e.RequestID == "" || e.Message == "" {
		t.Errorf("problem without request_id or message: %+v", e)
	}
	return e
}

func TestSDKRecordingsAndHolds(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	c := srv.Client(t)
	ctx := context.Background()

	recs, wavs := ingestCalls(t, c, 101, 5)
	var ids []string
	for i, r := range recs {
		if r.ID == "" || r.MediaType != "SIP" {
			t.Fatalf("ingest answer %+v", r)
		}
		got := waitCompleted(t, c, r.ID)
		sum := sha256.Sum256(wavs[i])
		if got.Status != "completed" || got.Content.SHA256 != hex.EncodeToString(sum[:]) || got.Content.SizeBytes != int64(len(wavs[i])) {
			t.Fatalf("recording %+v", got)
		}
		if got.CallID == "" || len(got.Participants) == 0 || got.StartedAt.IsZero() {
			t.Errorf("metadata not kept: %+v", got)
		}
		ids = append(ids, r.ID)
	}

	// Paging: limit 2 over 5 recordings.
	var paged []string
	cursor := ""
	pages := 0
	for {
		p, err := c.ListRecordings(ctx, client.ListRecordingsParams{MediaType: "sip", Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(p.Items) > 2 {
			t.Fatalf("page of %d with limit 2", len(p.Items))
		}
		for _, r := range p.Items {
			paged = append(paged, r.ID)
		}
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
		if pages > 10 {
			t.Fatal("paging does not end")
		}
	}
	if pages != 3 || !sameSet(paged, ids) {
		t.Fatalf("%d pages with %v, want 3 pages with %v", pages, paged, ids)
	}

	// By label: exactly the recordings with that queue; repeated labels AND.
	queue := recs[0].Labels["queue"]
	var want []string
	for _, r := range recs {
		if r.Labels["queue"] == queue {
			want = append(want, r.ID)
		}
	}
	byLabel, err := c.ListRecordings(ctx, client.ListRecordingsParams{Labels: map[string]string{"queue": queue}})
	if err != nil {
		t.Fatal(err)
	}
	var gotIDs []string
	for _, r := range byLabel.Items {
		gotIDs = append(gotIDs, r.ID)
	}
	if queue == "" || !sameSet(gotIDs, want) {
		t.Fatalf("label queue:%s selected %v, want %v", queue, gotIDs, want)
	}
	none, err := c.ListRecordings(ctx, client.ListRecordingsParams{Labels: map[string]string{"queue": queue, "no.such": "label"}})
	if err != nil || len(none.Items) != 0 {
		t.Fatalf("two labels, one absent: %v %v", none.Items, err)
	}

	// A hold by filter.
	hold, err := c.CreateHold(ctx, client.CreateHoldRequest{CaseID: "LC-SDK-1", HoldReason: "Discovery Request #1",
		Filter: client.Filter{RecordIDs: ids[:3]}})
	if err != nil {
		t.Fatal(err)
	}
	if hold.HoldID == "" || !hold.Active || hold.CaseID != "LC-SDK-1" || hold.Matched != 3 {
		t.Fatalf("CreateHold %+v", hold)
	}
	got, err := c.GetHold(ctx, hold.HoldID)
	if err != nil {
		t.Fatal(err)
	}
	if got.RecordingCount != 3 || got.HoldReason != "Discovery Request #1" {
		t.Fatalf("GetHold %+v", got)
	}
	var held []string
	for cursor := ""; ; {
		page, err := c.HoldRecordings(ctx, hold.HoldID, cursor, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, hr := range page.Items {
			if hr.ReleasedAt != nil || hr.AppliedAt.IsZero() {
				t.Errorf("hold recording %+v", hr)
			}
			held = append(held, hr.RecordingID)
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if !sameSet(held, ids[:3]) {
		t.Fatalf("HoldRecordings = %q, want %q", held, ids[:3])
	}
	proof, err := c.HoldProof(ctx, hold.HoldID, ids[1])
	if err != nil {
		t.Fatal(err)
	}
	entries, err := c.AuditEntries(ctx, proof.EntryIndex, 1)
	if err != nil || len(entries.Items) != 1 || entries.Items[0].Type != "hold.applied" || proof.TreeSize != 3 || len(proof.Proof) != 2 {
		t.Fatalf("HoldProof = %+v against %+v (%v)", proof, entries.Items, err)
	}
	if _, err := c.HoldProof(ctx, hold.HoldID, ids[3]); err == nil {
		t.Errorf("HoldProof of a recording outside the hold succeeded")
	}
	r0, err := c.GetRecording(ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if !r0.LegalHold || len(r0.Holds) != 1 || r0.Holds[0].HoldID != hold.HoldID || r0.Holds[0].CaseID != "LC-SDK-1" {
		t.Fatalf("held recording %+v", r0)
	}

	// A per-recording hold for another case.
	hd := time.Date(2023, 11, 1, 0, 0, 0, 0, time.UTC)
	applied, err := c.ApplyRecordingHolds(ctx, []client.RecordingHold{
		{ID: ids[0], Metadata: client.HoldMetadata{LegalHold: true, HoldReason: "Discovery Request #2", HoldDate: &hd, CaseID: "LC-SDK-2"}},
		{ID: ids[3], Metadata: client.HoldMetadata{LegalHold: true, HoldReason: "Discovery Request #2", HoldDate: &hd, CaseID: "LC-SDK-2"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if applied.Held != 2 || len(applied.Results) != 2 || applied.Results[0].ID != ids[0] || applied.Results[0].Status != "held" || applied.Results[0].HoldID == "" {
		t.Fatalf("ApplyRecordingHolds %+v", applied)
	}
	// An unknown id is a validation error naming the entry; nothing changes.
	_, err = c.ApplyRecordingHolds(ctx, []client.RecordingHold{
		{ID: ids[4], Metadata: client.HoldMetadata{LegalHold: true, HoldReason: "r", CaseID: "LC-SDK-2"}},
		{ID: "rec_does_not_exist", Metadata: client.HoldMetadata{LegalHold: true, HoldReason: "r", CaseID: "LC-SDK-2"}},
	})
	e := apiError(t, err, 400, "validation_failed")
	if len(e.Errors) == 0 || e.Errors[0].Field != "recordings[1].id" || e.Errors[0].Code != "not_found" {
		t.Fatalf("errors %+v", e.Errors)
	}
	if r4, _ := c.GetRecording(ctx, ids[4]); r4.LegalHold {
		t.Fatal("a rejected hold request held a recording")
	}

	// Holds by case.
	hp, err := c.ListHolds(ctx, "LC-SDK-1", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(hp.Items) != 1 || hp.Items[0].HoldID != hold.HoldID {
		t.Fatalf("ListHolds LC-SDK-1: %+v", hp.Items)
	}
	all, err := c.ListHolds(ctx, "", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Items) < 2 {
		t.Fatalf("ListHolds: %d holds", len(all.Items))
	}

	// A held recording cannot be deleted; the answer names every hold.
	err = c.DeleteRecording(ctx, ids[0])
	e = apiError(t, err, 409, "legal_hold_active")
	var holdIDs []string
	for _, h := range e.Holds {
		holdIDs = append(holdIDs, h.HoldID)
	}
	if len(e.Holds) != 2 || !slices.Contains(holdIDs, hold.HoldID) || !slices.Contains(holdIDs, applied.Results[0].HoldID) {
		t.Fatalf("holds in the 409: %+v", e.Holds)
	}
	if e.RetryAfter != 0 {
		t.Errorf("legal_hold_active carries Retry-After %s", e.RetryAfter)
	}

	// Releasing one hold leaves the other in force.
	rel, err := c.ReleaseHold(ctx, hold.HoldID, "matter closed")
	if err != nil {
		t.Fatal(err)
	}
	if rel.Active || rel.ReleasedAt == nil || rel.ReleaseReason != "matter closed" {
		t.Fatalf("ReleaseHold %+v", rel)
	}
	apiError(t, c.DeleteRecording(ctx, ids[0]), 409, "legal_hold_active")
	if r1, _ := c.GetRecording(ctx, ids[1]); r1.LegalHold {
		t.Fatalf("recording %s still held after its only hold was released", ids[1])
	}
	if err := c.DeleteRecording(ctx, ids[1]); err != nil {
		t.Fatalf("deleting an unheld recording: %v", err)
	}
	_, err = c.GetRecording(ctx, ids[1])
	apiError(t, err, 404, "not_found")
	_, err = c.GetHold(ctx, "hold_nope")
	apiError(t, err, 404, "not_found")

	// Permissions: a view-only token learns what it lacks.
	tok, err := c.CreateToken(ctx, "viewer", []string{"recording:view"})
	if err != nil || tok.Secret == "" {
		t.Fatalf("CreateToken %+v %v", tok, err)
	}
	viewer := srv.ClientWithToken(t, tok.Secret)
	if _, err := viewer.GetRecording(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	_, err = viewer.CreateHold(ctx, client.CreateHoldRequest{CaseID: "LC-X", HoldReason: "r", Filter: client.Filter{MediaType: "SIP"}})
	e = apiError(t, err, 403, "permission_denied")
	if !slices.Contains(e.MissingPermissions, "recording:export:legalhold") {
		t.Fatalf("missing_permissions %v", e.MissingPermissions)
	}
	_, err = srv.ClientWithToken(t, "hf_unknown").GetRecording(ctx, ids[0])
	apiError(t, err, 401, "unauthenticated")
}

func TestSDKExportDownloadAndAudit(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	c := srv.Client(t)
	ctx := context.Background()
	recs, wavs := ingestCalls(t, c, 202, 3)
	var ids []string
	for _, r := range recs {
		ids = append(ids, r.ID)
	}

	req := client.ExportRequest{Filter: client.Filter{RecordIDs: ids}, Metadata: &client.ExportMetadata{LegalHold: true, CaseID: "LC-SDK-EXP"},
		Options: &client.ExportOptions{WaitForProcessing: "1m"}}
	job, err := c.CreateExport(ctx, req, "sdk-export-key-1")
	if err != nil {
		t.Fatal(err)
	}
	if job.ID == "" || job.HoldID == "" || job.Progress.Matched != 3 || job.Finished() {
		t.Fatalf("CreateExport %+v", job)
	}
	// The same key returns the same job, never a second one.
	again, err := c.CreateExport(ctx, req, "sdk-export-key-1")
	if err != nil || again.ID != job.ID {
		t.Fatalf("replay: %+v %v", again, err)
	}
	// The same key with another request is refused, not retried.
	other := req
	other.Filter = client.Filter{RecordIDs: ids[:1]}
	_, err = c.CreateExport(ctx, other, "sdk-export-key-1")
	apiError(t, err, 422, "idempotency_key_reused")

	deadline := time.Now().Add(60 * time.Second)
	for !job.Finished() {
		if time.Now().After(deadline) {
			t.Fatalf("job did not finish: %+v", job)
		}
		time.Sleep(50 * time.Millisecond)
		if job, err = c.GetExport(ctx, job.ID); err != nil {
			t.Fatal(err)
		}
	}
	if job.State != "completed" || job.Progress.Exported != 3 || job.Package == nil || job.Package.Name != "LC-SDK-EXP_"+job.ID {
		t.Fatalf("finished job %+v", job)
	}
	list, err := c.ListExports(ctx, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || list.Items[0].ID != job.ID {
		t.Fatalf("ListExports: %+v", list.Items)
	}
	for _, id := range ids {
		r, err := c.GetRecording(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if !r.LegalHold || r.Holds[0].HoldID != job.HoldID {
			t.Fatalf("recording %s not held by the export's hold: %+v", id, r.Holds)
		}
	}

	files, err := c.PackageFiles(ctx, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	byPath := map[string]client.PackageFile{}
	for _, f := range files {
		byPath[f.Path] = f
	}
	for _, p := range []string{"bagit.txt", "bag-info.txt", "manifest-sha256.txt", "manifest-sha512.txt", "tagmanifest-sha256.txt", "tagmanifest-sha256.txt.sig",
		"data/index.csv", "custody/custody.json"} {
		if _, ok := byPath[p]; !ok {
			t.Errorf("package lacks %s", p)
		}
	}
	for i, id := range ids {
		p := "data/recordings/" + id + ".wav"
		f, ok := byPath[p]
		if !ok {
			t.Fatalf("package lacks %s; files %v", p, files)
		}
		sum := sha256.Sum256(wavs[i])
		if f.SizeBytes != int64(len(wavs[i])) || f.SHA256 != hex.EncodeToString(sum[:]) {
			t.Fatalf("%s listed as %+v", p, f)
		}
		var whole bytes.Buffer
		n, err := c.DownloadPackageFile(ctx, job.ID, p, 0, &whole)
		if err != nil || n != int64(len(wavs[i])) || !bytes.Equal(whole.Bytes(), wavs[i]) {
			t.Fatalf("download %s: %d bytes, %v", p, n, err)
		}
		off := int64(len(wavs[i]) / 3)
		var tail bytes.Buffer
		n, err = c.DownloadPackageFile(ctx, job.ID, p, off, &tail)
		if err != nil {
			t.Fatalf("ranged download %s: %v", p, err)
		}
		if n != int64(len(wavs[i]))-off || !bytes.Equal(tail.Bytes(), wavs[i][off:]) {
			t.Fatalf("ranged download of %s from %d: %d bytes, not the tail", p, off, n)
		}
	}
	var tm bytes.Buffer
	if _, err := c.DownloadPackageFile(ctx, job.ID, "tagmanifest-sha256.txt", 0, &tm); err != nil {
		t.Fatal(err)
	}
	tmSum := sha256.Sum256(tm.Bytes())
	if hex.EncodeToString(tmSum[:]) != job.Package.TagmanifestSHA256 {
		t.Fatalf("tagmanifest hash %x, job says %s", tmSum, job.Package.TagmanifestSHA256)
	}
	_, err = c.DownloadPackageFile(ctx, job.ID, "data/no-such-file", 0, io.Discard)
	apiError(t, err, 404, "not_found")

	// The signing key, a signed checkpoint and proofs that agree with it.
	pemKey, err := c.SigningKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := audit.ParsePublicKeyPEM(pemKey)
	if err != nil {
		t.Fatalf("signing key %q: %v", pemKey, err)
	}
	note, err := c.AuditCheckpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := audit.OpenCheckpoint(note, audit.DefaultOrigin(pub), pub)
	if err != nil {
		t.Fatalf("checkpoint does not verify with the signing key: %v\n%s", err, note)
	}
	if cp.Size < 5 {
		t.Fatalf("checkpoint size %d", cp.Size)
	}

	var entries []client.AuditEntry
	page, err := c.AuditEntries(ctx, 0, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 2 || page.Items[0].Index != 0 || page.Items[1].Index != 1 {
		t.Fatalf("first audit page %+v", page.Items)
	}
	for start := int64(0); ; {
		p, err := c.AuditEntries(ctx, start, 100)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, p.Items...)
		if len(p.Items) == 0 || p.NextCursor == "" {
			break
		}
		start = p.Items[len(p.Items)-1].Index + 1
	}
	if int64(len(entries)) < cp.Size {
		t.Fatalf("%d audit entries, checkpoint covers %d", len(entries), cp.Size)
	}
	var types []string
	for i, en := range entries {
		if en.Index != int64(i) || en.LeafHash == "" || en.Type == "" {
			t.Fatalf("entry %d: %+v", i, en)
		}
		types = append(types, en.Type)
	}
	joined := strings.Join(types, " ")
	for _, want := range []string{"ingest", "hold", "export"} {
		if !strings.Contains(joined, want) {
			t.Errorf("no %q entry among %v", want, types)
		}
	}

	for _, idx := range []int64{0, cp.Size / 2, cp.Size - 1} {
		pr, err := c.InclusionProof(ctx, idx, cp.Size)
		if err != nil {
			t.Fatal(err)
		}
		root, err := audit.ParseHash(pr.RootHash)
		if err != nil {
			t.Fatal(err)
		}
		if root != cp.Root {
			t.Fatalf("inclusion proof root %s differs from the signed checkpoint's", pr.RootHash)
		}
		if pr.LeafHash != entries[idx].LeafHash {
			t.Fatalf("proof leaf %s, entry %d leaf %s", pr.LeafHash, idx, entries[idx].LeafHash)
		}
		leaf, err := audit.ParseHash(pr.LeafHash)
		if err != nil {
			t.Fatal(err)
		}
		if err := tlog.CheckRecord(hashes(t, pr.Proof), cp.Size, cp.Root, idx, leaf); err != nil {
			t.Fatalf("inclusion proof for %d in %d does not verify: %v", idx, cp.Size, err)
		}
	}
	_, err = c.InclusionProof(ctx, cp.Size+1000, cp.Size)
	apiError(t, err, 400, "validation_failed")

	// Grow the log, then prove the old tree is a prefix of the new one.
	if _, err := c.ReleaseHold(ctx, job.HoldID, "done"); err != nil {
		t.Fatal(err)
	}
	note2, err := c.AuditCheckpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cp2, err := audit.OpenCheckpoint(note2, audit.DefaultOrigin(pub), pub)
	if err != nil || cp2.Size <= cp.Size {
		t.Fatalf("second checkpoint %+v %v", cp2, err)
	}
	cons, err := c.ConsistencyProof(ctx, cp.Size, cp2.Size)
	if err != nil {
		t.Fatal(err)
	}
	if err := tlog.CheckTree(hashes(t, cons.Proof), cp2.Size, cp2.Root, cp.Size, cp.Root); err != nil {
		t.Fatalf("consistency proof %d → %d does not verify: %v", cp.Size, cp2.Size, err)
	}
}

func hashes(t *testing.T, in []string) []tlog.Hash {
	t.Helper()
	var out []tlog.Hash
	for _, s := range in {
		h, err := audit.ParseHash(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, h)
	}
	return out
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	sort.Strings(a)
	sort.Strings(b)
	return slices.Equal(a, b)
}

// TestSDKCasesAndSearch finds recordings by call id, participant and hold
// state, and follows a case through holds, an export and its release.
func TestSDKCasesAndSearch(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	c := srv.Client(t)
	ctx := context.Background()
	recs, _ := ingestCalls(t, c, 202, 3)
	one, err := c.GetRecording(ctx, recs[1].ID)
	if err != nil {
		t.Fatal(err)
	}
	page, err := c.ListRecordings(ctx, client.ListRecordingsParams{CallID: one.CallID})
	if err != nil || len(page.Items) != 1 || page.Items[0].ID != one.ID {
		t.Fatalf("by call id: %+v, %v", page.Items, err)
	}
	page, err = c.ListRecordings(ctx, client.ListRecordingsParams{Participant: strings.ToUpper(one.Participants[0].AOR)})
	if err != nil || len(page.Items) == 0 || !slices.ContainsFunc(page.Items, func(r client.Recording) bool { return r.ID == one.ID }) {
		t.Fatalf("by participant: %+v, %v", page.Items, err)
	}
	if _, err := c.CreateExport(ctx, client.ExportRequest{Filter: client.Filter{RecordIDs: []string{one.ID}},
		Metadata: &client.ExportMetadata{LegalHold: true, CaseID: "LC-SDK-1"}}, ""); err != nil {
		t.Fatal(err)
	}
	held := true
	page, err = c.ListRecordings(ctx, client.ListRecordingsParams{LegalHold: &held})
	if err != nil || len(page.Items) != 1 || page.Items[0].ID != one.ID {
		t.Fatalf("held: %+v, %v", page.Items, err)
	}
	cases, err := c.ListCases(ctx, "", 0)
	if err != nil || len(cases.Items) != 1 || cases.Items[0].CaseID != "LC-SDK-1" || cases.Items[0].ActiveHolds != 1 || cases.Items[0].Exports != 1 {
		t.Fatalf("cases: %+v, %v", cases.Items, err)
	}
	d, err := c.GetCase(ctx, "LC-SDK-1")
	if err != nil || len(d.Holds) != 1 || len(d.ExportJobs) != 1 || d.HeldRecordings != 1 {
		t.Fatalf("case: %+v, %v", d, err)
	}
	rel, err := c.ReleaseCase(ctx, "LC-SDK-1", "closed")
	if err != nil || len(rel.ReleasedHoldIDs) != 1 || rel.ReleasedHoldIDs[0] != d.Holds[0].HoldID {
		t.Fatalf("release case: %+v, %v", rel, err)
	}
	var ce *client.Error
	if _, err := c.GetCase(ctx, "LC-NONE"); !errors.As(err, &ce) || ce.Status != 404 || !strings.Contains(ce.Message, "LC-NONE") {
		t.Fatalf("unknown case: %v", err)
	}
}

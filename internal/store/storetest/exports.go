package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/holdfast/holdfast/internal/store"
	"github.com/holdfast/holdfast/internal/vault"
)

// exportParams returns the inputs of a job over filter; with hold set it
// also places a hold of caseID.
func exportParams(filter vault.RecordingFilter, hold bool, caseID string, now time.Time) store.CreateExportJobParams {
	jobID := newID("exp")
	p := store.CreateExportJobParams{
		JobID: jobID,
		Request: vault.ExportRequest{
			Filter:      filter,
			Metadata:    vault.ExportMetadata{LegalHold: hold, CaseID: caseID},
			Destination: vault.Destination{Type: "filesystem"},
			Options:     vault.ExportOptions{WaitForProcessing: 10 * time.Minute},
		},
		Actor: "tok_exp",
		Now:   now,
	}
	if hold {
		p.HoldID = newID("hold")
		p.Request.Metadata.HoldReason = "export " + jobID
		p.HoldSpec = store.HoldSpec{CaseID: caseID, HoldReason: p.Request.Metadata.HoldReason, HoldDate: now}
	}
	return p
}

// createJob creates an export job and fails the test on error.
func createJob(t *testing.T, s store.Store, p store.CreateExportJobParams) vault.ExportJob {
	t.Helper()
	j, err := s.CreateExportJob(t.Context(), p)
	if err != nil {
		t.Fatalf("CreateExportJob(%s): %v", p.JobID, err)
	}
	return j
}

// idsJob creates a job over the listed recordings, without a hold.
func idsJob(t *testing.T, s store.Store, ids []string, now time.Time) vault.ExportJob {
	t.Helper()
	return createJob(t, s, exportParams(vault.RecordingFilter{RecordIDs: ids}, false, "", now))
}

func getJob(t *testing.T, s store.Store, id string) vault.ExportJob {
	t.Helper()
	j, err := s.GetExportJob(t.Context(), id)
	if err != nil {
		t.Fatalf("GetExportJob(%s): %v", id, err)
	}
	return j
}

// claim claims a job for owner with a one-hour lease.
func claim(t *testing.T, s store.Store, owner string, now time.Time) (store.ExportWork, bool) {
	t.Helper()
	w, ok, err := s.ClaimExportJob(t.Context(), owner, now, time.Hour)
	if err != nil {
		t.Fatalf("ClaimExportJob(%s, %v): %v", owner, now, err)
	}
	return w, ok
}

// claimJob claims and requires the job with the id.
func claimJob(t *testing.T, s store.Store, owner string, now time.Time, id string) store.ExportWork {
	t.Helper()
	w, ok := claim(t, s, owner, now)
	if !ok || w.Job.ID != id {
		t.Fatalf("ClaimExportJob(%s, %v) = %q, %v; want job %s", owner, now, w.Job.ID, ok, id)
	}
	return w
}

// wantNoClaim requires that no job is claimable at now.
func wantNoClaim(t *testing.T, s store.Store, now time.Time) {
	t.Helper()
	if w, ok := claim(t, s, "w-probe", now); ok {
		t.Fatalf("ClaimExportJob at %v claimed job %s (state %s), want none", now, w.Job.ID, w.Job.State)
	}
}

// allItems reads every item of a job, one page of two at a time.
func allItems(t *testing.T, s store.Store, jobID string) []store.ExportItem {
	t.Helper()
	var out []store.ExportItem
	after := -1
	for range 1000 {
		page, err := s.ExportItems(t.Context(), jobID, after, 2)
		if err != nil {
			t.Fatalf("ExportItems(%s, %d, 2): %v", jobID, after, err)
		}
		if len(page) > 2 {
			t.Fatalf("ExportItems returned %d items with limit 2", len(page))
		}
		if len(page) == 0 {
			return out
		}
		for _, it := range page {
			if it.Seq <= after {
				t.Fatalf("ExportItems(%s, %d) returned seq %d out of order", jobID, after, it.Seq)
			}
			after = it.Seq
		}
		out = append(out, page...)
	}
	t.Fatal("ExportItems does not terminate")
	return nil
}

func itemIDs(items []store.ExportItem) []string {
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.RecordingID
	}
	return ids
}

// exportedItem is item seq of a job, exported with files of the sizes.
func exportedItem(it store.ExportItem, size, metaSize int64) store.ExportItem {
	it.State = store.ItemExported
	it.Path = "data/recordings/" + it.RecordingID + ".wav"
	it.Digests = store.FileDigests{Size: size, SHA256: shaOf(it.RecordingID), SHA512: shaOf(it.RecordingID) + shaOf("512")}
	it.IngestSHA256 = shaOf(it.RecordingID)
	it.MetaPath = "data/metadata/" + it.RecordingID + ".json"
	it.MetaDigests = store.FileDigests{Size: metaSize, SHA256: shaOf("meta" + it.RecordingID), SHA512: shaOf("meta") + shaOf(it.RecordingID)}
	it.IndexRow = []string{it.RecordingID, "call@pbx", "SIP", "", "", "", "inbound", "sip:a; sip:b", fmt.Sprint(size), shaOf(it.RecordingID), it.Path, "hold_1"}
	return it
}

func failedItem(it store.ExportItem, code, msg string) store.ExportItem {
	it.State = store.ItemFailed
	it.FailureCode, it.FailureMsg = code, msg
	return it
}

func finishItem(t *testing.T, s store.Store, jobID, owner string, it store.ExportItem) {
	t.Helper()
	if err := s.FinishExportItem(t.Context(), store.FinishExportItemParams{JobID: jobID, Owner: owner, Item: it}); err != nil {
		t.Fatalf("FinishExportItem(%s, %d): %v", jobID, it.Seq, err)
	}
}

func setState(t *testing.T, s store.Store, jobID, owner, state string, now time.Time) {
	t.Helper()
	if err := s.SetExportState(t.Context(), jobID, owner, state, now); err != nil {
		t.Fatalf("SetExportState(%s, %s, %s): %v", jobID, owner, state, err)
	}
}

func complete(t *testing.T, s store.Store, p store.CompleteExportJobParams) vault.ExportJob {
	t.Helper()
	j, err := s.CompleteExportJob(t.Context(), p)
	if err != nil {
		t.Fatalf("CompleteExportJob(%s, %s): %v", p.JobID, p.State, err)
	}
	return j
}

func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("%s: error = %v, want vault.ErrNotFound", what, err)
	}
}

// wantHeld checks that every recording shows the hold and is under legal
// hold.
func wantHeld(t *testing.T, s store.Store, holdID string, ids []string) {
	t.Helper()
	for _, id := range ids {
		if r := get(t, s, id); !r.LegalHold || !slices.Contains(holdIDs(r), holdID) {
			t.Errorf("recording %s: legal_hold %v, holds %q; want hold %s", id, r.LegalHold, holdIDs(r), holdID)
		}
	}
	if h := getHold(t, s, holdID); !h.Active || !slices.Equal(heldIDs(t, s, holdID), sorted(ids)) || h.RecordingCount != len(ids) {
		t.Errorf("hold %s: active %v, recordings %q; want active over %q", holdID, h.Active, heldIDs(t, s, holdID), sorted(ids))
	}
}

// testExports runs the ExportStore conformance tests in order on one
// store. Claims see every job of the store, so each test ends (through
// drainExports) every job it left unfinished; CreateExportJob runs first
// because its filters select by media type and case.
func testExports(t *testing.T, s store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"CreateExportJob", testCreateExportJob},
		{"CreateExportJobRejected", testCreateExportJobRejected},
		{"CreateExportJobIdempotency", testCreateExportJobIdempotency},
		{"Progress", testExportProgress},
		{"ListExportJobs", testListExportJobs},
		{"Leases", testExportLeases},
		{"LeaseRequired", testExportLeaseRequired},
		{"Cancel", testCancelExportJob},
		{"ConcurrentClaims", testConcurrentExportClaims},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer drainExports(t, s) // runs after t.Fatal too, while t.Context lives
			tt.fn(t, s)
		})
	}
	checkAudit(t, s)
}

// drainExports ends every unfinished job of the store as cancelled.
func drainExports(t *testing.T, s store.Store) {
	t.Helper()
	if err := s.ExpireExportLeases(t.Context()); err != nil {
		t.Fatalf("ExpireExportLeases: %v", err)
	}
	for range 1000 {
		w, ok := claim(t, s, "w-drain", at(10000*time.Hour))
		if !ok {
			return
		}
		complete(t, s, store.CompleteExportJobParams{JobID: w.Job.ID, Owner: "w-drain", State: vault.ExportCancelled, Actor: "system", Now: at(10000 * time.Hour)})
	}
	t.Fatal("drainExports does not terminate")
}

func testCreateExportJob(t *testing.T, s store.Store) {
	ctx := t.Context()
	sip := createN(t, s, 5, "SIP", at(0))   // at 0..4 min
	chat := createN(t, s, 2, "CHAT", at(0)) // at 0..1 min
	for _, id := range sip[:4] {
		if _, err := s.FinishProcessing(ctx, store.FinishProcessingParams{ID: id, Result: vault.ProbeResult{OK: true, MediaFormat: "audio/wav"}, Now: at(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	// sip[4] and the chats are still processing.
	apply(t, s, holdItem(chat[1], "LC-EXP", "r"), holdItem(sip[4], "LC-EXP", "r"))

	tests := []struct {
		name   string
		filter vault.RecordingFilter
		hold   bool
		caseID string
		want   []string
	}{
		{"media type", vault.RecordingFilter{MediaType: "SIP"}, false, "", sip},
		{"media type held", vault.RecordingFilter{MediaType: "SIP"}, true, "LC-1", sip},
		{"range held", vault.RecordingFilter{MediaType: "SIP", From: ptr(at(time.Minute)), To: ptr(at(4 * time.Minute))}, true, "LC-2", sip[1:4]},
		{"record ids out of order, processing included", vault.RecordingFilter{RecordIDs: []string{chat[0], sip[4], sip[0]}}, true, "", []string{sip[0], sip[4], chat[0]}},
		{"case", vault.RecordingFilter{CaseID: "LC-EXP"}, false, "LC-EXP", []string{chat[1], sip[4]}},
		{"case held", vault.RecordingFilter{CaseID: "LC-EXP"}, true, "LC-EXP", []string{chat[1], sip[4]}},
		{"matches nothing", vault.RecordingFilter{MediaType: "EMAIL"}, false, "", nil},
		{"matches nothing held", vault.RecordingFilter{MediaType: "EMAIL"}, true, "LC-3", nil},
	}
	type made struct {
		id   string
		want []string
	}
	var jobs []made
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := sorted(tt.want)
			if want == nil {
				want = []string{}
			}
			start := auditSize(t, s)
			p := exportParams(tt.filter, tt.hold, tt.caseID, at(time.Duration(10+i)*time.Hour))
			j := createJob(t, s, p)
			jobs = append(jobs, made{p.JobID, want})

			// A legal-hold export places its own hold, but only over a
			// set that is not empty.
			placed := tt.hold && len(want) > 0
			wantHoldID := ""
			if placed {
				wantHoldID = p.HoldID
			}
			wantJob := vault.ExportJob{ID: p.JobID, State: vault.ExportQueued, Filter: tt.filter, Metadata: p.Request.Metadata, HoldID: wantHoldID,
				Destination: p.Request.Destination, CreatedAt: p.Now, CreatedBy: "tok_exp",
				Progress: vault.ExportProgress{Matched: len(want), Pending: len(want)}, Failures: []vault.ExportFailure{}}
			wantJob.Options.WaitForProcessing = vault.ShortDuration(10 * time.Minute)
			sameJSON(t, "CreateExportJob result", j, wantJob)
			sameJSON(t, "GetExportJob", getJob(t, s, p.JobID), wantJob)

			items := allItems(t, s, p.JobID)
			if got := itemIDs(items); !slices.Equal(got, want) {
				t.Errorf("items = %q, want %q (id order, one per recording)", got, want)
			}
			for _, it := range items {
				if it.State != store.ItemPending || it.Path != "" || it.FailureCode != "" {
					t.Errorf("new item %+v is not plain pending", it)
				}
			}

			var recs []store.AuditRecord
			if tt.hold && !placed {
				if _, err := s.GetHold(ctx, p.HoldID); !errors.Is(err, vault.ErrNotFound) {
					t.Errorf("an export matching nothing placed hold %s (GetHold error %v)", p.HoldID, err)
				}
			}
			if placed {
				recs = auditTail(t, s, start, "hold.applied", "export.created")
				d := data(t, recs[0])
				if recs[0].Entry.Subject != p.HoldID || d["export_job_id"] != p.JobID || d["case_id"] != tt.caseID || recs[0].Entry.Actor != "tok_exp" {
					t.Errorf("hold.applied entry = %+v %s", recs[0].Entry, recs[0].Entry.Data)
				}
				wantSet(t, "hold.applied", d, want)
				wantHeld(t, s, p.HoldID, want)
				if h := getHold(t, s, p.HoldID); h.IncludeFuture || h.CaseID != tt.caseID || h.HoldReason != p.HoldSpec.HoldReason {
					t.Errorf("export hold = %+v", h)
				}
			} else {
				recs = auditTail(t, s, start, "export.created")
			}
			created := recs[len(recs)-1]
			d := data(t, created)
			if created.Entry.Subject != p.JobID || created.Entry.Actor != "tok_exp" || !created.Entry.Time.Equal(p.Now) || d["hold_id"] != wantHoldID {
				t.Errorf("export.created entry = %+v %s", created.Entry, created.Entry.Data)
			}
			wantSet(t, "export.created", d, want)
			wantProvable(t, s, store.RecordingSetParams{JobID: p.JobID}, created.Entry.Index, want)

			// Every earlier job is leased until at(101h): the claim at
			// at(100h) returns this one.
			w := claimJob(t, s, fmt.Sprintf("w-%d", i), at(100*time.Hour), p.JobID)
			wantHold := int64(-1)
			if placed {
				wantHold = recs[0].Entry.Index
			}
			if w.HoldAuditIndex != wantHold || w.ExportAuditIndex != created.Entry.Index {
				t.Errorf("ExportWork audit indexes = hold %d, export %d; want %d, %d", w.HoldAuditIndex, w.ExportAuditIndex, wantHold, created.Entry.Index)
			}
			if w.BagName != vault.BagName(tt.caseID, p.JobID) || w.WaitForProcessing != 10*time.Minute || w.CancelRequested || w.Job.State != vault.ExportQueued {
				t.Errorf("ExportWork = bag %q, wait %v, cancel %v, state %s", w.BagName, w.WaitForProcessing, w.CancelRequested, w.Job.State)
			}
			if !w.Job.CreatedAt.Equal(p.Now) || w.Job.HoldID != wantHoldID {
				t.Errorf("ExportWork job = %+v", w.Job)
			}
		})
	}

	// The set is fixed at creation: recordings ingested later that match
	// a job's filter join neither the job nor its hold.
	late := create(t, s, recording(newID("rec"), "SIP", at(2*time.Minute)))
	lateChat := create(t, s, recording(newID("rec"), "CHAT", at(time.Minute)))
	apply(t, s, holdItem(lateChat.ID, "LC-EXP", "r"))
	for _, m := range jobs {
		if got := itemIDs(allItems(t, s, m.id)); !slices.Equal(got, m.want) {
			t.Errorf("job %s items after later ingest = %q, want %q", m.id, got, m.want)
		}
		if j := getJob(t, s, m.id); j.Progress.Matched != len(m.want) {
			t.Errorf("job %s matched %d after later ingest, want %d", m.id, j.Progress.Matched, len(m.want))
		}
		if j := getJob(t, s, m.id); j.HoldID != "" && slices.Contains(heldIDs(t, s, j.HoldID), late.ID) {
			t.Errorf("export hold %s caught the later recording %s", j.HoldID, late.ID)
		}
	}
	if r := get(t, s, late.ID); r.LegalHold {
		t.Errorf("later recording held by %q", holdIDs(r))
	}
}

func testCreateExportJobRejected(t *testing.T, s store.Store) {
	ctx := t.Context()
	ids := createN(t, s, 3, "SIP", at(0))
	before := auditSize(t, s)
	tests := []struct {
		name   string
		ids    []string
		hold   bool
		fields []string
	}{
		{"one unknown", []string{ids[0], newID("rec")}, false, []string{"filter.record_ids[1]"}},
		{"one unknown held", []string{ids[0], newID("rec")}, true, []string{"filter.record_ids[1]"}},
		{"several unknown held", []string{newID("rec"), ids[1], ids[2], newID("rec")}, true, []string{"filter.record_ids[0]", "filter.record_ids[3]"}},
		{"only unknown held", []string{newID("rec")}, true, []string{"filter.record_ids[0]"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := store.IdempotencyKey{Key: newID("key"), TokenID: "tok_exp", Route: "POST /api/v2/bulk/recordingexports", Now: at(time.Hour)}
			if out, err := s.ReserveIdempotencyKey(ctx, key); err != nil || out != nil {
				t.Fatalf("ReserveIdempotencyKey = %+v, %v", out, err)
			}
			p := exportParams(vault.RecordingFilter{RecordIDs: tt.ids}, tt.hold, "LC-BAD", at(time.Duration(i)*time.Hour))
			p.Idempotency = &store.IdempotencyCompletion{IdempotencyKey: key, Fingerprint: "fp", Status: 202}
			j, err := s.CreateExportJob(ctx, p)
			wantValidation(t, err, tt.fields...)
			if j.ID != "" {
				t.Errorf("rejected job returned %+v", j)
			}
			_, err = s.GetExportJob(ctx, p.JobID)
			wantNotFound(t, "GetExportJob of rejected job", err)
			if items, err := s.ExportItems(ctx, p.JobID, -1, 100); err != nil || len(items) != 0 {
				t.Errorf("ExportItems of rejected job = %d items, %v", len(items), err)
			}
			if tt.hold {
				_, err := s.GetHold(ctx, p.HoldID)
				wantNotFound(t, "GetHold of rejected job's hold", err)
			}
			for _, id := range ids {
				if r := get(t, s, id); r.LegalHold {
					t.Errorf("recording %s held by a rejected job: %q", id, holdIDs(r))
				}
			}
			if after := auditSize(t, s); after != before {
				t.Errorf("rejected job appended %d audit entries", after-before)
			}
			if _, err := s.ReserveIdempotencyKey(ctx, key); !errors.Is(err, vault.ErrIdempotencyInProgress) {
				t.Errorf("idempotency key after rejected job: error = %v, want still in progress (not completed)", err)
			}
		})
	}
	jobs, _, err := s.ListExportJobs(ctx, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if slices.Contains(j.Filter.RecordIDs, ids[0]) {
			t.Errorf("ListExportJobs lists rejected job %s", j.ID)
		}
	}
	wantNoClaim(t, s, at(100*time.Hour))
	checkAudit(t, s)
}

func testCreateExportJobIdempotency(t *testing.T, s store.Store) {
	ctx := t.Context()
	ids := createN(t, s, 2, "SIP", at(0))
	key := store.IdempotencyKey{Key: "key-exp", TokenID: "tok_exp", Route: "POST /api/v2/bulk/recordingexports", Now: at(time.Hour)}
	if out, err := s.ReserveIdempotencyKey(ctx, key); err != nil || out != nil {
		t.Fatalf("ReserveIdempotencyKey = %+v, %v", out, err)
	}
	p := exportParams(vault.RecordingFilter{RecordIDs: ids}, true, "LC-IDEM", at(time.Hour))
	p.Idempotency = &store.IdempotencyCompletion{IdempotencyKey: key, Fingerprint: "fp-exp", Status: 202}
	j := createJob(t, s, p)
	out, err := s.ReserveIdempotencyKey(ctx, key)
	if err != nil || out == nil || *out != (store.IdempotencyOutcome{Fingerprint: "fp-exp", ResourceID: j.ID, Status: 202}) {
		t.Errorf("ReserveIdempotencyKey after CreateExportJob = %+v, %v; want the job's outcome", out, err)
	}
	wantHeld(t, s, p.HoldID, ids)
}

func testExportProgress(t *testing.T, s store.Store) {
	ctx := t.Context()
	ids := createN(t, s, 4, "SIP", at(0))
	p := exportParams(vault.RecordingFilter{RecordIDs: []string{ids[3], ids[1], ids[0], ids[2]}}, true, "LC-PROG", at(time.Hour))
	j := createJob(t, s, p)
	items := allItems(t, s, j.ID)
	if !slices.Equal(itemIDs(items), ids) {
		t.Fatalf("items = %q, want %q", itemIDs(items), ids)
	}
	claimJob(t, s, "w-1", at(2*time.Hour), j.ID)
	setState(t, s, j.ID, "w-1", vault.ExportRunning, at(2*time.Hour))

	f1 := vault.ExportFailure{RecordingID: ids[1], Code: vault.FailureProcessingFailed, Message: "probe failed: not a WAV file"}
	f3 := vault.ExportFailure{RecordingID: ids[3], Code: vault.FailureNotReady, Message: "still processing after 10m0s"}
	steps := []struct {
		name     string
		item     store.ExportItem
		progress vault.ExportProgress
		failures []vault.ExportFailure
	}{
		{"exported", exportedItem(items[2], 1000, 200), vault.ExportProgress{Matched: 4, Exported: 1, Pending: 3, BytesExported: 1200, Percent: 25}, nil},
		{"failed", failedItem(items[1], f1.Code, f1.Message), vault.ExportProgress{Matched: 4, Exported: 1, Pending: 2, Failed: 1, BytesExported: 1200, Percent: 50}, []vault.ExportFailure{f1}},
		{"second export", exportedItem(items[0], 30, 7), vault.ExportProgress{Matched: 4, Exported: 2, Pending: 1, Failed: 1, BytesExported: 1237, Percent: 75}, []vault.ExportFailure{f1}},
		{"failure after the first", failedItem(items[3], f3.Code, f3.Message), vault.ExportProgress{Matched: 4, Exported: 2, Failed: 2, BytesExported: 1237, Percent: 100}, []vault.ExportFailure{f1, f3}},
	}
	want := slices.Clone(items)
	for _, st := range steps {
		start := auditSize(t, s)
		finishItem(t, s, j.ID, "w-1", st.item)
		want[slices.IndexFunc(want, func(it store.ExportItem) bool { return it.Seq == st.item.Seq })] = st.item
		got := getJob(t, s, j.ID)
		if got.Progress != st.progress {
			t.Errorf("%s: progress = %+v, want %+v", st.name, got.Progress, st.progress)
		}
		if st.failures == nil {
			st.failures = []vault.ExportFailure{}
		}
		sameJSON(t, st.name+": failures", got.Failures, st.failures)
		if got.State != vault.ExportRunning {
			t.Errorf("%s: state = %s, want running", st.name, got.State)
		}
		// Item outcomes are bookkeeping of the engine, not audited.
		auditTail(t, s, start)
	}
	sameJSON(t, "ExportItems after every outcome", allItems(t, s, j.ID), want)
	if page, err := s.ExportItems(ctx, j.ID, items[1].Seq, 1); err != nil || len(page) != 1 || page[0].Seq != items[2].Seq {
		t.Errorf("ExportItems(after %d, 1) = %+v, %v; want item %d", items[1].Seq, page, err, items[2].Seq)
	}

	pkg := &vault.ExportPackage{Name: vault.BagName("LC-PROG", j.ID), Location: "/data/exports/" + j.ID, TagmanifestSHA256: shaOf("tag"), DownloadURL: "/api/v2/bulk/recordingexports/" + j.ID + "/package"}
	done := complete(t, s, store.CompleteExportJobParams{JobID: j.ID, Owner: "w-1", State: vault.ExportCompletedWithErrors, Package: pkg, Actor: "system", Now: at(3 * time.Hour)})
	wantJob := getJob(t, s, j.ID)
	sameJSON(t, "CompleteExportJob result", done, wantJob)
	if done.State != vault.ExportCompletedWithErrors || done.Progress != steps[3].progress || done.FinishedAt == nil || !done.FinishedAt.Equal(at(3*time.Hour)) ||
		done.StartedAt == nil || !done.StartedAt.Equal(at(2*time.Hour)) || done.Package == nil || *done.Package != *pkg {
		t.Errorf("completed job = %+v", done)
	}
	sameJSON(t, "completed job failures", done.Failures, []vault.ExportFailure{f1, f3})
	wantHeld(t, s, p.HoldID, ids)

	// A job over nothing is 100% once finished.
	empty := createJob(t, s, exportParams(vault.RecordingFilter{MediaType: "EMAIL", To: ptr(at(-1000 * time.Hour))}, false, "", at(4*time.Hour)))
	if empty.Progress != (vault.ExportProgress{}) {
		t.Errorf("empty queued job progress = %+v, want zero", empty.Progress)
	}
	claimJob(t, s, "w-2", at(4*time.Hour), empty.ID)
	e := complete(t, s, store.CompleteExportJobParams{JobID: empty.ID, Owner: "w-2", State: vault.ExportCompleted, Actor: "system", Now: at(5 * time.Hour)})
	if e.Progress != (vault.ExportProgress{Percent: 100}) {
		t.Errorf("empty completed job progress = %+v, want percent 100", e.Progress)
	}

	tests := []struct {
		name string
		call func() error
	}{
		{"GetExportJob", func() error { _, err := s.GetExportJob(ctx, newID("exp")); return err }},
		{"CancelExportJob", func() error { _, err := s.CancelExportJob(ctx, newID("exp"), "tok_a", at(time.Hour)); return err }},
		{"RenewExportLease", func() error { _, err := s.RenewExportLease(ctx, newID("exp"), "w-1", at(time.Hour)); return err }},
		{"SetExportState", func() error { return s.SetExportState(ctx, newID("exp"), "w-1", vault.ExportRunning, at(time.Hour)) }},
		{"FinishExportItem", func() error {
			return s.FinishExportItem(ctx, store.FinishExportItemParams{JobID: newID("exp"), Owner: "w-1", Item: failedItem(items[0], "x", "y")})
		}},
		{"CompleteExportJob", func() error {
			_, err := s.CompleteExportJob(ctx, store.CompleteExportJobParams{JobID: newID("exp"), Owner: "w-1", State: vault.ExportFailed, Actor: "system", Now: at(time.Hour)})
			return err
		}},
	}
	before := auditSize(t, s)
	for _, tt := range tests {
		t.Run("unknown "+tt.name, func(t *testing.T) { wantNotFound(t, tt.name+"(unknown job)", tt.call()) })
	}
	if after := auditSize(t, s); after != before {
		t.Errorf("calls on unknown jobs appended %d audit entries", after-before)
	}
}

func testListExportJobs(t *testing.T, s store.Store) {
	ctx := t.Context()
	ids := createN(t, s, 2, "SIP", at(0))
	// Jobs of earlier tests in the group come first.
	earlier, next, err := s.ListExportJobs(ctx, 0, "")
	if err != nil || next != "" {
		t.Fatalf("ListExportJobs = %d jobs, %q, %v", len(earlier), next, err)
	}
	var all []string
	for _, j := range earlier {
		all = append(all, j.ID)
	}
	for i := range 7 {
		all = append(all, idsJob(t, s, ids[:1+i%2], at(time.Duration(i)*time.Minute)).ID)
	}
	n := len(all)
	list := func(limit int, cursor string) []string {
		t.Helper()
		var out []string
		for range 100 {
			page, next, err := s.ListExportJobs(ctx, limit, cursor)
			if err != nil {
				t.Fatalf("ListExportJobs(%d, %q): %v", limit, cursor, err)
			}
			if limit > 0 && len(page) > limit {
				t.Fatalf("ListExportJobs returned %d jobs with limit %d", len(page), limit)
			}
			for _, j := range page {
				out = append(out, j.ID)
				sameJSON(t, "listed job "+j.ID, j, getJob(t, s, j.ID))
			}
			if next == "" {
				return out
			}
			if len(page) == 0 || next != page[len(page)-1].ID {
				t.Fatalf("ListExportJobs cursor %q is not the last id of its page", next)
			}
			cursor = next
		}
		t.Fatal("ListExportJobs does not terminate")
		return nil
	}
	tests := []struct {
		limit  int
		cursor string
		want   []string
	}{
		{0, "", all},
		{1, "", all},
		{3, "", all},
		{7, "", all},
		{8, "", all},
		{2, all[n-3], all[n-2:]},
		{5, all[n-1], nil},
		{n + 1, "", all},
	}
	for _, tt := range tests {
		if got := list(tt.limit, tt.cursor); !slices.Equal(got, tt.want) {
			t.Errorf("ListExportJobs(%d, %q) = %q, want %q", tt.limit, tt.cursor, got, tt.want)
		}
	}
}

func testExportLeases(t *testing.T, s store.Store) {
	ctx := t.Context()
	ids := createN(t, s, 2, "SIP", at(0))
	start := auditSize(t, s)
	var jobs []string
	for i := range 3 {
		jobs = append(jobs, idsJob(t, s, ids, at(time.Duration(i)*time.Minute)).ID)
	}
	a, b, c := jobs[0], jobs[1], jobs[2]
	t0 := at(time.Hour)
	later := t0.Add(time.Hour + time.Second) // after every lease taken at t0

	type step struct {
		name string
		do   func() (string, error) // the job claimed, or ""
		want string
		err  error
	}
	claimAt := func(owner string, now time.Time) func() (string, error) {
		return func() (string, error) {
			w, ok, err := s.ClaimExportJob(ctx, owner, now, time.Hour)
			if ok && w.Job.ID == "" {
				return "", errors.New("claim reported a job without an id")
			}
			return w.Job.ID, err
		}
	}
	renew := func(id, owner string, until time.Time) func() (string, error) {
		return func() (string, error) {
			cancel, err := s.RenewExportLease(ctx, id, owner, until)
			if cancel {
				return "", errors.New("renew reported a cancellation nobody requested")
			}
			return "", err
		}
	}
	setRunning := func(id, owner string) func() (string, error) {
		return func() (string, error) { return "", s.SetExportState(ctx, id, owner, vault.ExportRunning, t0) }
	}
	expire := func() (string, error) { return "", s.ExpireExportLeases(ctx) }
	finish := func(id, owner string) func() (string, error) {
		return func() (string, error) {
			_, err := s.CompleteExportJob(ctx, store.CompleteExportJobParams{JobID: id, Owner: owner, State: vault.ExportCompleted, Actor: "system", Now: t0})
			return "", err
		}
	}
	steps := []step{
		{name: "oldest job first", do: claimAt("w1", t0), want: a},
		{name: "leased job is skipped", do: claimAt("w2", t0), want: b},
		{name: "third job", do: claimAt("w3", t0), want: c},
		{name: "every job leased", do: claimAt("w4", t0)},
		{name: "still leased just before expiry", do: claimAt("w4", t0.Add(time.Hour-time.Microsecond))},
		{name: "owner renews a", do: renew(a, "w1", later.Add(time.Hour))},
		{name: "wrong owner cannot renew", do: renew(b, "w1", later.Add(time.Hour)), err: vault.ErrNotFound},
		{name: "unknown owner cannot renew", do: renew(c, "", later.Add(time.Hour)), err: vault.ErrNotFound},
		{name: "owner starts b", do: setRunning(b, "w2")},
		{name: "expired running lease is claimed again", do: claimAt("w5", later), want: b},
		{name: "then the expired queued one", do: claimAt("w5", later), want: c},
		{name: "renewed lease holds", do: claimAt("w6", later)},
		{name: "lost lease cannot renew", do: renew(b, "w2", later.Add(time.Hour)), err: vault.ErrNotFound},
		{name: "lost lease cannot set state", do: setRunning(b, "w2"), err: vault.ErrNotFound},
		{name: "lost lease cannot complete", do: finish(b, "w2"), err: vault.ErrNotFound},
		{name: "new owner completes b", do: finish(b, "w5")},
		{name: "expire every lease", do: expire},
		{name: "expired: a at once", do: claimAt("w7", t0), want: a},
		{name: "expired: c at once", do: claimAt("w7", t0), want: c},
		{name: "finished b is not claimed", do: claimAt("w7", t0)},
		{name: "old owner lost a on expiry", do: renew(a, "w1", later), err: vault.ErrNotFound},
		{name: "complete a", do: finish(a, "w7")},
		{name: "complete c", do: finish(c, "w7")},
		{name: "expire again", do: expire},
		{name: "finished jobs are never claimed", do: claimAt("w8", at(1000*time.Hour))},
		{name: "completing twice is refused", do: finish(a, "w7"), err: vault.ErrNotFound},
		{name: "completed lease cannot renew", do: renew(a, "w7", later), err: vault.ErrNotFound},
	}
	for _, st := range steps {
		got, err := st.do()
		if st.err != nil {
			if !errors.Is(err, st.err) {
				t.Fatalf("%s: error = %v, want %v", st.name, err, st.err)
			}
		} else if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got != st.want {
			t.Fatalf("%s: claimed %q, want %q", st.name, got, st.want)
		}
	}
	recs := checkAudit(t, s)
	finished := 0
	for _, r := range recs[start:] {
		if r.Entry.Type == "export.finished" {
			finished++
		}
	}
	if finished != 3 {
		t.Errorf("%d export.finished entries, want 3 (one per job)", finished)
	}
}

// testExportLeaseRequired checks that the engine's writes are refused
// unless the caller holds the job's lease, and change nothing then.
func testExportLeaseRequired(t *testing.T, s store.Store) {
	ctx := t.Context()
	ids := createN(t, s, 2, "SIP", at(0))
	leased := idsJob(t, s, ids, at(0))
	claimJob(t, s, "w-owner", at(time.Hour), leased.ID)
	unclaimed := idsJob(t, s, ids, at(time.Minute)) // after leased: never claimed below
	pending := allItems(t, s, leased.ID)[0]

	calls := []struct {
		name string
		call func(id, owner string) error
	}{
		{"FinishExportItem", func(id, owner string) error {
			return s.FinishExportItem(ctx, store.FinishExportItemParams{JobID: id, Owner: owner, Item: exportedItem(pending, 10, 1)})
		}},
		{"SetExportState", func(id, owner string) error {
			return s.SetExportState(ctx, id, owner, vault.ExportRunning, at(2*time.Hour))
		}},
		{"CompleteExportJob", func(id, owner string) error {
			_, err := s.CompleteExportJob(ctx, store.CompleteExportJobParams{JobID: id, Owner: owner, State: vault.ExportCompleted, Actor: "system", Now: at(2 * time.Hour)})
			return err
		}},
	}
	callers := []struct {
		name, id, owner string
	}{
		{"other owner", leased.ID, "w-other"},
		{"no owner on a leased job", leased.ID, ""},
		{"owner of another job", unclaimed.ID, "w-owner"},
	}
	before := auditSize(t, s)
	wantLeased, wantUnclaimed := getJob(t, s, leased.ID), getJob(t, s, unclaimed.ID)
	for _, c := range calls {
		for _, who := range callers {
			t.Run(c.name+"/"+who.name, func(t *testing.T) {
				wantNotFound(t, c.name, c.call(who.id, who.owner))
			})
		}
	}
	sameJSON(t, "leased job after refused calls", getJob(t, s, leased.ID), wantLeased)
	sameJSON(t, "unclaimed job after refused calls", getJob(t, s, unclaimed.ID), wantUnclaimed)
	if it := allItems(t, s, leased.ID)[0]; it.State != store.ItemPending {
		t.Errorf("item after refused FinishExportItem: %+v", it)
	}
	if after := auditSize(t, s); after != before {
		t.Errorf("refused calls appended %d audit entries", after-before)
	}
	if _, err := s.RenewExportLease(ctx, leased.ID, "w-owner", at(3*time.Hour)); err != nil {
		t.Errorf("owner's lease after refused calls: %v", err)
	}

	// started_at is set by the first SetExportState only.
	states := []struct {
		state string
		now   time.Time
	}{
		{vault.ExportRunning, at(2 * time.Hour)},
		{vault.ExportWaiting, at(2*time.Hour + time.Minute)},
		{vault.ExportRunning, at(2*time.Hour + 2*time.Minute)},
	}
	for _, st := range states {
		setState(t, s, leased.ID, "w-owner", st.state, st.now)
		j := getJob(t, s, leased.ID)
		if j.State != st.state || j.StartedAt == nil || !j.StartedAt.Equal(at(2*time.Hour)) || j.FinishedAt != nil {
			t.Errorf("after SetExportState(%s, %v): state %s, started %v, finished %v; want started %v", st.state, st.now, j.State, j.StartedAt, j.FinishedAt, at(2*time.Hour))
		}
	}
	auditTail(t, s, before)
	// The empty owner holds no lease, even of a job nobody claimed.
	wantNotFound(t, "FinishExportItem without owner", s.FinishExportItem(ctx, store.FinishExportItemParams{JobID: unclaimed.ID, Owner: "", Item: exportedItem(pending, 10, 1)}))
	wantNotFound(t, "SetExportState without owner", s.SetExportState(ctx, unclaimed.ID, "", vault.ExportRunning, at(2*time.Hour)))
	sameJSON(t, "unclaimed job after calls without owner", getJob(t, s, unclaimed.ID), wantUnclaimed)

	// A queued job nobody claimed is ended with the empty owner, once.
	start := auditSize(t, s)
	done := complete(t, s, store.CompleteExportJobParams{JobID: unclaimed.ID, Owner: "", State: vault.ExportCancelled, Actor: "tok_a", Now: at(51 * time.Hour)})
	if done.State != vault.ExportCancelled || done.FinishedAt == nil || !done.FinishedAt.Equal(at(51*time.Hour)) {
		t.Errorf("queued job completed without owner = %+v", done)
	}
	_, err := s.CompleteExportJob(ctx, store.CompleteExportJobParams{JobID: unclaimed.ID, Owner: "", State: vault.ExportCompleted, Actor: "tok_a", Now: at(52 * time.Hour)})
	wantNotFound(t, "CompleteExportJob of a finished job", err)
	sameJSON(t, "finished job after a second completion", getJob(t, s, unclaimed.ID), done)
	auditTail(t, s, start, "export.cancelled")
	complete(t, s, store.CompleteExportJobParams{JobID: leased.ID, Owner: "w-owner", State: vault.ExportCompleted, Actor: "system", Now: at(3 * time.Hour)})

	// CompleteExportJob: one entry per outcome, state, error, lease gone.
	tests := []struct {
		name      string
		state     string
		errMsg    string
		pkg       bool
		entryType string
	}{
		{"completed", vault.ExportCompleted, "", true, "export.finished"},
		{"completed with errors", vault.ExportCompletedWithErrors, "", true, "export.finished"},
		{"failed", vault.ExportFailed, "disk full", false, "export.finished"},
		{"cancelled", vault.ExportCancelled, "", false, "export.cancelled"},
	}
	for i, tt := range tests {
		t.Run("complete "+tt.name, func(t *testing.T) {
			j := idsJob(t, s, ids, at(time.Duration(10+i)*time.Hour))
			owner := "w-c" + fmt.Sprint(i)
			claimJob(t, s, owner, at(100*time.Hour), j.ID) // every earlier job is leased or finished
			setState(t, s, j.ID, owner, vault.ExportRunning, at(101*time.Hour))
			var pkg *vault.ExportPackage
			if tt.pkg {
				pkg = &vault.ExportPackage{Name: vault.BagName("", j.ID), Location: "/x/" + j.ID, TagmanifestSHA256: shaOf(j.ID), DownloadURL: "/d/" + j.ID}
			}
			start := auditSize(t, s)
			now := at(102 * time.Hour)
			done := complete(t, s, store.CompleteExportJobParams{JobID: j.ID, Owner: owner, State: tt.state, Package: pkg, Error: tt.errMsg, Actor: "system", Now: now})
			sameJSON(t, "completed job", done, getJob(t, s, j.ID))
			sameJSON(t, "package", done.Package, pkg)
			if done.State != tt.state || done.Error != tt.errMsg || done.FinishedAt == nil || !done.FinishedAt.Equal(now) ||
				done.StartedAt == nil || !done.StartedAt.Equal(at(101*time.Hour)) {
				t.Errorf("completed job = %+v", done)
			}
			recs := auditTail(t, s, start, tt.entryType)
			d := data(t, recs[0])
			if recs[0].Entry.Subject != j.ID || recs[0].Entry.Actor != "system" || !recs[0].Entry.Time.Equal(now) || d["job_id"] != j.ID || d["state"] != tt.state {
				t.Errorf("%s entry = %+v %s", tt.entryType, recs[0].Entry, recs[0].Entry.Data)
			}
			if tt.errMsg != "" && d["error"] != tt.errMsg {
				t.Errorf("%s entry lacks the error: %s", tt.entryType, recs[0].Entry.Data)
			}
			_, err := s.RenewExportLease(ctx, j.ID, owner, at(200*time.Hour))
			wantNotFound(t, "RenewExportLease after completion", err)
			err = s.SetExportState(ctx, j.ID, owner, vault.ExportRunning, at(103*time.Hour))
			wantNotFound(t, "SetExportState after completion", err)
			sameJSON(t, "job after refused calls", getJob(t, s, j.ID), done)
			auditTail(t, s, start, tt.entryType)
		})
	}

}

func testCancelExportJob(t *testing.T, s store.Store) {
	ctx := t.Context()
	ids := createN(t, s, 3, "SIP", at(0))
	type setup func(t *testing.T, id string) string // returns the owner, if claimed
	queued := func(t *testing.T, id string) string { return "" }
	claimedOnly := func(t *testing.T, id string) string {
		claimJob(t, s, "w-"+id, at(100*time.Hour), id)
		return "w-" + id
	}
	inState := func(state string) setup {
		return func(t *testing.T, id string) string {
			owner := claimedOnly(t, id)
			setState(t, s, id, owner, vault.ExportRunning, at(101*time.Hour))
			if state != vault.ExportRunning {
				setState(t, s, id, owner, state, at(101*time.Hour+time.Minute))
			}
			return owner
		}
	}
	finished := func(state string) setup {
		return func(t *testing.T, id string) string {
			owner := inState(vault.ExportRunning)(t, id)
			complete(t, s, store.CompleteExportJobParams{JobID: id, Owner: owner, State: state, Actor: "system", Now: at(102 * time.Hour)})
			return ""
		}
	}
	tests := []struct {
		name  string
		setup setup
		// at once: cancelled now, with an export.cancelled entry.
		atOnce bool
		// requested: stays in its state, cancel requested.
		requested bool
	}{
		{"queued", queued, true, false},
		{"claimed, still queued", claimedOnly, true, false},
		{"running", inState(vault.ExportRunning), false, true},
		{"waiting for recordings", inState(vault.ExportWaiting), false, true},
		{"completed", finished(vault.ExportCompleted), false, false},
		{"failed", finished(vault.ExportFailed), false, false},
		{"cancelled", finished(vault.ExportCancelled), false, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := exportParams(vault.RecordingFilter{RecordIDs: []string{ids[i%len(ids)]}}, true, fmt.Sprintf("LC-C%d", i), at(time.Duration(10+i)*time.Hour))
			j := createJob(t, s, p)
			owner := tt.setup(t, j.ID)
			before := getJob(t, s, j.ID)
			start := auditSize(t, s)
			now := at(110 * time.Hour)
			got, err := s.CancelExportJob(ctx, j.ID, "tok_cancel", now)
			if err != nil {
				t.Fatalf("CancelExportJob: %v", err)
			}
			sameJSON(t, "CancelExportJob result", got, getJob(t, s, j.ID))
			switch {
			case tt.atOnce:
				if got.State != vault.ExportCancelled || got.FinishedAt == nil || !got.FinishedAt.Equal(now) {
					t.Errorf("cancelled queued job = state %s, finished %v; want cancelled at %v", got.State, got.FinishedAt, now)
				}
				recs := auditTail(t, s, start, "export.cancelled")
				if e := recs[0].Entry; e.Subject != j.ID || e.Actor != "tok_cancel" || !e.Time.Equal(now) || data(t, recs[0])["job_id"] != j.ID {
					t.Errorf("export.cancelled entry = %+v %s", e, e.Data)
				}
				if owner != "" {
					// The engine that claimed it cannot resume or finish it.
					_, err := s.RenewExportLease(ctx, j.ID, owner, at(120*time.Hour))
					wantNotFound(t, "RenewExportLease of a cancelled job", err)
					wantNotFound(t, "SetExportState of a cancelled job", s.SetExportState(ctx, j.ID, owner, vault.ExportRunning, now))
					_, err = s.CompleteExportJob(ctx, store.CompleteExportJobParams{JobID: j.ID, Owner: owner, State: vault.ExportCompleted, Actor: "system", Now: now})
					wantNotFound(t, "CompleteExportJob of a cancelled job", err)
					sameJSON(t, "cancelled job after the engine's calls", getJob(t, s, j.ID), got)
					auditTail(t, s, start, "export.cancelled")
				}
			case tt.requested:
				if got.State != before.State || got.FinishedAt != nil {
					t.Errorf("cancel of a %s job = state %s, finished %v; want it to stay %s until completed", before.State, got.State, got.FinishedAt, before.State)
				}
				cancel, err := s.RenewExportLease(ctx, j.ID, owner, at(120*time.Hour))
				if err != nil || !cancel {
					t.Errorf("RenewExportLease after cancel = %v, %v; want cancelRequested", cancel, err)
				}
				if err := s.ExpireExportLeases(ctx); err != nil {
					t.Fatal(err)
				}
				// Earlier subtests' jobs are all finished: only this one.
				w, ok := claim(t, s, "w-resume", at(100*time.Hour))
				if ok && w.Job.ID != j.ID {
					t.Fatalf("claim after expiry returned %s, want %s", w.Job.ID, j.ID)
				}
				if !ok || !w.CancelRequested {
					t.Errorf("reclaimed job: ok %v, CancelRequested %v; want true, true", ok, w.CancelRequested)
				}
				mid := auditSize(t, s)
				done := complete(t, s, store.CompleteExportJobParams{JobID: j.ID, Owner: "w-resume", State: vault.ExportCancelled, Actor: "system", Now: at(111 * time.Hour)})
				if done.State != vault.ExportCancelled || done.FinishedAt == nil || !done.FinishedAt.Equal(at(111*time.Hour)) {
					t.Errorf("job completed as cancelled = %+v", done)
				}
				auditTail(t, s, mid, "export.cancelled")
			default:
				sameJSON(t, "finished job after cancel", got, before)
				auditTail(t, s, start)
			}
			// Cancelling never releases the hold.
			wantHeld(t, s, p.HoldID, []string{ids[i%len(ids)]})
			if _, err := s.DeleteRecording(ctx, store.DeleteRecordingParams{ID: ids[i%len(ids)], Actor: "tok_d", Now: now}); err == nil {
				t.Errorf("recording of a cancelled export's hold could be deleted")
			}
			// Cancelling again changes nothing once the job is finished.
			if vault.ExportFinished(getJob(t, s, j.ID).State) {
				again := getJob(t, s, j.ID)
				mid := auditSize(t, s)
				got, err := s.CancelExportJob(ctx, j.ID, "tok_cancel", at(130*time.Hour))
				if err != nil {
					t.Fatalf("CancelExportJob again: %v", err)
				}
				sameJSON(t, "second cancel", got, again)
				wantHeld(t, s, p.HoldID, []string{ids[i%len(ids)]})
				// DeleteRecording above audited its refusal; nothing else.
				auditTail(t, s, mid)
			}
		})
	}
	wantNoClaim(t, s, at(1000*time.Hour))
}

// testConcurrentExportClaims claims from many goroutines at once: no job
// is handed to two owners, and every job is handed out.
func testConcurrentExportClaims(t *testing.T, s store.Store) {
	ctx := t.Context()
	ids := createN(t, s, 2, "SIP", at(0))
	const jobs, workers = 12, 8
	var all []string
	for i := range jobs {
		all = append(all, idsJob(t, s, ids, at(time.Duration(i)*time.Second)).ID)
	}
	for round := range 3 {
		var e errs
		var mu sync.Mutex
		owners := map[string][]string{}
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				owner := fmt.Sprintf("w-%d-%d", round, w)
				for {
					work, ok, err := s.ClaimExportJob(ctx, owner, at(time.Hour), time.Hour)
					if err != nil {
						e.add(fmt.Errorf("%s: ClaimExportJob: %w", owner, err))
						return
					}
					if !ok {
						return
					}
					mu.Lock()
					owners[work.Job.ID] = append(owners[work.Job.ID], owner)
					mu.Unlock()
					if _, err := s.RenewExportLease(ctx, work.Job.ID, owner, at(2*time.Hour)); err != nil {
						e.add(fmt.Errorf("%s: RenewExportLease(%s): %w", owner, work.Job.ID, err))
					}
				}
			})
		}
		wg.Wait()
		e.check(t)
		for _, id := range all {
			if got := owners[id]; len(got) != 1 {
				t.Errorf("round %d: job %s claimed by %q, want exactly one owner", round, id, got)
			}
		}
		if len(owners) != jobs {
			t.Errorf("round %d: %d jobs claimed, want %d", round, len(owners), jobs)
		}
		if err := s.ExpireExportLeases(ctx); err != nil {
			t.Fatal(err)
		}
	}
	checkAudit(t, s)
}

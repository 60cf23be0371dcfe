package e2e_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/holdfast/holdfast/client"
	"github.com/holdfast/holdfast/internal/audit"
	"github.com/holdfast/holdfast/internal/media/synth"
	"github.com/holdfast/holdfast/internal/testserver"
)

// opKinds are the operations the concurrency test runs.
var opKinds = []string{"hold_per_recording", "hold_by_filter", "release_hold", "release_per_recording", "delete", "ingest"}

// opStats counts outcomes per operation and status.
type opStats struct {
	mu     sync.Mutex
	counts map[string]map[int]int
	// unexpected collects answers outside the allowed set.
	unexpected []string
	// refusals holds "recording|hold ids" of every 409 legal_hold_active.
	refusals []string
	// deleted204 counts 204 answers per recording.
	deleted204 map[string]int
}

func (s *opStats) add(op string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.counts[op] == nil {
		s.counts[op] = map[int]int{}
	}
	s.counts[op][status]++
}

func (s *opStats) bad(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.unexpected) < 50 {
		s.unexpected = append(s.unexpected, fmt.Sprintf(format, args...))
	}
}

// pool is the shared set of recording and hold ids the workers pick from.
type pool struct {
	mu    sync.Mutex
	recs  []string
	holds []string
	seen  map[string]bool
}

func (p *pool) addRec(id string) {
	p.mu.Lock()
	p.recs = append(p.recs, id)
	p.mu.Unlock()
}

// dropRec removes a deleted recording from the pool most of the time; a
// few stay so that holds and deletes on vanished ids keep being tried.
func (p *pool) dropRec(rng *rand.Rand, id string) {
	if rng.IntN(4) == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if i := slices.Index(p.recs, id); i >= 0 && len(p.recs) > 5 {
		p.recs = slices.Delete(p.recs, i, i+1)
	}
}

func (p *pool) addHold(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if id != "" && !p.seen[id] {
		p.seen[id] = true
		p.holds = append(p.holds, id)
	}
}

func (p *pool) pickRecs(rng *rand.Rand, n int) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, 0, n)
	for range n {
		id := p.recs[rng.IntN(len(p.recs))]
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

func (p *pool) pickHold(rng *rand.Rand) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.holds) == 0 {
		return ""
	}
	// Prefer recent holds, which are more likely still active.
	n := len(p.holds)
	return p.holds[n-1-rng.IntN(min(n, 15))]
}

// TestConcurrentHoldsReleasesDeletes hammers a real server process with
// holds, releases, deletes and ingests from 50 goroutines, then proves from
// the server's own audit log that no recording was deleted while any hold
// covered it.
func TestConcurrentHoldsReleasesDeletes(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		concurrentHoldsReleasesDeletes(t)
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		concurrentHoldsReleasesDeletes(t, "--database", postgresSchema(t))
	})
}

func concurrentHoldsReleasesDeletes(t *testing.T, serveArgs ...string) {
	const (
		workers  = 50
		duration = 10 * time.Second
		initial  = 40
	)
	srv := testserver.StartProcess(t, "", serveArgs...)
	c := sdk(t, srv)
	calls := makeCalls(4, initial+20)
	ids := ingestAll(t, c, calls[:initial])
	// WAVs for ingests during the run.
	spare := calls[initial:]
	spareWAV := make([][]byte, len(spare))
	for i, call := range spare {
		spareWAV[i] = wavBytes(t, call)
	}

	pl := &pool{recs: slices.Clone(ids), seen: map[string]bool{}}
	st := &opStats{counts: map[string]map[int]int{}, deleted204: map[string]int{}}
	noRetry, err := client.New(srv.URL, testserver.AdminToken, client.WithRetryPolicy(client.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	cases := []string{"CASE-A", "CASE-B", "CASE-C", "CASE-D"}
	var ops atomic.Int64
	stop := time.Now().Add(duration)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			for time.Now().Before(stop) {
				ops.Add(1)
				worker(rng, srv.URL, noRetry, pl, st, cases, spare, spareWAV)
			}
		}()
	}
	wg.Wait()

	// Report what ran.
	total := 0
	for _, op := range opKinds {
		var parts []string
		n := 0
		codes := make([]int, 0, len(st.counts[op]))
		for code := range st.counts[op] {
			codes = append(codes, code)
		}
		sort.Ints(codes)
		for _, code := range codes {
			parts = append(parts, fmt.Sprintf("%d×%d", st.counts[op][code], code))
			n += st.counts[op][code]
		}
		total += n
		t.Logf("%-22s %5d  (%s)", op, n, strings.Join(parts, ", "))
	}
	t.Logf("total %d operations from %d goroutines in %s", total, workers, duration)
	for _, u := range st.unexpected {
		t.Errorf("unexpected answer: %s", u)
	}
	if st.counts["delete"][http.StatusNoContent] == 0 || st.counts["delete"][http.StatusConflict] == 0 {
		t.Errorf("the run never both deleted and refused a delete; the test did not exercise the race")
	}

	// Replay the server's own audit log.
	entries := allAuditEntries(t, c)
	t.Logf("audit log: %d entries", len(entries))
	active := map[string]map[string]bool{} // hold id -> recordings it covers
	deletedAt := map[string]int64{}        // recording -> index of recording.deleted
	exists := map[string]bool{}
	var refusedAudit []string
	deletedAudit := map[string]int{}
	typeCounts := map[string]int{}
	// Audit entries record a hold's set by count and root; its members are
	// the hold's rows (GET …/recordings) less those it took one by one at
	// ingest (hold.extended), and the root must match them.
	extended := map[string]map[string]bool{}
	for _, e := range entries {
		var d struct {
			RecordingID string `json:"recording_id"`
		}
		if e.Type == "hold.extended" && json.Unmarshal(e.Data, &d) == nil {
			if extended[e.Subject] == nil {
				extended[e.Subject] = map[string]bool{}
			}
			extended[e.Subject][d.RecordingID] = true
		}
	}
	placedSet := func(holdID string) []string {
		var out []string
		for cursor := ""; ; {
			page, err := c.HoldRecordings(context.Background(), holdID, cursor, 1000)
			if err != nil {
				t.Fatalf("hold %s recordings: %v", holdID, err)
			}
			for _, hr := range page.Items {
				if !extended[holdID][hr.RecordingID] {
					out = append(out, hr.RecordingID)
				}
			}
			if cursor = page.NextCursor; cursor == "" {
				return out
			}
		}
	}
	for i, e := range entries {
		if e.Index != int64(i) {
			t.Fatalf("audit entry at position %d has index %d", i, e.Index)
		}
		typeCounts[e.Type]++
		var d struct {
			HoldID       string   `json:"hold_id"`
			HoldIDs      []string `json:"hold_ids"`
			RecordingID  string   `json:"recording_id"`
			Count        int64    `json:"recording_count"`
			Root         string   `json:"recordings_root"`
			RecordingIDs []string `json:"-"`
		}
		if len(e.Data) > 0 {
			if err := json.Unmarshal(e.Data, &d); err != nil {
				t.Fatalf("audit entry %d: data %s: %v", e.Index, e.Data, err)
			}
		}
		switch e.Type {
		case "recording.ingested":
			exists[e.Subject] = true
			for _, h := range d.HoldIDs { // include_future holds
				if active[h] == nil {
					t.Errorf("audit entry %d: recording %s attached to hold %s, which is not active", e.Index, e.Subject, h)
					active[h] = map[string]bool{}
				}
				active[h][e.Subject] = true
			}
		case "hold.applied":
			if d.HoldID != e.Subject {
				t.Errorf("audit entry %d: hold.applied subject %s but data.hold_id %s", e.Index, e.Subject, d.HoldID)
			}
			if active[e.Subject] == nil {
				active[e.Subject] = map[string]bool{}
			}
			d.RecordingIDs = placedSet(e.Subject)
			if n, root := audit.SetOf(d.RecordingIDs); n != d.Count || audit.FormatSetRoot(root) != d.Root {
				t.Errorf("audit entry %d: hold %s records %d recordings with root %s; its rows give %d, %s", e.Index, e.Subject, d.Count, d.Root, n, audit.FormatSetRoot(root))
			}
			for _, r := range d.RecordingIDs {
				if !exists[r] {
					t.Errorf("audit entry %d: hold %s applied to recording %s, which does not exist at that point (deleted at %d)", e.Index, e.Subject, r, deletedAt[r])
				}
				active[e.Subject][r] = true
			}
		case "hold.extended":
			if active[e.Subject] == nil || !active[e.Subject][d.RecordingID] {
				t.Errorf("audit entry %d: hold %s extended to %s, which recording.ingested did not name", e.Index, e.Subject, d.RecordingID)
			}
		case "hold.released":
			if d.RecordingID == "" {
				delete(active, e.Subject)
			} else {
				delete(active[e.Subject], d.RecordingID)
			}
		case "recording.deleted":
			deletedAudit[e.Subject]++
			var under []string
			for h, recs := range active {
				if recs[e.Subject] {
					under = append(under, h)
				}
			}
			if len(under) > 0 {
				sort.Strings(under)
				t.Errorf("VIOLATION: audit entry %d deletes recording %s while holds %v are active on it", e.Index, e.Subject, under)
			}
			if !exists[e.Subject] {
				t.Errorf("audit entry %d deletes recording %s, which did not exist", e.Index, e.Subject)
			}
			exists[e.Subject] = false
			deletedAt[e.Subject] = e.Index
		case "recording.delete_refused":
			sort.Strings(d.HoldIDs)
			refusedAudit = append(refusedAudit, e.Subject+"|"+strings.Join(d.HoldIDs, ","))
			var under []string
			for h, recs := range active {
				if recs[e.Subject] {
					under = append(under, h)
				}
			}
			sort.Strings(under)
			if !slices.Equal(under, d.HoldIDs) {
				t.Errorf("audit entry %d refuses deleting %s citing holds %v, but the replay has %v active", e.Index, e.Subject, d.HoldIDs, under)
			}
		}
	}
	var counts []string
	for typ, n := range typeCounts {
		counts = append(counts, fmt.Sprintf("%s=%d", typ, n))
	}
	sort.Strings(counts)
	t.Logf("audit entry types: %s", strings.Join(counts, " "))

	// Every 409 legal_hold_active matches a recording.delete_refused entry
	// with the same holds, one for one; every 204 a recording.deleted.
	sort.Strings(refusedAudit)
	sort.Strings(st.refusals)
	if !slices.Equal(refusedAudit, st.refusals) {
		t.Errorf("409 answers and recording.delete_refused entries differ:\n answers: %d %v\n audit:   %d %v", len(st.refusals), head(st.refusals), len(refusedAudit), head(refusedAudit))
	}
	for id, n := range st.deleted204 {
		if deletedAudit[id] != n {
			t.Errorf("recording %s: %d delete answers 204 but %d recording.deleted entries", id, n, deletedAudit[id])
		}
	}
	for id, n := range deletedAudit {
		if st.deleted204[id] != n {
			t.Errorf("recording %s: %d recording.deleted entries but %d delete answers 204", id, n, st.deleted204[id])
		}
	}

	// The server's state matches the replay: every recording still under
	// an active hold is present and shows exactly those holds; deleted ones
	// are gone.
	wantHolds := map[string][]string{}
	for h, recs := range active {
		for r := range recs {
			wantHolds[r] = append(wantHolds[r], h)
		}
	}
	for id, ok := range exists {
		r := do(t, srv.URL, testserver.AdminToken, http.MethodGet, "/api/v2/recordings/"+id, nil)
		if !ok {
			if _, held := wantHolds[id]; held {
				t.Errorf("replay: deleted recording %s is still under holds %v", id, wantHolds[id])
			}
			if r.Status != http.StatusNotFound {
				t.Errorf("recording %s was deleted (audit %d) but GET answers %d", id, deletedAt[id], r.Status)
			}
			continue
		}
		if r.Status != http.StatusOK {
			t.Errorf("recording %s exists per the audit log but GET answers %d: %s", id, r.Status, r.Body)
			continue
		}
		var rec client.Recording
		decode(t, "GET recording", r, &rec)
		var got []string
		for _, h := range rec.Holds {
			got = append(got, h.HoldID)
		}
		want := wantHolds[id]
		sort.Strings(got)
		sort.Strings(want)
		if !slices.Equal(got, want) || rec.LegalHold != (len(want) > 0) {
			t.Errorf("recording %s: legal_hold %v holds %v, but the audit replay has %v", id, rec.LegalHold, got, want)
		}
	}
	// And every hold the replay thinks active covers exactly its recordings.
	var cursor string
	nHolds := 0
	for {
		page, err := c.ListHolds(context.Background(), "", cursor, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range page.Items {
			nHolds++
			recs, isActive := active[h.HoldID]
			if h.Active != isActive {
				t.Errorf("hold %s: active %v, replay says %v", h.HoldID, h.Active, isActive)
				continue
			}
			if isActive && h.RecordingCount != len(recs) {
				t.Errorf("hold %s: recording_count %d, replay has %d recordings", h.HoldID, h.RecordingCount, len(recs))
			}
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	t.Logf("holds: %d in all, %d active at the end; recordings: %d held at the end", nHolds, len(active), len(wantHolds))

	out, code := auditVerify(t, srv)
	if code != 0 {
		t.Errorf("holdfast audit verify exited %d after the run:\n%s", code, out)
	}
}

func head(s []string) []string {
	if len(s) > 10 {
		return s[:10]
	}
	return s
}

// worker runs one random operation. Every answer is checked against the
// set the contract allows for that operation; anything else (above all a
// 5xx) is recorded as unexpected.
func worker(rng *rand.Rand, base string, c *client.Client, pl *pool, st *opStats, cases []string, spare []synth.Call, spareWAV [][]byte) {
	tok := testserver.AdminToken
	caseID := cases[rng.IntN(len(cases))]
	check := func(op string, r resp, err error, allowed ...int) bool {
		if err != nil {
			st.bad("%s: %v", op, err)
			return false
		}
		st.add(op, r.Status)
		if !slices.Contains(allowed, r.Status) {
			st.bad("%s: status %d: %s", op, r.Status, r.Body)
			return false
		}
		return true
	}
	switch x := rng.IntN(100); {
	case x < 20: // hold per recording, one to three recordings
		recs := pl.pickRecs(rng, 1+rng.IntN(3))
		items := make([]map[string]any, len(recs))
		for i, id := range recs {
			items[i] = map[string]any{"id": id, "metadata": map[string]any{"legal_hold": true, "case_id": caseID, "hold_reason": "reason " + caseID}}
		}
		r, err := doErr(base, tok, http.MethodPost, "/api/v2/recordings/legalholds", map[string]any{"recordings": items})
		if check("hold_per_recording", r, err, http.StatusOK, http.StatusBadRequest) {
			if r.Status == http.StatusBadRequest {
				checkNotFound(st, "hold_per_recording", r)
				return
			}
			var hr holdResults
			if json.Unmarshal(r.Body, &hr) != nil {
				st.bad("hold_per_recording: body %s", r.Body)
				return
			}
			for _, res := range hr.Results {
				pl.addHold(res.HoldID)
			}
		}
	case x < 30: // hold by filter with record_ids
		recs := pl.pickRecs(rng, 1+rng.IntN(3))
		body := map[string]any{"case_id": caseID, "hold_reason": "filter " + caseID, "filter": map[string]any{"record_ids": recs}}
		r, err := doErr(base, tok, http.MethodPost, "/api/v2/legalholds", body)
		if check("hold_by_filter", r, err, http.StatusCreated, http.StatusBadRequest) {
			if r.Status == http.StatusBadRequest {
				checkNotFound(st, "hold_by_filter", r)
				return
			}
			var h holdJSON
			if json.Unmarshal(r.Body, &h) != nil || h.HoldID == "" {
				st.bad("hold_by_filter: body %s", r.Body)
				return
			}
			pl.addHold(h.HoldID)
		}
	case x < 55: // release one hold by id
		h := pl.pickHold(rng)
		if h == "" {
			return
		}
		r, err := doErr(base, tok, http.MethodPost, "/api/v2/legalholds/"+h+"/release", `{"release_reason": "stress release"}`)
		check("release_hold", r, err, http.StatusOK)
	case x < 67: // release per recording, by case
		recs := pl.pickRecs(rng, 1)
		body := `{"recordings": [{"id": "` + recs[0] + `", "metadata": {"legal_hold": false, "case_id": "` + caseID + `", "release_reason": "stress"}}]}`
		r, err := doErr(base, tok, http.MethodPost, "/api/v2/recordings/legalholds", body)
		if check("release_per_recording", r, err, http.StatusOK, http.StatusBadRequest) && r.Status == http.StatusBadRequest {
			checkNotFound(st, "release_per_recording", r)
		}
	case x < 95: // delete
		id := pl.pickRecs(rng, 1)[0]
		r, err := doErr(base, tok, http.MethodDelete, "/api/v2/recordings/"+id, nil)
		if !check("delete", r, err, http.StatusNoContent, http.StatusConflict, http.StatusNotFound) {
			return
		}
		switch r.Status {
		case http.StatusNotFound:
			pl.dropRec(rng, id)
		case http.StatusNoContent:
			pl.dropRec(rng, id)
			st.mu.Lock()
			st.deleted204[id]++
			st.mu.Unlock()
		case http.StatusConflict:
			var p problem
			if json.Unmarshal(r.Body, &p) != nil || p.Code != "legal_hold_active" || len(p.Holds) == 0 {
				st.bad("delete: 409 without legal_hold_active and holds: %s", r.Body)
				return
			}
			hs := make([]string, len(p.Holds))
			for i, h := range p.Holds {
				hs[i] = h.HoldID
			}
			sort.Strings(hs)
			st.mu.Lock()
			st.refusals = append(st.refusals, id+"|"+strings.Join(hs, ","))
			st.mu.Unlock()
		}
	default: // ingest a fresh recording, so there is always something to hold and delete
		i := rng.IntN(len(spare))
		rec, err := ingest(context.Background(), c, spare[i], spareWAV[i])
		if err != nil {
			var ae *client.Error
			if errors.As(err, &ae) {
				st.add("ingest", ae.Status)
			}
			st.bad("ingest: %v", err)
			return
		}
		st.add("ingest", http.StatusAccepted)
		pl.addRec(rec.ID)
	}
}

// checkNotFound accepts a 400 only if every broken field is an id that
// no longer exists (a concurrent delete won the race).
func checkNotFound(st *opStats, op string, r resp) {
	var p problem
	if json.Unmarshal(r.Body, &p) != nil || p.Code != "validation_failed" || len(p.Errors) == 0 {
		st.bad("%s: 400 %s", op, r.Body)
		return
	}
	for _, e := range p.Errors {
		if e.Code != "not_found" {
			st.bad("%s: 400 with field error %+v", op, e)
		}
	}
}

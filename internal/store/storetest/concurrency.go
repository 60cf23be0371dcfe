package storetest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/holdfast/holdfast/internal/store"
	"github.com/holdfast/holdfast/internal/vault"
)

// errs collects errors from goroutines.
type errs struct {
	mu   sync.Mutex
	list []error
}

func (e *errs) add(err error) {
	if err == nil {
		return
	}
	e.mu.Lock()
	e.list = append(e.list, err)
	e.mu.Unlock()
}

func (e *errs) check(t *testing.T) {
	t.Helper()
	for i, err := range e.list {
		if i == 10 {
			t.Errorf("... and %d more errors", len(e.list)-10)
			break
		}
		t.Error(err)
	}
	if len(e.list) > 0 {
		t.FailNow()
	}
}

// testConcurrentWrites runs every kind of write from many goroutines at
// once, with holds contending for shared recordings, and checks that no
// call fails and the audit log stays dense and verifiable.
func testConcurrentWrites(t *testing.T, s store.Store) {
	ctx := t.Context()
	shared := createN(t, s, 6, "SIP", at(0))
	start := auditSize(t, s)
	const workers, perWorker = 8, 4
	var e errs
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			caseID := fmt.Sprintf("LC-W%d", w)
			var own []string
			for i := range perWorker {
				r, err := s.CreateRecording(ctx, store.CreateRecordingParams{Recording: recording(newID("rec"), "CHAT", at(time.Duration(w*perWorker+i)*time.Second)), Actor: "tok_w"})
				if err != nil {
					e.add(fmt.Errorf("worker %d: CreateRecording: %w", w, err))
					return
				}
				own = append(own, r.ID)
			}
			// Hold the shared recordings in an order of our own, plus ours.
			items := []store.RecordingHoldItem{holdItem(own[0], caseID, "w"), holdItem(own[1], caseID, "w")}
			for i := range shared {
				items = append(items, holdItem(shared[(i+w)%len(shared)], caseID, "w"))
			}
			slices.Reverse(items[w%2:])
			res, err := s.ApplyRecordingHolds(ctx, holdParams(items...))
			if err != nil {
				e.add(fmt.Errorf("worker %d: ApplyRecordingHolds: %w", w, err))
				return
			}
			if res.Held != len(items) {
				e.add(fmt.Errorf("worker %d: Held = %d, want %d", w, res.Held, len(items)))
			}
			if _, err := s.AppendAudit(ctx, store.AuditEvent{Time: at(time.Hour), Type: "worker.note", Actor: "tok_w", Subject: caseID}); err != nil {
				e.add(fmt.Errorf("worker %d: AppendAudit: %w", w, err))
			}
			if _, err := s.FinishProcessing(ctx, store.FinishProcessingParams{ID: own[2], Result: vault.ProbeResult{OK: true, MediaFormat: "text/plain"}, Now: at(time.Hour)}); err != nil {
				e.add(fmt.Errorf("worker %d: FinishProcessing: %w", w, err))
			}
			if _, err := s.DeleteRecording(ctx, store.DeleteRecordingParams{ID: own[3], Actor: "tok_w", Now: at(time.Hour)}); err != nil {
				e.add(fmt.Errorf("worker %d: DeleteRecording: %w", w, err))
			}
			var held *vault.LegalHoldActiveError
			if _, err := s.DeleteRecording(ctx, store.DeleteRecordingParams{ID: shared[w%len(shared)], Actor: "tok_w", Now: at(time.Hour)}); !errors.As(err, &held) {
				e.add(fmt.Errorf("worker %d: DeleteRecording(held shared) error = %v, want *vault.LegalHoldActiveError", w, err))
			}
			if _, err := s.ReleaseHold(ctx, store.ReleaseHoldParams{HoldID: res.Results[0].HoldID, Reason: "done", Actor: "tok_w", Now: at(2 * time.Hour)}); err != nil {
				e.add(fmt.Errorf("worker %d: ReleaseHold: %w", w, err))
			}
		})
	}
	wg.Wait()
	e.check(t)

	recs := checkAudit(t, s)
	counts := map[string]int{}
	for _, r := range recs[start:] {
		counts[r.Entry.Type]++
	}
	want := map[string]int{
		"recording.ingested":       workers * perWorker,
		"hold.applied":             workers,
		"worker.note":              workers,
		"recording.processed":      workers,
		"recording.deleted":        workers,
		"recording.delete_refused": workers,
		"hold.released":            workers,
	}
	if !maps.Equal(counts, want) {
		t.Errorf("audit entry counts = %v, want %v", counts, want)
	}
	for _, id := range shared {
		if r := get(t, s, id); len(r.Holds) != 0 {
			t.Errorf("shared recording %s still has %d holds after every worker released its own", id, len(r.Holds))
		}
	}
	if got := listAll(t, s, store.ListRecordingsParams{MediaType: "CHAT", Limit: 5}); len(got) != workers*(perWorker-1) {
		t.Errorf("%d CHAT recordings left, want %d", len(got), workers*(perWorker-1))
	}
}

// testConcurrentIncludeFuture places include_future holds while
// recordings that match them are being created: each recording must end
// up under the hold, whether the hold saw it or it saw the hold.
func testConcurrentIncludeFuture(t *testing.T, s store.Store) {
	ctx := t.Context()
	const rounds, workers, perWorker = 4, 6, 5
	for round := range rounds {
		mediaType := vault.MediaTypes[round%len(vault.MediaTypes)]
		holdID := newID("hold")
		var e errs
		var mu sync.Mutex
		var created []string
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := range perWorker {
					r, err := s.CreateRecording(ctx, store.CreateRecordingParams{Recording: recording(newID("rec"), mediaType, at(time.Duration(round*1000+w*perWorker+i)*time.Second)), Actor: "tok_w"})
					if err != nil {
						e.add(fmt.Errorf("CreateRecording: %w", err))
						return
					}
					mu.Lock()
					created = append(created, r.ID)
					mu.Unlock()
				}
			})
		}
		wg.Go(func() {
			time.Sleep(time.Duration(round) * time.Millisecond)
			_, err := s.CreateHold(ctx, store.CreateHoldParams{HoldID: holdID, Spec: store.HoldSpec{HoldReason: "future", HoldDate: at(0)},
				Filter: vault.RecordingFilter{MediaType: mediaType}, IncludeFuture: true, Actor: "tok_h", Now: at(time.Hour)})
			e.add(err)
		})
		wg.Wait()
		e.check(t)
		h := getHold(t, s, holdID)
		for _, id := range created {
			if !slices.Contains(heldIDs(t, s, h.HoldID), id) {
				t.Errorf("round %d: %s recording %s created during include_future hold %s is not under it", round, mediaType, id, holdID)
			} else if r := get(t, s, id); !slices.Contains(holdIDs(r), holdID) {
				t.Errorf("round %d: recording %s does not show hold %s", round, id, holdID)
			}
		}
	}
	checkAudit(t, s)
}

// testConcurrentHoldAndDelete races holds against deletes of the same
// recordings: a recording is either deleted and under no hold, or held
// and still present.
func testConcurrentHoldAndDelete(t *testing.T, s store.Store) {
	ctx := t.Context()
	const rounds, n = 4, 8
	for round := range rounds {
		mediaType := vault.MediaTypes[round%len(vault.MediaTypes)]
		ids := createN(t, s, n, mediaType, at(time.Duration(round)*time.Hour))
		filterHold, itemsHold := newID("hold"), ""
		var e errs
		var mu sync.Mutex
		deleted := map[string]bool{}
		var wg sync.WaitGroup
		for i, id := range ids {
			wg.Go(func() {
				if i%2 == 0 {
					time.Sleep(time.Millisecond)
				}
				_, err := s.DeleteRecording(ctx, store.DeleteRecordingParams{ID: id, Actor: "tok_d", Now: at(time.Hour)})
				var held *vault.LegalHoldActiveError
				switch {
				case err == nil:
					mu.Lock()
					deleted[id] = true
					mu.Unlock()
				case errors.As(err, &held):
				default:
					e.add(fmt.Errorf("DeleteRecording(%s): %w", id, err))
				}
			})
		}
		wg.Go(func() {
			_, err := s.CreateHold(ctx, store.CreateHoldParams{HoldID: filterHold, Spec: store.HoldSpec{HoldReason: "race", HoldDate: at(0)},
				Filter: vault.RecordingFilter{MediaType: mediaType}, Actor: "tok_h", Now: at(time.Hour)})
			e.add(err)
		})
		wg.Go(func() {
			var items []store.RecordingHoldItem
			for _, id := range ids[n/2:] {
				items = append(items, holdItem(id, "LC-RACE", "race"))
			}
			res, err := s.ApplyRecordingHolds(ctx, holdParams(items...))
			var verr *vault.ValidationError
			switch {
			case errors.As(err, &verr): // some were deleted first: nothing held
			case err != nil:
				e.add(fmt.Errorf("ApplyRecordingHolds: %w", err))
			default:
				mu.Lock()
				itemsHold = res.Results[0].HoldID
				mu.Unlock()
			}
		})
		wg.Wait()
		e.check(t)

		for _, hid := range []string{filterHold, itemsHold} {
			if hid == "" {
				continue
			}
			for _, id := range heldIDs(t, s, hid) {
				if deleted[id] {
					t.Errorf("round %d: hold %s covers recording %s, which was deleted", round, hid, id)
				}
			}
		}
		for _, id := range ids {
			r, err := s.GetRecording(ctx, id)
			switch {
			case deleted[id] && !errors.Is(err, vault.ErrNotFound):
				t.Errorf("round %d: deleted recording %s: GetRecording error = %v", round, id, err)
			case !deleted[id] && err != nil:
				t.Errorf("round %d: refused delete of %s but GetRecording: %v", round, id, err)
			case !deleted[id] && !r.LegalHold:
				t.Errorf("round %d: delete of %s was refused but it is under no hold", round, id)
			}
		}
	}
	checkAudit(t, s)
}

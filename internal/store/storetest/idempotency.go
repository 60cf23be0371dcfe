package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/holdfast/holdfast/internal/store"
	"github.com/holdfast/holdfast/internal/vault"
)

func testIdempotency(t *testing.T, s store.Store) {
	ctx := t.Context()
	key := func(k, tok, route string) store.IdempotencyKey {
		return store.IdempotencyKey{Key: k, TokenID: tok, Route: route, Now: at(0)}
	}
	const upload, holds = "POST /api/v2/recordings", "POST /api/v2/legalholds"
	k1 := key("key-1", "tok_a", upload)

	type step struct {
		name string
		do   func() (*store.IdempotencyOutcome, error)
		want *store.IdempotencyOutcome
		err  error
	}
	reserve := func(k store.IdempotencyKey) func() (*store.IdempotencyOutcome, error) {
		return func() (*store.IdempotencyOutcome, error) { return s.ReserveIdempotencyKey(ctx, k) }
	}
	release := func(k store.IdempotencyKey) func() (*store.IdempotencyOutcome, error) {
		return func() (*store.IdempotencyOutcome, error) { return nil, s.ReleaseIdempotencyKey(ctx, k) }
	}
	var recID string
	complete := func() (*store.IdempotencyOutcome, error) {
		r := recording(newID("rec"), "SIP", at(0))
		recID = r.ID
		_, err := s.CreateRecording(ctx, store.CreateRecordingParams{Recording: r, Actor: "tok_a",
			Idempotency: &store.IdempotencyCompletion{IdempotencyKey: k1, Fingerprint: "fp-1", Status: 201}})
		return nil, err
	}
	clearAll := func() (*store.IdempotencyOutcome, error) { return nil, s.ClearIdempotencyReservations(ctx) }
	done := func() *store.IdempotencyOutcome {
		return &store.IdempotencyOutcome{Fingerprint: "fp-1", ResourceID: recID, Status: 201}
	}

	steps := []step{
		{name: "first reserve owns the key", do: reserve(k1)},
		{name: "second reserve is in progress", do: reserve(k1), err: vault.ErrIdempotencyInProgress},
		{name: "other token has its own keys", do: reserve(key("key-1", "tok_b", upload))},
		{name: "other route has its own keys", do: reserve(key("key-1", "tok_a", holds))},
		{name: "other key", do: reserve(key("key-2", "tok_a", upload))},
		{name: "complete with the recording", do: complete},
		{name: "reserve after completion returns the outcome", do: reserve(k1)},
		{name: "release does not drop a completed key", do: release(k1)},
		{name: "outcome survives release", do: reserve(k1)},
		{name: "release an in-progress key", do: release(key("key-2", "tok_a", upload))},
		{name: "released key can be reserved again", do: reserve(key("key-2", "tok_a", upload))},
		{name: "release of an unknown key", do: release(key("never", "tok_a", upload))},
		{name: "clear reservations", do: clearAll},
		{name: "cleared key can be reserved", do: reserve(key("key-1", "tok_b", upload))},
		{name: "cleared route key can be reserved", do: reserve(key("key-1", "tok_a", holds))},
		{name: "completed key survives clear", do: reserve(k1)},
		{name: "reserved after clear is in progress", do: reserve(key("key-1", "tok_b", upload)), err: vault.ErrIdempotencyInProgress},
	}
	wantDone := map[string]bool{
		"reserve after completion returns the outcome": true,
		"outcome survives release":                     true,
		"completed key survives clear":                 true,
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
		want := st.want
		if wantDone[st.name] {
			want = done()
		}
		switch {
		case want == nil && got != nil:
			t.Errorf("%s: outcome = %+v, want nil (reserved)", st.name, got)
		case want != nil && (got == nil || *got != *want):
			t.Errorf("%s: outcome = %+v, want %+v", st.name, got, want)
		}
	}
	if _, err := s.GetRecording(ctx, recID); err != nil {
		t.Errorf("recording of the completed key: %v", err)
	}
	// Idempotency bookkeeping is not audited; only the recording is.
	recs := checkAudit(t, s)
	wantTypes(t, recs, 0, "recording.ingested")
}

// testIdempotencyConcurrentReserve races many reservations of one key:
// exactly one owns it, every other sees it in progress.
func testIdempotencyConcurrentReserve(t *testing.T, s store.Store) {
	const n = 16
	for round := range 3 {
		k := store.IdempotencyKey{Key: newID("key"), TokenID: "tok_a", Route: "POST /api/v2/recordings", Now: at(time.Duration(round) * time.Second)}
		var wg sync.WaitGroup
		var mu sync.Mutex
		owners, busy := 0, 0
		var errs []error
		for range n {
			wg.Go(func() {
				out, err := s.ReserveIdempotencyKey(t.Context(), k)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case errors.Is(err, vault.ErrIdempotencyInProgress):
					busy++
				case err != nil:
					errs = append(errs, err)
				case out == nil:
					owners++
				default:
					errs = append(errs, errors.New("unexpected completed outcome"))
				}
			})
		}
		wg.Wait()
		if owners != 1 || busy != n-1 || len(errs) > 0 {
			t.Errorf("round %d: %d owners, %d in progress, errors %v; want 1 owner and %d in progress", round, owners, busy, errs, n-1)
		}
	}
}

// testIdempotencyAbandonedReservation: a reservation left in progress by a
// request that died is taken over after half an hour, not before.
func testIdempotencyAbandonedReservation(t *testing.T, s store.Store) {
	ctx := t.Context()
	k := store.IdempotencyKey{Key: "abandoned", TokenID: "tok_a", Route: "POST /x", Now: at(0)}
	if out, err := s.ReserveIdempotencyKey(ctx, k); err != nil || out != nil {
		t.Fatalf("first reserve: %v %v", out, err)
	}
	k.Now = at(29 * time.Minute)
	if _, err := s.ReserveIdempotencyKey(ctx, k); !errors.Is(err, vault.ErrIdempotencyInProgress) {
		t.Fatalf("reserve after 29 min = %v, want ErrIdempotencyInProgress", err)
	}
	k.Now = at(31 * time.Minute)
	if out, err := s.ReserveIdempotencyKey(ctx, k); err != nil || out != nil {
		t.Fatalf("reserve after 31 min = %v, %v; want the abandoned reservation taken over", out, err)
	}
	k.Now = at(32 * time.Minute)
	if _, err := s.ReserveIdempotencyKey(ctx, k); !errors.Is(err, vault.ErrIdempotencyInProgress) {
		t.Fatalf("the taken-over reservation is not in progress: %v", err)
	}
}

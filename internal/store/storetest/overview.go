package storetest

import (
	"testing"
	"time"

	"github.com/holdfast/holdfast/internal/store"
	"github.com/holdfast/holdfast/internal/vault"
)

// testCountActive checks the Overview's counts follow holds and jobs
// through their lives.
func testCountActive(t *testing.T, s store.Store) {
	ctx := t.Context()
	want := func(holds, exports int) {
		t.Helper()
		got, err := s.CountActive(ctx)
		if err != nil {
			t.Fatalf("CountActive: %v", err)
		}
		if got != (store.ActiveCounts{Holds: holds, Exports: exports}) {
			t.Fatalf("CountActive = %+v, want holds %d exports %d", got, holds, exports)
		}
	}
	want(0, 0)
	ids := createN(t, s, 2, "SIP", at(0))
	h1, h2 := newID("hold"), newID("hold")
	for _, id := range []string{h1, h2} {
		if _, err := s.CreateHold(ctx, store.CreateHoldParams{HoldID: id, Spec: store.HoldSpec{CaseID: "LC-1", HoldReason: "r", HoldDate: at(0)},
			Filter: vault.RecordingFilter{RecordIDs: ids}, Actor: "tok_a", Now: at(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	want(2, 0)
	if _, err := s.ReleaseHold(ctx, store.ReleaseHoldParams{HoldID: h1, Reason: "done", Actor: "tok_a", Now: at(2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	want(1, 0)
	j := createJob(t, s, exportParams(vault.RecordingFilter{RecordIDs: ids}, true, "LC-1", at(3*time.Hour)))
	want(2, 1)
	if _, err := s.CancelExportJob(ctx, j.ID, "tok_a", at(4*time.Hour)); err != nil {
		t.Fatal(err)
	}
	want(2, 0)
}

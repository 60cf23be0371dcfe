package blobgc_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/holdfast/holdfast/internal/blob"
	"github.com/holdfast/holdfast/internal/blob/fsblob"
	"github.com/holdfast/holdfast/internal/blobgc"
	"github.com/holdfast/holdfast/internal/store"
	"github.com/holdfast/holdfast/internal/store/sqlitestore"
	"github.com/holdfast/holdfast/internal/vault"
)

// TestSweepKeepsReferencedAndHeldContent runs the sweep against a real
// SQLite store: an orphan goes, a held recording's blob (whose delete was
// refused) and a plain recording's blob stay.
func TestSweepKeepsReferencedAndHeldContent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlitestore.Open(ctx, dir+"/holdfast.db")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	blobs, err := fsblob.Open(dir + "/blobs")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	put := func(s string) blob.Digests {
		d, err := blobs.Put(ctx, bytes.NewReader([]byte(s)), 0)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	newRec := func(d blob.Digests) string {
		r := vault.Recording{ID: vault.NewID("rec", now), MediaType: "SIP", Status: vault.StatusProcessing, StartedAt: now, IngestedAt: now,
			Content: vault.Content{SizeBytes: d.Size, SHA256: d.SHA256, SHA512: d.SHA512, MediaFormat: "audio/wav"}}
		if _, err := st.CreateRecording(ctx, store.CreateRecordingParams{Recording: r, Actor: "t"}); err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	held, plain, orphan := put("held content"), put("plain content"), put("orphan content")
	heldID := newRec(held)
	newRec(plain)
	if _, err := st.CreateHold(ctx, store.CreateHoldParams{HoldID: vault.NewID("hold", now), Spec: store.HoldSpec{HoldReason: "r", HoldDate: now},
		Filter: vault.RecordingFilter{RecordIDs: []string{heldID}}, Actor: "t", Now: now}); err != nil {
		t.Fatal(err)
	}
	var lhe *vault.LegalHoldActiveError
	if _, err := st.DeleteRecording(ctx, store.DeleteRecordingParams{ID: heldID, Actor: "t", Now: now}); !errors.As(err, &lhe) {
		t.Fatalf("delete of held recording: %v", err)
	}

	// Too young: nothing is removed, not even the orphan.
	if n, err := blobgc.Sweep(ctx, blobs, st, now, time.Hour); err != nil || n != 0 {
		t.Fatalf("young sweep removed %d (%v)", n, err)
	}
	n, err := blobgc.Sweep(ctx, blobs, st, now.Add(2*time.Hour), time.Hour)
	if err != nil || n != 1 {
		t.Fatalf("sweep removed %d (%v), want 1", n, err)
	}
	for _, c := range []struct {
		d    blob.Digests
		want bool
	}{{held, true}, {plain, true}, {orphan, false}} {
		o, err := blobs.Open(ctx, c.d.SHA256)
		if (err == nil) != c.want {
			t.Fatalf("blob %s present=%v, want %v", c.d.SHA256[:8], err == nil, c.want)
		}
		if o != nil {
			o.Close()
		}
	}
}

package processor_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/holdfast/holdfast/internal/blob/fsblob"
	"github.com/holdfast/holdfast/internal/jobs"
	"github.com/holdfast/holdfast/internal/media/synth"
	"github.com/holdfast/holdfast/internal/processor"
	"github.com/holdfast/holdfast/internal/store"
	"github.com/holdfast/holdfast/internal/store/sqlitestore"
	"github.com/holdfast/holdfast/internal/vault"
)

type fixedClock struct{ t time.Time }

func (c *fixedClock) Now() time.Time { return c.t }

// TestIngestEnqueuesAndFenceGuardsTheResult runs the processing job of a
// real recording: the ingest transaction enqueued it, a stale attempt
// cannot commit its result, and the current attempt completes the
// recording.
func TestIngestEnqueuesAndFenceGuardsTheResult(t *testing.T) {
	ctx := t.Context()
	db, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "holdfast.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	blobs, err := fsblob.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	call := synth.Generate(rand.New(rand.NewPCG(1, 2)), 1, synth.Options{Now: now, MinDuration: time.Second, MaxDuration: 2 * time.Second})[0]
	var wav bytes.Buffer
	if err := call.WriteWAV(&wav); err != nil {
		t.Fatal(err)
	}
	d, err := blobs.Put(ctx, &wav, 0)
	if err != nil {
		t.Fatal(err)
	}
	rec := vault.Recording{ID: "rec_1", MediaType: "SIP", Status: vault.StatusProcessing, StartedAt: now.Add(-time.Hour), Direction: "inbound",
		Participants: []vault.Participant{{AOR: "sip:a@example.com"}}, Labels: map[string]string{},
		Content: vault.Content{SizeBytes: d.Size, SHA256: d.SHA256, SHA512: d.SHA512, MediaFormat: "audio/wav"}, IngestedAt: now}
	if _, err := db.CreateRecording(ctx, store.CreateRecordingParams{Recording: rec, Actor: "tok"}); err != nil {
		t.Fatal(err)
	}
	claimed, err := db.JobClaim(ctx, &jobs.ClaimParams{Kinds: []string{jobs.KindProcessRecording}, Owner: "a", Now: now, Lease: time.Second, Limit: 5})
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim after ingest = %+v, %v; want the recording's one job", claimed, err)
	}
	stale := claimed[0]
	if _, err := db.JobRescue(ctx, &jobs.RescueParams{Now: now.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	current, err := db.JobClaim(ctx, &jobs.ClaimParams{Kinds: []string{jobs.KindProcessRecording}, Owner: "b", Now: now.Add(time.Minute), Lease: time.Minute, Limit: 5})
	if err != nil || len(current) != 1 {
		t.Fatalf("claim after rescue = %+v, %v", current, err)
	}
	w := processor.New(processor.Config{Store: db, Blobs: blobs, Clock: &fixedClock{now.Add(time.Minute)}, Jobs: db})
	if err := w.Work(ctx, &stale); !errors.Is(err, jobs.ErrLeaseLost) {
		t.Fatalf("stale attempt: Work = %v, want ErrLeaseLost", err)
	}
	if r, _ := db.GetRecording(ctx, rec.ID); r.Status != vault.StatusProcessing {
		t.Fatalf("a stale attempt committed its result: status %s", r.Status)
	}
	if got := w.QueueDepth(); got != 1 {
		t.Errorf("QueueDepth = %d, want 1 (the running job)", got)
	}
	if err := w.Work(ctx, &current[0]); err != nil {
		t.Fatalf("current attempt: %v", err)
	}
	r, err := db.GetRecording(ctx, rec.ID)
	if err != nil || r.Status != vault.StatusCompleted || r.Content.SampleRate == 0 {
		t.Fatalf("after processing: %+v, %v", r, err)
	}
}

package storetest

import (
	"encoding/json"
	"errors"
	"iter"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/holdfast/holdfast/internal/audit"
	"github.com/holdfast/holdfast/internal/store"
	"github.com/holdfast/holdfast/internal/vault"
)

// allAudit reads the whole audit log in small pages.
func allAudit(t *testing.T, s store.Store) []store.AuditRecord {
	t.Helper()
	var out []store.AuditRecord
	for {
		page, err := s.AuditEntries(t.Context(), int64(len(out)), 7)
		if err != nil {
			t.Fatalf("AuditEntries(%d, 7): %v", len(out), err)
		}
		if len(page) == 0 {
			return out
		}
		out = append(out, page...)
	}
}

// checkAudit checks that the whole audit log is consistent: indexes dense
// from 0, the size matches, every stored leaf hash is the hash of its
// entry, and the stored tree hashes give the root recomputed from the
// entries (audit.VerifyLog against a checkpoint built from them). It
// returns the log.
func checkAudit(t *testing.T, s store.Store) []store.AuditRecord {
	t.Helper()
	ctx := t.Context()
	size := auditSize(t, s)
	recs := allAudit(t, s)
	if int64(len(recs)) != size {
		t.Fatalf("AuditEntries returned %d entries, AuditSize = %d", len(recs), size)
	}
	var rb audit.RootBuilder
	leaves := map[int64]tlog.Hash{}
	for i, r := range recs {
		if r.Entry.Index != int64(i) {
			t.Fatalf("audit entry at position %d has index %d", i, r.Entry.Index)
		}
		canon, err := r.Entry.Canonical()
		if err != nil {
			t.Fatalf("audit entry %d: Canonical: %v", i, err)
		}
		if leaf := audit.LeafHash(canon); leaf != r.LeafHash {
			t.Errorf("audit entry %d: stored leaf hash %s, entry hashes to %s", i, audit.FormatHash(r.LeafHash), audit.FormatHash(leaf))
		}
		if r.Entry.Time.Location() != time.UTC {
			t.Errorf("audit entry %d: time %v is not in UTC", i, r.Entry.Time)
		}
		rb.Add(r.LeafHash)
		leaves[r.Entry.Index] = r.LeafHash
	}
	root, err := audit.TreeHash(size, s.AuditHashReader(ctx))
	if err != nil {
		t.Fatalf("TreeHash(%d): %v", size, err)
	}
	if want := rb.Root(); root != want {
		t.Fatalf("stored tree hash at size %d = %s, recomputed from entries %s", size, audit.FormatHash(root), audit.FormatHash(want))
	}
	entries := func(yield func(audit.Entry, error) bool) {
		for _, r := range recs {
			if !yield(r.Entry, nil) {
				return
			}
		}
	}
	probs, err := audit.VerifyLog(iter.Seq2[audit.Entry, error](entries), func(i int64) (tlog.Hash, bool) {
		h, ok := leaves[i]
		return h, ok
	}, audit.Checkpoint{Origin: "storetest", Size: size, Root: root})
	if err != nil || len(probs) != 0 {
		t.Fatalf("VerifyLog: %v, problems %v", err, probs)
	}
	return recs
}

// wantTypes checks the types of the audit entries from index start on.
func wantTypes(t *testing.T, recs []store.AuditRecord, start int64, types ...string) {
	t.Helper()
	var got []string
	for _, r := range recs[min(start, int64(len(recs))):] {
		got = append(got, r.Entry.Type)
	}
	if len(got) != len(types) {
		t.Fatalf("audit entries from %d have types %q, want %q", start, got, types)
	}
	for i := range got {
		if got[i] != types[i] {
			t.Fatalf("audit entries from %d have types %q, want %q", start, got, types)
		}
	}
}

// auditTail checks the whole log and that the entries appended since
// start have the given types, returning those entries.
func auditTail(t *testing.T, s store.Store, start int64, types ...string) []store.AuditRecord {
	t.Helper()
	recs := checkAudit(t, s)
	wantTypes(t, recs, start, types...)
	return recs[start:]
}

// data decodes an audit entry's data object.
func data(t *testing.T, r store.AuditRecord) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Entry.Data, &m); err != nil {
		t.Fatalf("audit entry %d data %s: %v", r.Entry.Index, r.Entry.Data, err)
	}
	return m
}

// strings of a JSON array value.
func jsonStrings(v any) []string {
	arr, _ := v.([]any)
	out := make([]string, 0, len(arr))
	for _, x := range arr {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

func testAuditLog(t *testing.T, s store.Store) {
	ctx := t.Context()
	events := []store.AuditEvent{
		{Time: at(0), Type: "request.refused", Actor: "tok_a", Subject: "rec_x", Data: map[string]any{"reason": "rate limited", "n": 3, "nested": map[string]any{"b": true, "a": []any{"x", 1.5}}}},
		{Time: at(time.Microsecond), Type: "server.started", Actor: "system", Subject: ""},
		{Time: at(time.Second).In(time.FixedZone("CET", 3600)), Type: "raw", Actor: "system", Subject: "s", Data: json.RawMessage(`{"z": 1, "a": "é"}`)},
	}
	for i := 0; i < 20; i++ {
		events = append(events, store.AuditEvent{Time: at(time.Duration(i) * time.Minute), Type: "filler", Actor: "system", Subject: newID("x"), Data: map[string]any{"i": i}})
	}
	for i, ev := range events {
		e, err := s.AppendAudit(ctx, ev)
		if err != nil {
			t.Fatalf("AppendAudit(%d): %v", i, err)
		}
		if e.Index != int64(i) || e.Type != ev.Type || e.Actor != ev.Actor || e.Subject != ev.Subject || !e.Time.Equal(ev.Time) {
			t.Errorf("AppendAudit(%d) = %+v, want index %d and the event's fields", i, e, i)
		}
		if n := auditSize(t, s); n != int64(i+1) {
			t.Fatalf("AuditSize after %d appends = %d", i+1, n)
		}
	}
	recs := checkAudit(t, s)
	for i, r := range recs {
		ev := events[i]
		if !r.Entry.Time.Equal(ev.Time) || r.Entry.Time.Location() != time.UTC {
			t.Errorf("entry %d time = %v, want %v in UTC", i, r.Entry.Time, ev.Time.UTC())
		}
		want, _ := store.MarshalData(ev.Data)
		if len(want) == 0 {
			if len(r.Entry.Data) != 0 && string(r.Entry.Data) != "null" {
				t.Errorf("entry %d data = %s, want none", i, r.Entry.Data)
			}
			continue
		}
		wc, err := audit.CanonicalJSON(want)
		if err != nil {
			t.Fatal(err)
		}
		gc, err := audit.CanonicalJSON(r.Entry.Data)
		if err != nil {
			t.Fatalf("entry %d data %s: %v", i, r.Entry.Data, err)
		}
		if string(gc) != string(wc) {
			t.Errorf("entry %d data = %s, want %s", i, gc, wc)
		}
	}

	t.Run("paging", func(t *testing.T) {
		tests := []struct {
			start int64
			limit int
			want  []int64
		}{
			{0, 1, []int64{0}},
			{0, 3, []int64{0, 1, 2}},
			{5, 2, []int64{5, 6}},
			{21, 10, []int64{21, 22}},
			{22, 1, []int64{22}},
			{23, 5, nil},
			{100, 5, nil},
		}
		for _, tt := range tests {
			page, err := s.AuditEntries(ctx, tt.start, tt.limit)
			if err != nil {
				t.Fatalf("AuditEntries(%d, %d): %v", tt.start, tt.limit, err)
			}
			var got []int64
			for i, r := range page {
				got = append(got, r.Entry.Index)
				if r.LeafHash != recs[r.Entry.Index].LeafHash {
					t.Errorf("AuditEntries(%d, %d)[%d]: leaf hash differs from the full read", tt.start, tt.limit, i)
				}
			}
			if len(got) != len(tt.want) || (len(got) > 0 && (got[0] != tt.want[0] || got[len(got)-1] != tt.want[len(tt.want)-1])) {
				t.Errorf("AuditEntries(%d, %d) indexes = %v, want %v", tt.start, tt.limit, got, tt.want)
			}
		}
	})

	t.Run("proofs", func(t *testing.T) {
		r := s.AuditHashReader(ctx)
		size := int64(len(recs))
		root, err := audit.TreeHash(size, r)
		if err != nil {
			t.Fatal(err)
		}
		for i, rec := range recs {
			p, err := audit.ProveInclusion(int64(i), size, r)
			if err != nil {
				t.Fatalf("ProveInclusion(%d, %d): %v", i, size, err)
			}
			if err := audit.CheckInclusion(p, size, root, int64(i), rec.LeafHash); err != nil {
				t.Errorf("CheckInclusion(%d): %v", i, err)
			}
		}
		for _, old := range []int64{1, 2, 7, 16, size - 1} {
			oldRoot, err := audit.TreeHash(old, r)
			if err != nil {
				t.Fatal(err)
			}
			p, err := audit.ProveConsistency(old, size, r)
			if err != nil {
				t.Fatalf("ProveConsistency(%d, %d): %v", old, size, err)
			}
			if err := audit.CheckConsistency(p, size, root, old, oldRoot); err != nil {
				t.Errorf("CheckConsistency(%d, %d): %v", old, size, err)
			}
		}
	})
}

func testCheckpoints(t *testing.T, s store.Store) {
	ctx := t.Context()
	if _, _, err := s.LatestCheckpoint(ctx); !errors.Is(err, vault.ErrNotFound) {
		t.Fatalf("LatestCheckpoint on empty store: error = %v, want vault.ErrNotFound", err)
	}
	steps := []struct {
		size     int64
		signed   string
		wantSize int64
		wantText string
	}{
		{3, "cp 3\n\n— sig3\n", 3, "cp 3\n\n— sig3\n"},
		{10, "cp 10\n\n— sig10\n", 10, "cp 10\n\n— sig10\n"},
		{5, "cp 5\n\n— sig5\n", 10, "cp 10\n\n— sig10\n"}, // older: latest stays 10
		{10, "cp 10 again\n", 10, "cp 10\n\n— sig10\n"},   // once per size
		{1000, "cp 1000\n", 1000, "cp 1000\n"},            // larger than 2-digit sizes, numeric order
		{200, "cp 200\n", 1000, "cp 1000\n"},
	}
	for _, st := range steps {
		if err := s.SaveCheckpoint(ctx, st.size, []byte(st.signed)); err != nil {
			t.Fatalf("SaveCheckpoint(%d): %v", st.size, err)
		}
		size, signed, err := s.LatestCheckpoint(ctx)
		if err != nil {
			t.Fatalf("LatestCheckpoint: %v", err)
		}
		if size != st.wantSize || string(signed) != st.wantText {
			t.Errorf("after SaveCheckpoint(%d): LatestCheckpoint = %d %q, want %d %q", st.size, size, signed, st.wantSize, st.wantText)
		}
	}
	if n := auditSize(t, s); n != 0 {
		t.Errorf("SaveCheckpoint appended %d audit entries", n)
	}
}

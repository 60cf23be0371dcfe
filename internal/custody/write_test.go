package custody

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"reflect"
	"testing"
	"time"

	"github.com/holdfast/holdfast/internal/audit"
	"github.com/holdfast/holdfast/internal/vault"
)

func seqOf[T any](vs []T) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for _, v := range vs {
			if !yield(v, nil) {
				return
			}
		}
	}
}

func testReport(holdID string, recs int, fails int) Report {
	t0 := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	from := t0.Add(-time.Hour)
	rep := Report{
		Version: Version, BagName: "case-<42>&co_job", HoldID: holdID, SealedAt: t0,
		Job: Job{ID: "exp_1", Filter: vault.RecordingFilter{From: &from, RecordIDs: []string{"rec_1", "rec_2"}, CaseID: "case \"42\""},
			Metadata:    vault.ExportMetadata{LegalHold: holdID != "", CaseID: "case-42", HoldReason: "line\nbreak"},
			Destination: vault.Destination{Type: "local"}, CreatedBy: "tok_1", CreatedAt: t0, StartedAt: &t0},
		SigningKey: SigningKey{Algorithm: "Ed25519", Fingerprint: "SHA256:abc", PublicKeyPEM: "-----BEGIN PUBLIC KEY-----\nMCow\n-----END PUBLIC KEY-----\n", Origin: "holdfast"},
		Audit: Audit{Checkpoint: "holdfast\n3\nroot\n", TreeSize: 3, RootHash: "00ff", Entries: []ProvedEntry{
			{Role: "export", Entry: audit.Entry{Index: 2, Time: t0, Type: "export.created", Actor: "tok_1", Subject: "exp_1",
				Data: json.RawMessage(`{"recordings":null,"failures":[],"nested":{"recordings":[1,2]}}`)}, LeafHash: "aa", Inclusion: []string{"bb", "cc"}},
		}},
		Recordings: []Recording{},
		Failures:   []vault.ExportFailure{},
	}
	for i := range recs {
		rep.Recordings = append(rep.Recordings, Recording{RecordingID: fmt.Sprintf("rec_%d", i), Path: fmt.Sprintf("data/recordings/rec_%d.wav", i),
			SizeBytes: int64(i), IngestSHA256: "12", ExportedSHA256: "12", ExportedSHA512: "34", MetadataPath: fmt.Sprintf("data/metadata/rec_%d.json", i)})
	}
	for i := range fails {
		rep.Failures = append(rep.Failures, vault.ExportFailure{RecordingID: fmt.Sprintf("rec_f%d", i), Code: "missing", Message: "<gone> & \"deleted\""})
	}
	return rep
}

// TestWriteCustodyJSON checks that the streamed custody report is byte for
// byte what json.MarshalIndent makes of the whole report, and that
// Verify's strict decoding accepts it.
func TestWriteCustodyJSON(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		hold        string
		recs, fails int
	}{{"", 0, 0}, {"hold_1", 1, 0}, {"", 0, 1}, {"hold_1", 3, 2}, {"", 1000, 17}} {
		t.Run(fmt.Sprintf("hold=%q,recs=%d,fails=%d", tt.hold, tt.recs, tt.fails), func(t *testing.T) {
			t.Parallel()
			rep := testReport(tt.hold, tt.recs, tt.fails)
			want, err := json.MarshalIndent(rep, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, '\n')
			var got bytes.Buffer
			fixed := rep
			fixed.Recordings, fixed.Failures = []Recording{{RecordingID: "ignored"}}, nil
			if err := Write(&got, fixed, seqOf(rep.Recordings), seqOf(rep.Failures)); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Fatalf("streamed report differs from MarshalIndent:\n got: %s\nwant: %s", got.Bytes(), want)
			}
			var back Report
			dec := json.NewDecoder(&got)
			dec.DisallowUnknownFields()
			if err := dec.Decode(&back); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back.Recordings, rep.Recordings) || !reflect.DeepEqual(back.Failures, rep.Failures) {
				t.Error("decoded arrays differ")
			}
		})
	}
}

// TestWriteCustodyJSONError checks that an error from either array stops
// the report.
func TestWriteCustodyJSONError(t *testing.T) {
	t.Parallel()
	errBoom := errors.New("boom")
	failing := func(yield func(vault.ExportFailure, error) bool) {
		if yield(vault.ExportFailure{RecordingID: "rec_1"}, nil) {
			yield(vault.ExportFailure{}, errBoom)
		}
	}
	err := Write(io.Discard, testReport("", 0, 0), seqOf([]Recording{{}}), failing)
	if !errors.Is(err, errBoom) {
		t.Fatalf("Write = %v, want %v", err, errBoom)
	}
}

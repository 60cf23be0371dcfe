package export

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/holdfast/holdfast/internal/audit"
	"github.com/holdfast/holdfast/internal/bag"
	"github.com/holdfast/holdfast/internal/custody"
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

func testReport(holdID string, recs int, fails int) custody.Report {
	t0 := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	from := t0.Add(-time.Hour)
	rep := custody.Report{
		Version: custody.Version, BagName: "case-<42>&co_job", HoldID: holdID, SealedAt: t0,
		Job: custody.Job{ID: "exp_1", Filter: vault.RecordingFilter{From: &from, RecordIDs: []string{"rec_1", "rec_2"}, CaseID: "case \"42\""},
			Metadata:    vault.ExportMetadata{LegalHold: holdID != "", CaseID: "case-42", HoldReason: "line\nbreak"},
			Destination: vault.Destination{Type: "local"}, CreatedBy: "tok_1", CreatedAt: t0, StartedAt: &t0},
		SigningKey: custody.SigningKey{Algorithm: "Ed25519", Fingerprint: "SHA256:abc", PublicKeyPEM: "-----BEGIN PUBLIC KEY-----\nMCow\n-----END PUBLIC KEY-----\n", Origin: "holdfast"},
		Audit: custody.Audit{Checkpoint: "holdfast\n3\nroot\n", TreeSize: 3, RootHash: "00ff", Entries: []custody.ProvedEntry{
			{Role: "export", Entry: audit.Entry{Index: 2, Time: t0, Type: "export.created", Actor: "tok_1", Subject: "exp_1",
				Data: json.RawMessage(`{"recordings":null,"failures":[],"nested":{"recordings":[1,2]}}`)}, LeafHash: "aa", Inclusion: []string{"bb", "cc"}},
		}},
		Recordings: []custody.Recording{},
		Failures:   []vault.ExportFailure{},
	}
	for i := range recs {
		rep.Recordings = append(rep.Recordings, custody.Recording{RecordingID: fmt.Sprintf("rec_%d", i), Path: fmt.Sprintf("data/recordings/rec_%d.wav", i),
			SizeBytes: int64(i), IngestSHA256: "12", ExportedSHA256: "12", ExportedSHA512: "34", MetadataPath: fmt.Sprintf("data/metadata/rec_%d.json", i)})
	}
	for i := range fails {
		rep.Failures = append(rep.Failures, vault.ExportFailure{RecordingID: fmt.Sprintf("rec_f%d", i), Code: "missing", Message: "<gone> & \"deleted\""})
	}
	return rep
}

// TestWriteCustodyJSON checks that the streamed custody report is byte for
// byte what json.MarshalIndent makes of the whole report, and that
// custody.Verify's strict decoding accepts it.
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
			fixed.Recordings, fixed.Failures = []custody.Recording{{RecordingID: "ignored"}}, nil
			if err := writeCustodyJSON(&got, fixed, seqOf(rep.Recordings), seqOf(rep.Failures)); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Fatalf("streamed report differs from MarshalIndent:\n got: %s\nwant: %s", got.Bytes(), want)
			}
			var back custody.Report
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
	err := writeCustodyJSON(io.Discard, testReport("", 0, 0), seqOf([]custody.Recording{{}}), failing)
	if !errors.Is(err, errBoom) {
		t.Fatalf("writeCustodyJSON = %v, want %v", err, errBoom)
	}
}

// TestStreamFile checks that streamFile writes what fill produces with
// the right digests, and that a failing fill leaves no file.
func TestStreamFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	content := strings.Repeat("0123456789abcdef", 200_000) // larger than the pipe buffers
	d, err := streamFile(t.Context(), dir, "data/index.csv", func(w io.Writer) error {
		for i := 0; i < len(content); i += 1000 {
			if _, err := io.WriteString(w, content[i:i+1000]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want, err := bag.WriteFile(t.Context(), t.TempDir(), "x", strings.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	if d != want {
		t.Errorf("digests = %+v, want %+v", d, want)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "data", "index.csv")); err != nil || string(b) != content {
		t.Errorf("file content wrong (%d bytes, %v)", len(b), err)
	}

	errBoom := errors.New("boom")
	_, err = streamFile(t.Context(), dir, "custody/custody.json", func(w io.Writer) error {
		if _, err := io.WriteString(w, strings.Repeat("x", 200_000)); err != nil {
			return err
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("streamFile with a failing fill = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "custody", "custody.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("custody.json exists after a failed write: %v", err)
	}

	// A write error (here: an invalid path) must not leave fill blocked.
	_, err = streamFile(t.Context(), dir, "../escape", func(w io.Writer) error {
		_, err := io.WriteString(w, strings.Repeat("x", 200_000))
		return err
	})
	if err == nil {
		t.Fatal("streamFile accepted a path outside the bag")
	}
}

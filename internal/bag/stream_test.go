package bag

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writePlain writes a payload file directly (without WriteFile's fsyncs,
// which would make thousands of files slow) and returns its entry.
func writePlain(t testing.TB, dir, rel, content string) Entry {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	s256, s512 := sha256.Sum256([]byte(content)), sha512.Sum512([]byte(content))
	return Entry{Path: rel, Digests: Digests{Size: int64(len(content)), SHA256: hex.EncodeToString(s256[:]), SHA512: hex.EncodeToString(s512[:])}}
}

// seqOf yields entries in the given order.
func seqOf(entries []Entry) iter.Seq2[Entry, error] {
	return func(yield func(Entry, error) bool) {
		for _, e := range entries {
			if !yield(e, nil) {
				return
			}
		}
	}
}

// sortedEntries returns a sorted copy of entries.
func sortedEntries(entries []Entry) []Entry {
	s := slices.Clone(entries)
	slices.SortFunc(s, func(a, b Entry) int { return strings.Compare(a.Path, b.Path) })
	return s
}

// tagFileNames are the files Finalize writes outside data/.
var tagFileNames = []string{bagitTxt, bagInfoTxt, manifest256, manifest512, tagManifest256, tagManifest512, SignatureFile}

func readTagFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, name := range tagFileNames {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		out[name] = b
	}
	return out
}

// TestFinalizeStreamMatchesFinalize finalizes a bag of 20,000 small files
// with Finalize (from a shuffled slice) and again with FinalizeStream (from
// a sorted stream) and expects byte-identical tag files and a valid bag.
func TestFinalizeStreamMatchesFinalize(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	var payload []Entry
	for i := range 10_000 {
		payload = append(payload,
			writePlain(t, dir, fmt.Sprintf("data/recordings/rec_%05d.wav", i), fmt.Sprintf("audio %d", i)),
			writePlain(t, dir, fmt.Sprintf("data/metadata/rec_%05d.json", i), fmt.Sprintf(`{"n":%d}`, i)))
	}
	// Names whose byte order differs from a per-directory walk order, and
	// ones that need percent-encoding.
	for _, rel := range []string{"data/index.csv", "data/x.txt", "data/x/y.txt", "data/x-y.txt", "data/100%.json", "data/a b/c.txt", "data/empty"} {
		payload = append(payload, writePlain(t, dir, rel, "content of "+rel))
	}
	if _, err := WriteFile(ctx, dir, "custody/custody.json", strings.NewReader(`{}`)); err != nil {
		t.Fatal(err)
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(payload), func(i, j int) { payload[i], payload[j] = payload[j], payload[i] })

	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(b []byte) ([]byte, error) { return ed25519.Sign(priv, b), nil }
	info := Info{{"Source-Organization", "Holdfast Test"}, {"Bagging-Date", "2024-05-06"}}

	sumSlice, err := Finalize(ctx, dir, payload, info, sign)
	if err != nil {
		t.Fatalf("Finalize: %v", err)
	}
	want := readTagFiles(t, dir)
	sumStream, err := FinalizeStream(ctx, dir, seqOf(sortedEntries(payload)), info, sign)
	if err != nil {
		t.Fatalf("FinalizeStream: %v", err)
	}
	if sumStream != sumSlice {
		t.Errorf("FinalizeStream returned %s, Finalize %s", sumStream, sumSlice)
	}
	got := readTagFiles(t, dir)
	for _, name := range tagFileNames {
		if !bytes.Equal(got[name], want[name]) {
			t.Errorf("%s differs between Finalize and FinalizeStream", name)
		}
	}
	if oxum := fmt.Sprintf("Payload-Oxum: %d.%d\n", sumSizes(payload), len(payload)); !bytes.Contains(got[bagInfoTxt], []byte(oxum)) {
		t.Errorf("bag-info.txt lacks %q:\n%s", oxum, got[bagInfoTxt])
	}
	// formatManifest is how the manifests were rendered from a slice.
	if !bytes.Equal(got[manifest256], formatManifest(payload, func(d Digests) string { return d.SHA256 })) ||
		!bytes.Equal(got[manifest512], formatManifest(payload, func(d Digests) string { return d.SHA512 })) {
		t.Error("streamed manifests differ from formatManifest of the payload slice")
	}
	lines := bytes.Split(bytes.TrimSuffix(got[manifest256], []byte("\n")), []byte("\n"))
	if len(lines) != len(payload) {
		t.Fatalf("manifest-sha256.txt has %d lines, want %d", len(lines), len(payload))
	}
	for i, e := range sortedEntries(payload) {
		if want := e.SHA256 + "  " + encodePath(e.Path); string(lines[i]) != want {
			t.Fatalf("manifest-sha256.txt line %d = %q, want %q", i+1, lines[i], want)
		}
	}
	rep, err := Validate(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Valid() || len(rep.Warnings) != 0 || rep.PayloadFiles != len(payload) {
		t.Fatalf("bag not clean (%d payload files):\n%s", rep.PayloadFiles, describe(rep))
	}
}

func sumSizes(entries []Entry) int64 {
	var n int64
	for _, e := range entries {
		n += e.Size
	}
	return n
}

// TestFinalizeStreamRejects checks that FinalizeStream refuses bad payload
// streams and leaves the previously finalized bag untouched.
func TestFinalizeStreamRejects(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	newBag := func(t *testing.T) (string, []Entry) {
		dir := t.TempDir()
		var payload []Entry
		for _, rel := range []string{"data/a.txt", "data/b/c.txt", "data/b/d.txt", "data/e.txt"} {
			payload = append(payload, writePlain(t, dir, rel, "content of "+rel))
		}
		sign := func(b []byte) ([]byte, error) { return []byte("signature"), nil }
		if _, err := FinalizeStream(ctx, dir, seqOf(payload), nil, sign); err != nil {
			t.Fatalf("FinalizeStream of a good payload: %v", err)
		}
		return dir, payload
	}
	errBoom := errors.New("boom")
	tests := []struct {
		name string
		// edit may change the bag and returns the stream to finalize.
		edit func(t *testing.T, dir string, p []Entry) iter.Seq2[Entry, error]
		want string
	}{
		{"out of order", func(t *testing.T, dir string, p []Entry) iter.Seq2[Entry, error] {
			p[1], p[2] = p[2], p[1]
			return seqOf(p)
		}, "strictly increasing byte order"},
		{"out of order per-directory walk", func(t *testing.T, dir string, p []Entry) iter.Seq2[Entry, error] {
			// "data/b/…" sorts after "data/b.txt" in byte order.
			extra := writePlain(t, dir, "data/b.txt", "x")
			return seqOf([]Entry{p[0], p[1], p[2], extra, p[3]})
		}, "strictly increasing byte order"},
		{"duplicate", func(t *testing.T, dir string, p []Entry) iter.Seq2[Entry, error] {
			return seqOf([]Entry{p[0], p[1], p[1], p[2], p[3]})
		}, "listed twice"},
		{"unlisted file", func(t *testing.T, dir string, p []Entry) iter.Seq2[Entry, error] {
			writePlain(t, dir, "data/b/zz.txt", "unlisted")
			return seqOf(p)
		}, "every file in data/ must be listed"},
		{"omitted entry", func(t *testing.T, dir string, p []Entry) iter.Seq2[Entry, error] {
			return seqOf(p[1:])
		}, "every file in data/ must be listed"},
		{"missing file", func(t *testing.T, dir string, p []Entry) iter.Seq2[Entry, error] {
			return seqOf(append(slices.Clone(p), Entry{Path: "data/f.txt", Digests: p[0].Digests}))
		}, "data/f.txt"},
		{"wrong size", func(t *testing.T, dir string, p []Entry) iter.Seq2[Entry, error] {
			p[2].Size++
			return seqOf(p)
		}, "bytes, recorded"},
		{"not under data", func(t *testing.T, dir string, p []Entry) iter.Seq2[Entry, error] {
			return seqOf(append(slices.Clone(p), Entry{Path: "other/x", Digests: p[0].Digests}))
		}, "not under data/"},
		{"malformed digest", func(t *testing.T, dir string, p []Entry) iter.Seq2[Entry, error] {
			p[0].SHA256 = strings.ToUpper(p[0].SHA256)
			return seqOf(p)
		}, "malformed digests"},
		{"symlinked directory", func(t *testing.T, dir string, p []Entry) iter.Seq2[Entry, error] {
			if err := os.Symlink("b", filepath.Join(dir, "data", "l")); err != nil {
				t.Skip("symlinks unavailable:", err)
			}
			// data/l/c.txt is data/b/c.txt again; counting alone would
			// not notice, so the symlink itself must be refused.
			l := p[1]
			l.Path = "data/l/c.txt"
			return seqOf([]Entry{p[0], p[1], p[2], p[3], l})
		}, "neither a regular file nor a directory"},
		{"iterator error", func(t *testing.T, dir string, p []Entry) iter.Seq2[Entry, error] {
			return func(yield func(Entry, error) bool) {
				if yield(p[0], nil) {
					yield(Entry{}, errBoom)
				}
			}
		}, "boom"},
		{"bad info", func(t *testing.T, dir string, p []Entry) iter.Seq2[Entry, error] {
			return seqOf(p)
		}, "invalid bag-info label"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir, payload := newBag(t)
			before := readTagFiles(t, dir)
			var info Info
			if tt.name == "bad info" {
				info = Info{{"Bad: Label", "x"}}
			}
			_, err := FinalizeStream(ctx, dir, tt.edit(t, dir, payload), info, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("FinalizeStream error = %v, want one containing %q", err, tt.want)
			}
			if tt.name == "iterator error" && !errors.Is(err, errBoom) {
				t.Errorf("error %v does not wrap the iterator's error", err)
			}
			after := readTagFiles(t, dir)
			for _, name := range tagFileNames {
				if !bytes.Equal(before[name], after[name]) {
					t.Errorf("%s changed although FinalizeStream failed", name)
				}
			}
			err = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
				if err == nil && strings.HasPrefix(path.Base(p), TempPrefix) {
					t.Errorf("temporary file %s left behind", p)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestFinalizeStreamStopsEarly checks that the payload iterator is not
// resumed after an error and that a cancelled context stops finalizing.
func TestFinalizeStreamStopsEarly(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e := writePlain(t, dir, "data/a.txt", "a")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	yielded := 0
	_, err := FinalizeStream(ctx, dir, func(yield func(Entry, error) bool) {
		for range 3 {
			yielded++
			if !yield(e, nil) {
				return
			}
		}
		t.Error("the iterator was resumed after FinalizeStream stopped")
	}, nil, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("FinalizeStream with a cancelled context = %v", err)
	}
	if yielded != 1 {
		t.Errorf("iterator yielded %d entries, want 1", yielded)
	}
	if _, err := os.Stat(filepath.Join(dir, manifest256)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("manifest written despite cancellation: %v", err)
	}
}

// TestFinalizeEmptyPayload checks a bag with an empty payload.
func TestFinalizeEmptyPayload(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := FinalizeStream(context.Background(), dir, seqOf(nil), nil, nil); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{manifest256: "", manifest512: ""} {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(b) != want {
			t.Errorf("%s = %q, %v", name, b, err)
		}
	}
	info, _ := os.ReadFile(filepath.Join(dir, bagInfoTxt))
	if !bytes.Contains(info, []byte("Payload-Oxum: 0.0\n")) {
		t.Errorf("bag-info.txt:\n%s", info)
	}
	rep, err := Validate(context.Background(), dir, Options{})
	if err != nil || !rep.Valid() {
		t.Fatalf("empty bag invalid: %v\n%s", err, describe(rep))
	}
}

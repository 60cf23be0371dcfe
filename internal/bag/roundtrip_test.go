package bag

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// buildBag writes a small signed bag into a fresh temp dir and returns its
// path and the signer's public key.
func buildBag(t *testing.T) (string, ed25519.PublicKey) {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	files := []struct{ rel, content string }{
		{"data/recordings/call-0001.wav", strings.Repeat("RIFF-audio-", 5000)},
		{"data/recordings/call 0002 (copy).wav", "second call"},
		{"data/metadata/100%.json", `{"pct":100}`},
		{"data/empty.txt", ""},
	}
	var payload []Entry
	for _, f := range files {
		d, err := WriteFile(ctx, dir, f.rel, strings.NewReader(f.content))
		if err != nil {
			t.Fatalf("WriteFile %s: %v", f.rel, err)
		}
		sum := sha256.Sum256([]byte(f.content))
		if d.SHA256 != hex.EncodeToString(sum[:]) || d.Size != int64(len(f.content)) {
			t.Fatalf("WriteFile %s: digests %+v wrong", f.rel, d)
		}
		payload = append(payload, Entry{Path: f.rel, Digests: d})
	}
	if _, err := WriteFile(ctx, dir, "custody/custody.json", strings.NewReader(`{"events":[]}`)); err != nil {
		t.Fatal(err)
	}
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(b []byte) ([]byte, error) { return ed25519.Sign(priv, b), nil }
	info := Info{{"Source-Organization", "Holdfast Test"}, {"External-Identifier", "case-42"}}
	tmSum, err := Finalize(ctx, dir, payload, info, sign)
	if err != nil {
		t.Fatalf("Finalize: %v", err)
	}
	tm, err := os.ReadFile(filepath.Join(dir, "tagmanifest-sha256.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(tm); hex.EncodeToString(sum[:]) != tmSum {
		t.Fatalf("Finalize returned %s, file hashes to %x", tmSum, sum)
	}
	sig, err := os.ReadFile(filepath.Join(dir, SignatureFile))
	if err != nil {
		t.Fatal(err)
	}
	if !ed25519.Verify(pub, tm, sig) {
		t.Fatal("signature does not verify")
	}
	return dir, pub
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	dir, _ := buildBag(t)
	rep, err := Validate(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Valid() || len(rep.Warnings) != 0 {
		t.Fatalf("fresh bag not clean:\n%s", describe(rep))
	}
	if rep.Version != "1.0" || rep.PayloadFiles != 4 {
		t.Fatalf("report = %+v", rep)
	}
	tm, _ := os.ReadFile(filepath.Join(dir, "tagmanifest-sha256.txt"))
	for _, want := range []string{"bag-info.txt", "bagit.txt", "custody/custody.json", "manifest-sha256.txt", "manifest-sha512.txt"} {
		if !bytes.Contains(tm, []byte("  "+want+"\n")) {
			t.Errorf("tagmanifest-sha256.txt does not list %s:\n%s", want, tm)
		}
	}
	m, _ := os.ReadFile(filepath.Join(dir, "manifest-sha256.txt"))
	if !bytes.Contains(m, []byte("  data/metadata/100%25.json\n")) {
		t.Errorf("percent not encoded in manifest:\n%s", m)
	}
	// Finalize refuses a payload list that omits files present in data/.
	if _, err := Finalize(context.Background(), dir, nil, nil, nil); err == nil {
		t.Error("Finalize accepted a payload list missing files in data/")
	}
}

// TestTamper flips one byte in each kind of file and expects Validate to
// fail naming that file.
func TestTamper(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		rel  string
		// offset picks the byte to change; it must be a hex digit in
		// manifests so the file stays parseable.
		offset int
	}{
		{"payload", "data/recordings/call-0001.wav", 100},
		{"empty-named-payload", "data/recordings/call 0002 (copy).wav", 0},
		{"bag-info", "bag-info.txt", 3},
		{"custody", "custody/custody.json", 2},
		{"bagit", "bagit.txt", 16},
		{"manifest-sha256", "manifest-sha256.txt", 5},
		{"manifest-sha512", "manifest-sha512.txt", 5},
		{"tagmanifest-sha256", "tagmanifest-sha256.txt", 7},
		{"tagmanifest-sha512", "tagmanifest-sha512.txt", 7},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir, _ := buildBag(t)
			p := filepath.Join(dir, filepath.FromSlash(tc.rel))
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			b[tc.offset] = flip(b[tc.offset])
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			rep, err := Validate(context.Background(), dir, Options{Workers: 3})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Valid() {
				t.Fatalf("tampered %s accepted", tc.rel)
			}
			found := false
			for _, pr := range rep.Problems {
				found = found || pr.Path == tc.rel
			}
			if !found {
				t.Errorf("no problem names %s:\n%s", tc.rel, describe(rep))
			}
		})
	}
}

// flip changes a byte to a different one, keeping hex digits hex and
// printable text printable.
func flip(c byte) byte {
	switch {
	case c == 'f':
		return '0'
	case c >= '0' && c <= '9' || c >= 'a' && c <= 'e':
		return c + 1
	default:
		return c ^ 0x01
	}
}

// failingReader yields n bytes and then an error.
type failingReader struct{ n int }

var errBoom = errors.New("boom")

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, errBoom
	}
	k := min(len(p), r.n)
	for i := range p[:k] {
		p[i] = 'x'
	}
	r.n -= k
	return k, nil
}

func TestWriteFileCrashSafety(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		r    func() io.Reader
		ctx  func() context.Context
	}{
		{"reader-error-small", func() io.Reader { return &failingReader{n: 10} }, context.Background},
		{"reader-error-after-chunks", func() io.Reader { return &failingReader{n: 3*copyBufSize + 7} }, context.Background},
		{"cancelled", func() io.Reader { return strings.NewReader("data") }, func() context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			rel := "data/recordings/x.wav"
			if _, err := WriteFile(tc.ctx(), dir, rel, tc.r()); err == nil {
				t.Fatal("WriteFile succeeded on a failing source")
			}
			if _, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(rel))); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("final path exists after failure: %v", err)
			}
			ents, err := os.ReadDir(filepath.Join(dir, "data", "recordings"))
			if err != nil {
				t.Fatal(err)
			}
			if len(ents) != 0 {
				t.Fatalf("junk left behind: %v", ents)
			}
		})
	}
}

func TestWriteFileRejectsBadPaths(t *testing.T) {
	t.Parallel()
	for _, rel := range []string{"", ".", "/abs", "../x", "data/../../x", "data//x", `data\x`, "data/" + TempPrefix + "x", "a\x00b"} {
		t.Run(rel, func(t *testing.T) {
			t.Parallel()
			if _, err := WriteFile(context.Background(), t.TempDir(), rel, strings.NewReader("x")); err == nil {
				t.Errorf("WriteFile(%q) succeeded", rel)
			}
		})
	}
}

func TestRemoveStaleTemp(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	junk := filepath.Join(dir, "data", TempPrefix+"abc-x.wav")
	if err := os.MkdirAll(filepath.Dir(junk), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(junk, []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}
	removed, err := RemoveStaleTemp(dir)
	if err != nil || len(removed) != 1 {
		t.Fatalf("RemoveStaleTemp = %v, %v", removed, err)
	}
	if _, err := os.Stat(junk); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("temp file still present")
	}
}

package export

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/holdfast/holdfast/internal/bag"
)

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

package fsblob_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/holdfast/holdfast/internal/blob"
	"github.com/holdfast/holdfast/internal/blob/blobtest"
	"github.com/holdfast/holdfast/internal/blob/fsblob"
)

func TestConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store {
		s, err := fsblob.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestOpenRemovesLeftoverTemporaries(t *testing.T) {
	root := t.TempDir()
	if _, err := fsblob.Open(root); err != nil {
		t.Fatal(err)
	}
	junk := filepath.Join(root, ".tmp", "put-123")
	if err := os.WriteFile(junk, []byte("half a blob"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := fsblob.Open(root); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(junk); !os.IsNotExist(err) {
		t.Fatalf("leftover temporary survived reopen: %v", err)
	}
}

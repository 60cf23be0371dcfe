package export

import (
	"context"
	"fmt"
	"github.com/holdfast/holdfast/internal/vault"
	"os"
	"path/filepath"
)

// Destination is where bags are written and published. The engine writes
// a bag into the directory Stage returns, one file at a time, and calls
// Publish once it is finalized. Implementations are safe for concurrent
// use. An S3 destination stages locally and uploads on Publish.
type Destination interface {
	// Stage returns the local directory for bag name, creating it. Calling
	// it again for the same name (after a crash) returns the same
	// directory with what was written before.
	Stage(ctx context.Context, name string) (string, error)
	// Publish makes a finalized bag available and returns its location.
	Publish(ctx context.Context, name, dir string) (string, error)
	// Local returns the local directory of a published bag, for
	// downloads, or an error if it has none.
	Local(name string) (string, error)
}

// FilesystemDestination keeps bags under Root (the data directory's
// exports/ folder).
type FilesystemDestination struct {
	Root string
}

var _ Destination = FilesystemDestination{}

// Stage creates Root/name.
func (d FilesystemDestination) Stage(ctx context.Context, name string) (string, error) {
	dir := filepath.Join(d.Root, name)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", fmt.Errorf("export: stage %s: %w", name, err)
	}
	return dir, nil
}

// Publish leaves the bag where it is; its location is its path.
func (d FilesystemDestination) Publish(ctx context.Context, name, dir string) (string, error) {
	return dir, nil
}

// Local returns Root/name.
func (d FilesystemDestination) Local(name string) (string, error) {
	return filepath.Join(d.Root, name), nil
}

// S3Uploader writes a sealed bag to the S3 bucket and prefix of an s3
// destination with its Object Lock settings, server-side, and returns the
// package location (s3://bucket/prefix/name).
type S3Uploader interface {
	UploadBag(ctx context.Context, dir, name string, d vault.Destination) (string, error)
}

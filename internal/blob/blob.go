// Package blob defines holdfast's content-addressed blob store: where the
// bytes of recordings live, named by their SHA-256.
//
// It is for the HTTP API (which streams uploads in and media out), the
// processor and the export engine. Implementations live in sub-packages
// (fsblob for a local directory) and all pass the suite in blobtest.
package blob

import (
	"context"
	"errors"
	"io"
	"time"
)

// ErrNotFound is returned by Open and Stat when no blob has the digest.
var ErrNotFound = errors.New("blob: not found")

// ErrTooLarge is returned by Put when the content exceeds the limit it was
// given; nothing is stored.
var ErrTooLarge = errors.New("blob: content exceeds the size limit")

// Digests identify stored content: its size and its SHA-256 and SHA-512,
// both computed while the content streamed in, so it is read only once.
type Digests struct {
	Size   int64
	SHA256 string // lowercase hex; also the blob's name
	SHA512 string // lowercase hex
}

// Object is an open blob: readable sequentially, at offsets and by seeking
// (for Range requests). Close it when done.
type Object interface {
	io.ReadSeekCloser
	io.ReaderAt
	Size() int64
}

// Store keeps blobs by SHA-256. Implementations are safe for concurrent
// use.
type Store interface {
	// Put streams r into the store, hashing as it writes, and returns the
	// digests. Content is durable and complete under its name before Put
	// returns; a crash at any point leaves either nothing or the whole blob.
	// If more than limit bytes arrive (limit > 0), Put returns ErrTooLarge.
	// Putting content that already exists is cheap and not an error.
	Put(ctx context.Context, r io.Reader, limit int64) (Digests, error)
	// Open opens a blob for reading, or returns ErrNotFound.
	Open(ctx context.Context, sha256 string) (Object, error)
	// Delete removes a blob. Deleting a missing blob is not an error.
	// Callers must make sure no recording refers to it.
	Delete(ctx context.Context, sha256 string) error
	// Ping checks the store is usable.
	Ping(ctx context.Context) error
}

// Walker is an optional interface of stores that can list their blobs,
// for garbage collection. Discover it with a type assertion.
type Walker interface {
	// Walk calls fn for every complete blob with its SHA-256 and the time
	// it was stored. Returning an error from fn stops the walk.
	Walk(ctx context.Context, fn func(sha256 string, stored time.Time) error) error
}

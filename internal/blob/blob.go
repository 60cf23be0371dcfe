// Package blob defines holdfast's content-addressed blob store: where the
// bytes of recordings live, named by their SHA-256.
//
// It is for the HTTP API (which streams uploads in and media out), the
// processor and the export engine. Implementations live in sub-packages
// (fsblob for a local directory) and all pass the suite in blobtest.
package blob

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"time"
)

// ErrNotFound is returned by Open and Stat when no blob has the digest.
var ErrNotFound = errors.New("blob: not found")

// ErrTooLarge is returned by Put when the content exceeds the limit it was
// given; nothing is stored.
var ErrTooLarge = errors.New("blob: content exceeds the size limit")

// ErrLocked is returned by Delete when a version of the blob is under an
// S3 legal hold (Object Lock): the store did not try to delete it.
var ErrLocked = errors.New("blob: locked by a legal hold")

// Digests identify stored content: its size and its SHA-256 and SHA-512,
// both computed while the content streamed in, so it is read only once.
type Digests struct {
	Size   int64
	SHA256 string // lowercase hex; also the blob's name
	SHA512 string // lowercase hex
	// Version is the store's version id of the object written (S3 with
	// versioning); "" where the store keeps no versions. Object Lock
	// locks exactly this version.
	Version string
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

// Hasher computes the [Digests] of content written to it, for stores that
// see content chunk by chunk. It is not safe for concurrent use.
type Hasher struct {
	h256, h512 hash.Hash
	size       int64
}

// NewHasher returns an empty Hasher.
func NewHasher() *Hasher { return &Hasher{h256: sha256.New(), h512: sha512.New()} }

// Write hashes p; it never fails.
func (h *Hasher) Write(p []byte) (int, error) {
	h.h256.Write(p)
	h.h512.Write(p)
	h.size += int64(len(p))
	return len(p), nil
}

// Digests returns the size and digests of everything written so far.
func (h *Hasher) Digests() Digests {
	return Digests{Size: h.size, SHA256: hex.EncodeToString(h.h256.Sum(nil)), SHA512: hex.EncodeToString(h.h512.Sum(nil))}
}

// ValidDigest reports whether s is a lowercase hex SHA-256, the only form
// of blob name a store accepts.
func ValidDigest(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

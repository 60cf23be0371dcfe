package audit

import (
	"encoding/base64"
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
)

// LeafHash returns the RFC 6962 leaf hash, SHA-256(0x00 || canonical), of an
// entry's canonical bytes (see [Entry.Canonical]). It is tlog.RecordHash.
func LeafHash(canonical []byte) tlog.Hash {
	return tlog.RecordHash(canonical)
}

// StoredHashes returns the tree hashes the store must persist, in order at
// tlog.StoredHashIndex(0, n) onwards, when appending leaf number n (0-based)
// with leaf hash leaf. r must give read access to the hashes stored for
// leaves 0..n-1; persisting the result in the same transaction as the entry
// keeps the tree and the entries consistent. It wraps
// tlog.StoredHashesForRecordHash.
func StoredHashes(n int64, leaf tlog.Hash, r tlog.HashReader) ([]tlog.Hash, error) {
	if n < 0 {
		return nil, fmt.Errorf("audit: stored hashes: negative leaf number %d", n)
	}
	hs, err := tlog.StoredHashesForRecordHash(n, leaf, r)
	if err != nil {
		return nil, fmt.Errorf("audit: stored hashes for leaf %d: %w", n, err)
	}
	return hs, nil
}

// TreeHash returns the RFC 6962 root hash of the tree of the first n leaves,
// read from stored hashes. The empty tree (n == 0) has root SHA-256("").
func TreeHash(n int64, r tlog.HashReader) (tlog.Hash, error) {
	if n < 0 {
		return tlog.Hash{}, fmt.Errorf("audit: tree hash: negative size %d", n)
	}
	h, err := tlog.TreeHash(n, r)
	if err != nil {
		return tlog.Hash{}, fmt.Errorf("audit: tree hash of size %d: %w", n, err)
	}
	return h, nil
}

// EmptyRoot returns the root hash of the empty tree, SHA-256(""), per RFC 6962.
func EmptyRoot() tlog.Hash {
	h, _ := tlog.TreeHash(0, nil) // cannot fail: n == 0 reads nothing
	return h
}

// ProveInclusion returns the RFC 6962 audit path proving that the leaf with
// the given index is in the tree of the given size, from stored hashes.
// The proof is the list of sibling hashes from the leaf up, which is also the
// order RFC 9162 verifiers (e.g. transparency-dev/merkle) expect.
func ProveInclusion(index, size int64, r tlog.HashReader) (tlog.RecordProof, error) {
	if index < 0 || index >= size {
		return nil, fmt.Errorf("audit: inclusion proof: index %d not in tree of size %d", index, size)
	}
	p, err := tlog.ProveRecord(size, index, r)
	if err != nil {
		return nil, fmt.Errorf("audit: inclusion proof for %d in %d: %w", index, size, err)
	}
	return p, nil
}

// ProveConsistency returns the RFC 6962 consistency proof that the tree of
// oldSize leaves is a prefix of the tree of newSize leaves. A proof from the
// empty tree, or between equal sizes, is empty.
func ProveConsistency(oldSize, newSize int64, r tlog.HashReader) (tlog.TreeProof, error) {
	if oldSize < 0 || oldSize > newSize {
		return nil, fmt.Errorf("audit: consistency proof: invalid sizes %d -> %d", oldSize, newSize)
	}
	if oldSize == 0 || oldSize == newSize {
		return tlog.TreeProof{}, nil
	}
	p, err := tlog.ProveTree(newSize, oldSize, r)
	if err != nil {
		return nil, fmt.Errorf("audit: consistency proof %d -> %d: %w", oldSize, newSize, err)
	}
	return p, nil
}

// CheckInclusion verifies that proof shows the leaf hash leaf at index in the
// tree of the given size with the given root. It returns nil on success.
func CheckInclusion(proof tlog.RecordProof, size int64, root tlog.Hash, index int64, leaf tlog.Hash) error {
	if index < 0 || index >= size {
		return fmt.Errorf("audit: inclusion check: index %d not in tree of size %d", index, size)
	}
	if err := tlog.CheckRecord(proof, size, root, index, leaf); err != nil {
		return fmt.Errorf("audit: inclusion of leaf %d in tree of size %d: %w", index, size, err)
	}
	return nil
}

// CheckConsistency verifies that proof shows the tree (oldSize, oldRoot) to be
// a prefix of the tree (newSize, newRoot), i.e. that the log was only
// appended to between the two checkpoints. It returns nil on success.
func CheckConsistency(proof tlog.TreeProof, newSize int64, newRoot tlog.Hash, oldSize int64, oldRoot tlog.Hash) error {
	if oldSize < 0 || oldSize > newSize {
		return fmt.Errorf("audit: consistency check: invalid sizes %d -> %d", oldSize, newSize)
	}
	if oldSize == 0 || oldSize == newSize {
		switch {
		case len(proof) != 0:
			return fmt.Errorf("audit: consistency %d -> %d: expected an empty proof, got %d hashes", oldSize, newSize, len(proof))
		case oldSize == 0 && oldRoot != EmptyRoot():
			return errors.New("audit: consistency check: old root is not the empty tree root")
		case oldSize == newSize && oldRoot != newRoot:
			return fmt.Errorf("audit: consistency check: roots differ at equal size %d", oldSize)
		}
		return nil
	}
	if err := tlog.CheckTree(proof, newSize, newRoot, oldSize, oldRoot); err != nil {
		return fmt.Errorf("audit: consistency %d -> %d: %w", oldSize, newSize, err)
	}
	return nil
}

// FormatHash encodes a hash as standard padded base64 (44 characters), the
// same encoding as checkpoint root hashes and tlog.Hash.String. It is the
// text form of leaf_hash and root hashes in the API.
func FormatHash(h tlog.Hash) string {
	return base64.StdEncoding.EncodeToString(h[:])
}

// ParseHash decodes the output of [FormatHash]. It is strict: only the exact
// canonical 44-character padded base64 encoding of 32 bytes is accepted, so
// each hash has one text form.
func ParseHash(s string) (tlog.Hash, error) {
	var h tlog.Hash
	if len(s) != base64.StdEncoding.EncodedLen(len(h)) {
		return h, fmt.Errorf("audit: malformed hash %q: want %d base64 characters", s, base64.StdEncoding.EncodedLen(len(h)))
	}
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != len(h) {
		return h, fmt.Errorf("audit: malformed hash %q: %w", s, errors.Join(err, errors.New("not base64 of 32 bytes")))
	}
	copy(h[:], b)
	return h, nil
}

// RootBuilder computes an RFC 6962 Merkle root incrementally from leaf hashes
// in O(log n) memory: it keeps one hash per set bit of the leaf count (the
// roots of the perfect subtrees the tree decomposes into). It lets a client
// recompute the root of a log of any length as the entries stream past.
// The zero value is an empty tree. A RootBuilder is not safe for concurrent
// use.
type RootBuilder struct {
	n     int64
	stack []tlog.Hash // perfect subtree roots, largest (leftmost) first
}

// Add appends a leaf hash.
func (b *RootBuilder) Add(leaf tlog.Hash) {
	b.stack = append(b.stack, leaf)
	// Each trailing 1 bit of the old count is a subtree of equal size to merge.
	for m := b.n; m&1 == 1; m >>= 1 {
		k := len(b.stack)
		b.stack[k-2] = tlog.NodeHash(b.stack[k-2], b.stack[k-1])
		b.stack = b.stack[:k-1]
	}
	b.n++
}

// Size returns the number of leaves added.
func (b *RootBuilder) Size() int64 { return b.n }

// Root returns the RFC 6962 root of the leaves added so far.
func (b *RootBuilder) Root() tlog.Hash {
	if b.n == 0 {
		return EmptyRoot()
	}
	h := b.stack[len(b.stack)-1]
	for i := len(b.stack) - 2; i >= 0; i-- {
		h = tlog.NodeHash(b.stack[i], h)
	}
	return h
}

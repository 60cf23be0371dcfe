package audit

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/tlog"
)

// memHashes is an in-memory tlog hash store, standing in for the SQL store.
type memHashes struct {
	n      int64
	hashes []tlog.Hash
}

func (m *memHashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(m.hashes)) {
			return nil, fmt.Errorf("hash %d not stored", x)
		}
		out[i] = m.hashes[x]
	}
	return out, nil
}

func (m *memHashes) append(t testing.TB, leaf tlog.Hash) {
	t.Helper()
	hs, err := StoredHashes(m.n, leaf, m)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(m.hashes)) != tlog.StoredHashIndex(0, m.n) {
		t.Fatalf("stored hash count %d, want %d", len(m.hashes), tlog.StoredHashIndex(0, m.n))
	}
	m.hashes = append(m.hashes, hs...)
	m.n++
}

func testLeaf(i int) []byte { return fmt.Appendf(nil, "leaf %d", i) }

// refRoot is an independent recursive RFC 6962 MTH using transparency-dev's hasher.
func refRoot(leaves [][]byte) []byte {
	h := rfc6962.DefaultHasher
	switch len(leaves) {
	case 0:
		return h.EmptyRoot()
	case 1:
		return h.HashLeaf(leaves[0])
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	return h.HashChildren(refRoot(leaves[:k]), refRoot(leaves[k:]))
}

func proofBytes[P ~[]tlog.Hash](p P) [][]byte {
	out := make([][]byte, len(p))
	for i := range p {
		out[i] = p[i][:]
	}
	return out
}

func TestTreeAgainstIndependentVerifier(t *testing.T) {
	const maxSize = 70
	var store memHashes
	var leaves [][]byte
	var b RootBuilder
	roots := []tlog.Hash{EmptyRoot()}
	for i := range maxSize {
		leaves = append(leaves, testLeaf(i))
		leaf := LeafHash(leaves[i])
		if !bytes.Equal(leaf[:], rfc6962.DefaultHasher.HashLeaf(leaves[i])) {
			t.Fatalf("LeafHash(%d) differs from RFC 6962", i)
		}
		store.append(t, leaf)
		b.Add(leaf)
		root, err := TreeHash(int64(i+1), &store)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(root[:], refRoot(leaves)) || b.Root() != root || b.Size() != int64(i+1) {
			t.Fatalf("root of size %d differs between TreeHash, RootBuilder and reference", i+1)
		}
		roots = append(roots, root)
	}
	if r, _ := TreeHash(0, &store); r != EmptyRoot() || !bytes.Equal(r[:], rfc6962.DefaultHasher.EmptyRoot()) {
		t.Fatal("empty root mismatch")
	}

	for size := int64(1); size <= maxSize; size++ {
		for idx := int64(0); idx < size; idx++ {
			p, err := ProveInclusion(idx, size, &store)
			if err != nil {
				t.Fatal(err)
			}
			leaf := LeafHash(leaves[idx])
			if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(idx), uint64(size), leaf[:], proofBytes(p), roots[size][:]); err != nil {
				t.Errorf("transparency-dev rejects inclusion %d/%d: %v", idx, size, err)
			}
			if err := CheckInclusion(p, size, roots[size], idx, leaf); err != nil {
				t.Errorf("CheckInclusion %d/%d: %v", idx, size, err)
			}
			if err := CheckInclusion(p, size, roots[size], idx, LeafHash([]byte("other"))); err == nil {
				t.Errorf("CheckInclusion %d/%d accepted a wrong leaf", idx, size)
			}
		}
	}

	for newSize := int64(0); newSize <= maxSize; newSize++ {
		for oldSize := int64(0); oldSize <= newSize; oldSize++ {
			p, err := ProveConsistency(oldSize, newSize, &store)
			if err != nil {
				t.Fatal(err)
			}
			if err := proof.VerifyConsistency(rfc6962.DefaultHasher, uint64(oldSize), uint64(newSize), proofBytes(p), roots[oldSize][:], roots[newSize][:]); err != nil {
				t.Errorf("transparency-dev rejects consistency %d->%d: %v", oldSize, newSize, err)
			}
			if err := CheckConsistency(p, newSize, roots[newSize], oldSize, roots[oldSize]); err != nil {
				t.Errorf("CheckConsistency %d->%d: %v", oldSize, newSize, err)
			}
			if oldSize > 0 && oldSize < newSize {
				if err := CheckConsistency(p, newSize, roots[newSize], oldSize, roots[oldSize-1]); err == nil {
					t.Errorf("CheckConsistency %d->%d accepted a wrong old root", oldSize, newSize)
				}
			}
		}
	}
}

func TestProofErrors(t *testing.T) {
	var store memHashes
	for i := range 8 {
		store.append(t, LeafHash(testLeaf(i)))
	}
	root, _ := TreeHash(8, &store)
	root5, _ := TreeHash(5, &store)
	incl, _ := ProveInclusion(3, 8, &store)
	cons, _ := ProveConsistency(5, 8, &store)
	tampered := func(p []tlog.Hash) []tlog.Hash {
		q := append([]tlog.Hash(nil), p...)
		q[0][0] ^= 1
		return q
	}
	tests := []struct {
		name string
		run  func() error
	}{
		{"inclusion index out of range", func() error { _, err := ProveInclusion(8, 8, &store); return err }},
		{"inclusion negative index", func() error { _, err := ProveInclusion(-1, 8, &store); return err }},
		{"inclusion beyond stored", func() error { _, err := ProveInclusion(3, 9, &store); return err }},
		{"consistency old > new", func() error { _, err := ProveConsistency(6, 5, &store); return err }},
		{"consistency beyond stored", func() error { _, err := ProveConsistency(5, 20, &store); return err }},
		{"tree hash beyond stored", func() error { _, err := TreeHash(20, &store); return err }},
		{"tree hash negative", func() error { _, err := TreeHash(-1, &store); return err }},
		{"check tampered inclusion", func() error {
			return CheckInclusion(tampered(incl), 8, root, 3, LeafHash(testLeaf(3)))
		}},
		{"check inclusion wrong index", func() error { return CheckInclusion(incl, 8, root, 4, LeafHash(testLeaf(3))) }},
		{"check tampered consistency", func() error { return CheckConsistency(tampered(cons), 8, root, 5, root5) }},
		{"check consistency wrong new root", func() error { return CheckConsistency(cons, 8, root5, 5, root5) }},
		{"check consistency from empty with proof", func() error { return CheckConsistency(cons, 8, root, 0, EmptyRoot()) }},
		{"check consistency from empty wrong root", func() error { return CheckConsistency(nil, 8, root, 0, root5) }},
		{"check consistency equal sizes different roots", func() error { return CheckConsistency(nil, 5, root, 5, root5) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			if err == nil {
				t.Fatal("succeeded, want error")
			}
			if !strings.HasPrefix(err.Error(), "audit: ") {
				t.Errorf("error %q lacks audit: prefix", err)
			}
		})
	}
}

func TestHashText(t *testing.T) {
	h := LeafHash([]byte("x"))
	s := FormatHash(h)
	if s != h.String() || len(s) != 44 {
		t.Fatalf("FormatHash = %q, tlog String = %q", s, h.String())
	}
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"round trip", s, true},
		{"empty", "", false},
		{"hex", strings.Repeat("ab", 32), false},
		{"unpadded", strings.TrimRight(s, "="), false},
		{"url alphabet", strings.NewReplacer("+", "-", "/", "_").Replace(FormatHash(tlog.Hash{0xfb, 0xff})), false},
		{"non-canonical trailing bits", s[:42] + string(s[42]^1) + "=", false},
		{"whitespace", " " + s[1:], false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseHash(tc.in)
			if tc.ok != (err == nil) {
				t.Fatalf("ParseHash(%q) err = %v, want ok=%v", tc.in, err, tc.ok)
			}
			if tc.ok && got != h {
				t.Errorf("ParseHash round trip mismatch")
			}
		})
	}
}

package audit

import (
	"fmt"
	"iter"
	"slices"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// storedTree builds the full stored-hash tree of ids with tlog itself, the
// reference the streaming set code must agree with.
func storedTree(t *testing.T, ids []string) (mapReader, tlog.Hash) {
	t.Helper()
	m := mapReader{}
	for i, id := range ids {
		hs, err := tlog.StoredHashesForRecordHash(int64(i), IDLeafHash(id), m)
		if err != nil {
			t.Fatal(err)
		}
		base := tlog.StoredHashIndex(0, int64(i))
		for k, h := range hs {
			m[base+int64(k)] = h
		}
	}
	root, err := tlog.TreeHash(int64(len(ids)), m)
	if err != nil {
		t.Fatal(err)
	}
	return m, root
}

func idSeq(ids []string) func() iter.Seq2[string, error] {
	return func() iter.Seq2[string, error] {
		return func(yield func(string, error) bool) {
			for _, id := range ids {
				if !yield(id, nil) {
					return
				}
			}
		}
	}
}

func TestSetProofsMatchTlog(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 2, 3, 5, 8, 13, 64, 100, 257} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			ids := make([]string, n)
			for i := range ids {
				ids[i] = fmt.Sprintf("rec_%05d", i)
			}
			ref, root := storedTree(t, ids)
			rev := slices.Clone(ids)
			slices.Reverse(rev)
			gotN, gotRoot := SetOf(rev)
			if gotN != int64(n) || gotRoot != root {
				t.Fatalf("SetOf = %d %x, want %d %x", gotN, gotRoot, n, root)
			}
			want := []string{ids[0], ids[n/2], ids[n-1]}
			want = slices.Compact(want)
			proofs, err := ProveSet(idSeq(ids), want)
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range want {
				p := proofs[id]
				i := int64(slices.Index(ids, id))
				refProof, err := tlog.ProveRecord(int64(n), i, ref)
				if err != nil {
					t.Fatal(err)
				}
				if p.LeafIndex != i || p.TreeSize != int64(n) || p.Root != root || !slices.Equal(p.Proof, refProof) {
					t.Errorf("proof of %s = %+v, want leaf %d of %d, proof %x", id, p, i, n, refProof)
				}
				if err := CheckSetProof(p.Proof, p.TreeSize, root, p.LeafIndex, id); err != nil {
					t.Error(err)
				}
				if err := CheckSetProof(p.Proof, p.TreeSize, root, p.LeafIndex, id+"x"); err == nil {
					t.Errorf("proof of %s also proves another id", id)
				}
				if len(p.Proof) > 0 {
					bad := slices.Clone(p.Proof)
					bad[0][0] ^= 1
					if err := CheckSetProof(bad, p.TreeSize, root, p.LeafIndex, id); err == nil {
						t.Errorf("tampered proof step of %s still verifies", id)
					}
				}
			}
		})
	}
}

func TestSetBuilderRefusesDisorder(t *testing.T) {
	t.Parallel()
	for _, ids := range [][]string{{"b", "a"}, {"a", "a"}, {"rec_B", "rec_a", "rec_A"}} {
		var b SetBuilder
		var err error
		for _, id := range ids {
			if err = b.Add(id); err != nil {
				break
			}
		}
		if err == nil {
			t.Errorf("SetBuilder accepted %q", ids)
		}
	}
}

func TestProveSetNamesMissing(t *testing.T) {
	t.Parallel()
	ids := []string{"a", "c", "e"}
	for _, want := range [][]string{{"b"}, {"a", "f"}, {"0"}} {
		if _, err := ProveSet(idSeq(ids), want); err == nil {
			t.Errorf("ProveSet(%q) succeeded", want)
		}
	}
	if n, root := SetOf(nil); n != 0 || root != EmptyRoot() {
		t.Errorf("empty set = %d %x", n, root)
	}
	if h, err := ParseSetRoot(FormatSetRoot(EmptyRoot())); err != nil || h != EmptyRoot() {
		t.Errorf("set root round trip: %v", err)
	}
	for _, bad := range []string{"", "zz", FormatSetRoot(EmptyRoot())[:63], "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"} {
		if _, err := ParseSetRoot(bad); err == nil {
			t.Errorf("ParseSetRoot(%q) accepted", bad)
		}
	}
}

// FuzzParseSetRoot checks that ParseSetRoot accepts exactly the 64
// lowercase hex digits FormatSetRoot makes, and round-trips them.
func FuzzParseSetRoot(f *testing.F) {
	f.Add(FormatSetRoot(EmptyRoot()))
	f.Add("E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855")
	f.Add("zz")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseSetRoot(s)
		if err != nil {
			return
		}
		if FormatSetRoot(h) != s {
			t.Fatalf("ParseSetRoot(%q) accepted a form FormatSetRoot does not make (%s)", s, FormatSetRoot(h))
		}
	})
}

package audit

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"iter"
	"slices"
	"strings"

	"golang.org/x/mod/sumdb/tlog"
)

// A recording set is what an audit entry of a change over many recordings
// (a hold, a release, an export) records instead of the ids themselves:
// recording_count and recordings_root, the RFC 6962 Merkle tree hash over
// the set's ids sorted bytewise, each id's UTF-8 bytes one leaf. So an
// entry stays the same size whether it covers one recording or millions,
// and one recording's membership is shown by an inclusion proof.

// IDLeafHash returns the RFC 6962 leaf hash, SHA-256(0x00 || id), of one
// recording id in a recording set.
func IDLeafHash(id string) tlog.Hash {
	return tlog.RecordHash([]byte(id))
}

// FormatSetRoot encodes a recordings_root as lowercase hex, its form in
// audit entries and proofs.
func FormatSetRoot(h tlog.Hash) string { return hex.EncodeToString(h[:]) }

// ParseSetRoot decodes the output of [FormatSetRoot] (or one hex proof
// step); only 64 lowercase hex digits are accepted.
func ParseSetRoot(s string) (tlog.Hash, error) {
	var h tlog.Hash
	if len(s) != 2*len(h) || strings.ToLower(s) != s {
		return h, fmt.Errorf("audit: malformed set hash %q: want 64 lowercase hex digits", s)
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, fmt.Errorf("audit: malformed set hash %q: %w", s, err)
	}
	return h, nil
}

// SetBuilder computes a recording set's count and root from its ids as
// they stream past in bytewise order, in O(log n) memory. It refuses ids
// out of order or repeated, so a caller whose source does not sort
// bytewise learns it instead of recording a wrong root. The zero value is
// an empty set. A SetBuilder is not safe for concurrent use.
type SetBuilder struct {
	tree RootBuilder
	last string
}

// Add appends the next id, which must sort bytewise after the previous one.
func (b *SetBuilder) Add(id string) error {
	if b.tree.Size() > 0 && id <= b.last {
		return fmt.Errorf("audit: recording set ids out of order: %q after %q", id, b.last)
	}
	b.last = id
	b.tree.Add(IDLeafHash(id))
	return nil
}

// Count returns how many ids were added.
func (b *SetBuilder) Count() int64 { return b.tree.Size() }

// Root returns the set's RFC 6962 root.
func (b *SetBuilder) Root() tlog.Hash { return b.tree.Root() }

// SetOf returns the count and root of a set held in memory (a short
// per-recording request); ids need not be sorted and are not modified.
func SetOf(ids []string) (int64, tlog.Hash) {
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	var b SetBuilder
	for _, id := range sorted {
		_ = b.Add(id) // sorted and unique: cannot fail
	}
	return b.Count(), b.Root()
}

// SetProof is the inclusion proof of one id in a recording set of size
// TreeSize, at leaf LeafIndex (its position in bytewise order).
type SetProof struct {
	LeafIndex int64
	TreeSize  int64
	Root      tlog.Hash
	Proof     tlog.RecordProof
}

// ProveSet streams a recording set's ids (bytewise order) and returns the
// inclusion proof of each of want (sorted bytewise, each in the set). It
// reads the ids twice: once to find the leaf indexes and the size, once to
// compute just the tree hashes the proofs need, so memory is
// O(len(want) · log n) whatever the size of the set. An id of want that
// the set lacks is an error naming it.
func ProveSet(ids func() iter.Seq2[string, error], want []string) (map[string]SetProof, error) {
	// Pass 1: positions and size.
	pos := make(map[string]int64, len(want))
	var n int64
	var b SetBuilder
	wi := 0
	for id, err := range ids() {
		if err != nil {
			return nil, err
		}
		if err := b.Add(id); err != nil {
			return nil, err
		}
		if wi < len(want) && want[wi] < id {
			return nil, fmt.Errorf("audit: recording %s is not in the set", want[wi])
		}
		if wi < len(want) && want[wi] == id {
			pos[id] = n
			wi++
		}
		n++
	}
	if wi < len(want) {
		return nil, fmt.Errorf("audit: recording %s is not in the set", want[wi])
	}
	// Which stored hashes the proofs read.
	var needed collectReader
	needed.want = map[int64]tlog.Hash{}
	for _, i := range pos {
		if _, err := tlog.ProveRecord(n, i, &needed); err != nil {
			return nil, fmt.Errorf("audit: set proof plan: %w", err)
		}
	}
	// Pass 2: compute exactly those hashes.
	var w subtreeWalker
	w.keep = needed.want
	var b2 SetBuilder
	for id, err := range ids() {
		if err != nil {
			return nil, err
		}
		if err := b2.Add(id); err != nil {
			return nil, err
		}
		w.add(IDLeafHash(id))
	}
	if b2.Count() != n || b2.Root() != b.Root() {
		return nil, fmt.Errorf("audit: the recording set changed while it was being proved")
	}
	out := make(map[string]SetProof, len(pos))
	read := mapReader(w.keep)
	for id, i := range pos {
		p, err := tlog.ProveRecord(n, i, read)
		if err != nil {
			return nil, fmt.Errorf("audit: set proof of %s: %w", id, err)
		}
		out[id] = SetProof{LeafIndex: i, TreeSize: n, Root: b.Root(), Proof: p}
	}
	return out, nil
}

// CheckSetProof verifies that proof shows id at leafIndex in the recording
// set of size n with the given root.
func CheckSetProof(proof tlog.RecordProof, n int64, root tlog.Hash, leafIndex int64, id string) error {
	if leafIndex < 0 || leafIndex >= n {
		return fmt.Errorf("audit: set proof: leaf %d not in a set of %d", leafIndex, n)
	}
	if err := tlog.CheckRecord(proof, n, root, leafIndex, IDLeafHash(id)); err != nil {
		return fmt.Errorf("audit: %s is not proved to be leaf %d of the set of %d: %w", id, leafIndex, n, err)
	}
	return nil
}

// collectReader records which stored hashes are asked for, answering with
// zero hashes (the proofs it helps plan are thrown away).
type collectReader struct{ want map[int64]tlog.Hash }

func (c *collectReader) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	for _, i := range indexes {
		c.want[i] = tlog.Hash{}
	}
	return make([]tlog.Hash, len(indexes)), nil
}

// mapReader serves stored hashes from a map.
type mapReader map[int64]tlog.Hash

func (m mapReader) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for k, i := range indexes {
		h, ok := m[i]
		if !ok {
			return nil, fmt.Errorf("audit: set proof needs stored hash %d, which was not computed", i)
		}
		out[k] = h
	}
	return out, nil
}

// subtreeWalker computes the hash of every complete perfect subtree as
// leaves stream past (tlog's stored hashes), keeping those in keep.
type subtreeWalker struct {
	n     int64
	stack []tlog.Hash
	keep  map[int64]tlog.Hash
}

func (w *subtreeWalker) add(leaf tlog.Hash) {
	w.store(0, w.n, leaf)
	w.stack = append(w.stack, leaf)
	level := 0
	for m := w.n; m&1 == 1; m >>= 1 {
		k := len(w.stack)
		h := tlog.NodeHash(w.stack[k-2], w.stack[k-1])
		w.stack[k-2] = h
		w.stack = w.stack[:k-1]
		level++
		w.store(level, w.n>>level, h)
	}
	w.n++
}

func (w *subtreeWalker) store(level int, index int64, h tlog.Hash) {
	id := tlog.StoredHashIndex(level, index)
	if _, ok := w.keep[id]; ok {
		w.keep[id] = h
	}
}

// SetRecord is what an audit entry says about a recording set.
type SetRecord struct {
	Count int64  `json:"recording_count"`
	Root  string `json:"recordings_root"`
}

// EntrySet reads recording_count and recordings_root from an audit
// entry's data; ok is false if the entry records no set.
func EntrySet(e Entry) (SetRecord, bool) {
	var r struct {
		Count *int64 `json:"recording_count"`
		Root  string `json:"recordings_root"`
	}
	if json.Unmarshal(e.Data, &r) != nil || r.Count == nil || r.Root == "" {
		return SetRecord{}, false
	}
	return SetRecord{Count: *r.Count, Root: r.Root}, true
}

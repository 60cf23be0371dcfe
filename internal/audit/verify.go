package audit

import (
	"fmt"
	"iter"

	"golang.org/x/mod/sumdb/tlog"
)

// Problem is one inconsistency found by [VerifyLog], precise enough to point
// an operator at the damaged part of the log.
type Problem struct {
	// Index is the entry index (log position) the problem is about, or -1
	// when it concerns the log as a whole (e.g. a root mismatch).
	Index int64
	// Message describes the problem for humans.
	Message string
}

// String formats the problem for display.
func (p Problem) String() string {
	if p.Index < 0 {
		return "log: " + p.Message
	}
	return fmt.Sprintf("entry %d: %s", p.Index, p.Message)
}

// MaxProblems caps how many problems VerifyLog reports, keeping its memory
// bounded on a thoroughly corrupted log; when the cap is reached a final
// problem says that further ones were suppressed.
const MaxProblems = 1000

// VerifyLog recomputes the Merkle tree over entries and checks it against cp,
// which the caller must already have authenticated with [OpenCheckpoint].
// It is what `holdfast audit verify` runs over the entries and leaf hashes
// served by the API, and what the server can run over its own store.
//
// entries must yield the log in index order, starting at index 0; it may
// continue past cp.Size (the log grew after the checkpoint), and those extra
// entries are checked for order and leaf hashes but not against the root.
// storedLeaf, if non-nil, returns the leaf hash recorded for an index (e.g.
// the API's leaf_hash, or the store's level-0 stored hash). VerifyLog reports:
//   - a run of positions whose entries carry the wrong Index field (entries
//     removed, inserted or reordered), named by its first position; two
//     swapped entries thus name both positions, and a removed entry k names k;
//   - an entry whose recomputed leaf hash differs from storedLeaf of its
//     Index (edited), or that has no stored leaf, or cannot be canonicalised;
//   - a log shorter than cp.Size, naming the first index missing at the end
//     (or -1 if earlier removals explain the shortfall);
//   - a recomputed root at cp.Size differing from cp.Root (Index -1).
//
// An empty result means the log verifies. The error is non-nil only if the
// entries iterator fails (problems found so far are returned with it) or cp
// is unusable. Memory use is O(log n) plus the reported problems.
func VerifyLog(entries iter.Seq2[Entry, error], storedLeaf func(int64) (tlog.Hash, bool), cp Checkpoint) ([]Problem, error) {
	if cp.Size < 0 {
		return nil, fmt.Errorf("audit: verify log: negative checkpoint size %d", cp.Size)
	}
	v := logVerifier{cp: cp, lastIndex: -1}
	var pos int64
	for e, err := range entries {
		if err != nil {
			v.flushRun()
			return v.problems, fmt.Errorf("audit: verify log: reading entry at position %d: %w", pos, err)
		}
		v.entry(pos, e, storedLeaf)
		pos++
	}
	v.finish(pos)
	return v.problems, nil
}

// logVerifier is VerifyLog's streaming state.
type logVerifier struct {
	cp         Checkpoint
	tree       RootBuilder
	rootBroken bool // a leaf within cp.Size could not be hashed
	problems   []Problem
	suppressed bool

	// The current run of consecutive positions whose Index field is off by
	// the same amount; offset 0 is the healthy state and is not reported.
	runStart, runEnd int64
	runOffset        int64
	prevOffset       int64

	lastIndex int64 // Index field of the last entry seen, -1 before any
}

func (v *logVerifier) report(index int64, format string, args ...any) {
	if len(v.problems) >= MaxProblems {
		if !v.suppressed {
			v.suppressed = true
			v.problems = append(v.problems, Problem{Index: -1, Message: fmt.Sprintf("more than %d problems; further problems not reported", MaxProblems)})
		}
		return
	}
	v.problems = append(v.problems, Problem{Index: index, Message: fmt.Sprintf(format, args...)})
}

func (v *logVerifier) entry(pos int64, e Entry, storedLeaf func(int64) (tlog.Hash, bool)) {
	// Ordering: group positions by the offset of their Index field.
	if off := e.Index - pos; off != v.runOffset {
		v.flushRun()
		v.prevOffset, v.runOffset, v.runStart = v.runOffset, off, pos
	}
	v.runEnd = pos
	v.lastIndex = e.Index

	// Content: recompute the leaf hash.
	leaf, err := e.Hash()
	if err != nil {
		v.report(pos, "entry at position %d cannot be hashed: %v", pos, err)
		if pos < v.cp.Size {
			v.rootBroken = true
		}
		return
	}
	if storedLeaf != nil && e.Index >= 0 {
		switch stored, ok := storedLeaf(e.Index); {
		case !ok:
			v.report(e.Index, "no stored leaf hash for this entry")
		case stored != leaf:
			v.report(e.Index, "entry modified: leaf hash %s does not match stored leaf hash %s", FormatHash(leaf), FormatHash(stored))
		}
	}
	if pos < v.cp.Size {
		v.tree.Add(leaf)
	}
}

// flushRun reports the current run if its entries are out of place. It is
// called once per run, when the run ends.
func (v *logVerifier) flushRun() {
	if v.runOffset == 0 {
		return
	}
	s, e, d := v.runStart, v.runEnd, v.runOffset
	var what string
	if s == e {
		what = fmt.Sprintf("position %d holds the entry with index %d", s, s+d)
	} else {
		what = fmt.Sprintf("positions %d..%d hold the entries with indices %d..%d", s, e, s+d, e+d)
	}
	var why string
	switch {
	case d > v.prevOffset:
		why = fmt.Sprintf("%s expected here: entry removed or moved later", span(s+v.prevOffset, s+d-1))
	default:
		why = "entry reordered, duplicated or inserted"
	}
	v.report(s, "%s (%s)", what, why)
}

// span formats an inclusive index range, "index 4" or "indices 4..7".
func span(a, b int64) string {
	if a == b {
		return fmt.Sprintf("index %d", a)
	}
	return fmt.Sprintf("indices %d..%d", a, b)
}

func (v *logVerifier) finish(n int64) {
	v.flushRun()
	switch {
	case n < v.cp.Size && v.lastIndex+1 < v.cp.Size:
		first := max(v.lastIndex+1, 0)
		v.report(first, "log has %d entries but the checkpoint covers %d: %s missing at the end", n, v.cp.Size, span(first, v.cp.Size-1))
	case n < v.cp.Size:
		v.report(-1, "log has %d entries but the checkpoint covers %d (entries removed, see above)", n, v.cp.Size)
	case v.rootBroken:
		v.report(-1, "cannot recompute the root at size %d: some entries could not be hashed", v.cp.Size)
	default:
		if root := v.tree.Root(); root != v.cp.Root {
			v.report(-1, "recomputed root at size %d is %s, checkpoint root is %s", v.cp.Size, FormatHash(root), FormatHash(v.cp.Root))
		}
	}
}

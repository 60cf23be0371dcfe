package auditlog

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/holdfast/holdfast/internal/audit"
	"github.com/holdfast/holdfast/internal/store"
)

// EntryProof is one audit entry with the proof that it is leaf Entry.Index
// of the log's tree of Size entries, whose root is Root.
type EntryProof struct {
	Entry    audit.Entry
	LeafHash tlog.Hash
	Size     int64
	Root     tlog.Hash
	Proof    tlog.RecordProof
}

// ProveEntry returns entry index with its inclusion proof in the tree of
// the given size. It is the one place proofs of audit entries are built,
// for the API and for the custody reports of packages.
func (l *Log) ProveEntry(ctx context.Context, index, size int64) (EntryProof, error) {
	hr := l.Store.AuditHashReader(ctx)
	proof, err := audit.ProveInclusion(index, size, hr)
	if err != nil {
		return EntryProof{}, fmt.Errorf("auditlog: prove entry: %w", err)
	}
	root, err := audit.TreeHash(size, hr)
	if err != nil {
		return EntryProof{}, fmt.Errorf("auditlog: prove entry: %w", err)
	}
	recs, err := l.Store.AuditEntries(ctx, index, 1)
	if err != nil {
		return EntryProof{}, fmt.Errorf("auditlog: prove entry: %w", err)
	}
	if len(recs) != 1 || recs[0].Entry.Index != index {
		return EntryProof{}, fmt.Errorf("auditlog: prove entry: entry %d is missing", index)
	}
	return EntryProof{Entry: recs[0].Entry, LeafHash: recs[0].LeafHash, Size: size, Root: root, Proof: proof}, nil
}

// MemberProof is the proof that one recording is in the set an audit
// entry recorded.
type MemberProof struct {
	EntryIndex int64
	audit.SetProof
}

// ProveMembers proves that each of ids is in set, against the audit entry
// that recorded the set. It streams the set from the store (twice), so
// memory grows with len(ids), not with the set, and checks the computed
// root against the one the entry recorded.
func (l *Log) ProveMembers(ctx context.Context, set store.RecordingSet, ids []string) (map[string]MemberProof, error) {
	want := slices.Clone(ids)
	slices.Sort(want)
	want = slices.Compact(want)
	if len(want) == 0 {
		return map[string]MemberProof{}, nil
	}
	proofs, err := audit.ProveSet(func() iter.Seq2[string, error] { return l.Store.RecordingSetIDs(ctx, set) }, want)
	if err != nil {
		return nil, fmt.Errorf("auditlog: prove set members: %w", err)
	}
	recs, err := l.Store.AuditEntries(ctx, set.EntryIndex, 1)
	if err != nil {
		return nil, fmt.Errorf("auditlog: prove set members: %w", err)
	}
	if len(recs) != 1 || recs[0].Entry.Index != set.EntryIndex {
		return nil, fmt.Errorf("auditlog: prove set members: entry %d is missing", set.EntryIndex)
	}
	rec, ok := audit.EntrySet(recs[0].Entry)
	n, root := int64(0), audit.EmptyRoot()
	for _, p := range proofs {
		n, root = p.TreeSize, p.Root
		break
	}
	if !ok || rec.Count != n || rec.Root != audit.FormatSetRoot(root) {
		return nil, fmt.Errorf("%w: audit entry %d records %+v for a set whose ids give %d, %s", ErrSetMismatch, set.EntryIndex, rec, n, audit.FormatSetRoot(root))
	}
	out := make(map[string]MemberProof, len(proofs))
	for id, p := range proofs {
		out[id] = MemberProof{EntryIndex: set.EntryIndex, SetProof: p}
	}
	return out, nil
}

// ErrSetMismatch means a recording set stored in the database no longer
// has the count and root its audit entry recorded: rows were changed under
// the server.
var ErrSetMismatch = errors.New("auditlog: a recording set differs from what its audit entry recorded")

// ProveMember finds the set that put p.RecordingID into a hold or an
// export and proves the recording's membership against its audit entry.
// vault.ErrNotFound as [store.Store.RecordingSetOf] returns it.
func (l *Log) ProveMember(ctx context.Context, p store.RecordingSetParams) (MemberProof, error) {
	set, err := l.Store.RecordingSetOf(ctx, p)
	if err != nil {
		return MemberProof{}, err
	}
	proofs, err := l.ProveMembers(ctx, set, []string{p.RecordingID})
	if err != nil {
		return MemberProof{}, err
	}
	return proofs[p.RecordingID], nil
}

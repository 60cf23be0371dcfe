// Package auditlog runs holdfast's audit log on top of the metadata store:
// it signs checkpoints of the tree the store maintains and verifies the
// stored log against the latest signed checkpoint.
//
// It is for `holdfast serve` (periodic checkpoints, the startup
// self-check) and the HTTP API; `holdfast audit verify` uses [Verify] with
// entries fetched over HTTP.
package auditlog

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/holdfast/holdfast/internal/audit"
	"github.com/holdfast/holdfast/internal/store"
	"github.com/holdfast/holdfast/internal/vault"
)

// Log signs and checks the audit log kept by a store. It is safe for
// concurrent use.
type Log struct {
	Store  store.Store
	Signer *audit.Signer
	// Keys, if set, is the signing-key registry: Checkpoint then refuses
	// to sign once another key is current (after a rotation).
	Keys KeyRegistry

	lastMu sync.Mutex
	last   *Verification
}

// ErrInconsistent means the stored tree no longer agrees with the last
// signed checkpoint: the log was rewritten under the server. The server
// then refuses to sign anything, so it never vouches for two different
// histories.
var ErrInconsistent = errors.New("auditlog: the stored log contradicts the last signed checkpoint; refusing to sign")

// Checkpoint signs the current tree head, stores it and returns it. It
// first checks that the stored tree still has the root of the last signed
// checkpoint at that size, and returns ErrInconsistent if not.
func (l *Log) Checkpoint(ctx context.Context) (audit.Checkpoint, []byte, error) {
	if err := l.checkCurrent(ctx); err != nil {
		return audit.Checkpoint{}, nil, err
	}
	size, err := l.Store.AuditSize(ctx)
	if err != nil {
		return audit.Checkpoint{}, nil, fmt.Errorf("auditlog: checkpoint: %w", err)
	}
	hr := l.Store.AuditHashReader(ctx)
	if _, last, err := l.Store.LatestCheckpoint(ctx); err == nil {
		prev, err := audit.OpenCheckpoint(last, l.Signer.Origin(), l.Signer.PublicKey())
		if err != nil || prev.Size > size {
			return audit.Checkpoint{}, nil, ErrInconsistent
		}
		root, err := audit.TreeHash(prev.Size, hr)
		if err != nil {
			return audit.Checkpoint{}, nil, fmt.Errorf("auditlog: checkpoint: %w", err)
		}
		if root != prev.Root {
			return audit.Checkpoint{}, nil, ErrInconsistent
		}
	} else if !errors.Is(err, vault.ErrNotFound) {
		return audit.Checkpoint{}, nil, fmt.Errorf("auditlog: checkpoint: %w", err)
	}
	root, err := audit.TreeHash(size, hr)
	if err != nil {
		return audit.Checkpoint{}, nil, fmt.Errorf("auditlog: checkpoint: %w", err)
	}
	cp := audit.Checkpoint{Origin: l.Signer.Origin(), Size: size, Root: root}
	signed, err := l.Signer.Sign(cp)
	if err != nil {
		return audit.Checkpoint{}, nil, fmt.Errorf("auditlog: checkpoint: %w", err)
	}
	if err := l.Store.SaveCheckpoint(ctx, size, signed); err != nil {
		return audit.Checkpoint{}, nil, fmt.Errorf("auditlog: checkpoint: %w", err)
	}
	return cp, signed, nil
}

// Page fetches audit records [start, start+limit); both the store and the
// HTTP client can supply one.
type Page func(ctx context.Context, start int64, limit int) ([]store.AuditRecord, error)

// Verify recomputes the tree over the first cp.Size entries delivered by
// page and checks it against cp, naming every entry that was edited,
// removed or reordered.
func Verify(ctx context.Context, page Page, cp audit.Checkpoint) ([]audit.Problem, error) {
	stored := map[int64]tlog.Hash{}
	var fetchErr error
	entries := func(yield func(audit.Entry, error) bool) {
		var next int64
		const pageSize = 1000
		for next < cp.Size {
			recs, err := page(ctx, next, pageSize)
			if err != nil {
				fetchErr = err
				yield(audit.Entry{}, err)
				return
			}
			if len(recs) == 0 {
				return
			}
			clear(stored)
			for _, r := range recs {
				if r.Entry.Index >= cp.Size {
					return
				}
				stored[r.Entry.Index] = r.LeafHash
				if !yield(r.Entry, nil) {
					return
				}
			}
			next = recs[len(recs)-1].Entry.Index + 1
		}
	}
	problems, err := audit.VerifyLog(iter.Seq2[audit.Entry, error](entries), func(i int64) (tlog.Hash, bool) {
		h, ok := stored[i]
		return h, ok
	}, cp)
	if fetchErr != nil {
		return nil, fmt.Errorf("auditlog: verify: %w", fetchErr)
	}
	if err != nil {
		return nil, fmt.Errorf("auditlog: verify: %w", err)
	}
	return problems, nil
}

// SelfCheck verifies the store's log against its latest saved checkpoint
// (signed by this server's key). It returns the problems found; no
// checkpoint yet is not a problem.
func (l *Log) SelfCheck(ctx context.Context) ([]audit.Problem, error) {
	_, signed, err := l.Store.LatestCheckpoint(ctx)
	if errors.Is(err, vault.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("auditlog: self-check: %w", err)
	}
	cp, err := audit.OpenCheckpoint(signed, l.Signer.Origin(), l.Signer.PublicKey())
	if err != nil {
		return []audit.Problem{{Index: -1, Message: "latest checkpoint does not verify with this server's key: " + err.Error()}}, nil
	}
	return Verify(ctx, l.Store.AuditEntries, cp)
}

// Verification is the outcome of [Log.VerifyLatest]: what
// `POST /api/v2/audit/verify` answers and what the console shows.
type Verification struct {
	OK       bool  `json:"ok"`
	TreeSize int64 `json:"tree_size"`
	// FirstBadIndex is the lowest entry index with a problem, or nil when
	// the log verifies or its fault cannot be pinned to one entry (a root
	// mismatch alone).
	FirstBadIndex *int64          `json:"first_bad_index"`
	Problems      []audit.Problem `json:"-"`
	At            time.Time       `json:"-"`
}

// VerifyLatest recomputes the whole stored log against the latest signed
// checkpoint (signing one first if none exists yet) and remembers the
// outcome for [Log.LastVerification]. A checkpoint that does not verify
// with this server's key is a failed verification, not an error.
func (l *Log) VerifyLatest(ctx context.Context, now time.Time) (Verification, error) {
	_, signed, err := l.Store.LatestCheckpoint(ctx)
	if errors.Is(err, vault.ErrNotFound) {
		_, signed, err = l.Checkpoint(ctx)
	}
	if err != nil && !errors.Is(err, ErrInconsistent) {
		return Verification{}, fmt.Errorf("auditlog: verify latest: %w", err)
	}
	var v Verification
	cp, cerr := audit.OpenCheckpoint(signed, l.Signer.Origin(), l.Signer.PublicKey())
	switch {
	case err != nil:
		v.Problems = []audit.Problem{{Index: -1, Message: err.Error()}}
	case cerr != nil:
		v.Problems = []audit.Problem{{Index: -1, Message: "latest checkpoint does not verify with this server's key: " + cerr.Error()}}
	default:
		v.TreeSize = cp.Size
		if v.Problems, err = Verify(ctx, l.Store.AuditEntries, cp); err != nil {
			return Verification{}, fmt.Errorf("auditlog: verify latest: %w", err)
		}
	}
	v.OK, v.At = len(v.Problems) == 0, now
	for _, p := range v.Problems {
		if p.Index >= 0 && (v.FirstBadIndex == nil || p.Index < *v.FirstBadIndex) {
			i := p.Index
			v.FirstBadIndex = &i
		}
	}
	l.lastMu.Lock()
	l.last = &v
	l.lastMu.Unlock()
	return v, nil
}

// LastVerification returns the outcome of the most recent
// [Log.VerifyLatest] in this process, or false if there was none.
func (l *Log) LastVerification() (Verification, bool) {
	l.lastMu.Lock()
	defer l.lastMu.Unlock()
	if l.last == nil {
		return Verification{}, false
	}
	return *l.last, true
}

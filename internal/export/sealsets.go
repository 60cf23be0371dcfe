package export

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/holdfast/holdfast/internal/audit"
	"github.com/holdfast/holdfast/internal/custody"
	"github.com/holdfast/holdfast/internal/store"
	"github.com/holdfast/holdfast/internal/vault"
)

// setProofs completes the custody report's audit part with the recording
// sets the package's recordings belong to, and returns the inclusion
// proofs each exported recording must carry.
//
// The package's own list (every item, exported or failed) is the export's
// set and, for an export that placed its hold, the hold's: those entries
// need no proofs, since the verifier recomputes their root from index.csv
// and the failures. An export selected by filter.case_id adds, for each
// recording, the audit entry of the case hold that covers it (role
// case_hold); a hold over other recordings too gets one proof per
// exported recording it covers. Those proofs are computed by streaming
// each set twice; the ids of the case's exported recordings are held in
// memory while they are grouped by set.
func (e *Engine) setProofs(ctx context.Context, w store.ExportWork, rep *custody.Report, size int64) (map[string][]custody.SetProof, error) {
	var pkg audit.SetBuilder
	for id, err := range e.cfg.Store.RecordingSetIDs(ctx, store.RecordingSet{JobID: w.Job.ID}) {
		if err != nil {
			return nil, err
		}
		if err := pkg.Add(id); err != nil {
			return nil, fmt.Errorf("export: the job's items: %w", err)
		}
	}
	pkgSet := audit.SetRecord{Count: pkg.Count(), Root: audit.FormatSetRoot(pkg.Root())}
	out := map[string][]custody.SetProof{}
	for _, pe := range rep.Audit.Entries {
		if rec, ok := audit.EntrySet(pe.Entry); ok && rec != pkgSet {
			return nil, fmt.Errorf("export: audit entry %d (%s) records %+v, but the job's items give %+v", pe.Entry.Index, pe.Role, rec, pkgSet)
		}
	}
	if w.Job.Filter.CaseID == "" {
		return out, nil
	}
	groups, err := e.caseSets(ctx, w)
	if err != nil {
		return nil, err
	}
	indexes := make([]int64, 0, len(groups))
	for idx := range groups {
		indexes = append(indexes, idx)
	}
	slices.Sort(indexes)
	for _, idx := range indexes {
		g := groups[idx]
		ep, err := e.cfg.Audit.ProveEntry(ctx, idx, size)
		if err != nil {
			return nil, fmt.Errorf("export: audit entry of a case hold: %w", err)
		}
		rep.Audit.Entries = append(rep.Audit.Entries, provedEntry(custody.RoleCaseHold, ep))
		if rec, ok := audit.EntrySet(ep.Entry); ok && rec == pkgSet {
			continue
		}
		proofs, err := e.cfg.Audit.ProveMembers(ctx, g.set, g.ids)
		if err != nil {
			return nil, err
		}
		for id, p := range proofs {
			hashes := make([]string, len(p.Proof))
			for i, h := range p.Proof {
				hashes[i] = audit.FormatSetRoot(h)
			}
			out[id] = append(out[id], custody.SetProof{EntryIndex: p.EntryIndex, LeafIndex: p.LeafIndex, TreeSize: p.TreeSize, Proof: hashes})
		}
	}
	return out, nil
}

// caseGroup is the exported recordings one case hold set covers.
type caseGroup struct {
	set store.RecordingSet
	ids []string
}

// caseSets finds, for each exported recording of a case export, the set
// of a hold of the case that took it, grouped by the audit entry of the
// set. Holds are tried in id order, active or since released (the job's
// recordings were fixed while they were held).
func (e *Engine) caseSets(ctx context.Context, w store.ExportWork) (map[int64]*caseGroup, error) {
	var holds []string
	for cursor := ""; ; {
		page, next, err := e.cfg.Store.ListHolds(ctx, store.ListHoldsParams{CaseID: w.Job.Filter.CaseID, Limit: 1000, Cursor: cursor})
		if err != nil {
			return nil, err
		}
		for _, h := range page {
			holds = append(holds, h.HoldID)
		}
		if cursor = next; cursor == "" {
			break
		}
	}
	groups := map[int64]*caseGroup{}
	for it, err := range e.items(ctx, w.Job.ID) {
		if err != nil {
			return nil, err
		}
		if it.State != store.ItemExported {
			continue
		}
		found := false
		for _, hid := range holds {
			set, err := e.cfg.Store.RecordingSetOf(ctx, store.RecordingSetParams{HoldID: hid, RecordingID: it.RecordingID})
			if errors.Is(err, vault.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			g := groups[set.EntryIndex]
			if g == nil {
				g = &caseGroup{set: set}
				groups[set.EntryIndex] = g
			}
			g.ids = append(g.ids, it.RecordingID)
			found = true
			break
		}
		if !found {
			return nil, fmt.Errorf("export: recording %s was exported as under case %s, but no hold of the case took it", it.RecordingID, w.Job.Filter.CaseID)
		}
	}
	return groups, nil
}

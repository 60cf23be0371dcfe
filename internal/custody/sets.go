package custody

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/holdfast/holdfast/internal/audit"
)

// IndexPath is the package's list of exported recordings.
const IndexPath = "data/index.csv"

// checkSets ties the recordings of the package to the recording sets the
// proved audit entries record. The package's own list (index.csv plus the
// failures) is hashed into a set root: an entry recording that same set
// needs nothing more. For any other set, every exported recording it
// concerns must carry an inclusion proof, which is checked here; every
// failure names the recording.
func checkSets(dir string, rep *Report, proved map[int64]ProvedEntry, res *Result) {
	listed, err := indexIDs(filepath.Join(dir, filepath.FromSlash(IndexPath)))
	if err != nil {
		res.add(IndexPath, "cannot be read as the package's list of recordings: %v", err)
		return
	}
	inReport := map[string]bool{}
	for _, r := range rep.Recordings {
		inReport[r.RecordingID] = true
		if base := path.Base(r.Path); r.RecordingID == "" || strings.TrimSuffix(base, path.Ext(base)) != r.RecordingID {
			res.add(r.Path, "is listed in the custody report for recording %q, whose id the file name does not carry", r.RecordingID)
		}
	}
	inIndex := map[string]bool{}
	for _, id := range listed {
		inIndex[id] = true
		if !inReport[id] {
			res.add(IndexPath, "lists recording %s, which the custody report does not account for", id)
		}
	}
	for _, r := range rep.Recordings {
		if !inIndex[r.RecordingID] {
			res.add(Path, "accounts for recording %s, which data/index.csv does not list", r.RecordingID)
		}
	}
	all := slices.Clone(listed)
	for _, f := range rep.Failures {
		all = append(all, f.RecordingID)
	}
	slices.Sort(all)
	for i := 1; i < len(all); i++ {
		if all[i] == all[i-1] {
			res.add(Path, "lists recording %s twice in the package (index.csv and failures)", all[i])
		}
	}
	n, root := audit.SetOf(all)
	pkgRoot := audit.FormatSetRoot(root)

	// Entries whose set is not the package's list, and who proves what.
	other := map[int64]bool{}
	for idx, pe := range proved {
		rec, ok := audit.EntrySet(pe.Entry)
		if !ok {
			// Entries written before recording sets listed the ids.
			var legacy struct {
				IDs *[]string `json:"recording_ids"`
			}
			if json.Unmarshal(pe.Entry.Data, &legacy) == nil && legacy.IDs != nil {
				ln, lroot := audit.SetOf(*legacy.IDs)
				rec, ok = audit.SetRecord{Count: ln, Root: audit.FormatSetRoot(lroot)}, true
			}
		}
		if !ok {
			if pe.Role == RoleHold || pe.Role == RoleExport || pe.Role == RoleCaseHold {
				res.add(Path, "audit entry %d (%s) records no recording_count and recordings_root", idx, pe.Role)
			}
			continue
		}
		if rec.Count != n || rec.Root != pkgRoot {
			other[idx] = true
		}
	}
	provedBy := map[int64]int{} // entry -> recordings proved against it
	for _, r := range rep.Recordings {
		for _, sp := range r.SetProofs {
			pe, ok := proved[sp.EntryIndex]
			if !ok {
				res.add(r.Path, "recording %s carries a set proof against audit entry %d, which the report does not prove to be in the log", r.RecordingID, sp.EntryIndex)
				continue
			}
			if err := checkSetProof(sp, pe, r.RecordingID); err != nil {
				res.add(r.Path, "recording %s is not proved to be in the recordings of audit entry %d (%s %s): %v", r.RecordingID, sp.EntryIndex, pe.Entry.Type, pe.Entry.Subject, err)
				continue
			}
			provedBy[sp.EntryIndex]++
		}
	}
	for idx := range other {
		pe := proved[idx]
		if provedBy[idx] == 0 {
			rec, _ := audit.EntrySet(pe.Entry)
			res.add(Path, "the package's recordings (index.csv and failures: %d, root %s) are not the set audit entry %d (%s %s) recorded (%d, root %s), and no recording is proved to be in it",
				n, pkgRoot, idx, pe.Role, pe.Entry.Subject, rec.Count, rec.Root)
			continue
		}
		if pe.Role != RoleHold && pe.Role != RoleExport {
			continue
		}
		for _, r := range rep.Recordings {
			if !hasProof(r, idx) {
				res.add(r.Path, "recording %s has no proof that it is in the recordings of audit entry %d (%s), whose set differs from the package's list", r.RecordingID, idx, pe.Role)
			}
		}
	}
	if rep.Job.Filter.CaseID != "" {
		caseListed := false
		for idx, pe := range proved {
			caseListed = caseListed || (pe.Role == RoleCaseHold && !other[idx])
		}
		if !caseListed {
			for _, r := range rep.Recordings {
				if !hasCaseProof(r, proved) {
					res.add(r.Path, "recording %s was exported as under case %s, but no hold of the case is proved to cover it", r.RecordingID, rep.Job.Filter.CaseID)
				}
			}
		}
	}
}

func hasProof(r Recording, entry int64) bool {
	for _, sp := range r.SetProofs {
		if sp.EntryIndex == entry {
			return true
		}
	}
	return false
}

func hasCaseProof(r Recording, proved map[int64]ProvedEntry) bool {
	for _, sp := range r.SetProofs {
		if pe, ok := proved[sp.EntryIndex]; ok && pe.Role == RoleCaseHold {
			return true
		}
	}
	return false
}

// checkSetProof checks one recording's proof against the set its entry
// records.
func checkSetProof(sp SetProof, pe ProvedEntry, id string) error {
	rec, ok := audit.EntrySet(pe.Entry)
	if !ok {
		return errors.New("the entry records no recording set")
	}
	if sp.TreeSize != rec.Count {
		return fmt.Errorf("the proof is for a set of %d, the entry records %d", sp.TreeSize, rec.Count)
	}
	root, err := audit.ParseSetRoot(rec.Root)
	if err != nil {
		return err
	}
	proof := make(tlog.RecordProof, len(sp.Proof))
	for i, h := range sp.Proof {
		if proof[i], err = audit.ParseSetRoot(h); err != nil {
			return fmt.Errorf("proof step %d: %w", i, err)
		}
	}
	return audit.CheckSetProof(proof, sp.TreeSize, root, sp.LeafIndex, id)
}

// indexIDs reads the id column of data/index.csv.
func indexIDs(file string) ([]string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cr := csv.NewReader(f)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	col := slices.Index(header, "id")
	if col < 0 {
		return nil, errors.New("no id column")
	}
	var ids []string
	for {
		row, err := cr.Read()
		if err == io.EOF {
			return ids, nil
		}
		if err != nil {
			return nil, err
		}
		if col >= len(row) {
			return nil, fmt.Errorf("row %d has no id", len(ids)+2)
		}
		ids = append(ids, row[col])
	}
}

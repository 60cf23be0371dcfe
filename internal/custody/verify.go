package custody

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/holdfast/holdfast/internal/audit"
	"github.com/holdfast/holdfast/internal/bag"
)

// SignatureFile signs the exact bytes of TagManifest.
const (
	TagManifest   = "tagmanifest-sha256.txt"
	SignatureFile = "tagmanifest-sha256.txt.sig"
)

// Problem is one failed check, naming the bag file it concerns.
type Problem struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// Result is what Verify found.
type Result struct {
	HasCustody  bool      `json:"has_custody"`
	Pinned      bool      `json:"signer_pinned"`
	Fingerprint string    `json:"signer_fingerprint,omitempty"`
	Recordings  int       `json:"recordings"`
	Problems    []Problem `json:"problems"`
	Notes       []string  `json:"notes"`
}

func (r *Result) add(path, format string, args ...any) {
	r.Problems = append(r.Problems, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// Verify checks a bag's signature and custody report offline. pinned, if
// not nil, is the only key accepted (then a missing or foreign signature
// fails); otherwise the key named in the report is used and the result
// says the signer is not pinned. BagIt validity itself is checked by the
// bag package; Verify reads manifest-sha256.txt to tie the report to it.
func Verify(dir string, pinned ed25519.PublicKey) Result {
	res := Result{Pinned: pinned != nil, Problems: []Problem{}, Notes: []string{}}
	raw, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(Path)))
	if errors.Is(err, fs.ErrNotExist) {
		res.Notes = append(res.Notes, "the bag has no custody/ directory: it was checked as plain BagIt, without custody or audit proofs")
		if pinned != nil {
			checkSignature(dir, pinned, &res)
		}
		return res
	}
	res.HasCustody = true
	if err != nil {
		res.add(Path, "cannot be read: %v", err)
		return res
	}
	var rep Report
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		res.add(Path, "is not a valid custody report: %v", err)
		return res
	}
	if rep.Version != Version {
		res.add(Path, "has custody version %d; this verifier knows version %d", rep.Version, Version)
		return res
	}
	key := pinned
	reportKey, err := audit.ParsePublicKeyPEM([]byte(rep.SigningKey.PublicKeyPEM))
	if err != nil {
		res.add(Path, "signing_key.public_key_pem is not an Ed25519 public key: %v", err)
	} else if audit.Fingerprint(reportKey) != rep.SigningKey.Fingerprint {
		res.add(Path, "signing_key.fingerprint %s does not match its public key (%s)", rep.SigningKey.Fingerprint, audit.Fingerprint(reportKey))
	}
	if key == nil {
		key = reportKey
		res.Notes = append(res.Notes, "the signer is not pinned: the signature was checked against the key named in custody/custody.json; pass --key to pin it")
	} else if reportKey != nil && !reportKey.Equal(pinned) {
		res.add(Path, "names signing key %s, not the pinned key %s", rep.SigningKey.Fingerprint, audit.Fingerprint(pinned))
	}
	if key == nil {
		return res
	}
	res.Fingerprint = audit.Fingerprint(key)
	checkSignature(dir, key, &res)
	checkRecordings(dir, &rep, &res)
	proved := checkAudit(&rep, key, &res)
	checkSets(dir, &rep, proved, &res)
	return res
}

func checkSignature(dir string, key ed25519.PublicKey, res *Result) {
	msg, err := os.ReadFile(filepath.Join(dir, TagManifest))
	if err != nil {
		res.add(TagManifest, "cannot be read: %v", err)
		return
	}
	sig, err := os.ReadFile(filepath.Join(dir, SignatureFile))
	if errors.Is(err, fs.ErrNotExist) {
		res.add(SignatureFile, "is missing: the bag is not signed")
		return
	}
	if err != nil {
		res.add(SignatureFile, "cannot be read: %v", err)
		return
	}
	if len(sig) != ed25519.SignatureSize || !ed25519.Verify(key, msg, sig) {
		res.add(SignatureFile, "is not a valid Ed25519 signature of %s by key %s: one of the two files was changed, or another key signed it", TagManifest, audit.Fingerprint(key))
		res.add(TagManifest, "does not match its signature %s", SignatureFile)
	}
}

func checkRecordings(dir string, rep *Report, res *Result) {
	manifest, err := bag.ReadManifestFile(filepath.Join(dir, "manifest-sha256.txt"))
	if err != nil {
		res.add("manifest-sha256.txt", "cannot be read: %v", err)
		return
	}
	listed := map[string]bool{}
	for _, r := range rep.Recordings {
		listed[r.Path] = true
		if r.IngestSHA256 != r.ExportedSHA256 {
			res.add(r.Path, "custody report says the exported copy (SHA-256 %s) differs from what was ingested (%s)", r.ExportedSHA256, r.IngestSHA256)
		}
		if got, ok := manifest[r.Path]; !ok {
			res.add(r.Path, "is in the custody report but not in manifest-sha256.txt")
		} else if got != r.ExportedSHA256 {
			res.add(r.Path, "manifest-sha256.txt says %s but the custody report says %s", got, r.ExportedSHA256)
		}
	}
	for p := range manifest {
		if strings.HasPrefix(p, "data/recordings/") && !listed[p] {
			res.add(p, "is a recording in the bag that the custody report does not account for")
		}
	}
	res.Recordings = len(rep.Recordings)
}

// checkAudit checks the checkpoint and every proved entry, and returns
// the entries proved to be in the signed log, by index.
func checkAudit(rep *Report, key ed25519.PublicKey, res *Result) map[int64]ProvedEntry {
	proved := map[int64]ProvedEntry{}
	cp, err := audit.OpenCheckpoint([]byte(rep.Audit.Checkpoint), audit.DefaultOrigin(key), key)
	if err != nil {
		res.add(Path, "audit.checkpoint does not verify with key %s: %v", audit.Fingerprint(key), err)
		return proved
	}
	if cp.Size != rep.Audit.TreeSize || audit.FormatHash(cp.Root) != rep.Audit.RootHash {
		res.add(Path, "audit.tree_size/root_hash (%d, %s) differ from the signed checkpoint (%d, %s)", rep.Audit.TreeSize, rep.Audit.RootHash, cp.Size, audit.FormatHash(cp.Root))
	}
	roles := map[string]bool{}
	for _, pe := range rep.Audit.Entries {
		roles[pe.Role] = true
		canon, err := pe.Entry.Canonical()
		if err != nil {
			res.add(Path, "audit entry %d (%s) cannot be canonicalised: %v", pe.Entry.Index, pe.Role, err)
			continue
		}
		leaf := audit.LeafHash(canon)
		if audit.FormatHash(leaf) != pe.LeafHash {
			res.add(Path, "audit entry %d (%s) does not hash to its leaf_hash", pe.Entry.Index, pe.Role)
			continue
		}
		proof := make(tlog.RecordProof, 0, len(pe.Inclusion))
		for _, s := range pe.Inclusion {
			h, err := audit.ParseHash(s)
			if err != nil {
				res.add(Path, "audit entry %d (%s) has a malformed inclusion proof: %v", pe.Entry.Index, pe.Role, err)
				proof = nil
				break
			}
			proof = append(proof, h)
		}
		if proof == nil && len(pe.Inclusion) > 0 {
			continue
		}
		if err := audit.CheckInclusion(proof, cp.Size, cp.Root, pe.Entry.Index, leaf); err != nil {
			res.add(Path, "audit entry %d (%s) is not proved to be in the signed log: %v", pe.Entry.Index, pe.Role, err)
		} else {
			proved[pe.Entry.Index] = pe
		}
		switch pe.Role {
		case RoleCaseHold:
			var d struct {
				CaseID string `json:"case_id"`
			}
			_ = json.Unmarshal(pe.Entry.Data, &d)
			if (pe.Entry.Type != "hold.applied" && pe.Entry.Type != "hold.extended") || d.CaseID == "" || d.CaseID != rep.Job.Filter.CaseID {
				res.add(Path, "the case hold audit entry %d is %s of case %q, not a hold of the exported case %q", pe.Entry.Index, pe.Entry.Type, d.CaseID, rep.Job.Filter.CaseID)
			}
		case "export":
			if pe.Entry.Type != "export.created" || pe.Entry.Subject != rep.Job.ID {
				res.add(Path, "the export audit entry %d is %s of %s, not export.created of job %s", pe.Entry.Index, pe.Entry.Type, pe.Entry.Subject, rep.Job.ID)
			}
		case "hold":
			if pe.Entry.Type != "hold.applied" || pe.Entry.Subject != rep.HoldID {
				res.add(Path, "the hold audit entry %d is %s of %s, not hold.applied of hold %s", pe.Entry.Index, pe.Entry.Type, pe.Entry.Subject, rep.HoldID)
			}
		}
	}
	if !roles["export"] {
		res.add(Path, "has no proved export.created audit entry")
	}
	if rep.HoldID != "" && !roles["hold"] {
		res.add(Path, "names hold %s but has no proved hold.applied audit entry", rep.HoldID)
	}
	return proved
}

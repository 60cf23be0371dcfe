package export

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/holdfast/holdfast/internal/audit"
	"github.com/holdfast/holdfast/internal/bag"
	"github.com/holdfast/holdfast/internal/custody"
	"github.com/holdfast/holdfast/internal/store"
	"github.com/holdfast/holdfast/internal/vault"
)

// seal writes index.csv and the custody report, finalizes and signs the
// bag, publishes it and completes the job. It only reads what the store
// recorded for each item, so sealing after a crash gives the same payload
// as sealing without one.
func (e *Engine) seal(ctx context.Context, w store.ExportWork, dir string, log *slog.Logger) error {
	var payload []bag.Entry
	var recs []custody.Recording
	failures := []vault.ExportFailure{}
	var index bytes.Buffer
	cw := csv.NewWriter(&index)
	_ = cw.Write(IndexHeader)
	after := -1
	for {
		items, err := e.cfg.Store.ExportItems(ctx, w.Job.ID, after, 500)
		if err != nil {
			return err
		}
		if len(items) == 0 {
			break
		}
		for _, it := range items {
			after = it.Seq
			switch it.State {
			case store.ItemExported:
				payload = append(payload,
					bag.Entry{Path: it.Path, Digests: bag.Digests{Size: it.Digests.Size, SHA256: it.Digests.SHA256, SHA512: it.Digests.SHA512}},
					bag.Entry{Path: it.MetaPath, Digests: bag.Digests{Size: it.MetaDigests.Size, SHA256: it.MetaDigests.SHA256, SHA512: it.MetaDigests.SHA512}})
				recs = append(recs, custody.Recording{RecordingID: it.RecordingID, Path: it.Path, SizeBytes: it.Digests.Size, IngestSHA256: it.IngestSHA256,
					ExportedSHA256: it.Digests.SHA256, ExportedSHA512: it.Digests.SHA512, MetadataPath: it.MetaPath})
				_ = cw.Write(it.IndexRow)
			case store.ItemFailed:
				failures = append(failures, vault.ExportFailure{RecordingID: it.RecordingID, Code: it.FailureCode, Message: it.FailureMsg})
			default:
				return fmt.Errorf("export: item %d is still %s at sealing", it.Seq, it.State)
			}
		}
	}
	cw.Flush()
	d, err := bag.WriteFile(ctx, dir, "data/index.csv", &index)
	if err != nil {
		return err
	}
	payload = append(payload, bag.Entry{Path: "data/index.csv", Digests: d})

	rep, err := e.custodyReport(ctx, w, recs, failures)
	if err != nil {
		return err
	}
	repJSON, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if _, err := bag.WriteFile(ctx, dir, custody.Path, bytes.NewReader(append(repJSON, '\n'))); err != nil {
		return err
	}
	caseID := w.Job.Metadata.CaseID
	if caseID == "" {
		caseID = w.Job.Filter.CaseID
	}
	signer := e.cfg.Audit.Signer
	info := bag.Info{
		{Label: "Source-Organization", Value: "holdfast"},
		{Label: "Bagging-Date", Value: e.cfg.Clock.Now().Format("2006-01-02")},
	}
	if caseID != "" {
		info = append(info, bag.Field{Label: "External-Identifier", Value: caseID})
	}
	info = append(info,
		bag.Field{Label: "Bag-Group-Identifier", Value: w.Job.ID},
		bag.Field{Label: "External-Description", Value: fmt.Sprintf("holdfast discovery export of %d recording(s); %d could not be exported", len(recs), len(failures))},
		bag.Field{Label: "Holdfast-Audit-Checkpoint-Size", Value: fmt.Sprint(rep.Audit.TreeSize)},
		bag.Field{Label: "Holdfast-Audit-Root-Hash", Value: rep.Audit.RootHash},
		bag.Field{Label: "Holdfast-Signing-Key-Fingerprint", Value: rep.SigningKey.Fingerprint},
	)
	if w.Job.HoldID != "" {
		info = append(info, bag.Field{Label: "Holdfast-Hold-ID", Value: w.Job.HoldID})
	}
	sum, err := bag.Finalize(ctx, dir, payload, info, func(msg []byte) ([]byte, error) { return signer.SignMessage(msg), nil })
	if err != nil {
		return err
	}
	loc, err := e.cfg.Dest.Publish(ctx, w.BagName, dir)
	if err != nil {
		return err
	}
	state := vault.ExportCompleted
	if len(failures) > 0 {
		state = vault.ExportCompletedWithErrors
	}
	pkg := &vault.ExportPackage{Name: w.BagName, Location: loc, TagmanifestSHA256: sum, DownloadURL: "/api/v2/bulk/recordingexports/" + w.Job.ID + "/package"}
	if _, err := e.cfg.Store.CompleteExportJob(ctx, store.CompleteExportJobParams{JobID: w.Job.ID, Owner: e.cfg.Owner, State: state, Package: pkg,
		Actor: "system", Now: e.cfg.Clock.Now()}); err != nil {
		return err
	}
	log.Info("export finished", "state", state, "exported", len(recs), "failed", len(failures), "bag", loc)
	return nil
}

// custodyReport builds custody.json with a fresh signed checkpoint and
// inclusion proofs of the hold's and the export's audit entries.
func (e *Engine) custodyReport(ctx context.Context, w store.ExportWork, recs []custody.Recording, failures []vault.ExportFailure) (custody.Report, error) {
	signer := e.cfg.Audit.Signer
	pub := signer.PublicKey()
	pemKey, err := audit.MarshalPublicKeyPEM(pub)
	if err != nil {
		return custody.Report{}, err
	}
	cp, signed, err := e.cfg.Audit.Checkpoint(ctx)
	if err != nil {
		return custody.Report{}, err
	}
	if recs == nil {
		recs = []custody.Recording{}
	}
	rep := custody.Report{
		Version: custody.Version, BagName: w.BagName, HoldID: w.Job.HoldID, Recordings: recs, Failures: failures, SealedAt: e.cfg.Clock.Now(),
		Job: custody.Job{ID: w.Job.ID, Filter: w.Job.Filter, Metadata: w.Job.Metadata, Destination: w.Job.Destination, CreatedBy: w.Job.CreatedBy,
			CreatedAt: w.Job.CreatedAt, StartedAt: w.Job.StartedAt},
		SigningKey: custody.SigningKey{Algorithm: "Ed25519", Fingerprint: audit.Fingerprint(pub), PublicKeyPEM: string(pemKey), Origin: signer.Origin()},
		Audit:      custody.Audit{Checkpoint: string(signed), TreeSize: cp.Size, RootHash: audit.FormatHash(cp.Root), Entries: []custody.ProvedEntry{}},
	}
	hr := e.cfg.Store.AuditHashReader(ctx)
	for _, p := range []struct {
		role  string
		index int64
	}{{"hold", w.HoldAuditIndex}, {"export", w.ExportAuditIndex}} {
		if p.index < 0 {
			continue
		}
		recs, err := e.cfg.Store.AuditEntries(ctx, p.index, 1)
		if err != nil {
			return custody.Report{}, err
		}
		if len(recs) != 1 || recs[0].Entry.Index != p.index {
			return custody.Report{}, fmt.Errorf("export: audit entry %d of the %s is missing", p.index, p.role)
		}
		proof, err := audit.ProveInclusion(p.index, cp.Size, hr)
		if err != nil {
			return custody.Report{}, err
		}
		hashes := make([]string, len(proof))
		for i, h := range proof {
			hashes[i] = audit.FormatHash(h)
		}
		rep.Audit.Entries = append(rep.Audit.Entries, custody.ProvedEntry{Role: p.role, Entry: recs[0].Entry, LeafHash: audit.FormatHash(recs[0].LeafHash), Inclusion: hashes})
	}
	return rep, nil
}

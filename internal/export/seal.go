package export

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"strings"

	"github.com/holdfast/holdfast/internal/audit"
	"github.com/holdfast/holdfast/internal/auditlog"
	"github.com/holdfast/holdfast/internal/bag"
	"github.com/holdfast/holdfast/internal/custody"
	"github.com/holdfast/holdfast/internal/store"
	"github.com/holdfast/holdfast/internal/vault"
)

// sealPage is how many items seal reads from the store at a time.
const sealPage = 500

// Where exported files live in the bag. In byte order "data/index.csv"
// sorts before every metadata path, which sorts before every recording
// path; seal relies on this to list the payload in manifest order.
const (
	indexPath      = "data/index.csv"
	metadataPrefix = "data/metadata/"
	recordingDir   = "data/recordings/"
)

// sealCounts is what the first pass over the items learns.
type sealCounts struct {
	exported, failed int
	// sorted reports whether the exported items' recording paths, and
	// separately their metadata paths, strictly increase in seq order
	// under their usual directories, so the payload can be streamed to
	// bag.FinalizeStream in manifest order.
	sorted bool
}

// seal writes index.csv and the custody report, finalizes and signs the
// bag, publishes it and completes the job. It only reads what the store
// recorded for each item, so sealing after a crash gives the same payload
// as sealing without one.
//
// Nothing proportional to the number of items is held in memory: every
// file is produced while paging through the items (one pass for index.csv,
// two for the custody report's recordings and failures, and two for the
// metadata and recording entries of the payload manifests). Item ids, and
// so the bag paths derived from them, sort in seq order, which lets the
// payload be listed in manifest order without sorting; should a store ever
// break that, seal falls back to sorting the payload list in memory.
func (e *Engine) seal(ctx context.Context, w store.ExportWork, dir string, log *slog.Logger) error {
	var n sealCounts
	indexDigests, err := streamFile(ctx, dir, indexPath, func(out io.Writer) error {
		var err error
		n, err = e.writeIndex(ctx, w.Job.ID, out)
		return err
	})
	if err != nil {
		return err
	}

	rep, err := e.custodyReport(ctx, w)
	if err != nil {
		return err
	}
	proofs, err := e.setProofs(ctx, w, &rep, rep.Audit.TreeSize)
	if err != nil {
		return err
	}
	if _, err := streamFile(ctx, dir, custody.Path, func(out io.Writer) error {
		return custody.Write(out, rep, e.custodyRecordings(ctx, w.Job.ID, n.exported, proofs), e.custodyFailures(ctx, w.Job.ID, n.failed))
	}); err != nil {
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
		bag.Field{Label: "External-Description", Value: fmt.Sprintf("holdfast discovery export of %d recording(s); %d could not be exported", n.exported, n.failed)},
		bag.Field{Label: "Holdfast-Audit-Checkpoint-Size", Value: fmt.Sprint(rep.Audit.TreeSize)},
		bag.Field{Label: "Holdfast-Audit-Root-Hash", Value: rep.Audit.RootHash},
		bag.Field{Label: "Holdfast-Signing-Key-Fingerprint", Value: rep.SigningKey.Fingerprint},
	)
	if w.Job.HoldID != "" {
		info = append(info, bag.Field{Label: "Holdfast-Hold-ID", Value: w.Job.HoldID})
	}
	sign := func(msg []byte) ([]byte, error) { return signer.SignMessage(msg), nil }
	payload := e.payload(ctx, w.Job.ID, indexDigests)
	var sum string
	if n.sorted {
		sum, err = bag.FinalizeStream(ctx, dir, payload, info, sign)
	} else {
		log.Warn("export item paths do not sort in seq order; sorting the payload list in memory")
		var entries []bag.Entry
		for ent, err := range payload {
			if err != nil {
				return err
			}
			entries = append(entries, ent)
		}
		sum, err = bag.Finalize(ctx, dir, entries, info, sign)
	}
	if err != nil {
		return err
	}
	loc, err := e.cfg.Dest.Publish(ctx, w.BagName, dir)
	if err != nil {
		return err
	}
	if w.Job.Destination.Type == "s3" {
		if e.cfg.S3 == nil {
			return errors.New("export: this server has no S3 connection for an s3 destination")
		}
		if loc, err = e.cfg.S3.UploadBag(ctx, dir, w.BagName, w.Job.Destination); err != nil {
			return err
		}
	}
	state := vault.ExportCompleted
	if n.failed > 0 {
		state = vault.ExportCompletedWithErrors
	}
	pkg := &vault.ExportPackage{Name: w.BagName, Location: loc, TagmanifestSHA256: sum, DownloadURL: "/api/v2/bulk/recordingexports/" + w.Job.ID + "/package"}
	if _, err := e.cfg.Store.CompleteExportJob(ctx, store.CompleteExportJobParams{JobID: w.Job.ID, Owner: e.cfg.Owner, State: state, Package: pkg,
		Actor: "system", Now: e.cfg.Clock.Now()}); err != nil {
		return err
	}
	log.Info("export finished", "state", state, "exported", n.exported, "failed", n.failed, "bag", loc)
	return nil
}

// items pages through a job's items in seq order.
func (e *Engine) items(ctx context.Context, jobID string) iter.Seq2[store.ExportItem, error] {
	return func(yield func(store.ExportItem, error) bool) {
		after := -1
		for {
			page, err := e.cfg.Store.ExportItems(ctx, jobID, after, sealPage)
			if err != nil {
				yield(store.ExportItem{}, err)
				return
			}
			if len(page) == 0 {
				return
			}
			for _, it := range page {
				after = it.Seq
				if !yield(it, nil) {
					return
				}
			}
		}
	}
}

// writeIndex writes data/index.csv to out, counts the items and checks
// that every item is finished and whether the payload paths are sorted.
func (e *Engine) writeIndex(ctx context.Context, jobID string, out io.Writer) (sealCounts, error) {
	n := sealCounts{sorted: true}
	cw := csv.NewWriter(out)
	if err := cw.Write(IndexHeader); err != nil {
		return n, err
	}
	var prevPath, prevMeta string
	for it, err := range e.items(ctx, jobID) {
		if err != nil {
			return n, err
		}
		switch it.State {
		case store.ItemExported:
			if !strings.HasPrefix(it.Path, recordingDir) || !strings.HasPrefix(it.MetaPath, metadataPrefix) ||
				n.exported > 0 && (it.Path <= prevPath || it.MetaPath <= prevMeta) {
				n.sorted = false
			}
			prevPath, prevMeta = it.Path, it.MetaPath
			n.exported++
			if err := cw.Write(it.IndexRow); err != nil {
				return n, err
			}
		case store.ItemFailed:
			n.failed++
		default:
			return n, fmt.Errorf("export: item %d is still %s at sealing", it.Seq, it.State)
		}
	}
	cw.Flush()
	return n, cw.Error()
}

// errItemsChanged reports that a later pass over the items saw a different
// number of them than the first; the job's items must not change while it
// is sealed.
var errItemsChanged = errors.New("export: the job's items changed while it was being sealed")

// custodyRecordings yields the custody entry of each exported item; want
// is how many the first pass counted.
func (e *Engine) custodyRecordings(ctx context.Context, jobID string, want int, proofs map[string][]custody.SetProof) iter.Seq2[custody.Recording, error] {
	return func(yield func(custody.Recording, error) bool) {
		got := 0
		for it, err := range e.items(ctx, jobID) {
			if err != nil {
				yield(custody.Recording{}, err)
				return
			}
			if it.State != store.ItemExported {
				continue
			}
			got++
			if !yield(custody.Recording{RecordingID: it.RecordingID, Path: it.Path, SizeBytes: it.Digests.Size, IngestSHA256: it.IngestSHA256,
				ExportedSHA256: it.Digests.SHA256, ExportedSHA512: it.Digests.SHA512, MetadataPath: it.MetaPath, SetProofs: proofs[it.RecordingID]}, nil) {
				return
			}
		}
		if got != want {
			yield(custody.Recording{}, errItemsChanged)
		}
	}
}

// custodyFailures yields the failure of each failed item; want is how many
// the first pass counted.
func (e *Engine) custodyFailures(ctx context.Context, jobID string, want int) iter.Seq2[vault.ExportFailure, error] {
	return func(yield func(vault.ExportFailure, error) bool) {
		got := 0
		for it, err := range e.items(ctx, jobID) {
			if err != nil {
				yield(vault.ExportFailure{}, err)
				return
			}
			if it.State != store.ItemFailed {
				continue
			}
			got++
			if !yield(vault.ExportFailure{RecordingID: it.RecordingID, Code: it.FailureCode, Message: it.FailureMsg}, nil) {
				return
			}
		}
		if got != want {
			yield(vault.ExportFailure{}, errItemsChanged)
		}
	}
}

// payload yields the bag's payload entries in manifest (byte) order when
// item paths sort in seq order: data/index.csv, then every metadata file,
// then every recording, the last two from separate passes over the items.
func (e *Engine) payload(ctx context.Context, jobID string, index bag.Digests) iter.Seq2[bag.Entry, error] {
	return func(yield func(bag.Entry, error) bool) {
		if !yield(bag.Entry{Path: indexPath, Digests: index}, nil) {
			return
		}
		for _, meta := range []bool{true, false} {
			for it, err := range e.items(ctx, jobID) {
				if err != nil {
					yield(bag.Entry{}, err)
					return
				}
				if it.State != store.ItemExported {
					continue
				}
				ent := bag.Entry{Path: it.Path, Digests: bag.Digests{Size: it.Digests.Size, SHA256: it.Digests.SHA256, SHA512: it.Digests.SHA512}}
				if meta {
					ent = bag.Entry{Path: it.MetaPath, Digests: bag.Digests{Size: it.MetaDigests.Size, SHA256: it.MetaDigests.SHA256, SHA512: it.MetaDigests.SHA512}}
				}
				if !yield(ent, nil) {
					return
				}
			}
		}
	}
}

// streamFile writes bag file rel with bag.WriteFile from what fill writes,
// through a pipe, so the file's contents are never held in memory.
func streamFile(ctx context.Context, dir, rel string, fill func(io.Writer) error) (bag.Digests, error) {
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		bw := bufio.NewWriterSize(pw, 64<<10)
		err := fill(bw)
		if err == nil {
			err = bw.Flush()
		}
		pw.CloseWithError(err) // a nil err gives the reader io.EOF
		done <- err
	}()
	d, err := bag.WriteFile(ctx, dir, rel, pr)
	// If WriteFile stopped early, unblock the writer.
	pr.CloseWithError(errors.New("export: " + rel + " was abandoned"))
	ferr := <-done
	if err != nil {
		return bag.Digests{}, err
	}
	if ferr != nil { // cannot happen: the reader saw EOF only after success
		return bag.Digests{}, ferr
	}
	return d, nil
}

// custodyReport builds the fixed part of custody.json, without recordings
// and failures: a fresh signed checkpoint and inclusion proofs of the
// hold's and the export's audit entries.
func (e *Engine) custodyReport(ctx context.Context, w store.ExportWork) (custody.Report, error) {
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
	rep := custody.Report{
		Version: custody.Version, BagName: w.BagName, HoldID: w.Job.HoldID, SealedAt: e.cfg.Clock.Now(),
		Job: custody.Job{ID: w.Job.ID, Filter: w.Job.Filter, Metadata: w.Job.Metadata, Destination: w.Job.Destination, CreatedBy: w.Job.CreatedBy,
			CreatedAt: w.Job.CreatedAt, StartedAt: w.Job.StartedAt},
		SigningKey: custody.SigningKey{Algorithm: "Ed25519", Fingerprint: audit.Fingerprint(pub), PublicKeyPEM: string(pemKey), Origin: signer.Origin()},
		Audit:      custody.Audit{Checkpoint: string(signed), TreeSize: cp.Size, RootHash: audit.FormatHash(cp.Root), Entries: []custody.ProvedEntry{}},
	}
	for _, p := range []struct {
		role  string
		index int64
	}{{custody.RoleHold, w.HoldAuditIndex}, {custody.RoleExport, w.ExportAuditIndex}} {
		if p.index < 0 {
			continue
		}
		ep, err := e.cfg.Audit.ProveEntry(ctx, p.index, cp.Size)
		if err != nil {
			return custody.Report{}, fmt.Errorf("export: audit entry of the %s: %w", p.role, err)
		}
		rep.Audit.Entries = append(rep.Audit.Entries, provedEntry(p.role, ep))
	}
	return rep, nil
}

// provedEntry is an audit entry with its inclusion proof as the custody
// report carries it.
func provedEntry(role string, ep auditlog.EntryProof) custody.ProvedEntry {
	hashes := make([]string, len(ep.Proof))
	for i, h := range ep.Proof {
		hashes[i] = audit.FormatHash(h)
	}
	return custody.ProvedEntry{Role: role, Entry: ep.Entry, LeafHash: audit.FormatHash(ep.LeafHash), Inclusion: hashes}
}

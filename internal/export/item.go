package export

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/holdfast/holdfast/internal/bag"
	"github.com/holdfast/holdfast/internal/blob"
	"github.com/holdfast/holdfast/internal/store"
	"github.com/holdfast/holdfast/internal/vault"
)

// IndexHeader is the header row of data/index.csv.
var IndexHeader = []string{"id", "call_id", "media_type", "started_at", "ended_at", "duration_ms", "direction", "participants", "size_bytes", "sha256", "path", "hold_ids"}

func extFor(format string) string {
	switch format {
	case "audio/ogg":
		return "ogg"
	case "audio/mpeg":
		return "mp3"
	case "audio/webm":
		return "webm"
	case "audio/wav":
		return "wav"
	}
	return "bin"
}

// exportItem handles one pending item. It returns false when the
// recording is still processing and the job should come back to it.
func (e *Engine) exportItem(ctx context.Context, w store.ExportWork, dir string, it store.ExportItem, deadline time.Time) (bool, error) {
	rec, err := e.cfg.Store.GetRecording(ctx, it.RecordingID)
	switch {
	case errors.Is(err, vault.ErrNotFound):
		return true, e.fail(ctx, w, dir, it, vault.FailureMissing, "the recording was deleted before it could be exported")
	case err != nil:
		return false, err
	}
	switch rec.Status {
	case vault.StatusProcessing:
		if e.cfg.Clock.Now().Before(deadline) {
			return false, nil
		}
		return true, e.fail(ctx, w, dir, it, vault.FailureNotReady,
			fmt.Sprintf("the recording was still processing when wait_for_processing (%s) ran out", w.WaitForProcessing))
	case vault.StatusFailed:
		return true, e.fail(ctx, w, dir, it, vault.FailureProcessingFailed, "the recording failed processing: "+rec.FailureReason)
	}
	obj, err := e.cfg.Blobs.Open(ctx, rec.Content.SHA256)
	if errors.Is(err, blob.ErrNotFound) {
		return true, e.fail(ctx, w, dir, it, vault.FailureContentMismatch, "the recording's content is missing from the blob store")
	}
	if err != nil {
		return false, err
	}
	rel := "data/recordings/" + rec.ID + "." + extFor(rec.Content.MediaFormat)
	d, err := bag.WriteFile(ctx, dir, rel, yieldReader{ctx: ctx, r: obj, yield: e.cfg.Yield})
	obj.Close()
	if err != nil {
		return false, fmt.Errorf("export: copy %s: %w", rec.ID, err)
	}
	if d.SHA256 != rec.Content.SHA256 {
		return true, e.fail(ctx, w, dir, it, vault.FailureContentMismatch,
			fmt.Sprintf("the stored content hashes to SHA-256 %s but %s was recorded at ingest; the file was not exported", d.SHA256, rec.Content.SHA256))
	}
	meta, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return false, err
	}
	metaRel := "data/metadata/" + rec.ID + ".json"
	md, err := bag.WriteFile(ctx, dir, metaRel, bytes.NewReader(append(meta, '\n')))
	if err != nil {
		return false, fmt.Errorf("export: metadata %s: %w", rec.ID, err)
	}
	it.State, it.Path, it.IngestSHA256, it.MetaPath = store.ItemExported, rel, rec.Content.SHA256, metaRel
	it.Digests = store.FileDigests{Size: d.Size, SHA256: d.SHA256, SHA512: d.SHA512}
	it.MetaDigests = store.FileDigests{Size: md.Size, SHA256: md.SHA256, SHA512: md.SHA512}
	it.IndexRow = indexRow(rec, rel)
	return true, e.cfg.Store.FinishExportItem(ctx, store.FinishExportItemParams{JobID: w.Job.ID, Owner: e.cfg.Owner, Item: it})
}

// fail records an item failure and removes anything a previous attempt
// wrote for it, so the bag never holds an unlisted file.
func (e *Engine) fail(ctx context.Context, w store.ExportWork, dir string, it store.ExportItem, code, msg string) error {
	for _, pattern := range []string{"data/recordings/" + it.RecordingID + ".*", "data/metadata/" + it.RecordingID + ".json"} {
		matches, _ := filepath.Glob(filepath.Join(dir, filepath.FromSlash(pattern)))
		for _, m := range matches {
			if err := os.Remove(m); err != nil && !os.IsNotExist(err) {
				return fmt.Errorf("export: remove %s: %w", m, err)
			}
		}
	}
	it.State, it.FailureCode, it.FailureMsg = store.ItemFailed, code, msg
	return e.cfg.Store.FinishExportItem(ctx, store.FinishExportItemParams{JobID: w.Job.ID, Owner: e.cfg.Owner, Item: it})
}

func indexRow(r vault.Recording, path string) []string {
	opt := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return vault.FormatTime(*t)
	}
	dur := ""
	if r.DurationMS != nil {
		dur = strconv.FormatInt(*r.DurationMS, 10)
	}
	parts := make([]string, len(r.Participants))
	for i, p := range r.Participants {
		parts[i] = p.AOR
	}
	holds := make([]string, len(r.Holds))
	for i, h := range r.Holds {
		holds[i] = h.HoldID
	}
	return []string{r.ID, r.CallID, r.MediaType, vault.FormatTime(r.StartedAt), opt(r.EndedAt), dur, r.Direction,
		strings.Join(parts, ";"), strconv.FormatInt(r.Content.SizeBytes, 10), r.Content.SHA256, path, strings.Join(holds, ";")}
}

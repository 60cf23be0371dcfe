// Package genesysimport copies call recordings from a Genesys Cloud
// organisation into holdfast (`holdfast import genesys`, contract §14).
//
// It finds the interval's conversations through the analytics details API,
// reads each conversation's recording metadata, downloads the audio through
// batch download requests of at most 100 items, and ingests each recording
// through the public SDK (the same code path as any API client), labelled
// with its Genesys ids. Whether a recording is already in holdfast is asked
// of holdfast by its genesys.recording_id label, so no run, with whatever
// token, creates a duplicate; a local state file lets a rerun after a kill
// skip the Genesys calls already made. With Protect it mirrors holdfast's
// active holds onto Genesys deletion protection.
//
// It never prints: progress goes to Config.Events and the result is a
// Summary, which the CLI renders.
package genesysimport

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/holdfast/holdfast/client"
	"github.com/holdfast/holdfast/internal/genesys"
)

// Config configures one import run.
type Config struct {
	Genesys  *genesys.Client
	Holdfast *client.Client
	// StatePath is the resume state file; its directory must exist.
	StatePath string
	// From and To bound the conversations' start times, [From, To).
	From, To time.Time
	// VoiceOnly asks Genesys for voice conversations only (--media sip).
	VoiceOnly bool
	// Protect mirrors holdfast's active holds to Genesys deletion
	// protection after importing.
	Protect bool
	// Workers is how many recordings are downloaded and ingested at once
	// (default 4).
	Workers int
	// Poll is how often jobs, batches and transcoding recordings are
	// checked (default 2 s).
	Poll time.Duration
	// TranscodeWait is how long a recording may stay "being transcoded"
	// before it is reported as failed (default 30 min).
	TranscodeWait time.Duration
	// BatchWait bounds how long one batch download request may take to
	// complete (default 15 min).
	BatchWait time.Duration
	// PageSize of analytics results (default 100).
	PageSize int
	Now      func() time.Time
	Logger   *slog.Logger
	// Events receives progress; it is called from several goroutines, one
	// call at a time.
	Events func(Event)
}

// Event kinds.
const (
	EventFound       = "found"       // Total conversations found (Done = recordings found so far)
	EventImported    = "imported"    // a recording was ingested
	EventSkipped     = "skipped"     // a recording was already in holdfast
	EventUnsupported = "unsupported" // a recording is not audio
	EventFailed      = "failed"      // a recording (or conversation) failed
	EventWaiting     = "waiting"     // Genesys is still transcoding a recording
	EventExpired     = "expired"     // a result URL expired; asking again
	EventProtected   = "protected"   // conversations put under deletion protection
	EventProtectStop = "protect_stopped"
)

// Event is one change of progress.
type Event struct {
	Kind           string
	ConversationID string
	RecordingID    string
	HoldfastID     string
	Message        string
	// Done and Total count settled and known audio recordings.
	Done, Total int
}

// Failure is one recording (or conversation, RecordingID empty) that could
// not be imported, with the reason.
type Failure struct {
	ConversationID string `json:"conversation_id"`
	RecordingID    string `json:"recording_id,omitempty"`
	Reason         string `json:"reason"`
}

// Summary is the outcome of a run (contract §14).
type Summary struct {
	ConversationsFound int         `json:"conversations_found"`
	RecordingsFound    int         `json:"recordings_found"`
	Imported           int         `json:"recordings_imported"`
	Skipped            int         `json:"skipped_already_present"`
	UnsupportedMedia   int         `json:"unsupported_media"`
	Failed             []Failure   `json:"failed"`
	Protection         *Protection `json:"protection,omitempty"`
}

// OK reports whether nothing failed (the CLI's exit 0).
func (s Summary) OK() bool {
	return len(s.Failed) == 0 && (s.Protection == nil || !s.Protection.Stopped)
}

// candidate is one audio recording to bring in.
type candidate struct {
	conv genesys.Conversation
	id   string
}

// importer is one run.
type importer struct {
	cfg   Config
	st    *state
	spool string
	// run makes idempotency keys unique to this run: within it, the SDK's
	// retries of one upload are one ingest; across runs, presence by
	// label decides (a key reused after the recording was deleted would
	// replay the old answer instead of importing it again).
	run string

	mu    sync.Mutex
	sum   Summary
	total int
	done  int
}

// Run imports the interval's recordings. The returned error is for a run
// that could not proceed at all (bad configuration, Genesys unreachable,
// the state file unusable); per-recording problems are Summary.Failed.
func Run(ctx context.Context, cfg Config) (Summary, error) {
	if cfg.Genesys == nil || cfg.Holdfast == nil || cfg.StatePath == "" {
		return Summary{}, errors.New("genesysimport: Genesys, Holdfast and StatePath are required")
	}
	if !cfg.From.Before(cfg.To) {
		return Summary{}, fmt.Errorf("genesysimport: empty interval [%s, %s)", cfg.From.Format(time.RFC3339), cfg.To.Format(time.RFC3339))
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 2 * time.Second
	}
	if cfg.TranscodeWait <= 0 {
		cfg.TranscodeWait = 30 * time.Minute
	}
	if cfg.BatchWait <= 0 {
		cfg.BatchWait = 15 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Events == nil {
		cfg.Events = func(Event) {}
	}
	st, err := loadState(cfg.StatePath)
	if err != nil {
		return Summary{}, err
	}
	im := &importer{cfg: cfg, st: st, spool: cfg.StatePath + ".spool", run: client.NewIdempotencyKey()}
	im.sum.Failed = []Failure{}
	if err := os.RemoveAll(im.spool); err != nil {
		return Summary{}, fmt.Errorf("genesysimport: clear spool: %w", err)
	}
	if err := os.MkdirAll(im.spool, 0o700); err != nil {
		return Summary{}, fmt.Errorf("genesysimport: spool: %w", err)
	}
	defer os.RemoveAll(im.spool)
	defer func() {
		if err := st.flush(); err != nil {
			cfg.Logger.Warn("genesysimport: state not saved", "err", err)
		}
	}()

	var convs []genesys.Conversation
	err = cfg.Genesys.FindConversations(ctx, genesys.FindOptions{From: cfg.From, To: cfg.To, VoiceOnly: cfg.VoiceOnly, Poll: cfg.Poll, PageSize: cfg.PageSize},
		func(c genesys.Conversation) error {
			convs = append(convs, c)
			return nil
		})
	if err != nil {
		return Summary{}, fmt.Errorf("genesysimport: find conversations: %w", err)
	}
	im.sum.ConversationsFound = len(convs)
	cfg.Events(Event{Kind: EventFound, Total: len(convs), Message: fmt.Sprintf("%d conversation(s) found", len(convs))})

	cands := im.listRecordings(ctx, convs)
	pending := im.checkPresence(ctx, cands)
	if err := im.download(ctx, pending); err != nil {
		return im.summary(), err
	}
	if cfg.Protect {
		if err := im.protect(ctx); err != nil {
			return im.summary(), err
		}
	}
	return im.summary(), ctx.Err()
}

func (im *importer) summary() Summary {
	im.mu.Lock()
	defer im.mu.Unlock()
	s := im.sum
	s.Failed = append([]Failure{}, im.sum.Failed...)
	return s
}

// emit sends an event with the current counts.
func (im *importer) emit(e Event) {
	im.mu.Lock()
	e.Done, e.Total = im.done, im.total
	im.cfg.Events(e)
	im.mu.Unlock()
}

// fail records a failure.
func (im *importer) fail(convID, recID, reason string) {
	im.mu.Lock()
	im.sum.Failed = append(im.sum.Failed, Failure{ConversationID: convID, RecordingID: recID, Reason: reason})
	if recID != "" {
		im.done++
	}
	im.mu.Unlock()
	im.emit(Event{Kind: EventFailed, ConversationID: convID, RecordingID: recID, Message: reason})
}

// saveErr turns a state-file failure into a recording failure: the
// recording is in holdfast, but the next run must find that out again.
func (im *importer) saveErr(c candidate, err error) {
	if err != nil {
		im.cfg.Logger.Warn("genesysimport: state not saved", "recording", c.id, "err", err)
	}
}

// parallel runs fn for each item on the configured number of workers.
func parallel[T any](ctx context.Context, workers int, items []T, fn func(T)) {
	ch := make(chan T)
	var wg sync.WaitGroup
	for range min(workers, max(len(items), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range ch {
				fn(it)
			}
		}()
	}
	for _, it := range items {
		if ctx.Err() != nil {
			break
		}
		ch <- it
	}
	close(ch)
	wg.Wait()
}

// listRecordings reads (or recalls) each conversation's recordings,
// settles the non-audio ones as unsupported_media and returns the audio
// ones.
func (im *importer) listRecordings(ctx context.Context, convs []genesys.Conversation) []candidate {
	var mu sync.Mutex
	var out []candidate
	parallel(ctx, im.cfg.Workers, convs, func(c genesys.Conversation) {
		refs, ok := im.st.conversation(c.ConversationID)
		if !ok {
			meta, err := im.cfg.Genesys.RecordingMetadata(ctx, c.ConversationID)
			if err != nil {
				if ctx.Err() == nil {
					im.fail(c.ConversationID, "", "reading its recording metadata: "+err.Error())
				}
				return
			}
			for _, m := range meta {
				if m.ID != "" {
					refs = append(refs, stateRecordingRef{ID: m.ID, Media: strings.ToLower(m.Media)})
				}
			}
			if err := im.st.setConversation(c.ConversationID, refs); err != nil {
				im.cfg.Logger.Warn("genesysimport: state not saved", "conversation", c.ConversationID, "err", err)
			}
		}
		for _, r := range refs {
			im.mu.Lock()
			im.sum.RecordingsFound++
			im.mu.Unlock()
			if r.Media != "audio" {
				im.mu.Lock()
				im.sum.UnsupportedMedia++
				im.mu.Unlock()
				_ = im.st.settle(r.ID, stateRecording{ConversationID: c.ConversationID, Outcome: outcomeUnsupported})
				im.emit(Event{Kind: EventUnsupported, ConversationID: c.ConversationID, RecordingID: r.ID, Message: r.Media + " is not audio"})
				continue
			}
			im.mu.Lock()
			im.total++
			im.mu.Unlock()
			if _, err := metadataFor(c, r.ID); err != nil {
				im.fail(c.ConversationID, r.ID, err.Error())
				continue
			}
			mu.Lock()
			out = append(out, candidate{conv: c, id: r.ID})
			mu.Unlock()
		}
	})
	return out
}

// present asks holdfast whether a recording with this Genesys recording id
// is already stored, returning its holdfast id.
func (im *importer) present(ctx context.Context, recID string) (string, error) {
	page, err := im.cfg.Holdfast.ListRecordings(ctx, client.ListRecordingsParams{Labels: map[string]string{LabelRecordingID: recID}, Limit: 1})
	if err != nil {
		return "", err
	}
	if len(page.Items) == 0 {
		return "", nil
	}
	return page.Items[0].ID, nil
}

// checkPresence settles the candidates holdfast already has and returns
// the others.
func (im *importer) checkPresence(ctx context.Context, cands []candidate) []candidate {
	var mu sync.Mutex
	var missing []candidate
	parallel(ctx, im.cfg.Workers, cands, func(c candidate) {
		id, err := im.present(ctx, c.id)
		if err != nil {
			if ctx.Err() == nil {
				im.fail(c.conv.ConversationID, c.id, "asking holdfast whether it is present: "+err.Error())
			}
			return
		}
		if id == "" {
			if prev, ok := im.st.recording(c.id); ok && prev.Outcome != outcomeUnsupported {
				// Imported once, gone since (deleted): bring it in again.
				im.saveErr(c, im.st.forget(c.id))
			}
			mu.Lock()
			missing = append(missing, c)
			mu.Unlock()
			return
		}
		im.skipped(c, id)
	})
	return missing
}

func (im *importer) skipped(c candidate, holdfastID string) {
	outcome := outcomePresent
	if prev, ok := im.st.recording(c.id); ok && prev.Outcome == outcomeImported && prev.HoldfastID == holdfastID {
		outcome = outcomeImported
	}
	im.saveErr(c, im.st.settle(c.id, stateRecording{ConversationID: c.conv.ConversationID, Outcome: outcome, HoldfastID: holdfastID}))
	im.mu.Lock()
	im.sum.Skipped++
	im.done++
	im.mu.Unlock()
	im.emit(Event{Kind: EventSkipped, ConversationID: c.conv.ConversationID, RecordingID: c.id, HoldfastID: holdfastID, Message: "already present"})
}

// ingest uploads one downloaded recording through the SDK and checks that
// holdfast stored exactly the downloaded bytes.
func (im *importer) ingest(ctx context.Context, c candidate, path, contentType, sum string) error {
	meta, err := metadataFor(c.conv, c.id)
	if err != nil {
		return fmt.Errorf("building its metadata: %w", err)
	}
	rec, err := im.cfg.Holdfast.Ingest(ctx, client.IngestRequest{
		Metadata:       meta,
		MediaName:      safeName(c.id) + extFor(contentType),
		Media:          func() (io.ReadCloser, error) { return os.Open(path) },
		IdempotencyKey: "genesys-" + safeName(c.id) + "-" + safeName(im.run),
	})
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	if rec.Content.SHA256 != sum {
		return fmt.Errorf("holdfast stored SHA-256 %s, the download was %s", rec.Content.SHA256, sum)
	}
	im.saveErr(c, im.st.settle(c.id, stateRecording{ConversationID: c.conv.ConversationID, Outcome: outcomeImported, HoldfastID: rec.ID}))
	im.mu.Lock()
	im.sum.Imported++
	im.done++
	im.mu.Unlock()
	im.emit(Event{Kind: EventImported, ConversationID: c.conv.ConversationID, RecordingID: c.id, HoldfastID: rec.ID})
	return nil
}

// fetch downloads a result URL into the spool, returning the file and the
// SHA-256 of its bytes.
func (im *importer) fetch(ctx context.Context, c candidate, url string) (string, string, error) {
	path := filepath.Join(im.spool, safeName(c.id)+".part")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return "", "", fmt.Errorf("spool: %w", err)
	}
	h := sha256.New()
	_, err = im.cfg.Genesys.Download(ctx, url, io.MultiWriter(f, h))
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("spool: %w", cerr)
	}
	if err != nil {
		os.Remove(path)
		return "", "", err
	}
	return path, hex.EncodeToString(h.Sum(nil)), nil
}

// safeName keeps file names and idempotency keys to a safe alphabet.
func safeName(id string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, clip(id, 100))
}

package genesysimport

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/holdfast/holdfast/internal/atomicfile"
)

// stateVersion is the format of the state file.
const stateVersion = 1

// Outcomes a recording can settle on. A failure is not an outcome: a
// failed recording is tried again on the next run.
const (
	outcomeImported    = "imported"
	outcomePresent     = "present"
	outcomeUnsupported = "unsupported_media"
)

// state is what a run remembers for the next one: each conversation's
// recording list (so a rerun need not ask Genesys again), each recording's
// settled outcome, and the conversations already put under deletion
// protection. It is a cache of work done, never the judge of presence:
// whether a recording is in holdfast is always asked of holdfast by its
// genesys.recording_id label. It is saved atomically (temp file, fsync,
// rename, directory fsync) at most every saveEvery while changes come in,
// at once for deletion protection, and at the end of the run, so a
// SIGKILL loses at most the last fraction of a second of cache, which the
// rerun recomputes.
type state struct {
	mu        sync.Mutex
	path      string
	doc       stateDoc
	dirty     bool
	lastSave  time.Time
	saveEvery time.Duration
}

// defaultSaveEvery bounds how often the state file is rewritten: one
// fsync per recording would make the file the importer's bottleneck.
const defaultSaveEvery = 250 * time.Millisecond

type stateDoc struct {
	Version       int                          `json:"version"`
	Conversations map[string]stateConversation `json:"conversations"`
	Recordings    map[string]stateRecording    `json:"recordings"`
	Protected     []string                     `json:"protected"`
}

type stateConversation struct {
	Recordings []stateRecordingRef `json:"recordings"`
}

type stateRecordingRef struct {
	ID    string `json:"id"`
	Media string `json:"media"`
}

type stateRecording struct {
	ConversationID string `json:"conversation_id"`
	Outcome        string `json:"outcome"`
	HoldfastID     string `json:"holdfast_id,omitempty"`
}

// loadState reads the state file, or starts an empty one if it does not
// exist.
func loadState(path string) (*state, error) {
	s := &state{path: path, saveEvery: defaultSaveEvery, doc: stateDoc{Version: stateVersion, Conversations: map[string]stateConversation{}, Recordings: map[string]stateRecording{}}}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("genesysimport: read state: %w", err)
	}
	var doc stateDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("genesysimport: state file %s is not valid JSON (%v); move it aside to start over", path, err)
	}
	if doc.Version != stateVersion {
		return nil, fmt.Errorf("genesysimport: state file %s has version %d, this holdfast writes %d", path, doc.Version, stateVersion)
	}
	if doc.Conversations == nil {
		doc.Conversations = map[string]stateConversation{}
	}
	if doc.Recordings == nil {
		doc.Recordings = map[string]stateRecording{}
	}
	s.doc = doc
	return s, nil
}

// changedLocked notes a change and saves if the last save is old enough;
// the caller holds mu.
func (s *state) changedLocked() error {
	s.dirty = true
	if time.Since(s.lastSave) < s.saveEvery {
		return nil
	}
	return s.saveLocked()
}

// flush saves pending changes.
func (s *state) flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.dirty {
		return nil
	}
	return s.saveLocked()
}

// saveLocked writes the state; the caller holds mu.
func (s *state) saveLocked() error {
	s.lastSave = time.Now()
	s.dirty = false
	sort.Strings(s.doc.Protected)
	b, err := json.MarshalIndent(s.doc, "", " ")
	if err != nil {
		return fmt.Errorf("genesysimport: encode state: %w", err)
	}
	if err := atomicfile.WriteFile(s.path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("genesysimport: save state: %w", err)
	}
	return nil
}

// conversation returns the remembered recording list of a conversation.
func (s *state) conversation(id string) ([]stateRecordingRef, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.doc.Conversations[id]
	return c.Recordings, ok
}

// setConversation remembers a conversation's recording list.
func (s *state) setConversation(id string, recs []stateRecordingRef) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if recs == nil {
		recs = []stateRecordingRef{}
	}
	s.doc.Conversations[id] = stateConversation{Recordings: recs}
	return s.changedLocked()
}

// recording returns a recording's settled outcome, if any.
func (s *state) recording(id string) (stateRecording, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.doc.Recordings[id]
	return r, ok
}

// settle records a recording's outcome.
func (s *state) settle(id string, r stateRecording) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.doc.Recordings[id]; ok && old == r {
		return nil
	}
	s.doc.Recordings[id] = r
	return s.changedLocked()
}

// forget drops a recording's outcome (it was imported once but is no
// longer in holdfast).
func (s *state) forget(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.doc.Recordings[id]; !ok {
		return nil
	}
	delete(s.doc.Recordings, id)
	return s.changedLocked()
}

// protected returns the conversations already under deletion protection.
func (s *state) protected() map[string]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]bool, len(s.doc.Protected))
	for _, id := range s.doc.Protected {
		out[id] = true
	}
	return out
}

// addProtected records conversations now under deletion protection.
func (s *state) addProtected(ids []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	have := make(map[string]bool, len(s.doc.Protected))
	for _, id := range s.doc.Protected {
		have[id] = true
	}
	for _, id := range ids {
		if !have[id] {
			have[id] = true
			s.doc.Protected = append(s.doc.Protected, id)
		}
	}
	return s.saveLocked()
}

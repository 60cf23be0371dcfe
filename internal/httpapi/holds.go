package httpapi

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"

	"github.com/holdfast/holdfast/internal/audit"

	"github.com/holdfast/holdfast/internal/store"
	"github.com/holdfast/holdfast/internal/vault"
)

// decodeRecordingHolds decodes a per-recording hold request; its entries
// decide the permissions it needs.
func decodeRecordingHolds(_ *http.Request, body []byte) (vault.RecordingHoldsRequest, error) {
	return vault.DecodeRecordingHolds(body)
}

// applyRecordingHolds handles POST /api/v2/recordings/legalholds with the
// request decoded, permitted and validated by decided.
func (s *Server) applyRecordingHolds(w http.ResponseWriter, r *http.Request, tok vault.Token, _ []byte, req vault.RecordingHoldsRequest) error {
	now := s.now()
	p := store.ApplyRecordingHoldsParams{Actor: tok.ID, Now: now, NewID: func() string { return vault.NewID("hold", now) }}
	for _, it := range req.Items {
		spec := store.HoldSpec{CaseID: it.Spec.CaseID, HoldReason: it.Spec.HoldReason, HoldDate: it.Spec.HoldDate}
		if spec.HoldDate.IsZero() {
			spec.HoldDate = now
		}
		p.Items = append(p.Items, store.RecordingHoldItem{RecordingID: it.ID, Release: it.Action == vault.HoldRelease, Spec: spec, ReleaseReason: it.ReleaseReason})
	}
	res, err := s.cfg.Store.ApplyRecordingHolds(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// holdResponse is a hold with the number of recordings it matched when it
// was placed.
type holdResponse struct {
	vault.Hold
	Matched int `json:"matched"`
}

// createHold handles POST /api/v2/legalholds.
func (s *Server) createHold(w http.ResponseWriter, r *http.Request, tok vault.Token) error {
	body, err := readJSONBody(w, r)
	if err != nil {
		return err
	}
	in, err := vault.DecodeHold(body)
	if err != nil {
		return err
	}
	idem, err := s.reserveIdempotency(r, tok, "POST /api/v2/legalholds")
	if err != nil {
		return err
	}
	defer s.settleIdempotency(r.Context(), idem)
	sum := sha256.Sum256(body)
	fp := hex.EncodeToString(sum[:])
	if replayed, err := idem.answerReplay(w, fp, "/api/v2/legalholds/", func(id string) (any, error) {
		h, err := s.cfg.Store.GetHold(r.Context(), id)
		return holdResponse{Hold: h, Matched: h.RecordingCount}, err
	}); replayed || err != nil {
		return err
	}
	now := s.now()
	spec := store.HoldSpec{CaseID: in.Spec.CaseID, HoldReason: in.Spec.HoldReason, HoldDate: in.Spec.HoldDate}
	if spec.HoldDate.IsZero() {
		spec.HoldDate = now
	}
	h, err := s.cfg.Store.CreateHold(r.Context(), store.CreateHoldParams{
		HoldID: vault.NewID("hold", now), Spec: spec, Filter: in.Filter, IncludeFuture: in.IncludeFuture, Actor: tok.ID, Now: now,
		Idempotency: idem.completion(fp, http.StatusCreated),
	})
	if err != nil {
		return err
	}
	idem.markDone()
	w.Header().Set("Location", "/api/v2/legalholds/"+h.HoldID)
	writeJSON(w, http.StatusCreated, holdResponse{Hold: h, Matched: h.RecordingCount})
	return nil
}

func (s *Server) listHolds(w http.ResponseWriter, r *http.Request, tok vault.Token) error {
	var probs vault.Problems
	p := store.ListHoldsParams{}
	p.Limit, p.Cursor = pageParams(r, &probs)
	if v := r.URL.Query().Get("case_id"); v != "" {
		if !vault.CaseIDPattern.MatchString(v) {
			probs.Add("query.case_id", "invalid_pattern", vault.CaseIDRule)
		}
		p.CaseID = v
	}
	if err := probs.Err(); err != nil {
		return err
	}
	holds, next, err := s.cfg.Store.ListHolds(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listPage[vault.Hold]{Items: holds, NextCursor: encodeCursor(next)})
	return nil
}

func (s *Server) getHold(w http.ResponseWriter, r *http.Request, tok vault.Token) error {
	h, err := s.cfg.Store.GetHold(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, h)
	return nil
}

// releaseHold handles POST /api/v2/legalholds/{id}/release. Releasing
// one hold never touches another.
func (s *Server) releaseHold(w http.ResponseWriter, r *http.Request, tok vault.Token) error {
	body, err := readJSONBody(w, r)
	if err != nil {
		return err
	}
	reason, err := vault.DecodeRelease(body)
	if err != nil {
		return err
	}
	h, err := s.cfg.Store.ReleaseHold(r.Context(), store.ReleaseHoldParams{HoldID: r.PathValue("id"), Reason: reason, Actor: tok.ID, Now: s.now()})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, h)
	return nil
}

// listHoldRecordings handles GET /api/v2/legalholds/{id}/recordings: a
// hold's recordings, keyset paged, however many there are.
func (s *Server) listHoldRecordings(w http.ResponseWriter, r *http.Request, tok vault.Token) error {
	var probs vault.Problems
	limit, cursor := pageParams(r, &probs)
	if err := probs.Err(); err != nil {
		return err
	}
	items, next, err := s.cfg.Store.ListHoldRecordings(r.Context(), store.ListHoldRecordingsParams{HoldID: r.PathValue("id"), Limit: limit, Cursor: cursor})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listPage[vault.HoldRecording]{Items: items, NextCursor: encodeCursor(next)})
	return nil
}

// setProof is the answer of the proof endpoints: the inclusion proof of
// one recording in the recording set whose recordings_root audit entry
// entry_index records.
type setProof struct {
	EntryIndex     int64    `json:"entry_index"`
	LeafIndex      int64    `json:"leaf_index"`
	TreeSize       int64    `json:"tree_size"`
	RecordingsRoot string   `json:"recordings_root"`
	Proof          []string `json:"proof"`
}

// proveMember answers a proof endpoint for p (HoldID or JobID set) with
// the recording named by the recording_id query parameter.
func (s *Server) proveMember(w http.ResponseWriter, r *http.Request, p store.RecordingSetParams) error {
	var probs vault.Problems
	p.RecordingID = r.URL.Query().Get("recording_id")
	if p.RecordingID == "" {
		probs.Add("query.recording_id", "required", "is required, e.g. recording_id=rec_01JDQ4S5Q6ZJ1G2H3K4M5N6P7Q")
	} else if !vault.PlausibleID(p.RecordingID) {
		probs.Add("query.recording_id", "invalid_value", "must be a recording id, e.g. rec_01JDQ4S5Q6ZJ1G2H3K4M5N6P7Q")
	}
	if err := probs.Err(); err != nil {
		return err
	}
	mp, err := s.cfg.Audit.ProveMember(r.Context(), p)
	if err != nil {
		return err
	}
	proof := make([]string, len(mp.Proof))
	for i, h := range mp.Proof {
		proof[i] = audit.FormatSetRoot(h)
	}
	writeJSON(w, http.StatusOK, setProof{EntryIndex: mp.EntryIndex, LeafIndex: mp.LeafIndex, TreeSize: mp.TreeSize, RecordingsRoot: audit.FormatSetRoot(mp.Root), Proof: proof})
	return nil
}

// holdProof handles GET /api/v2/legalholds/{id}/proof?recording_id=.
func (s *Server) holdProof(w http.ResponseWriter, r *http.Request, tok vault.Token) error {
	return s.proveMember(w, r, store.RecordingSetParams{HoldID: r.PathValue("id")})
}

// exportProof handles GET /api/v2/bulk/recordingexports/{id}/proof?recording_id=.
func (s *Server) exportProof(w http.ResponseWriter, r *http.Request, tok vault.Token) error {
	return s.proveMember(w, r, store.RecordingSetParams{JobID: r.PathValue("id")})
}

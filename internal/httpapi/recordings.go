package httpapi

import (
	"bufio"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/holdfast/holdfast/internal/blob"
	"github.com/holdfast/holdfast/internal/media"
	"github.com/holdfast/holdfast/internal/siprec"
	"github.com/holdfast/holdfast/internal/store"
	"github.com/holdfast/holdfast/internal/vault"
)

// upload is what the multipart parts of an ingest request carried.
type upload struct {
	metadata []byte
	siprec   []byte
	digests  *blob.Digests
	format   string
}

// ingest handles POST /api/v2/recordings: it streams the media into the
// blob store (hashing on the way), validates metadata and SIPREC, then
// creates the recording and queues it for processing.
func (s *Server) ingest(w http.ResponseWriter, r *http.Request, tok vault.Token) (err error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		return newProblem(http.StatusUnsupportedMediaType, "unsupported_media_type",
			"send the recording as multipart/form-data with a \"metadata\" part (JSON) and a \"media\" part (the audio), e.g. curl -F metadata=@meta.json -F media=@call.wav")
	}
	if r.ContentLength > s.maxUploadBody() {
		return s.uploadTooLarge()
	}
	idem, err := s.reserveIdempotency(r, tok, "POST /api/v2/recordings")
	if err != nil {
		return err
	}
	defer s.settleIdempotency(r.Context(), idem)
	up, err := s.readUpload(w, r)
	if err != nil {
		return err
	}
	var probs vault.Problems
	var meta vault.RecordingMetadata
	switch {
	case up.metadata == nil:
		probs.Add("metadata", "required", `a multipart part named "metadata" with the recording's JSON metadata is required, e.g. {"media_type": "SIP", "started_at": "2026-11-25T10:00:00Z"}`)
	default:
		m, fieldErrs, err := vault.DecodeRecordingMetadata(up.metadata)
		if err != nil {
			return err
		}
		probs.Merge(fieldErrs)
		meta = m
	}
	if up.siprec != nil {
		sm, err := siprec.Parse(strings.NewReader(string(up.siprec)))
		if err != nil {
			probs.Add("siprec", "invalid_siprec", "must be RFC 7865 recording metadata XML: "+err.Error())
		} else {
			mergeSIPREC(&meta, sm)
		}
	}
	if up.metadata != nil && probs.Empty() {
		meta.Check(&probs)
	}
	if up.digests == nil {
		probs.Add("media", "required", `a multipart part named "media" with the audio (WAV, Ogg/Opus or MP3) is required, e.g. curl -F media=@call.wav`)
	}
	if err := probs.Err(); err != nil {
		return err
	}
	fp := fingerprint(up)
	if replayed, err := idem.answerReplay(w, fp, "/api/v2/recordings/", func(id string) (any, error) {
		return s.cfg.Store.GetRecording(r.Context(), id)
	}); replayed || err != nil {
		return err
	}
	now := s.now()
	rec := vault.Recording{
		ID: vault.NewID("rec", now), MediaType: meta.MediaType, Status: vault.StatusProcessing, CallID: meta.CallID,
		StartedAt: meta.StartedAt, Direction: meta.Direction, Participants: meta.Participants, Labels: meta.Labels,
		Content:    vault.Content{SizeBytes: up.digests.Size, SHA256: up.digests.SHA256, SHA512: up.digests.SHA512, MediaFormat: up.format},
		IngestedAt: now,
	}
	if !meta.EndedAt.IsZero() {
		e := meta.EndedAt
		rec.EndedAt = &e
	}
	rec, err = s.cfg.Store.CreateRecording(r.Context(), store.CreateRecordingParams{Recording: rec, BlobVersion: up.digests.Version, Actor: tok.ID, Idempotency: idem.completion(fp, http.StatusAccepted)})
	if err != nil {
		return err
	}
	idem.markDone()
	s.cfg.Processor.Enqueue(rec.ID, rec.IngestedAt)
	w.Header().Set("Location", "/api/v2/recordings/"+rec.ID)
	writeJSON(w, http.StatusAccepted, rec)
	return nil
}

// maxParts bounds the parts of one upload, so a request of many tiny
// parts cannot make the answer (or the server's memory) grow without end.
const maxParts = 8

// readUpload reads the parts of a multipart upload. The media part goes
// straight to the blob store; metadata and siprec are small and kept.
func (s *Server) readUpload(w http.ResponseWriter, r *http.Request) (upload, error) {
	var up upload
	r.Body = http.MaxBytesReader(w, r.Body, s.maxUploadBody())
	mr, err := r.MultipartReader()
	if err != nil {
		return up, &vault.MalformedError{Message: "body is not valid multipart/form-data: " + err.Error()}
	}
	tooLarge := s.uploadTooLarge()
	var probs vault.Problems
	seen := map[string]bool{}
	for parts := 0; ; parts++ {
		if parts >= maxParts {
			probs.Add("body", "too_many_parts", fmt.Sprintf("an upload has at most %d parts: \"metadata\", \"media\" and optionally \"siprec\"", maxParts))
			return up, probs.Err()
		}
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return up, tooLarge
			}
			return up, &vault.MalformedError{Message: "body is not valid multipart/form-data: " + err.Error()}
		}
		name := part.FormName()
		switch name {
		case "metadata", "siprec":
			if seen[name] {
				probs.Add(name, "duplicate", "send exactly one "+name+" part")
				continue
			}
			seen[name] = true
			b, err := io.ReadAll(io.LimitReader(part, vault.MaxMetadataBytes+1))
			if err != nil {
				return up, readErr(err, tooLarge)
			}
			if len(b) > vault.MaxMetadataBytes {
				probs.Add(name, "too_large", fmt.Sprintf("must be at most %d bytes", vault.MaxMetadataBytes))
				continue
			}
			if name == "metadata" {
				up.metadata = b
			} else {
				up.siprec = b
			}
		case "media":
			if up.digests != nil {
				probs.Add("media", "duplicate", "send exactly one media part")
				continue
			}
			br := bufio.NewReaderSize(part, media.SniffLen)
			head, _ := br.Peek(media.SniffLen)
			format, ok := media.Sniff(head)
			if !ok {
				return up, newProblem(http.StatusUnsupportedMediaType, "unsupported_media_type",
					"the media part is not a recognised audio container; holdfast accepts WAV (PCM, μ-law, A-law), Ogg (Opus, Vorbis) and MP3")
			}
			d, err := s.cfg.Blobs.Put(r.Context(), br, s.cfg.MaxUploadBytes)
			if errors.Is(err, blob.ErrTooLarge) {
				return up, tooLarge
			}
			if err != nil {
				return up, readErr(err, tooLarge)
			}
			up.digests, up.format = &d, format
		default:
			probs.Add(name, "unknown_part", `is not a known part; send "metadata" (JSON), "media" (audio) and optionally "siprec" (RFC 7865 XML)`)
		}
	}
	return up, probs.Err()
}

// maxUploadBody bounds a whole upload: the media limit plus room for the
// small parts and multipart framing.
func (s *Server) maxUploadBody() int64 { return s.cfg.MaxUploadBytes + 4*vault.MaxMetadataBytes }

func (s *Server) uploadTooLarge() *Problem {
	return newProblem(http.StatusRequestEntityTooLarge, "payload_too_large",
		fmt.Sprintf("the media part is larger than this server's upload limit of %d bytes", s.cfg.MaxUploadBytes))
}

// readErr classifies a failure while reading the body: over the size
// limit is 413; a broken stream is a malformed request.
func readErr(err error, tooLarge *Problem) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return tooLarge
	}
	if strings.Contains(err.Error(), "multipart") || errors.Is(err, io.ErrUnexpectedEOF) {
		return &vault.MalformedError{Message: "body is not valid multipart/form-data: " + err.Error()}
	}
	return err
}

// mergeSIPREC fills what the JSON metadata left out from the SIPREC
// document.
func mergeSIPREC(m *vault.RecordingMetadata, sm siprec.Metadata) {
	if m.CallID == "" {
		m.CallID = sm.CallID
	}
	if m.StartedAt.IsZero() {
		m.StartedAt = sm.StartedAt
	}
	if m.EndedAt.IsZero() {
		m.EndedAt = sm.EndedAt
	}
	if len(m.Participants) == 0 {
		for _, p := range sm.Participants {
			m.Participants = append(m.Participants, vault.Participant{AOR: p.AOR, Name: p.Name})
		}
	}
}

// fingerprint identifies an upload for idempotency: the metadata and
// SIPREC bytes and the media digest. Multipart boundaries differ between
// identical retries, so the raw body cannot be used.
func fingerprint(up upload) string {
	h := sha256.New()
	fmt.Fprintf(h, "metadata:%d:", len(up.metadata))
	h.Write(up.metadata)
	fmt.Fprintf(h, "siprec:%d:", len(up.siprec))
	h.Write(up.siprec)
	fmt.Fprintf(h, "media:%s", up.digests.SHA256)
	return hex.EncodeToString(h.Sum(nil))
}

func (s *Server) getRecording(w http.ResponseWriter, r *http.Request, tok vault.Token) error {
	rec, err := s.cfg.Store.GetRecording(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rec)
	return nil
}

// listPage is the shape of every list response.
type listPage[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

func encodeCursor(last string) string {
	if last == "" {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(last))
}

// pageParams reads limit and cursor, shared by every list endpoint.
func pageParams(r *http.Request, p *vault.Problems) (limit int, cursor string) {
	q := r.URL.Query()
	limit = 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			p.Add("query.limit", "invalid_value", "must be an integer from 1 to 1000, e.g. 100")
		} else {
			limit = n
		}
	}
	if v := q.Get("cursor"); v != "" {
		b, err := base64.RawURLEncoding.DecodeString(v)
		if err != nil || len(b) == 0 || len(b) > 512 || !vault.PlausibleID(string(b)) && !printableASCII(string(b)) {
			p.Add("query.cursor", "invalid_value", "must be a next_cursor value from a previous page")
		} else {
			cursor = string(b)
		}
	}
	return limit, cursor
}

func (s *Server) listRecordings(w http.ResponseWriter, r *http.Request, tok vault.Token) error {
	var probs vault.Problems
	q := r.URL.Query()
	params := store.ListRecordingsParams{}
	params.Limit, params.Cursor = pageParams(r, &probs)
	if v := q.Get("media_type"); v != "" {
		params.MediaType = matchEnum(v, vault.MediaTypes)
		if params.MediaType == "" {
			probs.Add("query.media_type", "invalid_enum", "must be one of "+strings.Join(vault.MediaTypes, ", ")+", e.g. SIP")
		}
	}
	for _, name := range []string{"from", "to"} {
		v := q.Get(name)
		if v == "" {
			continue
		}
		t, msg, ok := vault.ParseTimestamp(v)
		if !ok {
			probs.Add("query."+name, "invalid_timestamp", msg)
			continue
		}
		if name == "from" {
			params.From = &t
		} else {
			params.To = &t
		}
	}
	if v := q.Get("status"); v != "" {
		if !vault.ValidStatus(v) {
			probs.Add("query.status", "invalid_enum", "must be one of processing, completed, failed, e.g. completed")
		}
		params.Status = v
	}
	if v := q.Get("case_id"); v != "" {
		if !vault.CaseIDPattern.MatchString(v) {
			probs.Add("query.case_id", "invalid_pattern", vault.CaseIDRule)
		}
		params.CaseID = v
	}
	for _, v := range q["label"] {
		sel, ok := vault.ParseLabelSelector(v)
		if !ok {
			probs.Add("query.label", "invalid_value", vault.LabelSelectorRule)
			continue
		}
		params.Labels = append(params.Labels, sel)
	}
	if v := q.Get("call_id"); v != "" {
		if len(v) > 1024 || !printableText(v) {
			probs.Add("query.call_id", "invalid_value", "must be a SIP Call-ID of at most 1024 printable characters, e.g. a84b4c76e66710@pc33.example.com")
		}
		params.CallID = v
	}
	if v := q.Get("participant"); v != "" {
		if len([]rune(v)) > 256 || !printableText(v) {
			probs.Add("query.participant", "invalid_value", "must be part of a participant's aor or name, at most 256 printable characters, e.g. alice@example.com")
		}
		params.Participant = v
	}
	if q.Has("legal_hold") {
		switch v := q.Get("legal_hold"); v {
		case "true", "false":
			held := v == "true"
			params.LegalHold = &held
		default:
			probs.Add("query.legal_hold", "invalid_value", "must be true (recordings under an active hold) or false (under none)")
		}
	}
	if err := probs.Err(); err != nil {
		return err
	}
	recs, next, err := s.cfg.Store.ListRecordings(r.Context(), params)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listPage[vault.Recording]{Items: recs, NextCursor: encodeCursor(next)})
	return nil
}

// printableText reports whether s is valid UTF-8 without control
// characters, as a search term must be.
func printableText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

func matchEnum(v string, allowed []string) string {
	for _, a := range allowed {
		if strings.EqualFold(a, v) {
			return a
		}
	}
	return ""
}

// getMedia serves the recording's bytes with its SHA-256 as ETag and
// Repr-Digest, and Range support. Each read is an audit entry naming the
// token (and the range, if partial).
func (s *Server) getMedia(w http.ResponseWriter, r *http.Request, tok vault.Token) error {
	rec, err := s.cfg.Store.GetRecording(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	obj, err := s.cfg.Blobs.Open(r.Context(), rec.Content.SHA256)
	if errors.Is(err, blob.ErrNotFound) {
		return newProblem(http.StatusNotFound, "not_found", "the recording's media content is missing from the blob store")
	}
	if err != nil {
		return err
	}
	defer obj.Close()
	if err := s.recordAccess(r, tok, auditMediaRead, rec.ID, nil); err != nil {
		return err
	}
	sum, _ := hex.DecodeString(rec.Content.SHA256)
	w.Header().Set("ETag", `"`+rec.Content.SHA256+`"`)
	w.Header().Set("Repr-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(sum)+":")
	w.Header().Set("Content-Type", rec.Content.MediaFormat)
	w.Header().Set("Accept-Ranges", "bytes")
	return serveContent(w, r, rec.IngestedAt, obj)
}

// deleteRecording removes a recording; a held recording is refused with
// 409. Its content, once no recording refers to it, is removed by the blob
// collector (internal/blobgc), which re-checks references and skips
// content an upload touched within the hour, so a concurrent identical
// upload can never lose its bytes.
func (s *Server) deleteRecording(w http.ResponseWriter, r *http.Request, tok vault.Token) error {
	if _, err := s.cfg.Store.DeleteRecording(r.Context(), store.DeleteRecordingParams{ID: r.PathValue("id"), Actor: tok.ID, Now: s.now()}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

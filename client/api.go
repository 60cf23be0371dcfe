package client

import (
	"context"
	"fmt"
	"io"
	"maps"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// CreateToken creates a token (admin). The answer's Secret is shown only
// this once.
func (c *Client) CreateToken(ctx context.Context, name string, perms []string) (Token, error) {
	var t Token
	_, err := c.doJSON(ctx, request{method: http.MethodPost, path: "/api/v2/tokens",
		body: jsonBody(map[string]any{"name": name, "permissions": perms})}, &t)
	return t, err
}

// ListTokens fetches one page of tokens (admin), revoked ones included;
// secrets are never listed.
func (c *Client) ListTokens(ctx context.Context, cursor string, limit int) (Page[Token], error) {
	q := url.Values{}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var p Page[Token]
	_, err := c.doJSON(ctx, request{method: http.MethodGet, path: "/api/v2/tokens", query: q}, &p)
	return p, err
}

// RevokeToken revokes a token (admin) at once: its next request is 401.
// Revoking a revoked token answers it unchanged.
func (c *Client) RevokeToken(ctx context.Context, id string) (Token, error) {
	var t Token
	_, err := c.doJSON(ctx, request{method: http.MethodDelete, path: "/api/v2/tokens/" + url.PathEscape(id)}, &t)
	return t, err
}

// IngestRequest is one upload. Media is opened again for every attempt,
// so a retried upload sends the whole file again.
type IngestRequest struct {
	Metadata []byte // JSON
	SIPREC   []byte // optional RFC 7865 XML
	// Media opens the audio; MediaName is its file name.
	Media     func() (io.ReadCloser, error)
	MediaName string
	// IdempotencyKey defaults to a new random key; pass a stable one to
	// make a re-run of the same upload safe.
	IdempotencyKey string
}

// Ingest uploads a recording (POST /api/v2/recordings).
func (c *Client) Ingest(ctx context.Context, in IngestRequest) (Recording, error) {
	key := in.IdempotencyKey
	if key == "" {
		key = NewIdempotencyKey()
	}
	body := func() (io.Reader, string, error) {
		media, err := in.Media()
		if err != nil {
			return nil, "", err
		}
		pr, pw := io.Pipe()
		mw := multipart.NewWriter(pw)
		go func() {
			defer media.Close()
			err := writeParts(mw, in, media)
			if err == nil {
				err = mw.Close()
			}
			pw.CloseWithError(err)
		}()
		return pr, mw.FormDataContentType(), nil
	}
	var rec Recording
	_, err := c.doJSON(ctx, request{method: http.MethodPost, path: "/api/v2/recordings", body: body, idempotency: key}, &rec)
	return rec, err
}

func writeParts(mw *multipart.Writer, in IngestRequest, media io.Reader) error {
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="metadata"; filename="metadata.json"`)
	h.Set("Content-Type", "application/json")
	w, err := mw.CreatePart(h)
	if err != nil {
		return err
	}
	if _, err := w.Write(in.Metadata); err != nil {
		return err
	}
	if len(in.SIPREC) > 0 {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="siprec"; filename="siprec.xml"`)
		h.Set("Content-Type", "application/rs-metadata+xml")
		w, err := mw.CreatePart(h)
		if err != nil {
			return err
		}
		if _, err := w.Write(in.SIPREC); err != nil {
			return err
		}
	}
	name := in.MediaName
	if name == "" {
		name = "media"
	}
	mh := textproto.MIMEHeader{}
	mh.Set("Content-Disposition", fmt.Sprintf(`form-data; name="media"; filename=%q`, name))
	mh.Set("Content-Type", "application/octet-stream")
	mwr, err := mw.CreatePart(mh)
	if err != nil {
		return err
	}
	_, err = io.Copy(mwr, media)
	return err
}

// GetRecording fetches one recording.
func (c *Client) GetRecording(ctx context.Context, id string) (Recording, error) {
	var r Recording
	_, err := c.doJSON(ctx, request{method: http.MethodGet, path: "/api/v2/recordings/" + url.PathEscape(id)}, &r)
	return r, err
}

func timeQuery(q url.Values, name string, t *time.Time) {
	if t != nil {
		q.Set(name, t.UTC().Format(time.RFC3339Nano))
	}
}

// ListRecordings fetches one page of recordings.
func (c *Client) ListRecordings(ctx context.Context, p ListRecordingsParams) (Page[Recording], error) {
	q := url.Values{}
	if p.MediaType != "" {
		q.Set("media_type", p.MediaType)
	}
	timeQuery(q, "from", p.From)
	timeQuery(q, "to", p.To)
	if p.Status != "" {
		q.Set("status", p.Status)
	}
	if p.CaseID != "" {
		q.Set("case_id", p.CaseID)
	}
	for _, k := range slices.Sorted(maps.Keys(p.Labels)) {
		q.Add("label", k+":"+p.Labels[k])
	}
	if p.CallID != "" {
		q.Set("call_id", p.CallID)
	}
	if p.Participant != "" {
		q.Set("participant", p.Participant)
	}
	if p.LegalHold != nil {
		q.Set("legal_hold", strconv.FormatBool(*p.LegalHold))
	}
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	if p.Cursor != "" {
		q.Set("cursor", p.Cursor)
	}
	var page Page[Recording]
	_, err := c.doJSON(ctx, request{method: http.MethodGet, path: "/api/v2/recordings", query: q}, &page)
	return page, err
}

// DeleteRecording deletes a recording; a held one answers 409
// legal_hold_active.
func (c *Client) DeleteRecording(ctx context.Context, id string) error {
	resp, err := c.do(ctx, request{method: http.MethodDelete, path: "/api/v2/recordings/" + url.PathEscape(id)})
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// ApplyRecordingHolds places (or releases) holds per recording.
func (c *Client) ApplyRecordingHolds(ctx context.Context, items []RecordingHold) (RecordingHoldsResponse, error) {
	var out RecordingHoldsResponse
	_, err := c.doJSON(ctx, request{method: http.MethodPost, path: "/api/v2/recordings/legalholds", body: jsonBody(map[string]any{"recordings": items}),
		idempotency: NewIdempotencyKey()}, &out)
	return out, err
}

// CreateHold places a hold by case or filter.
func (c *Client) CreateHold(ctx context.Context, in CreateHoldRequest) (Hold, error) {
	var h Hold
	_, err := c.doJSON(ctx, request{method: http.MethodPost, path: "/api/v2/legalholds", body: jsonBody(in), idempotency: NewIdempotencyKey()}, &h)
	return h, err
}

// ReleaseHold releases one hold.
func (c *Client) ReleaseHold(ctx context.Context, holdID, reason string) (Hold, error) {
	var h Hold
	_, err := c.doJSON(ctx, request{method: http.MethodPost, path: "/api/v2/legalholds/" + url.PathEscape(holdID) + "/release",
		body: jsonBody(map[string]string{"release_reason": reason}), idempotency: NewIdempotencyKey()}, &h)
	return h, err
}

// GetHold fetches one hold with the number of recordings it covers (the
// list itself is paged by [Client.HoldRecordings]).
func (c *Client) GetHold(ctx context.Context, holdID string) (Hold, error) {
	var h Hold
	_, err := c.doJSON(ctx, request{method: http.MethodGet, path: "/api/v2/legalholds/" + url.PathEscape(holdID)}, &h)
	return h, err
}

// ListHolds fetches one page of holds, optionally of one case.
func (c *Client) ListHolds(ctx context.Context, caseID, cursor string, limit int) (Page[Hold], error) {
	q := url.Values{}
	if caseID != "" {
		q.Set("case_id", caseID)
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var page Page[Hold]
	_, err := c.doJSON(ctx, request{method: http.MethodGet, path: "/api/v2/legalholds", query: q}, &page)
	return page, err
}

// HoldRecordings fetches one page of a hold's recordings, in id order.
func (c *Client) HoldRecordings(ctx context.Context, holdID, cursor string, limit int) (Page[HoldRecording], error) {
	q := url.Values{}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var page Page[HoldRecording]
	_, err := c.doJSON(ctx, request{method: http.MethodGet, path: "/api/v2/legalholds/" + url.PathEscape(holdID) + "/recordings", query: q}, &page)
	return page, err
}

// HoldProof fetches the proof that a recording is in the set of recordings
// an audit entry of the hold recorded (the hold's placement, or the
// include_future addition of that recording).
func (c *Client) HoldProof(ctx context.Context, holdID, recordingID string) (SetProof, error) {
	var p SetProof
	_, err := c.doJSON(ctx, request{method: http.MethodGet, path: "/api/v2/legalholds/" + url.PathEscape(holdID) + "/proof",
		query: url.Values{"recording_id": {recordingID}}}, &p)
	return p, err
}

// ExportProof fetches the proof that a recording is in an export's set,
// against the export.created audit entry.
func (c *Client) ExportProof(ctx context.Context, jobID, recordingID string) (SetProof, error) {
	var p SetProof
	_, err := c.doJSON(ctx, request{method: http.MethodGet, path: "/api/v2/bulk/recordingexports/" + url.PathEscape(jobID) + "/proof",
		query: url.Values{"recording_id": {recordingID}}}, &p)
	return p, err
}

// AuditEntries fetches entries from start.
func (c *Client) AuditEntries(ctx context.Context, start int64, limit int) (AuditEntriesPage, error) {
	q := url.Values{"start": {strconv.FormatInt(start, 10)}}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var page AuditEntriesPage
	_, err := c.doJSON(ctx, request{method: http.MethodGet, path: "/api/v2/audit/entries", query: q}, &page)
	return page, err
}

func (c *Client) getBytes(ctx context.Context, path string) ([]byte, error) {
	resp, err := c.do(ctx, request{method: http.MethodGet, path: path})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(io.LimitReader(resp.Body, 1<<20))
}

// AuditCheckpoint fetches a freshly signed checkpoint (a C2SP signed note).
func (c *Client) AuditCheckpoint(ctx context.Context) ([]byte, error) {
	return c.getBytes(ctx, "/api/v2/audit/checkpoint")
}

// VerifyAudit asks the server to recompute its whole audit log against
// the latest signed checkpoint. It trusts the server's answer; `holdfast
// audit verify` recomputes the log on the client instead.
func (c *Client) VerifyAudit(ctx context.Context) (AuditVerification, error) {
	var v AuditVerification
	_, err := c.doJSON(ctx, request{method: http.MethodPost, path: "/api/v2/audit/verify"}, &v)
	return v, err
}

// SigningKey fetches the server's public key as PEM.
func (c *Client) SigningKey(ctx context.Context) ([]byte, error) {
	return c.getBytes(ctx, "/api/v2/signing-key")
}

// InclusionProof fetches a proof that entry index is in the tree of size.
func (c *Client) InclusionProof(ctx context.Context, index, size int64) (InclusionProof, error) {
	var p InclusionProof
	q := url.Values{"index": {strconv.FormatInt(index, 10)}, "size": {strconv.FormatInt(size, 10)}}
	_, err := c.doJSON(ctx, request{method: http.MethodGet, path: "/api/v2/audit/proof/inclusion", query: q}, &p)
	return p, err
}

// ConsistencyProof fetches a proof that tree old is a prefix of tree new.
func (c *Client) ConsistencyProof(ctx context.Context, oldSize, newSize int64) (ConsistencyProof, error) {
	var p ConsistencyProof
	q := url.Values{"old": {strconv.FormatInt(oldSize, 10)}, "new": {strconv.FormatInt(newSize, 10)}}
	_, err := c.doJSON(ctx, request{method: http.MethodGet, path: "/api/v2/audit/proof/consistency", query: q}, &p)
	return p, err
}

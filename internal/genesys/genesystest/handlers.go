package genesystest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// timeLayout is how the platform writes times: ISO-8601 UTC, milliseconds.
const timeLayout = "2006-01-02T15:04:05.000Z"

func ts(t time.Time) string { return t.UTC().Format(timeLayout) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// apiErr writes the platform's error body.
func apiErr(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"message": msg, "code": code, "status": status,
		"contextId": newID(), "details": []any{}, "errors": []any{}})
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "description": "grant_type must be client_credentials"})
		return
	}
	if !ok || id != s.o.ClientID || secret != s.o.ClientSecret {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client", "description": "client not found"})
		return
	}
	tok := strings.ReplaceAll(newID(), "-", "")
	s.mu.Lock()
	s.tokens[tok] = s.o.Now().Add(s.o.TokenTTL)
	s.stats.TokensIssued++
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "token_type": "bearer", "expires_in": int64(s.o.TokenTTL / time.Second)})
}

// guard authenticates an API request and applies the rate limits.
func (s *Server) guard(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		now := s.o.Now()
		s.mu.Lock()
		s.stats.Requests++
		s.requests++
		exp, known := s.tokens[tok]
		if !known || !now.Before(exp) {
			s.stats.UnauthorizedAPICalls++
			s.mu.Unlock()
			apiErr(w, http.StatusUnauthorized, "bad.credentials", "Invalid login credentials.")
			return
		}
		win := s.windows[tok]
		if win == nil || now.Sub(win.start) >= time.Minute {
			win = &window{start: now}
			s.windows[tok] = win
		}
		win.count++
		count := win.count
		reset := int((time.Minute - now.Sub(win.start) + time.Second - 1) / time.Second)
		over := s.o.RateLimit > 0 && count > s.o.RateLimit
		inject := s.o.Inject429Every > 0 && s.requests%s.o.Inject429Every == 0
		if over || inject {
			s.stats.Served429++
		}
		s.mu.Unlock()
		if s.o.RateLimit > 0 {
			w.Header().Set("inin-ratelimit-allowed", strconv.Itoa(s.o.RateLimit))
			w.Header().Set("inin-ratelimit-count", strconv.Itoa(count))
			w.Header().Set("inin-ratelimit-reset", strconv.Itoa(reset))
		}
		switch {
		case over:
			w.Header().Set("Retry-After", strconv.Itoa(reset))
			apiErr(w, http.StatusTooManyRequests, "too.many.requests", fmt.Sprintf("Rate limit exceeded the maximum. [%d] requests for [60] seconds", s.o.RateLimit))
		case inject:
			w.Header().Set("Retry-After", strconv.Itoa(s.o.RetryAfter))
			apiErr(w, http.StatusTooManyRequests, "too.many.requests", "Rate limit exceeded the maximum.")
		default:
			next(w, r)
		}
	})
}

// detailsQuery is the part of a details query the fake honours.
type detailsQuery struct {
	Interval       string `json:"interval"`
	SegmentFilters []struct {
		Type       string `json:"type"`
		Predicates []struct {
			Type      string `json:"type"`
			Dimension string `json:"dimension"`
			Operator  string `json:"operator"`
			Value     string `json:"value"`
		} `json:"predicates"`
	} `json:"segmentFilters"`
	Paging *struct {
		PageSize   int `json:"pageSize"`
		PageNumber int `json:"pageNumber"`
	} `json:"paging"`
	from, to  time.Time
	mediaType string
}

func decodeQuery(w http.ResponseWriter, r *http.Request) (detailsQuery, bool) {
	var q detailsQuery
	if err := json.NewDecoder(r.Body).Decode(&q); err != nil {
		apiErr(w, http.StatusBadRequest, "bad.request", "The request could not be understood by the server due to malformed syntax.")
		return q, false
	}
	a, b, ok := strings.Cut(q.Interval, "/")
	from, err1 := time.Parse(time.RFC3339Nano, a)
	to, err2 := time.Parse(time.RFC3339Nano, b)
	if !ok || err1 != nil || err2 != nil || !from.Before(to) {
		apiErr(w, http.StatusBadRequest, "bad.request", "interval must be <start>/<end> in ISO-8601")
		return q, false
	}
	q.from, q.to = from, to
	for _, f := range q.SegmentFilters {
		for _, p := range f.Predicates {
			if p.Dimension != "mediaType" {
				apiErr(w, http.StatusBadRequest, "bad.request", "the fake supports only the mediaType segment dimension")
				return q, false
			}
			q.mediaType = p.Value
		}
	}
	return q, true
}

// matching returns the conversations the query selects, by start time;
// before, if non-zero, cuts off conversations starting at or after it.
func (s *Server) matching(q detailsQuery, before time.Time) []*Conversation {
	var out []*Conversation
	for _, c := range s.convs {
		if c.Start.Before(q.from) || !c.Start.Before(q.to) || (!before.IsZero() && !c.Start.Before(before)) {
			continue
		}
		if q.mediaType != "" && c.MediaType != q.mediaType {
			continue
		}
		out = append(out, c)
	}
	return out
}

func (s *Server) createJob(w http.ResponseWriter, r *http.Request) {
	q, ok := decodeQuery(w, r)
	if !ok {
		return
	}
	id := newID()
	s.mu.Lock()
	s.jobs[id] = &job{query: q}
	s.mu.Unlock()
	writeJSON(w, http.StatusAccepted, map[string]string{"jobId": id})
}

func (s *Server) jobStatus(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	j := s.jobs[r.PathValue("id")]
	state := ""
	if j != nil {
		j.polls++
		switch {
		case j.polls >= s.o.JobPolls:
			state = "FULFILLED"
		case j.polls == 1:
			state = "QUEUED"
		default:
			state = "PENDING"
		}
	}
	s.mu.Unlock()
	if j == nil {
		apiErr(w, http.StatusNotFound, "not.found", "The requested job was not found.")
		return
	}
	now := s.o.Now()
	body := map[string]any{"state": state, "submissionDate": ts(now), "expirationDate": ts(now.Add(48 * time.Hour))}
	if state == "FULFILLED" {
		body["completionDate"] = ts(now)
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) jobResults(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	j := s.jobs[r.PathValue("id")]
	fulfilled := j != nil && j.polls >= s.o.JobPolls
	s.mu.Unlock()
	if j == nil {
		apiErr(w, http.StatusNotFound, "not.found", "The requested job was not found.")
		return
	}
	if !fulfilled {
		apiErr(w, http.StatusBadRequest, "bad.request", "The job is not yet fulfilled.")
		return
	}
	size := 100
	if v := r.URL.Query().Get("pageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			apiErr(w, http.StatusBadRequest, "bad.request", "pageSize must be 1 to 1000")
			return
		}
		size = n
	}
	off := 0
	if c := r.URL.Query().Get("cursor"); c != "" {
		n, err := strconv.ParseInt(c, 36, 64)
		if err != nil || n < 0 {
			apiErr(w, http.StatusBadRequest, "bad.request", "invalid cursor")
			return
		}
		off = int(n)
	}
	avail := s.o.DataAvailability
	if avail.IsZero() {
		avail = s.o.Now()
	}
	s.mu.Lock()
	all := s.matching(j.query, s.o.DataAvailability)
	s.stats.JobResultPages++
	s.mu.Unlock()
	off = min(off, len(all))
	end := min(off+size, len(all))
	body := map[string]any{"conversations": s.render(all[off:end]), "dataAvailabilityDate": ts(avail)}
	if end < len(all) {
		body["cursor"] = strconv.FormatInt(int64(end), 36)
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) query(w http.ResponseWriter, r *http.Request) {
	q, ok := decodeQuery(w, r)
	if !ok {
		return
	}
	size, page := 25, 1
	if q.Paging != nil {
		size, page = q.Paging.PageSize, q.Paging.PageNumber
	}
	if size < 1 || size > 100 || page < 1 {
		apiErr(w, http.StatusBadRequest, "bad.request", "paging.pageSize must be 1 to 100 and pageNumber at least 1")
		return
	}
	s.mu.Lock()
	all := s.matching(q, time.Time{})
	s.stats.SyncQueries++
	s.mu.Unlock()
	off := min((page-1)*size, len(all))
	end := min(off+size, len(all))
	body := map[string]any{"totalHits": len(all)}
	if end > off {
		body["conversations"] = s.render(all[off:end])
	}
	writeJSON(w, http.StatusOK, body)
}

// render writes conversations as Analyticsconversation objects.
func (s *Server) render(cs []*Conversation) []map[string]any {
	out := make([]map[string]any, 0, len(cs))
	for _, c := range cs {
		var parts []map[string]any
		for _, p := range c.Participants {
			sess := map[string]any{"sessionId": newID(), "mediaType": c.MediaType, "direction": c.Direction,
				"addressSelf": p.Address, "recording": len(c.Recordings) > 0,
				"segments": []map[string]any{{"segmentStart": ts(c.Start), "segmentEnd": ts(c.End), "segmentType": "interact"}}}
			if c.ProtocolCallID != "" {
				sess["protocolCallId"] = c.ProtocolCallID
			}
			if p.Purpose == "customer" || p.Purpose == "external" {
				if c.Direction == "inbound" {
					sess["ani"] = p.Address
				} else {
					sess["dnis"] = p.Address
				}
			}
			pm := map[string]any{"participantId": p.ID, "purpose": p.Purpose, "sessions": []any{sess}}
			if p.Name != "" {
				pm["participantName"] = p.Name
			}
			if p.UserID != "" {
				pm["userId"] = p.UserID
			}
			parts = append(parts, pm)
		}
		out = append(out, map[string]any{"conversationId": c.ID, "conversationStart": ts(c.Start), "conversationEnd": ts(c.End),
			"originatingDirection": c.Direction, "divisionIds": []string{"00000000-0000-0000-0000-000000000001"}, "participants": parts})
	}
	return out
}

func (s *Server) recordingMetadata(w http.ResponseWriter, r *http.Request) {
	c := s.byID[r.PathValue("cid")]
	if c == nil {
		apiErr(w, http.StatusNotFound, "not.found", "The requested conversation was not found.")
		return
	}
	out := []map[string]any{}
	for _, rec := range c.Recordings {
		out = append(out, map[string]any{"id": rec.ID, "conversationId": c.ID, "media": rec.Media, "fileState": "AVAILABLE",
			"selfUri": "/api/v2/conversations/" + c.ID + "/recordings/" + rec.ID})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) findRecording(cid, rid string) *Recording {
	c := s.byID[cid]
	if c == nil {
		return nil
	}
	for i := range c.Recordings {
		if c.Recordings[i].ID == rid {
			return &c.Recordings[i]
		}
	}
	return nil
}

// notYet reports (and counts down) whether a recording is still being
// transcoded.
func (s *Server) notYet(rid string) bool {
	if s.notReady[rid] > 0 {
		s.notReady[rid]--
		return true
	}
	return false
}

func (s *Server) recording(w http.ResponseWriter, r *http.Request) {
	rec := s.findRecording(r.PathValue("cid"), r.PathValue("rid"))
	if rec == nil {
		apiErr(w, http.StatusNotFound, "not.found", "The requested recording was not found.")
		return
	}
	s.mu.Lock()
	transcoding := s.notYet(rec.ID)
	if transcoding {
		s.stats.Served202++
	}
	s.mu.Unlock()
	body := map[string]any{"id": rec.ID, "conversationId": r.PathValue("cid"), "media": rec.Media,
		"selfUri": "/api/v2/conversations/" + r.PathValue("cid") + "/recordings/" + rec.ID}
	if transcoding {
		body["fileState"] = "UPLOADING"
		writeJSON(w, http.StatusAccepted, body)
		return
	}
	body["fileState"] = "AVAILABLE"
	writeJSON(w, http.StatusOK, body)
}

type batchItem struct {
	ConversationID string `json:"conversationId"`
	RecordingID    string `json:"recordingId"`
}

type batchResult struct {
	ConversationID string `json:"conversationId"`
	RecordingID    string `json:"recordingId"`
	ResultURL      string `json:"resultUrl,omitempty"`
	ContentType    string `json:"contentType,omitempty"`
	ErrorMsg       string `json:"errorMsg,omitempty"`
}

func (s *Server) createBatch(w http.ResponseWriter, r *http.Request) {
	var body struct {
		List []batchItem `json:"batchDownloadRequestList"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		apiErr(w, http.StatusBadRequest, "bad.request", "The request could not be understood by the server due to malformed syntax.")
		return
	}
	s.mu.Lock()
	s.stats.BatchSizes = append(s.stats.BatchSizes, len(body.List))
	s.mu.Unlock()
	if len(body.List) == 0 || len(body.List) > 100 {
		apiErr(w, http.StatusBadRequest, "batch.download.request.size", "batchDownloadRequestList must have 1 to 100 items")
		return
	}
	id := newID()
	s.mu.Lock()
	s.batches[id] = &batch{items: body.List}
	s.mu.Unlock()
	writeJSON(w, http.StatusAccepted, map[string]string{"id": id, "selfUri": "/api/v2/recording/batchrequests/" + id})
}

func (s *Server) batchStatus(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	now := s.o.Now()
	s.mu.Lock()
	b := s.batches[id]
	if b == nil {
		s.mu.Unlock()
		apiErr(w, http.StatusNotFound, "not.found", "The requested batch was not found.")
		return
	}
	b.polls++
	if b.polls >= s.o.BatchPolls && b.results == nil {
		b.results = []batchResult{}
		for _, it := range b.items {
			res := batchResult{ConversationID: it.ConversationID, RecordingID: it.RecordingID}
			rec := s.findRecording(it.ConversationID, it.RecordingID)
			switch {
			case rec == nil:
				res.ErrorMsg = "Recording not found"
			case s.notYet(rec.ID):
				res.ErrorMsg = "Recording is being transcoded; try again later"
			default:
				s.issued++
				tok := strings.ReplaceAll(newID(), "-", "")
				exp := now.Add(s.o.URLTTL)
				if s.o.ExpireEvery > 0 && s.issued%s.o.ExpireEvery == 0 {
					exp = now.Add(-time.Second)
				}
				s.urls[tok] = &resultURL{rec: rec, expires: exp}
				res.ResultURL = s.URL + "/downloads/" + tok + "?X-Amz-Expires=" + strconv.Itoa(int(s.o.URLTTL/time.Second))
				res.ContentType = rec.ContentType
			}
			b.results = append(b.results, res)
		}
	}
	out := map[string]any{"id": id, "jobId": id, "expectedResultCount": len(b.items), "resultCount": len(b.results),
		"selfUri": "/api/v2/recording/batchrequests/" + id}
	errs := 0
	for _, res := range b.results {
		if res.ErrorMsg != "" {
			errs++
		}
	}
	out["errorCount"] = errs
	out["results"] = append([]batchResult{}, b.results...)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) protect(w http.ResponseWriter, r *http.Request) {
	protect, err := strconv.ParseBool(r.URL.Query().Get("protect"))
	if err != nil {
		apiErr(w, http.StatusBadRequest, "bad.request", "protect must be true or false")
		return
	}
	var body struct {
		IDs []string `json:"conversationIds"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		apiErr(w, http.StatusBadRequest, "bad.request", "The request could not be understood by the server due to malformed syntax.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.ProtectCalls = append(s.stats.ProtectCalls, append([]string(nil), body.IDs...))
	if len(body.IDs) == 0 || len(body.IDs) > 100 {
		apiErr(w, http.StatusBadRequest, "bad.request", "conversationIds must have 1 to 100 items")
		return
	}
	for _, id := range body.IDs {
		if s.byID[id] == nil {
			apiErr(w, http.StatusNotFound, "not.found", "Conversation "+id+" was not found.")
			return
		}
	}
	if !protect {
		for _, id := range body.IDs {
			delete(s.protected, id)
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	added := 0
	for _, id := range body.IDs {
		if !s.protected[id] {
			added++
		}
	}
	if len(s.protected)+added > s.o.ProtectCap {
		s.stats.ProtectRefusals++
		apiErr(w, http.StatusBadRequest, "recording.deletion.protection.limit.exceeded",
			fmt.Sprintf("Protecting %d more conversation(s) would exceed the organization's limit of %d protected conversations.", added, s.o.ProtectCap))
		return
	}
	for _, id := range body.IDs {
		s.protected[id] = true
	}
	w.WriteHeader(http.StatusNoContent)
}

// download serves a pre-signed result URL the way an object store does:
// no Authorization header allowed, and refused once expired.
func (s *Server) download(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	u := s.urls[r.PathValue("token")]
	withAuth := r.Header.Get("Authorization") != ""
	expired := u != nil && !s.o.Now().Before(u.expires)
	switch {
	case withAuth:
		s.stats.DownloadsWithAuth++
	case expired:
		s.stats.ExpiredURLs++
	case u != nil:
		s.stats.Downloads++
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/xml")
	switch {
	case withAuth:
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified</Message></Error>`)
	case u == nil:
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`)
	case expired:
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>`)
	default:
		w.Header().Set("Content-Type", u.rec.ContentType)
		w.Header().Set("Content-Length", strconv.Itoa(len(u.rec.Body)))
		_, _ = w.Write(u.rec.Body)
	}
}

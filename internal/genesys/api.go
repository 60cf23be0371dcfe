package genesys

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// MaxBatchItems is the most recordings one batch download request may
// name, and MaxProtectIDs the most conversations one deletion-protection
// call may name.
const (
	MaxBatchItems = 100
	MaxProtectIDs = 100
)

// CreateDetailsJob starts an analytics conversation details job
// (POST /api/v2/analytics/conversations/details/jobs).
func (c *Client) CreateDetailsJob(ctx context.Context, q DetailsQuery) (string, error) {
	q.Paging = nil
	var ref JobRef
	if _, err := c.do(ctx, call{method: http.MethodPost, path: "/api/v2/analytics/conversations/details/jobs", body: q}, &ref); err != nil {
		return "", err
	}
	if ref.JobID == "" {
		return "", errors.New("genesys: details job answered without a jobId")
	}
	return ref.JobID, nil
}

// DetailsJobStatus reads a details job's state
// (GET /api/v2/analytics/conversations/details/jobs/{jobId}).
func (c *Client) DetailsJobStatus(ctx context.Context, jobID string) (JobStatus, error) {
	var st JobStatus
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/api/v2/analytics/conversations/details/jobs/" + url.PathEscape(jobID)}, &st)
	return st, err
}

// DetailsJobResults reads one page of a fulfilled job's results; pass the
// previous page's Cursor ("" for the first).
func (c *Client) DetailsJobResults(ctx context.Context, jobID, cursor string, pageSize int) (JobResults, error) {
	q := url.Values{}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if pageSize > 0 {
		q.Set("pageSize", strconv.Itoa(pageSize))
	}
	var res JobResults
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/api/v2/analytics/conversations/details/jobs/" + url.PathEscape(jobID) + "/results", query: q}, &res)
	return res, err
}

// QueryDetails runs the synchronous details query for one page
// (POST /api/v2/analytics/conversations/details/query).
func (c *Client) QueryDetails(ctx context.Context, q DetailsQuery, pageSize, pageNumber int) (QueryResults, error) {
	q.Paging = &Paging{PageSize: pageSize, PageNumber: pageNumber}
	var res QueryResults
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/api/v2/analytics/conversations/details/query", body: q}, &res)
	return res, err
}

// RecordingMetadata lists a conversation's recordings without their media
// (GET /api/v2/conversations/{conversationId}/recordingmetadata).
func (c *Client) RecordingMetadata(ctx context.Context, conversationID string) ([]RecordingMetadata, error) {
	var out []RecordingMetadata
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/api/v2/conversations/" + url.PathEscape(conversationID) + "/recordingmetadata"}, &out)
	return out, err
}

// RecordingReady asks for one recording
// (GET /api/v2/conversations/{conversationId}/recordings/{recordingId}) and
// reports whether it is ready: the platform answers 202 while it is still
// being transcoded, which means "come back later".
func (c *Client) RecordingReady(ctx context.Context, conversationID, recordingID string) (bool, error) {
	st, err := c.do(ctx, call{method: http.MethodGet,
		path:  "/api/v2/conversations/" + url.PathEscape(conversationID) + "/recordings/" + url.PathEscape(recordingID),
		query: url.Values{"download": {"false"}}}, nil)
	if err != nil {
		return false, err
	}
	return st != http.StatusAccepted, nil
}

// CreateBatch asks for pre-signed download URLs of up to MaxBatchItems
// recordings (POST /api/v2/recording/batchrequests).
func (c *Client) CreateBatch(ctx context.Context, items []BatchItem) (string, error) {
	if len(items) == 0 || len(items) > MaxBatchItems {
		return "", fmt.Errorf("genesys: a batch download names 1 to %d recordings, not %d", MaxBatchItems, len(items))
	}
	var ref BatchRef
	if _, err := c.do(ctx, call{method: http.MethodPost, path: "/api/v2/recording/batchrequests", body: batchSubmission{BatchDownloadRequestList: items}}, &ref); err != nil {
		return "", err
	}
	if ref.ID == "" {
		return "", errors.New("genesys: batch request answered without an id")
	}
	return ref.ID, nil
}

// BatchStatus reads a batch download request and its results so far
// (GET /api/v2/recording/batchrequests/{jobId}).
func (c *Client) BatchStatus(ctx context.Context, id string) (BatchStatus, error) {
	var st BatchStatus
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/api/v2/recording/batchrequests/" + url.PathEscape(id)}, &st)
	return st, err
}

// Download copies a batch result's pre-signed URL into w. The request
// carries no Authorization header (the URL is its own credential, and
// object stores refuse a second one). An expired URL is ErrURLExpired.
// Transient failures are retried only while nothing was written.
func (c *Client) Download(ctx context.Context, resultURL string, w io.Writer) (int64, error) {
	u, err := url.Parse(resultURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return 0, fmt.Errorf("genesys: result URL %q is not an http(s) URL", resultURL)
	}
	for attempt := 1; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, resultURL, nil)
		if err != nil {
			return 0, fmt.Errorf("genesys: download: %w", err)
		}
		resp, err := c.raw.Do(req)
		if err != nil {
			if ctx.Err() != nil || attempt >= c.cfg.MaxAttempts {
				return 0, fmt.Errorf("genesys: download: %w", err)
			}
			if err := sleep(ctx, backoff(attempt)); err != nil {
				return 0, err
			}
			continue
		}
		switch st := resp.StatusCode; {
		case st == http.StatusOK:
			n, err := io.Copy(w, resp.Body)
			resp.Body.Close()
			if err != nil {
				return n, fmt.Errorf("genesys: download: %w", err)
			}
			if resp.ContentLength >= 0 && n != resp.ContentLength {
				return n, fmt.Errorf("genesys: download: got %d of %d bytes", n, resp.ContentLength)
			}
			return n, nil
		case st == http.StatusForbidden || st == http.StatusNotFound || st == http.StatusGone:
			resp.Body.Close()
			return 0, fmt.Errorf("%w (%d)", ErrURLExpired, st)
		case st == http.StatusTooManyRequests || st >= 500:
			resp.Body.Close()
			if attempt >= c.cfg.MaxAttempts {
				return 0, fmt.Errorf("genesys: download: %d after %d attempts", st, attempt)
			}
			if err := sleep(ctx, retryAfter(resp.Header, backoff(attempt))); err != nil {
				return 0, err
			}
		default:
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			resp.Body.Close()
			return 0, fmt.Errorf("genesys: download: %d: %s", st, body)
		}
	}
}

// Protect puts up to MaxProtectIDs conversations under deletion protection
// (PUT /api/v2/recordings/deletionprotection?protect=true).
func (c *Client) Protect(ctx context.Context, conversationIDs []string) error {
	if len(conversationIDs) == 0 || len(conversationIDs) > MaxProtectIDs {
		return fmt.Errorf("genesys: deletion protection names 1 to %d conversations, not %d", MaxProtectIDs, len(conversationIDs))
	}
	_, err := c.do(ctx, call{method: http.MethodPut, path: "/api/v2/recordings/deletionprotection",
		query: url.Values{"protect": {"true"}}, body: protectionQuery{ConversationIDs: conversationIDs}}, nil)
	return err
}

// FindOptions select conversations for [Client.FindConversations].
type FindOptions struct {
	From, To time.Time
	// VoiceOnly keeps conversations with a voice segment.
	VoiceOnly bool
	// Poll is how often the job's state is read; zero means 2 s.
	Poll time.Duration
	// PageSize of job results and of the synchronous query; zero means 100.
	PageSize int
}

// FindConversations finds every conversation in [From, To): an analytics
// details job, polled through QUEUED and PENDING to FULFILLED and paged by
// cursor, and, for the part of the interval after the job's
// dataAvailabilityDate, the synchronous details query, paged by number.
// Each conversation is passed to fn once, even if both sources return it.
func (c *Client) FindConversations(ctx context.Context, o FindOptions, fn func(Conversation) error) error {
	if !o.From.Before(o.To) {
		return fmt.Errorf("genesys: empty interval %s/%s", o.From.Format(time.RFC3339), o.To.Format(time.RFC3339))
	}
	if o.Poll <= 0 {
		o.Poll = 2 * time.Second
	}
	if o.PageSize <= 0 {
		o.PageSize = 100
	}
	q := DetailsQuery{Interval: interval(o.From, o.To), Order: "asc", OrderBy: "conversationStart"}
	if o.VoiceOnly {
		q.SegmentFilters = []SegmentFilter{{Type: "or", Predicates: []Predicate{{Type: "dimension", Dimension: "mediaType", Operator: "matches", Value: "voice"}}}}
	}
	seen := map[string]bool{}
	emit := func(conv Conversation) error {
		if conv.ConversationID == "" || seen[conv.ConversationID] {
			return nil
		}
		seen[conv.ConversationID] = true
		return fn(conv)
	}

	jobID, err := c.CreateDetailsJob(ctx, q)
	if err != nil {
		return err
	}
	for {
		st, err := c.DetailsJobStatus(ctx, jobID)
		if err != nil {
			return err
		}
		if st.State == JobFulfilled {
			break
		}
		if st.State != JobQueued && st.State != JobPending {
			return fmt.Errorf("genesys: details job %s ended %s: %s", jobID, st.State, st.ErrorMessage)
		}
		if err := sleep(ctx, o.Poll); err != nil {
			return err
		}
	}
	var available *time.Time
	for cursor := ""; ; {
		page, err := c.DetailsJobResults(ctx, jobID, cursor, o.PageSize)
		if err != nil {
			return err
		}
		if page.DataAvailabilityDate != nil && (available == nil || page.DataAvailabilityDate.Before(*available)) {
			available = page.DataAvailabilityDate
		}
		for _, conv := range page.Conversations {
			if err := emit(conv); err != nil {
				return err
			}
		}
		if page.Cursor == "" || page.Cursor == cursor {
			break
		}
		cursor = page.Cursor
	}
	if available == nil || !available.Before(o.To) {
		return nil
	}
	// The job's data stops at dataAvailabilityDate: the rest of the
	// interval comes from the synchronous query.
	from := o.From
	if available.After(from) {
		from = *available
	}
	q.Interval = interval(from, o.To)
	for n := 1; ; n++ {
		page, err := c.QueryDetails(ctx, q, o.PageSize, n)
		if err != nil {
			return err
		}
		for _, conv := range page.Conversations {
			if err := emit(conv); err != nil {
				return err
			}
		}
		if len(page.Conversations) < o.PageSize || n*o.PageSize >= page.TotalHits {
			return nil
		}
	}
}

func interval(from, to time.Time) string {
	const layout = "2006-01-02T15:04:05.000Z"
	return from.UTC().Format(layout) + "/" + to.UTC().Format(layout)
}

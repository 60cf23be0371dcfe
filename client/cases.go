package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Case is a matter as a whole: its holds and exports, counted.
type Case struct {
	CaseID         string    `json:"case_id"`
	ActiveHolds    int       `json:"active_holds"`
	HeldRecordings int       `json:"held_recordings"`
	Exports        int       `json:"exports"`
	LastActivityAt time.Time `json:"last_activity_at"`
}

// CaseExport is one export job of a case.
type CaseExport struct {
	ID         string         `json:"id"`
	State      string         `json:"state"`
	HoldID     string         `json:"hold_id,omitempty"`
	CreatedAt  time.Time      `json:"created_at"`
	FinishedAt *time.Time     `json:"finished_at"`
	Progress   ExportProgress `json:"progress"`
}

// CaseDetail is a case with its holds and export jobs, oldest first.
type CaseDetail struct {
	Case
	Holds      []Hold       `json:"holds"`
	ExportJobs []CaseExport `json:"export_jobs"`
}

// CaseRelease names the holds a case release released.
type CaseRelease struct {
	CaseID          string   `json:"case_id"`
	ReleasedHoldIDs []string `json:"released_hold_ids"`
}

// ListCases fetches one page of cases.
func (c *Client) ListCases(ctx context.Context, cursor string, limit int) (Page[Case], error) {
	q := url.Values{}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var page Page[Case]
	_, err := c.doJSON(ctx, request{method: http.MethodGet, path: "/api/v2/cases", query: q}, &page)
	return page, err
}

// GetCase fetches a case with its holds and export jobs.
func (c *Client) GetCase(ctx context.Context, caseID string) (CaseDetail, error) {
	var d CaseDetail
	_, err := c.doJSON(ctx, request{method: http.MethodGet, path: "/api/v2/cases/" + url.PathEscape(caseID)}, &d)
	return d, err
}

// ReleaseCase releases every active hold of a case in one call. It is
// retried on transient answers: releasing a case twice changes nothing
// the second time.
func (c *Client) ReleaseCase(ctx context.Context, caseID, reason string) (CaseRelease, error) {
	var out CaseRelease
	_, err := c.doJSON(ctx, request{method: http.MethodPost, path: "/api/v2/cases/" + url.PathEscape(caseID) + "/release",
		body: jsonBody(map[string]string{"release_reason": reason}), idempotency: NewIdempotencyKey()}, &out)
	return out, err
}

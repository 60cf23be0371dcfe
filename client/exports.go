package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ExportMetadata asks for a hold as the export is created.
type ExportMetadata struct {
	LegalHold  bool       `json:"legal_hold"`
	CaseID     string     `json:"case_id,omitempty"`
	HoldReason string     `json:"hold_reason,omitempty"`
	HoldDate   *time.Time `json:"hold_date,omitempty"`
}

// ExportOptions tune an export job.
type ExportOptions struct {
	WaitForProcessing string `json:"wait_for_processing,omitempty"`
}

// ExportRequest is the canonical body of POST /api/v2/bulk/recordingexports.
type ExportRequest struct {
	Filter   Filter          `json:"filter"`
	Metadata *ExportMetadata `json:"metadata,omitempty"`
	Options  *ExportOptions  `json:"options,omitempty"`
}

// ExportProgress counts a job's recordings.
type ExportProgress struct {
	Matched       int   `json:"matched"`
	Exported      int   `json:"exported"`
	Pending       int   `json:"pending"`
	Failed        int   `json:"failed"`
	BytesExported int64 `json:"bytes_exported"`
	Percent       int   `json:"percent"`
}

// ExportFailure is a recording that could not be exported.
type ExportFailure struct {
	RecordingID string `json:"recording_id"`
	Code        string `json:"code"`
	Message     string `json:"message"`
}

// ExportPackage describes a finished bag.
type ExportPackage struct {
	Name              string `json:"name"`
	Location          string `json:"location"`
	TagmanifestSHA256 string `json:"tagmanifest_sha256"`
	DownloadURL       string `json:"download_url"`
}

// ExportJob is a bulk export job.
type ExportJob struct {
	ID         string          `json:"id"`
	State      string          `json:"state"`
	Filter     Filter          `json:"filter"`
	Metadata   ExportMetadata  `json:"metadata"`
	HoldID     string          `json:"hold_id,omitempty"`
	CreatedAt  time.Time       `json:"created_at"`
	StartedAt  *time.Time      `json:"started_at"`
	FinishedAt *time.Time      `json:"finished_at"`
	CreatedBy  string          `json:"created_by"`
	Progress   ExportProgress  `json:"progress"`
	Failures   []ExportFailure `json:"failures"`
	Package    *ExportPackage  `json:"package"`
	Error      string          `json:"error,omitempty"`
}

// Finished reports whether the job reached a final state.
func (j ExportJob) Finished() bool {
	switch j.State {
	case "completed", "completed_with_errors", "failed", "cancelled":
		return true
	}
	return false
}

// PackageFile is one file of a finished package.
type PackageFile struct {
	Path      string `json:"path"`
	SizeBytes int64  `json:"size_bytes"`
	SHA256    string `json:"sha256"`
}

// CreateExport creates an export job. idempotencyKey must be stable for
// one logical request: retries (by the client or by a re-run of a
// script) then return the same job instead of creating a second one.
func (c *Client) CreateExport(ctx context.Context, req ExportRequest, idempotencyKey string) (ExportJob, error) {
	if idempotencyKey == "" {
		idempotencyKey = NewIdempotencyKey()
	}
	var j ExportJob
	_, err := c.doJSON(ctx, request{method: http.MethodPost, path: "/api/v2/bulk/recordingexports", body: jsonBody(req), idempotency: idempotencyKey}, &j)
	return j, err
}

// GetExport fetches a job.
func (c *Client) GetExport(ctx context.Context, id string) (ExportJob, error) {
	var j ExportJob
	_, err := c.doJSON(ctx, request{method: http.MethodGet, path: "/api/v2/bulk/recordingexports/" + url.PathEscape(id)}, &j)
	return j, err
}

// ListExports fetches one page of jobs.
func (c *Client) ListExports(ctx context.Context, cursor string, limit int) (Page[ExportJob], error) {
	q := url.Values{}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var p Page[ExportJob]
	_, err := c.doJSON(ctx, request{method: http.MethodGet, path: "/api/v2/bulk/recordingexports", query: q}, &p)
	return p, err
}

// CancelExport asks a job to stop. Its hold stays in force.
func (c *Client) CancelExport(ctx context.Context, id string) (ExportJob, error) {
	var j ExportJob
	_, err := c.doJSON(ctx, request{method: http.MethodDelete, path: "/api/v2/bulk/recordingexports/" + url.PathEscape(id)}, &j)
	return j, err
}

// PackageFiles lists every file of a finished package, following pages.
func (c *Client) PackageFiles(ctx context.Context, id string) ([]PackageFile, error) {
	var all []PackageFile
	cursor := ""
	for {
		q := url.Values{"limit": {"1000"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var p Page[PackageFile]
		if _, err := c.doJSON(ctx, request{method: http.MethodGet, path: "/api/v2/bulk/recordingexports/" + url.PathEscape(id) + "/package/files", query: q}, &p); err != nil {
			return nil, err
		}
		all = append(all, p.Items...)
		if p.NextCursor == "" {
			return all, nil
		}
		cursor = p.NextCursor
	}
}

// DownloadPackageFile writes one package file to w starting at offset
// (a Range request when offset > 0). It returns the bytes written. If the
// server ignores the Range and sends the whole file, it returns
// ErrRangeIgnored before writing anything, so the caller can restart.
func (c *Client) DownloadPackageFile(ctx context.Context, id, path string, offset int64, w io.Writer) (int64, error) {
	escaped := make([]string, 0)
	for _, seg := range strings.Split(path, "/") {
		escaped = append(escaped, url.PathEscape(seg))
	}
	r := request{method: http.MethodGet, path: "/api/v2/bulk/recordingexports/" + url.PathEscape(id) + "/package/files/" + strings.Join(escaped, "/")}
	if offset > 0 {
		r.header = http.Header{"Range": {fmt.Sprintf("bytes=%d-", offset)}}
	}
	resp, err := c.do(ctx, r)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if offset > 0 && resp.StatusCode != http.StatusPartialContent {
		return 0, ErrRangeIgnored
	}
	return io.Copy(w, resp.Body)
}

// ErrRangeIgnored is returned by DownloadPackageFile when a resumed
// download got the whole file instead of the requested range.
var ErrRangeIgnored = fmt.Errorf("client: the server ignored the Range request")

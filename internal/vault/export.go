package vault

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Export job states (contract §7).
const (
	ExportQueued              = "queued"
	ExportRunning             = "running"
	ExportWaiting             = "waiting_for_recordings"
	ExportCompleted           = "completed"
	ExportCompletedWithErrors = "completed_with_errors"
	ExportFailed              = "failed"
	ExportCancelled           = "cancelled"
)

// ExportFinished reports whether a job state is final.
func ExportFinished(state string) bool {
	switch state {
	case ExportCompleted, ExportCompletedWithErrors, ExportFailed, ExportCancelled:
		return true
	}
	return false
}

// Failure codes of export items.
const (
	FailureProcessingFailed = "recording_failed_processing"
	FailureNotReady         = "recording_not_ready"
	FailureContentMismatch  = "content_mismatch"
	FailureMissing          = "recording_missing"
)

// ExportMetadata is the metadata member of an export request: whether to
// place a legal hold, and for which matter.
type ExportMetadata struct {
	LegalHold  bool       `json:"legal_hold"`
	CaseID     string     `json:"case_id,omitempty"`
	HoldReason string     `json:"hold_reason,omitempty"`
	HoldDate   *time.Time `json:"hold_date,omitempty"`
}

// Destination says where a finished package goes.
type Destination struct {
	Type       string      `json:"type"`
	Bucket     string      `json:"bucket,omitempty"`
	Prefix     string      `json:"prefix,omitempty"`
	ObjectLock *ObjectLock `json:"object_lock,omitempty"`
}

// ObjectLock is the S3 Object Lock to apply to an S3 destination.
type ObjectLock struct {
	LegalHold   bool       `json:"legal_hold"`
	Mode        string     `json:"mode,omitempty"`
	RetainUntil *time.Time `json:"retain_until,omitempty"`
}

// ExportOptions tune a job.
type ExportOptions struct {
	WaitForProcessing time.Duration
}

// ExportRequest is a validated POST /api/v2/bulk/recordingexports body.
type ExportRequest struct {
	Filter      RecordingFilter
	Metadata    ExportMetadata
	Destination Destination
	Options     ExportOptions
}

// DefaultWaitForProcessing is how long a job waits for included
// recordings that are still processing.
const DefaultWaitForProcessing = 15 * time.Minute

// Needs returns the permissions the decoded export request needs:
// recording:export, and recording:export:legalhold when it places a hold
// (legal_hold true, canonical or top-level).
func (r ExportRequest) Needs() []Permission {
	if r.Metadata.LegalHold {
		return []Permission{PermRecordingExport, PermExportLegalHold}
	}
	return []Permission{PermRecordingExport}
}

// DecodeExportRequest validates an export request body. It accepts the
// canonical shape and, for scripts written against other platforms,
// legal_hold, case_id, record_ids and media_type at the top level; the
// same field given in both places with different values is an error
// naming both. legalHoldQuery is the legal_hold query parameter if one
// was sent: it belongs in the body, and the error says so.
func DecodeExportRequest(body []byte, legalHoldQuery *string) (ExportRequest, error) {
	var req ExportRequest
	var p Problems
	if legalHoldQuery != nil {
		p.Add("query.legal_hold", "misplaced_field", fmt.Sprintf(`legal_hold belongs in the JSON body under metadata, e.g. {"metadata": {"legal_hold": true, "case_id": "LC-2024-001"}}; it was sent as the query parameter legal_hold=%s, which is not read`, *legalHoldQuery))
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		body = []byte("{}")
	}
	obj, err := DecodeObject(body, "")
	if err != nil {
		return req, err
	}
	f := NewFields(obj, "", &p)
	var filterObj map[string]json.RawMessage
	if fo, ok := f.Object("filter", `{"media_type": "SIP", "from": "2026-11-24T06:00:00Z", "to": "2026-11-26T06:00:00Z"}`); ok {
		filterObj = fo
	}
	var metaObj map[string]json.RawMessage
	if mo, ok := f.Object("metadata", `{"legal_hold": true, "case_id": "LC-2024-001"}`); ok {
		metaObj = mo
	}
	// Top-level shorthands are moved into their canonical places.
	moved := func(name string, dst *map[string]json.RawMessage, canon string) {
		raw, ok := f.Raw(name)
		if !ok {
			return
		}
		if *dst == nil {
			*dst = map[string]json.RawMessage{}
		}
		if prev, ok := (*dst)[name]; ok && string(prev) != "null" {
			if !jsonEqual(prev, raw) {
				p.Add(name, "conflicting_values", fmt.Sprintf("is given both here and at %s.%s with different values; give it once, preferably at %s.%s", canon, name, canon, name))
				p.Add(canon+"."+name, "conflicting_values", fmt.Sprintf("is given both here and at the top level (%s) with different values", name))
			}
			return
		}
		(*dst)[name] = raw
	}
	moved("legal_hold", &metaObj, "metadata")
	moved("record_ids", &filterObj, "filter")
	moved("media_type", &filterObj, "filter")
	// case_id at the top level names the matter: it is the hold's case
	// when legal_hold is true, and selects the case's recordings when no
	// other selector is given.
	if raw, ok := f.Raw("case_id"); ok {
		if metaObj == nil {
			metaObj = map[string]json.RawMessage{}
		}
		if prev, ok := metaObj["case_id"]; ok && !jsonEqual(prev, raw) {
			p.Add("case_id", "conflicting_values", "is given both here and at metadata.case_id with different values; give it once, preferably at metadata.case_id")
			p.Add("metadata.case_id", "conflicting_values", "is given both here and at the top level (case_id) with different values")
		} else {
			metaObj["case_id"] = raw
		}
	}
	if metaObj != nil {
		mf := NewFields(metaObj, "metadata", &p)
		lh, _ := mf.Bool("legal_hold")
		req.Metadata.LegalHold = lh
		spec := DecodeHoldMetadata(mf, false)
		req.Metadata.CaseID, req.Metadata.HoldReason = spec.CaseID, spec.HoldReason
		if !spec.HoldDate.IsZero() {
			hd := spec.HoldDate
			req.Metadata.HoldDate = &hd
		}
		mf.RejectUnknown("legal_hold, case_id, hold_reason, hold_date", metadataHints)
	}
	if filterObj == nil && req.Metadata.CaseID != "" && !req.Metadata.LegalHold {
		filterObj = map[string]json.RawMessage{"case_id": json.RawMessage(fmt.Sprintf("%q", req.Metadata.CaseID))}
	}
	if filterObj != nil {
		req.Filter = DecodeFilter(filterObj, "filter", &p)
	} else {
		p.Add("filter", "required", `must select recordings by at least one of media_type, from/to, record_ids or case_id, e.g. {"media_type": "SIP", "from": "2026-11-24T06:00:00Z", "to": "2026-11-26T06:00:00Z"}`)
	}
	req.Destination = Destination{Type: "filesystem"}
	if do, ok := f.Object("destination", `{"type": "filesystem"}`); ok {
		df := NewFields(do, "destination", &p)
		if t, ok := df.Enum("type", []string{"filesystem", "s3"}); ok {
			req.Destination.Type = t
		}
		if req.Destination.Type == "s3" {
			decodeS3Destination(df, &req.Destination)
		} else {
			df.Raw("bucket")
			df.Raw("prefix")
			df.Raw("object_lock")
		}
		df.RejectUnknown("type, bucket, prefix, object_lock", nil)
	}
	req.Options.WaitForProcessing = DefaultWaitForProcessing
	if oo, ok := f.Object("options", `{"wait_for_processing": "15m"}`); ok {
		of := NewFields(oo, "options", &p)
		if s, ok := of.String("wait_for_processing", "15m"); ok {
			d, err := time.ParseDuration(s)
			if err != nil || d < 0 || d > 7*24*time.Hour {
				p.Add("options.wait_for_processing", "invalid_duration", `must be a duration from 0s to 168h such as "15m" or "90s"`)
			} else {
				req.Options.WaitForProcessing = d
			}
		}
		of.RejectUnknown("wait_for_processing", nil)
	}
	f.RejectUnknown("filter, metadata, destination, options (and the shorthands legal_hold, case_id, record_ids, media_type)", exportTopHints)
	return req, p.Err()
}

func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return string(a) == string(b)
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
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

// ExportFailure is one recording that could not be exported.
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

// ExportJob is a bulk export as the API shows it.
type ExportJob struct {
	ID          string          `json:"id"`
	State       string          `json:"state"`
	Filter      RecordingFilter `json:"filter"`
	Metadata    ExportMetadata  `json:"metadata"`
	HoldID      string          `json:"hold_id,omitempty"`
	Destination Destination     `json:"destination"`
	Options     struct {
		WaitForProcessing string `json:"wait_for_processing"`
	} `json:"options"`
	CreatedAt  time.Time       `json:"created_at"`
	StartedAt  *time.Time      `json:"started_at"`
	FinishedAt *time.Time      `json:"finished_at"`
	CreatedBy  string          `json:"created_by"`
	Progress   ExportProgress  `json:"progress"`
	Failures   []ExportFailure `json:"failures"`
	Package    *ExportPackage  `json:"package"`
	Error      string          `json:"error,omitempty"`
}

// BagName is the package's name: "<case_id or export>_<job id>".
func BagName(caseID, jobID string) string {
	if caseID == "" {
		caseID = "export"
	}
	return caseID + "_" + jobID
}

// ShortDuration renders a duration as people write it in requests: "15m"
// rather than Go's "15m0s".
func ShortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// s3BucketName is the S3 bucket naming rule (3–63 of a-z, 0-9, '.', '-',
// starting and ending with a letter or digit).
var s3BucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// decodeS3Destination reads bucket, prefix and object_lock of an s3
// destination. Whether this server can reach the bucket, and whether it
// overlaps the blob store, is checked by the server.
func decodeS3Destination(df *Fields, d *Destination) {
	p := df.Problems()
	if b, ok := df.String("bucket", "evidence-exports"); ok {
		if !s3BucketName.MatchString(b) {
			p.Add(df.Path("bucket"), "invalid", `must be an S3 bucket name: 3 to 63 lowercase letters, digits, '.' and '-', e.g. "evidence-exports"`)
		}
		d.Bucket = b
	} else if _, present := df.Raw("bucket"); !present {
		df.Require("bucket", `"evidence-exports"`)
	}
	if pre, ok := df.String("prefix", "holdfast/exports"); ok {
		pre = strings.Trim(pre, "/")
		bad := len(pre) > 512 || strings.ContainsAny(pre, "\x00\\")
		for _, seg := range strings.Split(pre, "/") {
			if pre != "" && (seg == "" || seg == "." || seg == "..") {
				bad = true
			}
		}
		if bad {
			p.Add(df.Path("prefix"), "invalid", `must be a key prefix of '/'-separated names without empty, "." or ".." segments, e.g. "holdfast/exports"`)
		}
		d.Prefix = pre
	}
	lo, ok := df.Object("object_lock", `{"mode": "COMPLIANCE", "retain_until": "2033-01-01T00:00:00Z", "legal_hold": true}`)
	if !ok {
		return
	}
	lf := NewFields(lo, df.Path("object_lock"), p)
	var l ObjectLock
	if b, ok := lf.Bool("legal_hold"); ok {
		l.LegalHold = b
	}
	mode, hasMode := lf.Enum("mode", []string{"COMPLIANCE", "GOVERNANCE"})
	until, hasUntil := lf.Time("retain_until")
	if hasMode {
		l.Mode = mode
	}
	if hasUntil {
		l.RetainUntil = &until
	}
	_, rawMode := lf.Raw("mode")
	_, rawUntil := lf.Raw("retain_until")
	switch {
	case rawMode && !rawUntil:
		lf.Require("retain_until", `"2033-01-01T00:00:00Z" (a mode needs a retention date)`)
	case rawUntil && !rawMode:
		lf.Require("mode", `"COMPLIANCE" (a retention date needs a mode)`)
	}
	lf.RejectUnknown("legal_hold, mode, retain_until", nil)
	d.ObjectLock = &l
}

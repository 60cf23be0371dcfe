package client

import (
	"encoding/json"
	"time"
)

// Participant is one party of a call.
type Participant struct {
	AOR  string `json:"aor"`
	Name string `json:"name,omitempty"`
	Role string `json:"role,omitempty"`
}

// Content describes a recording's stored media.
type Content struct {
	SizeBytes   int64  `json:"size_bytes"`
	SHA256      string `json:"sha256"`
	SHA512      string `json:"sha512"`
	MediaFormat string `json:"media_format"`
	Codec       string `json:"codec,omitempty"`
	SampleRate  int    `json:"sample_rate,omitempty"`
	Channels    int    `json:"channels,omitempty"`
}

// HoldRef is an active hold as a recording shows it.
type HoldRef struct {
	HoldID     string    `json:"hold_id"`
	CaseID     string    `json:"case_id,omitempty"`
	HoldReason string    `json:"hold_reason"`
	HoldDate   time.Time `json:"hold_date"`
	AppliedAt  time.Time `json:"applied_at"`
}

// Recording is a stored call recording.
type Recording struct {
	ID            string            `json:"id"`
	MediaType     string            `json:"media_type"`
	Status        string            `json:"status"`
	FailureReason string            `json:"failure_reason,omitempty"`
	CallID        string            `json:"call_id,omitempty"`
	StartedAt     time.Time         `json:"started_at"`
	EndedAt       *time.Time        `json:"ended_at"`
	DurationMS    *int64            `json:"duration_ms"`
	Direction     string            `json:"direction,omitempty"`
	Participants  []Participant     `json:"participants"`
	Labels        map[string]string `json:"labels"`
	Content       Content           `json:"content"`
	IngestedAt    time.Time         `json:"ingested_at"`
	CompletedAt   *time.Time        `json:"completed_at"`
	LegalHold     bool              `json:"legal_hold"`
	Holds         []HoldRef         `json:"holds"`
}

// Filter selects recordings.
type Filter struct {
	MediaType string     `json:"media_type,omitempty"`
	From      *time.Time `json:"from,omitempty"`
	To        *time.Time `json:"to,omitempty"`
	RecordIDs []string   `json:"record_ids,omitempty"`
	CaseID    string     `json:"case_id,omitempty"`
}

// Hold is a legal hold.
type Hold struct {
	HoldID         string     `json:"hold_id"`
	CaseID         string     `json:"case_id,omitempty"`
	HoldReason     string     `json:"hold_reason"`
	HoldDate       time.Time  `json:"hold_date"`
	AppliedAt      time.Time  `json:"applied_at"`
	AppliedBy      string     `json:"applied_by"`
	Active         bool       `json:"active"`
	ReleasedAt     *time.Time `json:"released_at"`
	ReleasedBy     string     `json:"released_by,omitempty"`
	ReleaseReason  string     `json:"release_reason,omitempty"`
	Filter         *Filter    `json:"filter,omitempty"`
	IncludeFuture  bool       `json:"include_future"`
	RecordingCount int        `json:"recording_count"`
	// Matched is set on the answer to CreateHold.
	Matched int `json:"matched,omitempty"`
}

// HoldRecording is one recording of a hold's paged list.
type HoldRecording struct {
	RecordingID string     `json:"recording_id"`
	AppliedAt   time.Time  `json:"applied_at"`
	ReleasedAt  *time.Time `json:"released_at"`
}

// SetProof proves one recording is in the recording set whose
// recordings_root (hex) the audit entry EntryIndex records: Proof is the
// RFC 6962 audit path (hex) of leaf LeafIndex in a tree of TreeSize ids
// sorted bytewise.
type SetProof struct {
	EntryIndex     int64    `json:"entry_index"`
	LeafIndex      int64    `json:"leaf_index"`
	TreeSize       int64    `json:"tree_size"`
	RecordingsRoot string   `json:"recordings_root"`
	Proof          []string `json:"proof"`
}

// CreateHoldRequest is the body of POST /api/v2/legalholds.
type CreateHoldRequest struct {
	CaseID        string     `json:"case_id,omitempty"`
	HoldReason    string     `json:"hold_reason"`
	HoldDate      *time.Time `json:"hold_date,omitempty"`
	Filter        Filter     `json:"filter"`
	IncludeFuture bool       `json:"include_future,omitempty"`
}

// HoldMetadata is the metadata of one per-recording hold entry.
type HoldMetadata struct {
	LegalHold     bool       `json:"legal_hold"`
	HoldReason    string     `json:"hold_reason,omitempty"`
	HoldDate      *time.Time `json:"hold_date,omitempty"`
	CaseID        string     `json:"case_id,omitempty"`
	ReleaseReason string     `json:"release_reason,omitempty"`
}

// RecordingHold is one entry of POST /api/v2/recordings/legalholds.
type RecordingHold struct {
	ID       string       `json:"id"`
	Metadata HoldMetadata `json:"metadata"`
}

// RecordingHoldResult is the outcome for one entry.
type RecordingHoldResult struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	HoldID string `json:"hold_id,omitempty"`
}

// RecordingHoldsResponse is the answer of ApplyRecordingHolds.
type RecordingHoldsResponse struct {
	Results []RecordingHoldResult `json:"results"`
	Held    int                   `json:"held"`
}

// Token is an API token; Secret is only set when it was just created.
type Token struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Permissions []string  `json:"permissions"`
	CreatedAt   time.Time `json:"created_at"`
	// LastUsedAt is when the token last authenticated a request, to within
	// a minute; nil if never.
	LastUsedAt *time.Time `json:"last_used_at"`
	// RevokedAt is set once the token is revoked; it then authenticates
	// nothing.
	RevokedAt *time.Time `json:"revoked_at"`
	Secret    string     `json:"token,omitempty"`
}

// AuditEntry is one audit log entry with the leaf hash the server stored.
type AuditEntry struct {
	Index    int64           `json:"index"`
	Time     time.Time       `json:"time"`
	Type     string          `json:"type"`
	Actor    string          `json:"actor"`
	Subject  string          `json:"subject"`
	Data     json.RawMessage `json:"data,omitempty"`
	LeafHash string          `json:"leaf_hash"`
}

// AuditEntriesPage is one page of the audit log.
type AuditEntriesPage struct {
	Items      []AuditEntry `json:"items"`
	NextCursor string       `json:"next_cursor"`
	TreeSize   int64        `json:"tree_size"`
}

// InclusionProof proves an entry is in the tree of a given size.
type InclusionProof struct {
	Index    int64    `json:"index"`
	Size     int64    `json:"size"`
	LeafHash string   `json:"leaf_hash"`
	RootHash string   `json:"root_hash"`
	Proof    []string `json:"proof"`
}

// ConsistencyProof proves a tree of size Old is a prefix of one of size New.
type ConsistencyProof struct {
	Old     int64    `json:"old"`
	New     int64    `json:"new"`
	OldRoot string   `json:"old_root"`
	NewRoot string   `json:"new_root"`
	Proof   []string `json:"proof"`
}

// AuditVerification is the answer of POST /api/v2/audit/verify: whether
// the whole log matches the latest signed checkpoint of TreeSize entries,
// and the lowest entry index found wrong (nil when OK, or when only the
// root disagrees).
type AuditVerification struct {
	OK            bool   `json:"ok"`
	TreeSize      int64  `json:"tree_size"`
	FirstBadIndex *int64 `json:"first_bad_index"`
}

// Page is one page of a list endpoint.
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

// ListRecordingsParams filter GET /api/v2/recordings.
type ListRecordingsParams struct {
	MediaType string
	From, To  *time.Time
	Status    string
	CaseID    string
	// Labels selects recordings carrying every one of these labels with
	// exactly this value (label=<key>:<value>, repeated).
	Labels map[string]string
	// CallID selects the recordings of one SIP Call-ID.
	CallID string
	// Participant selects recordings with a participant whose aor or name
	// contains it, case-insensitively.
	Participant string
	// LegalHold, if set, selects held (true) or unheld (false) recordings.
	LegalHold *bool
	Limit     int
	Cursor    string
}

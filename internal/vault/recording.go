package vault

import "time"

// Status is where a recording is in its life: uploaded recordings start as
// StatusProcessing and end as StatusCompleted or StatusFailed.
type Status string

// The recording statuses of the contract.
const (
	StatusProcessing Status = "processing"
	StatusCompleted  Status = "completed"
	StatusFailed     Status = "failed"
)

// ValidStatus reports whether s is a known status.
func ValidStatus(s string) bool {
	switch Status(s) {
	case StatusProcessing, StatusCompleted, StatusFailed:
		return true
	}
	return false
}

// MediaTypes lists the accepted media types, in upper case as returned.
var MediaTypes = []string{"SIP", "SCREEN", "CHAT", "EMAIL", "MESSAGE"}

// Directions lists the accepted call directions.
var Directions = []string{"inbound", "outbound", "internal"}

// Participant is one party of a call, identified by its SIP address of
// record.
type Participant struct {
	AOR  string `json:"aor"`
	Name string `json:"name,omitempty"`
	Role string `json:"role,omitempty"`
}

// Content describes the stored media: its size and digests (computed as it
// streamed in) and what probing found. Codec, SampleRate and Channels are
// empty until processing completes.
type Content struct {
	SizeBytes   int64  `json:"size_bytes"`
	SHA256      string `json:"sha256"`
	SHA512      string `json:"sha512"`
	MediaFormat string `json:"media_format"`
	Codec       string `json:"codec,omitempty"`
	SampleRate  int    `json:"sample_rate,omitempty"`
	Channels    int    `json:"channels,omitempty"`
}

// HoldRef is how a recording shows one active hold on it.
type HoldRef struct {
	HoldID     string    `json:"hold_id"`
	CaseID     string    `json:"case_id,omitempty"`
	HoldReason string    `json:"hold_reason"`
	HoldDate   time.Time `json:"hold_date"`
	AppliedAt  time.Time `json:"applied_at"`
}

// Recording is a stored call recording as the API shows it.
type Recording struct {
	ID            string            `json:"id"`
	MediaType     string            `json:"media_type"`
	Status        Status            `json:"status"`
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

// Normalize fills nil slices and maps so the JSON form always has arrays and
// objects rather than null, and derives LegalHold from Holds.
func (r *Recording) Normalize() {
	if r.Participants == nil {
		r.Participants = []Participant{}
	}
	if r.Labels == nil {
		r.Labels = map[string]string{}
	}
	if r.Holds == nil {
		r.Holds = []HoldRef{}
	}
	r.LegalHold = len(r.Holds) > 0
}

// ProbeResult is what media probing found, or why it failed. The processor
// hands it to the store to finish a recording.
type ProbeResult struct {
	OK            bool
	FailureReason string
	MediaFormat   string
	Codec         string
	SampleRate    int
	Channels      int
	DurationMS    int64
}

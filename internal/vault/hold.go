package vault

import "time"

// RecordingFilter selects recordings by media type, start time range
// [From, To) and explicit ids. Holds use it to describe what they cover,
// including recordings ingested later when IncludeFuture is set.
type RecordingFilter struct {
	MediaType string     `json:"media_type,omitempty"`
	From      *time.Time `json:"from,omitempty"`
	To        *time.Time `json:"to,omitempty"`
	RecordIDs []string   `json:"record_ids,omitempty"`
	CaseID    string     `json:"case_id,omitempty"`
}

// Empty reports whether the filter selects nothing in particular.
func (f RecordingFilter) Empty() bool {
	return f.MediaType == "" && f.From == nil && f.To == nil && len(f.RecordIDs) == 0 && f.CaseID == ""
}

// Matches reports whether a recording falls under the filter's media type
// and time range (ids and case are matched by the store).
func (f RecordingFilter) Matches(mediaType string, startedAt time.Time) bool {
	if f.MediaType != "" && f.MediaType != mediaType {
		return false
	}
	if f.From != nil && startedAt.Before(*f.From) {
		return false
	}
	if f.To != nil && !startedAt.Before(*f.To) {
		return false
	}
	return true
}

// Hold is a legal hold: a record that certain recordings must not be
// removed, until it is released. It carries how many recordings it covers,
// never their list, which may run to millions: that is paged through
// [HoldRecording]s.
type Hold struct {
	HoldID         string           `json:"hold_id"`
	CaseID         string           `json:"case_id,omitempty"`
	HoldReason     string           `json:"hold_reason"`
	HoldDate       time.Time        `json:"hold_date"`
	AppliedAt      time.Time        `json:"applied_at"`
	AppliedBy      string           `json:"applied_by"`
	Active         bool             `json:"active"`
	ReleasedAt     *time.Time       `json:"released_at"`
	ReleasedBy     string           `json:"released_by,omitempty"`
	ReleaseReason  string           `json:"release_reason,omitempty"`
	Filter         *RecordingFilter `json:"filter,omitempty"`
	IncludeFuture  bool             `json:"include_future"`
	RecordingCount int              `json:"recording_count"`
}

// HoldRecording is one recording of a hold's paged list: when the hold
// took it, and when it stopped holding it (released on its own, or with
// the whole hold).
type HoldRecording struct {
	RecordingID string     `json:"recording_id"`
	AppliedAt   time.Time  `json:"applied_at"`
	ReleasedAt  *time.Time `json:"released_at"`
}

package vault

import (
	"strings"
	"time"
)

// Case is a matter as a whole: every hold placed for one case_id and every
// export made for it, so a legal team can follow and close it in one place
// instead of hold by hold.
type Case struct {
	CaseID         string    `json:"case_id"`
	ActiveHolds    int       `json:"active_holds"`
	HeldRecordings int       `json:"held_recordings"`
	Exports        int       `json:"exports"`
	LastActivityAt time.Time `json:"last_activity_at"`
}

// CaseExport is one export job of a case, as the case view lists it.
type CaseExport struct {
	ID         string         `json:"id"`
	State      string         `json:"state"`
	HoldID     string         `json:"hold_id,omitempty"`
	CreatedAt  time.Time      `json:"created_at"`
	FinishedAt *time.Time     `json:"finished_at"`
	Progress   ExportProgress `json:"progress"`
}

// CaseDetail is a case with its holds (active and released) and its
// export jobs, oldest first.
type CaseDetail struct {
	Case
	Holds      []Hold       `json:"holds"`
	ExportJobs []CaseExport `json:"export_jobs"`
}

// CaseRelease is the answer to releasing a whole case: the holds that were
// active and are now released.
type CaseRelease struct {
	CaseID          string   `json:"case_id"`
	ReleasedHoldIDs []string `json:"released_hold_ids"`
}

// ParticipantSearchText is what participant search matches against: every
// participant's aor and name, lower-cased, one per line. A search term
// never holds a line break, so it can only match within one aor or name.
func ParticipantSearchText(ps []Participant) string {
	var parts []string
	for _, p := range ps {
		for _, v := range []string{p.AOR, p.Name} {
			if v != "" {
				parts = append(parts, strings.ToLower(v))
			}
		}
	}
	return strings.Join(parts, "\n")
}

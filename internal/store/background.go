package store

import "time"

// ObjectLock is a recording's blob version whose S3 legal hold must be
// set to Hold to match the recording's holds.
type ObjectLock struct {
	RecordingID string
	SHA256      string
	Version     string
	Hold        bool
}

// SetObjectLockStateParams record the legal hold state written to S3.
type SetObjectLockStateParams struct {
	RecordingID string
	Version     string
	On          bool
}

// ScrubMismatch is a recording whose stored blob no longer hashes to the
// SHA-256 recorded at ingest.
type ScrubMismatch struct {
	RecordingID string
	Expected    string // the ingest SHA-256
	Actual      string // what the stored bytes hash to now ("" if missing)
	FoundAt     time.Time
}

// RecordScrubParams are the results of one scrub pass over recordings up
// to Cursor: new mismatches (each audited once), and recordings that
// matched (any earlier mismatch of theirs is cleared).
type RecordScrubParams struct {
	Cursor     string
	Mismatches []ScrubMismatch
	Matched    []string
	Now        time.Time
}

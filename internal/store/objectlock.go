package store

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

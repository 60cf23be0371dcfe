package jobs

// The job kinds of holdfast. Each is registered by the package that owns
// the work; the names live here because the store enqueues some of them
// inside its own transactions.
const (
	// KindProcessRecording probes a new recording's media (processor);
	// args: {"recording_id": "…"}. Enqueued by the ingest transaction.
	KindProcessRecording = "process_recording"
	// KindSignCheckpoint signs a checkpoint if the audit log grew
	// (auditlog). Periodic; one pending at a time, so one signer at a time.
	KindSignCheckpoint = "sign_checkpoint"
	// KindSweepBlobs removes blobs nothing refers to (blobgc). Periodic.
	KindSweepBlobs = "sweep_blobs"
	// KindScrubBlobs re-hashes stored blobs against their ingest SHA-256
	// (scrub). Periodic.
	KindScrubBlobs = "scrub_blobs"
	// KindSyncObjectLocks brings S3 legal holds into line with the
	// database's holds (objectlock). Periodic and after hold changes.
	KindSyncObjectLocks = "sync_object_locks"
)

// ProcessRecordingArgs are the args of [KindProcessRecording].
type ProcessRecordingArgs struct {
	RecordingID string `json:"recording_id"`
}

package sqlstore

// Migrations is the portable schema, one step per version. Types are kept
// to TEXT, INTEGER and BIGINT so the same statements run on SQLite and
// PostgreSQL; times are Unix nanoseconds in UTC.
var Migrations = []string{
	// 1: tokens, recordings, holds, idempotency, audit log.
	`
CREATE TABLE tokens (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	permissions TEXT NOT NULL,
	secret_hash TEXT NOT NULL UNIQUE,
	created_at BIGINT NOT NULL
);
CREATE TABLE recordings (
	id TEXT PRIMARY KEY,
	media_type TEXT NOT NULL,
	status TEXT NOT NULL,
	failure_reason TEXT NOT NULL DEFAULT '',
	call_id TEXT NOT NULL DEFAULT '',
	started_at BIGINT NOT NULL,
	ended_at BIGINT,
	duration_ms BIGINT,
	direction TEXT NOT NULL DEFAULT '',
	participants TEXT NOT NULL,
	labels TEXT NOT NULL,
	size_bytes BIGINT NOT NULL,
	sha256 TEXT NOT NULL,
	sha512 TEXT NOT NULL,
	media_format TEXT NOT NULL,
	codec TEXT NOT NULL DEFAULT '',
	sample_rate INTEGER NOT NULL DEFAULT 0,
	channels INTEGER NOT NULL DEFAULT 0,
	ingested_at BIGINT NOT NULL,
	completed_at BIGINT
);
CREATE INDEX recordings_started_at ON recordings (started_at);
CREATE INDEX recordings_status ON recordings (status);
CREATE INDEX recordings_sha256 ON recordings (sha256);
CREATE TABLE holds (
	id TEXT PRIMARY KEY,
	case_id TEXT NOT NULL DEFAULT '',
	hold_reason TEXT NOT NULL,
	hold_date BIGINT NOT NULL,
	applied_at BIGINT NOT NULL,
	applied_by TEXT NOT NULL,
	released_at BIGINT,
	released_by TEXT NOT NULL DEFAULT '',
	release_reason TEXT NOT NULL DEFAULT '',
	filter TEXT,
	include_future INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX holds_case_id ON holds (case_id);
CREATE TABLE hold_recordings (
	hold_id TEXT NOT NULL REFERENCES holds (id),
	recording_id TEXT NOT NULL,
	applied_at BIGINT NOT NULL,
	released_at BIGINT,
	released_by TEXT NOT NULL DEFAULT '',
	release_reason TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (hold_id, recording_id)
);
CREATE INDEX hold_recordings_recording_id ON hold_recordings (recording_id);
CREATE TABLE idempotency_keys (
	token_id TEXT NOT NULL,
	route TEXT NOT NULL,
	idem_key TEXT NOT NULL,
	state TEXT NOT NULL,
	fingerprint TEXT NOT NULL,
	resource_id TEXT NOT NULL,
	status INTEGER NOT NULL,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (token_id, route, idem_key)
);
CREATE TABLE audit_head (
	id INTEGER PRIMARY KEY,
	size BIGINT NOT NULL
);
INSERT INTO audit_head (id, size) VALUES (1, 0);
CREATE TABLE audit_entries (
	idx BIGINT PRIMARY KEY,
	time BIGINT NOT NULL,
	type TEXT NOT NULL,
	actor TEXT NOT NULL,
	subject TEXT NOT NULL,
	data TEXT NOT NULL
);
CREATE TABLE audit_hashes (
	id BIGINT PRIMARY KEY,
	hash TEXT NOT NULL
);
CREATE TABLE audit_checkpoints (
	size BIGINT PRIMARY KEY,
	signed TEXT NOT NULL
)`,
	// 2: export jobs and their items.
	`
CREATE TABLE export_jobs (
	id TEXT PRIMARY KEY,
	state TEXT NOT NULL,
	filter TEXT NOT NULL,
	metadata TEXT NOT NULL,
	hold_id TEXT NOT NULL DEFAULT '',
	destination TEXT NOT NULL,
	wait_ms BIGINT NOT NULL,
	bag_name TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	started_at BIGINT,
	finished_at BIGINT,
	created_by TEXT NOT NULL,
	package TEXT NOT NULL DEFAULT '',
	error TEXT NOT NULL DEFAULT '',
	cancel_requested INTEGER NOT NULL DEFAULT 0,
	lease_owner TEXT NOT NULL DEFAULT '',
	lease_until BIGINT NOT NULL DEFAULT 0,
	hold_audit_index BIGINT NOT NULL DEFAULT -1,
	export_audit_index BIGINT NOT NULL DEFAULT -1
);
CREATE INDEX export_jobs_state ON export_jobs (state);
CREATE TABLE export_items (
	job_id TEXT NOT NULL REFERENCES export_jobs (id),
	seq INTEGER NOT NULL,
	recording_id TEXT NOT NULL,
	state TEXT NOT NULL,
	path TEXT NOT NULL DEFAULT '',
	size_bytes BIGINT NOT NULL DEFAULT 0,
	sha256 TEXT NOT NULL DEFAULT '',
	sha512 TEXT NOT NULL DEFAULT '',
	ingest_sha256 TEXT NOT NULL DEFAULT '',
	meta_path TEXT NOT NULL DEFAULT '',
	meta_size BIGINT NOT NULL DEFAULT 0,
	meta_sha256 TEXT NOT NULL DEFAULT '',
	meta_sha512 TEXT NOT NULL DEFAULT '',
	index_row TEXT NOT NULL DEFAULT '',
	failure_code TEXT NOT NULL DEFAULT '',
	failure_message TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (job_id, seq)
)`,
	// 3: the job table of internal/jobs.
	`
CREATE TABLE jobs (
	id TEXT PRIMARY KEY,
	kind TEXT NOT NULL,
	args TEXT NOT NULL,
	state TEXT NOT NULL,
	attempt INTEGER NOT NULL DEFAULT 0,
	max_attempts INTEGER NOT NULL,
	run_at BIGINT NOT NULL,
	lease_owner TEXT NOT NULL DEFAULT '',
	lease_until BIGINT NOT NULL DEFAULT 0,
	unique_key TEXT NOT NULL DEFAULT '',
	last_error TEXT NOT NULL DEFAULT '',
	discard_reason TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	finished_at BIGINT
);
CREATE INDEX jobs_due ON jobs (state, kind, run_at);
CREATE INDEX jobs_lease ON jobs (state, lease_until);
CREATE UNIQUE INDEX jobs_unique_pending ON jobs (unique_key) WHERE unique_key <> '' AND state IN ('available', 'running')`,
	// 4: labels as rows, so label=<key>:<value> is an index lookup; the
	// rows of recordings stored before this step are filled in by
	// backfillLabels, in the same transaction.
	`
CREATE TABLE recording_labels (
	name TEXT NOT NULL,
	value TEXT NOT NULL,
	recording_id TEXT NOT NULL,
	PRIMARY KEY (name, value, recording_id)
);
CREATE INDEX recording_labels_recording_id ON recording_labels (recording_id)`,
	// 5: holds at scale. A hold counts its recordings instead of listing
	// them; hold.applied and export.created entries name the audit entry
	// of each recording set (hold_recordings.audit_index is set only for a
	// recording an include_future hold took at ingest, whose set is that
	// one recording). Indexes let every list page by keyset (id order)
	// under each filter without scanning.
	`
ALTER TABLE holds ADD COLUMN recording_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE holds ADD COLUMN audit_index BIGINT NOT NULL DEFAULT -1;
ALTER TABLE hold_recordings ADD COLUMN audit_index BIGINT;
UPDATE holds SET recording_count = (SELECT COUNT(*) FROM hold_recordings hr WHERE hr.hold_id = holds.id AND hr.released_at IS NULL);
CREATE INDEX recordings_media_type_id ON recordings (media_type, id);
CREATE INDEX recordings_status_id ON recordings (status, id);
DROP INDEX holds_case_id;
CREATE INDEX holds_case_id_id ON holds (case_id, id);
CREATE INDEX holds_include_future ON holds (include_future, released_at);
CREATE INDEX export_items_recording ON export_items (job_id, recording_id)`,
	// 6: the registry of audit signing keys (one current, the rest retired
	// by rotation).
	`
CREATE TABLE signing_keys (
	fingerprint TEXT PRIMARY KEY,
	public_key TEXT NOT NULL,
	origin TEXT NOT NULL,
	added_at BIGINT NOT NULL,
	retired_at BIGINT
)`,
	// 7: token revocation and last use.
	`
ALTER TABLE tokens ADD COLUMN last_used_at BIGINT;
ALTER TABLE tokens ADD COLUMN revoked_at BIGINT`,
	// 8: recordings left in processing by a version that queued them in
	// memory get their processing job.
	`
INSERT INTO jobs (id, kind, args, state, attempt, max_attempts, run_at, unique_key, created_at)
SELECT 'job_process_recording_' || id, 'process_recording', '{"recording_id":"' || id || '"}', 'available', 0, 30, ingested_at,
	'process_recording:' || id, ingested_at
FROM recordings WHERE status = 'processing'`,
	// 9: recordings counted by status in the same transactions that change
	// them, so the console's Overview reads three rows instead of counting
	// every recording.
	`
CREATE TABLE recording_counts (
	status TEXT PRIMARY KEY,
	n BIGINT NOT NULL
);
INSERT INTO recording_counts (status, n) SELECT status, COUNT(*) FROM recordings GROUP BY status`,
	// 10: an export job counts its items by state, so reading its progress
	// (and listing jobs) does not grow with the number of its recordings.
	`
ALTER TABLE export_jobs ADD COLUMN matched BIGINT NOT NULL DEFAULT 0;
ALTER TABLE export_jobs ADD COLUMN exported BIGINT NOT NULL DEFAULT 0;
ALTER TABLE export_jobs ADD COLUMN failed BIGINT NOT NULL DEFAULT 0;
ALTER TABLE export_jobs ADD COLUMN bytes_exported BIGINT NOT NULL DEFAULT 0;
UPDATE export_jobs SET
	matched = (SELECT COUNT(*) FROM export_items i WHERE i.job_id = export_jobs.id),
	exported = (SELECT COUNT(*) FROM export_items i WHERE i.job_id = export_jobs.id AND i.state = 'exported'),
	failed = (SELECT COUNT(*) FROM export_items i WHERE i.job_id = export_jobs.id AND i.state = 'failed'),
	bytes_exported = (SELECT COALESCE(SUM(i.size_bytes + i.meta_size), 0) FROM export_items i WHERE i.job_id = export_jobs.id AND i.state = 'exported');
CREATE INDEX export_items_state ON export_items (job_id, state, seq)`,
	// 11: the object version each recording's blob was written as (S3
	// with versioning), and whether its S3 legal hold is known to be on;
	// the object lock sync brings that flag in line with the holds.
	`
ALTER TABLE recordings ADD COLUMN blob_version TEXT NOT NULL DEFAULT '';
ALTER TABLE recordings ADD COLUMN object_lock_on INTEGER NOT NULL DEFAULT 0;
CREATE INDEX recordings_blob_version ON recordings (blob_version, object_lock_on)`,
	// 12: search by call id and participant (the participant text is kept
	// by the store; its trigram index is the dialect's), and the case of
	// each export job, for the case views.
	`
ALTER TABLE recordings ADD COLUMN participant_text TEXT NOT NULL DEFAULT '';
CREATE INDEX recordings_call_id ON recordings (call_id);
ALTER TABLE export_jobs ADD COLUMN case_id TEXT NOT NULL DEFAULT '';
CREATE INDEX export_jobs_case_id ON export_jobs (case_id)`,
	// 13: fill the columns of step 12 for rows written before it, and build
	// the participant trigram index.
	DialectStep(StepParticipantSearch),
	// 14: blob scrubbing: where the next pass starts, and the recordings
	// whose stored bytes no longer match their ingest SHA-256.
	`
CREATE TABLE scrub_state (
	id INTEGER PRIMARY KEY,
	cursor TEXT NOT NULL
);
INSERT INTO scrub_state (id, cursor) VALUES (1, '');
CREATE TABLE scrub_mismatches (
	recording_id TEXT PRIMARY KEY,
	expected TEXT NOT NULL,
	actual TEXT NOT NULL,
	found_at BIGINT NOT NULL
)`,
	// 15: console sessions, shared by every replica.
	`
CREATE TABLE console_sessions (
	id_hash TEXT PRIMARY KEY,
	secret_hash TEXT NOT NULL,
	token_id TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	seen_at BIGINT NOT NULL
);
CREATE INDEX console_sessions_seen_at ON console_sessions (seen_at);
CREATE INDEX console_sessions_created_at ON console_sessions (created_at)`,
}

// labelsMigration is the schema version that creates recording_labels.
const labelsMigration = 4

// StepParticipantSearch is the dialect step that backfills participant_text
// and export_jobs.case_id and builds the trigram index participant search
// uses (SQLite FTS5 with the trigram tokenizer; PostgreSQL pg_trgm).
const StepParticipantSearch = "participant_search"

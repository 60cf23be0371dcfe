// Package store defines the metadata store of holdfast: the interface every
// database backend implements, its parameter structs and its error rules.
//
// It is for the HTTP API, the processor and the export engine, which depend
// only on this interface, and for the backends in sqlitestore and pgstore,
// which all pass the one conformance suite in storetest.
//
// Every method that changes state appends the matching audit entry in the
// same database transaction, so the audit log can never disagree with the
// data it describes.
package store

import (
	"context"
	"encoding/json"
	"iter"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/holdfast/holdfast/internal/audit"
	"github.com/holdfast/holdfast/internal/jobs"
	"github.com/holdfast/holdfast/internal/vault"
)

// Store is the metadata store. Implementations are safe for concurrent use.
//
// Error rules: a missing resource is vault.ErrNotFound; a delete of a held
// recording is *vault.LegalHoldActiveError; validation of references (such
// as unknown recording ids in a hold) is *vault.ValidationError. Other
// errors are failures of the backend itself.
type Store interface {
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Close releases the database.
	Close() error

	// CreateToken stores a new token (by the hash of its secret).
	CreateToken(ctx context.Context, p CreateTokenParams) (vault.Token, error)
	// TokenBySecretHash finds the token whose secret hashes to hash,
	// revoked or not (RevokedAt tells); vault.ErrNotFound if none does.
	TokenBySecretHash(ctx context.Context, hash string) (vault.Token, error)
	// ListTokens returns one page of tokens in id order, revoked ones
	// included, and the cursor of the next page ("" on the last).
	ListTokens(ctx context.Context, p ListTokensParams) ([]vault.Token, string, error)
	// RevokeToken revokes a token at once and audits it (token.revoked).
	// Revoking a token that is already revoked changes nothing and returns
	// it as it is; an unknown id is vault.ErrNotFound.
	RevokeToken(ctx context.Context, p RevokeTokenParams) (vault.Token, error)
	// TouchToken sets a token's last_used_at to p.Now unless it is already
	// later than p.Now minus p.Interval, so a busy token costs at most one
	// write per interval. It is not audited: use is not a state change.
	TouchToken(ctx context.Context, p TouchTokenParams) error
	// CountTokens returns how many tokens exist.
	CountTokens(ctx context.Context) (int, error)

	// CreateSession stores a console session and deletes every session
	// that expired (p.ExpireSeenBefore, p.ExpireCreatedBefore). Sessions
	// live in the database so that every replica knows them.
	CreateSession(ctx context.Context, p CreateSessionParams) error
	// GetSession returns the session with the id hash, or
	// vault.ErrNotFound.
	GetSession(ctx context.Context, idHash string) (Session, error)
	// TouchSession sets a session's seen_at to p.Now unless it is already
	// later than p.Now minus p.Interval (one write per interval).
	TouchSession(ctx context.Context, p TouchSessionParams) error
	// DeleteSession removes a session (sign-out, expiry); removing one that
	// does not exist is not an error.
	DeleteSession(ctx context.Context, idHash string) error

	// CreateRecording stores a new recording in status processing and
	// attaches every active include_future hold whose filter matches it.
	// With p.Idempotency set, it also completes that idempotency key in the
	// same transaction.
	CreateRecording(ctx context.Context, p CreateRecordingParams) (vault.Recording, error)
	// GetRecording returns one recording with its active holds.
	GetRecording(ctx context.Context, id string) (vault.Recording, error)
	// ListRecordings returns one page of recordings in id order.
	ListRecordings(ctx context.Context, p ListRecordingsParams) ([]vault.Recording, string, error)
	// ProcessingIDs returns the ids of every recording still processing, so
	// a restarted server can finish them.
	ProcessingIDs(ctx context.Context) ([]string, error)
	// FinishProcessing records the result of media probing. It is a no-op
	// returning the recording if the recording is no longer processing.
	FinishProcessing(ctx context.Context, p FinishProcessingParams) (vault.Recording, error)
	// DeleteRecording removes a recording unless it is under an active hold
	// (then *vault.LegalHoldActiveError, and the refusal is audited). It
	// reports whether the blob is still referenced by another recording.
	DeleteRecording(ctx context.Context, p DeleteRecordingParams) (blobStillUsed bool, err error)
	// BlobReferenced reports whether any recording refers to the blob, so
	// garbage collection never removes content that is in use.
	BlobReferenced(ctx context.Context, sha256 string) (bool, error)
	// CountRecordingsByStatus returns how many recordings are in each status.
	CountRecordingsByStatus(ctx context.Context) (map[vault.Status]int, error)
	// CountActive counts active holds and unfinished export jobs, for the
	// console's Overview.
	CountActive(ctx context.Context) (ActiveCounts, error)

	// ApplyRecordingHolds places holds on listed recordings atomically (or
	// releases them, for entries with Release set).
	ApplyRecordingHolds(ctx context.Context, p ApplyRecordingHoldsParams) (ApplyRecordingHoldsResult, error)
	// CreateHold places a hold by case or filter on every matching
	// recording, atomically.
	CreateHold(ctx context.Context, p CreateHoldParams) (vault.Hold, error)
	// ReleaseHold releases one hold; other holds are untouched.
	ReleaseHold(ctx context.Context, p ReleaseHoldParams) (vault.Hold, error)
	// GetHold returns a hold with the number of recordings it covers.
	GetHold(ctx context.Context, id string) (vault.Hold, error)
	// ListHolds returns one page of holds, optionally of one case.
	ListHolds(ctx context.Context, p ListHoldsParams) ([]vault.Hold, string, error)
	// ListHoldRecordings returns one page of a hold's recordings in id
	// order (keyset paged); vault.ErrNotFound if there is no such hold.
	ListHoldRecordings(ctx context.Context, p ListHoldRecordingsParams) ([]vault.HoldRecording, string, error)
	// RecordingSetOf names the recording set, recorded by one audit entry,
	// that put p.RecordingID into a hold (p.HoldID) or an export
	// (p.JobID); with no RecordingID, the export's whole set.
	// vault.ErrNotFound if there is no such hold or export, the recording
	// is not in it, or the change predates recording sets.
	RecordingSetOf(ctx context.Context, p RecordingSetParams) (RecordingSet, error)
	// RecordingSetIDs streams a set's recording ids in bytewise order.
	RecordingSetIDs(ctx context.Context, set RecordingSet) iter.Seq2[string, error]

	// ListCases returns one page of cases (every case_id that a hold or an
	// export job names) in case_id order, with their counts.
	ListCases(ctx context.Context, p ListCasesParams) ([]vault.Case, string, error)
	// GetCase returns a case with its holds and export jobs, or
	// vault.ErrNotFound if no hold and no export job names it.
	GetCase(ctx context.Context, caseID string) (vault.CaseDetail, error)
	// ReleaseCase releases every active hold of a case in one transaction,
	// auditing each, and returns their ids (empty when none was active);
	// vault.ErrNotFound if no hold and no export job names the case.
	ReleaseCase(ctx context.Context, p ReleaseCaseParams) (vault.CaseRelease, error)

	// ReserveIdempotencyKey claims key for one request. It returns the
	// stored outcome if the key was completed before, nil if this request
	// now owns the key, or vault.ErrIdempotencyInProgress.
	ReserveIdempotencyKey(ctx context.Context, p IdempotencyKey) (*IdempotencyOutcome, error)
	// ReleaseIdempotencyKey gives up a reservation that did not complete.
	ReleaseIdempotencyKey(ctx context.Context, p IdempotencyKey) error
	// ClearIdempotencyReservations drops every in-progress reservation; a
	// single server calls it at start, when no request can be in flight.
	ClearIdempotencyReservations(ctx context.Context) error

	// AuditSize returns the number of entries in the audit log.
	AuditSize(ctx context.Context) (int64, error)
	// AuditEntries returns entries [start, start+limit) with their stored
	// leaf hashes.
	AuditEntries(ctx context.Context, start int64, limit int) ([]AuditRecord, error)
	// AuditHashReader reads stored tree hashes, for proofs and tree heads.
	AuditHashReader(ctx context.Context) tlog.HashReader
	// AppendAudit appends an entry that belongs to no other change (such as
	// a refused request).
	AppendAudit(ctx context.Context, e AuditEvent) (audit.Entry, error)
	// SaveCheckpoint stores a signed checkpoint.
	SaveCheckpoint(ctx context.Context, size int64, signed []byte) error
	// LatestCheckpoint returns the most recent signed checkpoint, or
	// vault.ErrNotFound if none was saved.
	LatestCheckpoint(ctx context.Context) (size int64, signed []byte, err error)

	ExportStore
}

// ActiveCounts are the figures of [Store.CountActive].
type ActiveCounts struct {
	// Holds is the number of holds not released.
	Holds int
	// Exports is the number of export jobs queued, running or waiting for
	// recordings.
	Exports int
}

// AuditEvent is what a change wants recorded; the store assigns the index.
type AuditEvent struct {
	Time    time.Time
	Type    string
	Actor   string
	Subject string
	Data    any
}

// AuditRecord is a stored entry with the leaf hash recorded when it was
// appended; comparing the two reveals edits.
type AuditRecord struct {
	Entry    audit.Entry
	LeafHash tlog.Hash
}

// CreateTokenParams are the inputs of [Store.CreateToken].
type CreateTokenParams struct {
	ID          string
	Name        string
	Permissions []vault.Permission
	SecretHash  string
	Actor       string
	Now         time.Time
}

// ListTokensParams page [Store.ListTokens].
type ListTokensParams struct {
	Limit  int
	Cursor string // the last id of the previous page
}

// RevokeTokenParams are the inputs of [Store.RevokeToken].
type RevokeTokenParams struct {
	ID    string
	Actor string
	Now   time.Time
}

// TouchTokenParams are the inputs of [Store.TouchToken].
type TouchTokenParams struct {
	ID       string
	Now      time.Time
	Interval time.Duration
}

// Session is a console sign-in: the SHA-256 of the cookie's random id,
// and the hash of the token's secret (never the secret).
type Session struct {
	IDHash     string
	SecretHash string
	TokenID    string
	CreatedAt  time.Time
	SeenAt     time.Time
}

// CreateSessionParams are the inputs of [Store.CreateSession].
type CreateSessionParams struct {
	Session Session
	// Sessions seen before ExpireSeenBefore or created before
	// ExpireCreatedBefore are deleted in the same call.
	ExpireSeenBefore    time.Time
	ExpireCreatedBefore time.Time
}

// TouchSessionParams are the inputs of [Store.TouchSession].
type TouchSessionParams struct {
	IDHash   string
	Now      time.Time
	Interval time.Duration
}

// IdempotencyKey names one Idempotency-Key of one token on one route.
type IdempotencyKey struct {
	Key     string
	TokenID string
	Route   string
	Now     time.Time
}

// IdempotencyOutcome is what a completed key stored: the request's
// fingerprint, the resource it created and the status it answered.
type IdempotencyOutcome struct {
	Fingerprint string
	ResourceID  string
	Status      int
}

// IdempotencyCompletion completes a reserved key inside the transaction
// that creates the resource.
type IdempotencyCompletion struct {
	IdempotencyKey
	Fingerprint string
	Status      int
}

// CreateRecordingParams are the inputs of [Store.CreateRecording].
type CreateRecordingParams struct {
	Recording vault.Recording
	// BlobVersion is the blob store's version id of the stored media
	// (blob.Digests.Version; "" for stores without versions). Object Lock
	// locks exactly this version.
	BlobVersion string
	Actor       string
	Idempotency *IdempotencyCompletion
}

// ListRecordingsParams filter and page [Store.ListRecordings].
type ListRecordingsParams struct {
	MediaType string
	From, To  *time.Time
	Status    string
	CaseID    string
	IDs       []string
	// Labels selects recordings that carry every one of these labels with
	// exactly this value (case-sensitive). Served by an index on
	// (name, value), so a lookup by an external id stays fast at scale.
	Labels []vault.LabelSelector
	// CallID selects recordings of one call (exact match).
	CallID string
	// Participant selects recordings with a participant whose aor or name
	// contains it, case-insensitively.
	Participant string
	// LegalHold, if set, selects recordings under an active hold (true)
	// or under none (false).
	LegalHold *bool
	Limit     int
	Cursor    string // the last id of the previous page
}

// FinishProcessingParams are the inputs of [Store.FinishProcessing].
type FinishProcessingParams struct {
	ID     string
	Result vault.ProbeResult
	Now    time.Time
	// Fence, if set, commits the result only while that job attempt still
	// holds its lease (otherwise jobs.ErrLeaseLost).
	Fence *jobs.Fence
}

// DeleteRecordingParams are the inputs of [Store.DeleteRecording].
type DeleteRecordingParams struct {
	ID    string
	Actor string
	Now   time.Time
}

// HoldSpec is what a new hold says about itself.
type HoldSpec struct {
	CaseID     string
	HoldReason string
	HoldDate   time.Time
}

// RecordingHoldItem is one entry of a per-recording hold request.
type RecordingHoldItem struct {
	RecordingID string
	Release     bool // legal_hold: false
	Spec        HoldSpec
	// ReleaseReason is required when Release is set.
	ReleaseReason string
}

// ApplyRecordingHoldsParams are the inputs of [Store.ApplyRecordingHolds].
type ApplyRecordingHoldsParams struct {
	Items []RecordingHoldItem
	Actor string
	Now   time.Time
	// NewID makes hold ids.
	NewID func() string
}

// RecordingHoldResult is the outcome for one item.
type RecordingHoldResult struct {
	ID     string `json:"id"`
	Status string `json:"status"` // held, already_held, released, not_held
	HoldID string `json:"hold_id,omitempty"`
}

// ApplyRecordingHoldsResult is the outcome of [Store.ApplyRecordingHolds].
type ApplyRecordingHoldsResult struct {
	Results []RecordingHoldResult `json:"results"`
	Held    int                   `json:"held"`
}

// CreateHoldParams are the inputs of [Store.CreateHold].
type CreateHoldParams struct {
	HoldID        string
	Spec          HoldSpec
	Filter        vault.RecordingFilter
	IncludeFuture bool
	Actor         string
	Now           time.Time
	// Extra is recorded in the audit entry (for example the export job
	// that placed the hold).
	Extra map[string]any
	// Idempotency, if set, is completed in the same transaction.
	Idempotency *IdempotencyCompletion
}

// ReleaseHoldParams are the inputs of [Store.ReleaseHold].
type ReleaseHoldParams struct {
	HoldID string
	Reason string
	Actor  string
	Now    time.Time
}

// ListHoldRecordingsParams page [Store.ListHoldRecordings].
type ListHoldRecordingsParams struct {
	HoldID string
	Limit  int
	Cursor string // the last recording id of the previous page
}

// RecordingSetParams name a hold or an export job and, optionally, one of
// its recordings.
type RecordingSetParams struct {
	HoldID      string
	JobID       string
	RecordingID string
}

// RecordingSet is a set of recordings whose recording_count and
// recordings_root one audit entry records: the recordings a hold was
// placed on (HoldID), one recording an include_future hold took at ingest
// (Only), or an export's recordings (JobID).
type RecordingSet struct {
	EntryIndex int64
	Count      int64
	HoldID     string
	JobID      string
	Only       string
}

// ListHoldsParams filter and page [Store.ListHolds].
type ListHoldsParams struct {
	CaseID string
	Limit  int
	Cursor string
}

// ListCasesParams page [Store.ListCases].
type ListCasesParams struct {
	Limit  int
	Cursor string // the last case_id of the previous page
}

// ReleaseCaseParams are the inputs of [Store.ReleaseCase].
type ReleaseCaseParams struct {
	CaseID string
	Reason string
	Actor  string
	Now    time.Time
}

// MarshalData renders audit event data as JSON.
func MarshalData(v any) (json.RawMessage, error) {
	if v == nil {
		return nil, nil
	}
	if raw, ok := v.(json.RawMessage); ok {
		return raw, nil
	}
	return json.Marshal(v)
}

// ExportStore is the part of the store the export engine and the export
// API use. Every state change is audited in its own transaction.
type ExportStore interface {
	// CreateExportJob fixes the job's recordings, places its hold (if
	// requested) and creates the job, all in one transaction.
	CreateExportJob(ctx context.Context, p CreateExportJobParams) (vault.ExportJob, error)
	// GetExportJob returns a job with its progress and failures.
	GetExportJob(ctx context.Context, id string) (vault.ExportJob, error)
	// ListExportJobs returns one page of jobs in id order.
	ListExportJobs(ctx context.Context, limit int, cursor string) ([]vault.ExportJob, string, error)
	// CancelExportJob asks a job to stop; a queued job is cancelled at
	// once. Cancelling never releases the job's hold.
	CancelExportJob(ctx context.Context, id, actor string, now time.Time) (vault.ExportJob, error)
	// ClaimExportJob leases the oldest unfinished job whose lease has
	// expired to owner, or reports false when there is none.
	ClaimExportJob(ctx context.Context, owner string, now time.Time, lease time.Duration) (ExportWork, bool, error)
	// RenewExportLease extends owner's lease and reports whether the job's
	// cancellation was requested; vault.ErrNotFound if the lease was lost.
	RenewExportLease(ctx context.Context, id, owner string, until time.Time) (cancelRequested bool, err error)
	// ExpireExportLeases ends every lease, so a restarted single server
	// resumes its jobs at once.
	ExpireExportLeases(ctx context.Context) error
	// ExportItems returns up to limit items with seq > afterSeq.
	ExportItems(ctx context.Context, jobID string, afterSeq int, limit int) ([]ExportItem, error)
	// FinishExportItem records one item's outcome.
	FinishExportItem(ctx context.Context, p FinishExportItemParams) error
	// SetExportState moves a running job between running and
	// waiting_for_recordings and sets started_at on first start.
	SetExportState(ctx context.Context, id, owner, state string, now time.Time) error
	// CompleteExportJob ends a job (completed, completed_with_errors,
	// failed or cancelled) and audits it.
	CompleteExportJob(ctx context.Context, p CompleteExportJobParams) (vault.ExportJob, error)
}

// CreateExportJobParams are the inputs of [ExportStore.CreateExportJob].
type CreateExportJobParams struct {
	JobID       string
	Request     vault.ExportRequest
	HoldID      string // set when Request.Metadata.LegalHold
	HoldSpec    HoldSpec
	Actor       string
	Now         time.Time
	Idempotency *IdempotencyCompletion
}

// ExportWork is a claimed job with what the engine needs to run it.
type ExportWork struct {
	Job               vault.ExportJob
	BagName           string
	WaitForProcessing time.Duration
	HoldAuditIndex    int64 // -1 without a hold
	ExportAuditIndex  int64
	CancelRequested   bool
}

// Export item states.
const (
	ItemPending  = "pending"
	ItemExported = "exported"
	ItemFailed   = "failed"
)

// ExportItem is one recording of a job and, once exported, the digests of
// its files in the bag.
type ExportItem struct {
	Seq          int
	RecordingID  string
	State        string
	Path         string
	Digests      FileDigests
	IngestSHA256 string
	MetaPath     string
	MetaDigests  FileDigests
	IndexRow     []string
	FailureCode  string
	FailureMsg   string
}

// FileDigests are a file's size and hashes.
type FileDigests struct {
	Size   int64
	SHA256 string
	SHA512 string
}

// FinishExportItemParams are the inputs of [ExportStore.FinishExportItem].
type FinishExportItemParams struct {
	JobID string
	Owner string
	Item  ExportItem
}

// CompleteExportJobParams are the inputs of [ExportStore.CompleteExportJob].
type CompleteExportJobParams struct {
	JobID   string
	Owner   string // "" when cancelling a queued job
	State   string
	Package *vault.ExportPackage
	Error   string
	Actor   string
	Now     time.Time
}

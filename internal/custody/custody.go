// Package custody defines custody/custody.json, the chain-of-custody
// report inside every holdfast package, and checks it offline.
//
// The export engine writes the report; `holdfast verify` reads it. The
// report ties the bag to the audit log: it carries a signed checkpoint and
// the audit entries of the hold and the export with inclusion proofs, so
// an auditor can check, without trusting the server, that the export and
// its hold were recorded in the tamper-evident log.
package custody

import (
	"time"

	"github.com/holdfast/holdfast/internal/audit"
	"github.com/holdfast/holdfast/internal/vault"
)

// Path is where the report lives inside a bag.
const Path = "custody/custody.json"

// Version is the report format version.
const Version = 1

// Report is custody/custody.json.
type Report struct {
	Version    int                   `json:"holdfast_custody_version"`
	BagName    string                `json:"bag_name"`
	Job        Job                   `json:"job"`
	HoldID     string                `json:"hold_id,omitempty"`
	SigningKey SigningKey            `json:"signing_key"`
	Recordings []Recording           `json:"recordings"`
	Failures   []vault.ExportFailure `json:"failures"`
	Audit      Audit                 `json:"audit"`
	SealedAt   time.Time             `json:"sealed_at"`
}

// Job is what the report says about the export job.
type Job struct {
	ID          string                `json:"id"`
	Filter      vault.RecordingFilter `json:"filter"`
	Metadata    vault.ExportMetadata  `json:"metadata"`
	Destination vault.Destination     `json:"destination"`
	CreatedBy   string                `json:"created_by"`
	CreatedAt   time.Time             `json:"created_at"`
	StartedAt   *time.Time            `json:"started_at"`
}

// SigningKey names the key that signed the bag and the checkpoint.
type SigningKey struct {
	Algorithm    string `json:"algorithm"`
	Fingerprint  string `json:"fingerprint"`
	PublicKeyPEM string `json:"public_key_pem"`
	Origin       string `json:"checkpoint_origin"`
}

// Recording is one exported recording: the SHA-256 recorded at ingest and
// the SHA-256 of the copy in the bag, which must be equal.
type Recording struct {
	RecordingID    string `json:"recording_id"`
	Path           string `json:"path"`
	SizeBytes      int64  `json:"size_bytes"`
	IngestSHA256   string `json:"ingest_sha256"`
	ExportedSHA256 string `json:"exported_sha256"`
	ExportedSHA512 string `json:"exported_sha512"`
	MetadataPath   string `json:"metadata_path"`
	// SetProofs prove the recording is in recording sets that audit
	// entries of the report record and that are not the package's own list
	// of recordings (such as a case hold over many more recordings). A set
	// equal to the package's list needs none: the verifier recomputes its
	// root from index.csv and the failures.
	SetProofs []SetProof `json:"set_proofs,omitempty"`
}

// SetProof is the RFC 6962 inclusion proof (hex hashes, leaf up) of a
// recording id at LeafIndex in the set of TreeSize ids, sorted bytewise,
// whose recordings_root audit entry EntryIndex records.
type SetProof struct {
	EntryIndex int64    `json:"entry_index"`
	LeafIndex  int64    `json:"leaf_index"`
	TreeSize   int64    `json:"tree_size"`
	Proof      []string `json:"proof"`
}

// Audit carries the signed checkpoint and the proved entries.
type Audit struct {
	Checkpoint string        `json:"checkpoint"`
	TreeSize   int64         `json:"tree_size"`
	RootHash   string        `json:"root_hash"`
	Entries    []ProvedEntry `json:"entries"`
}

// Roles of proved audit entries: the hold the export placed, the export
// itself, and a hold of the case an export selected by filter.case_id.
const (
	RoleHold     = "hold"
	RoleExport   = "export"
	RoleCaseHold = "case_hold"
)

// ProvedEntry is an audit entry with its inclusion proof at TreeSize.
type ProvedEntry struct {
	Role      string      `json:"role"` // "hold", "export" or "case_hold"
	Entry     audit.Entry `json:"entry"`
	LeafHash  string      `json:"leaf_hash"`
	Inclusion []string    `json:"inclusion_proof"`
}

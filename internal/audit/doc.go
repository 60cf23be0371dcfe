// Package audit holds the pure primitives of holdfast's tamper-evident audit
// log. It is for the metadata store, which appends entries and persists Merkle
// tree hashes, for the API server, which signs checkpoints and serves proofs,
// and for the `holdfast audit verify` client, which re-checks everything
// independently of the server.
//
// Every state change of holdfast (ingest, processing result, hold applied or
// released, export created/finished/cancelled, delete refused/done, token
// created) becomes an [Entry]. Entries are hashed in their [Entry.Canonical]
// form (RFC 8785 style canonical JSON) as the leaves of an RFC 6962 Merkle
// tree, maintained with golang.org/x/mod/sumdb/tlog's "stored hashes"
// representation. Tree heads are published as [Checkpoint]s, signed by the
// server's Ed25519 key in the C2SP tlog-checkpoint and signed-note formats
// (golang.org/x/mod/sumdb/note), so that standard tooling can verify them.
//
// The package does no I/O except [LoadOrCreateKey]; it has no storage, SQL or
// HTTP code, never prints, and keeps no global mutable state. Unless stated
// otherwise, functions are safe for concurrent use, and values are safe for
// concurrent reads.
package audit

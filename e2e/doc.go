// Package e2e holds holdfast's end-to-end tests. They run real `holdfast
// serve` processes (built by internal/testserver) and talk to them over
// real HTTP, with raw JSON where the exact wire shape matters, the Go SDK
// elsewhere, and the holdfast CLI binary for `holdfast audit verify`.
//
// The tests cover what the contract promises most strongly: holds attach to
// recordings in any state and atomically; validation names the field;
// missing permissions are 403, never 400; no recording under an active hold
// is ever deleted, even under heavy concurrency (checked by replaying the
// server's own audit log); tampering with the stored audit log is detected
// by `holdfast audit verify` and the server's startup self-check; and the
// audit proofs verify with an independent RFC 6962 implementation.
//
// There is no non-test code in this package.
package e2e

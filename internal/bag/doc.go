// Package bag writes and validates BagIt 1.0 bags (RFC 8493).
//
// It is for two audiences inside holdfast:
//
//   - the export engine, which builds legal-discovery exports as bags. It
//     writes payload files one at a time with [WriteFile], records the
//     returned [Digests] in its database so that it can resume after a crash,
//     and finally calls [Finalize] to write the tag files, manifests, tag
//     manifests and an optional detached Ed25519 signature over
//     tagmanifest-sha256.txt;
//   - `holdfast verify DIR`, which calls [Validate] to check a bag received
//     from anywhere (holdfast or another tool) against RFC 8493 and the
//     Library of Congress BagIt conformance suite (BagIt 0.97 and 1.0).
//
// The writer is deliberately a set of stateless functions: every file is
// written to a temporary name in its final directory, fsynced, renamed and
// the directory fsynced, so a crash never leaves a partial file under a final
// name. Temporary files carry the [TempPrefix] prefix; [RemoveStaleTemp]
// deletes leftovers on resume.
//
// Concurrency: all exported functions are safe to call concurrently from
// multiple goroutines as long as they do not write the same bag-relative
// path at the same time, and [Finalize] and [RemoveStaleTemp] must not run
// concurrently with [WriteFile] on the same bag. [Validate] only reads.
// The package has no global mutable state and never prints.
package bag

package audit

import (
	"crypto/ed25519"
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/note"
)

// SignRotation signs the checkpoint that hands the log from the retiring
// key to the next one: its body carries next's origin, and the C2SP signed
// note carries two signatures, the retiring key's (under its own origin)
// and next's. Anyone who trusts the retiring key can therefore check that
// it vouched for the new key at this tree head, and from there on
// checkpoints are signed by next alone.
func SignRotation(cp Checkpoint, retiring, next *Signer) ([]byte, error) {
	if cp.Origin != next.origin {
		return nil, fmt.Errorf("audit: sign rotation: origin %q is not the new key's origin %q", cp.Origin, next.origin)
	}
	if cp.Size < 0 {
		return nil, fmt.Errorf("audit: sign rotation: negative size %d", cp.Size)
	}
	msg, err := note.Sign(&note.Note{Text: cp.String()}, retiring.signer, next.signer)
	if err != nil {
		return nil, fmt.Errorf("audit: sign rotation: %w", err)
	}
	return msg, nil
}

// OpenCheckpointSignedBy verifies that signed carries a signature by pub
// under the note key name keyName, and parses its body, whose origin may
// differ from keyName (as in the checkpoint of a key rotation, signed by
// the retiring key under its own name). Use [OpenCheckpoint] where the
// origin must be the signer's.
func OpenCheckpointSignedBy(signed []byte, keyName string, pub ed25519.PublicKey) (Checkpoint, error) {
	if len(signed) > maxCheckpointBytes {
		return Checkpoint{}, fmt.Errorf("audit: open checkpoint: note too large (%d bytes)", len(signed))
	}
	if len(pub) != ed25519.PublicKeySize {
		return Checkpoint{}, fmt.Errorf("audit: open checkpoint: invalid Ed25519 public key length %d", len(pub))
	}
	v, _, err := newVerifier(keyName, pub)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("audit: open checkpoint: %w", err)
	}
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("audit: open checkpoint: %w", err)
	}
	return parseCheckpoint(n.Text)
}

// SignerNames returns the key names on a signed note's signature lines,
// verified or not, for error messages that must say who signed.
func SignerNames(signed []byte) []string {
	_, err := note.Open(signed, note.VerifierList())
	var e *note.UnverifiedNoteError
	if !errors.As(err, &e) {
		return nil
	}
	var out []string
	for _, s := range e.Note.UnverifiedSigs {
		out = append(out, s.Name)
	}
	return out
}

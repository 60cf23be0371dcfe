package store

import (
	"fmt"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// SigningKey is one entry of the log's signing-key registry. Exactly one
// key is current (RetiredAt nil) once any replica has started; `holdfast
// key rotate` retires it and makes another current.
type SigningKey struct {
	Fingerprint  string // audit.Fingerprint of the public key
	PublicKeyPEM string
	Origin       string // the checkpoint origin the key signs under
	AddedAt      time.Time
	RetiredAt    *time.Time
}

// RegisterSigningKeyParams registers a replica's key if the registry has
// no current key yet.
type RegisterSigningKeyParams struct {
	Key SigningKey
	Now time.Time
}

// RotateSigningKeyParams retire the current key Old (a fingerprint) in
// favour of New. Event is the audit entry recording the rotation; Sign is
// called inside the rotation's transaction with the tree head that includes
// that entry and must return the checkpoint signed by both keys.
type RotateSigningKeyParams struct {
	Old   string
	New   SigningKey
	Event AuditEvent
	Sign  func(size int64, root tlog.Hash) ([]byte, error)
}

// KeyNotCurrentError means a key is not the registry's current signing key:
// a replica started with it would sign a history the others do not vouch
// for. It names both fingerprints.
type KeyNotCurrentError struct {
	Given   string // the key that was offered
	Current string // the registry's current key
	Retired bool   // Given was current once and was rotated away
}

func (e *KeyNotCurrentError) Error() string {
	if e.Retired {
		return fmt.Sprintf("signing key %s was retired by a key rotation; the current signing key is %s", e.Given, e.Current)
	}
	return fmt.Sprintf("signing key %s is not the log's signing key %s", e.Given, e.Current)
}

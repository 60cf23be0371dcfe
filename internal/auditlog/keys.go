package auditlog

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/holdfast/holdfast/internal/audit"
	"github.com/holdfast/holdfast/internal/jobs"
	"github.com/holdfast/holdfast/internal/store"
	"github.com/holdfast/holdfast/internal/vault"
)

// KeyRegistry is the part of the store that knows which signing key is
// current. Implementations are safe for concurrent use.
type KeyRegistry interface {
	// CurrentSigningKey returns the current key, or vault.ErrNotFound.
	CurrentSigningKey(ctx context.Context) (store.SigningKey, error)
	// RegisterSigningKey makes a key current if none is, else returns
	// *store.KeyNotCurrentError unless it already is current.
	RegisterSigningKey(ctx context.Context, p store.RegisterSigningKeyParams) error
	// RotateSigningKey retires one key for another with a checkpoint
	// signed by both, in one transaction.
	RotateSigningKey(ctx context.Context, p store.RotateSigningKeyParams) (int64, []byte, error)
}

// ForeignKeyError means this replica's signing key did not sign the log's
// latest checkpoint, or is not the log's current key: starting would sign a
// history the other replicas do not vouch for. It names both fingerprints.
type ForeignKeyError struct {
	Mine   string // this replica's key fingerprint
	Signer string // the fingerprint (or, for an unregistered key, the note key name) of the log's key
	Detail string
}

func (e *ForeignKeyError) Error() string {
	return fmt.Sprintf("signing key %s is not the key of this audit log (%s): %s; every replica must use the same key (HOLDFAST_SIGNING_KEY_FILE), and `holdfast key rotate` is the one way to change it",
		e.Mine, e.Signer, e.Detail)
}

func signingKey(s *audit.Signer, now time.Time) (store.SigningKey, error) {
	pemBytes, err := audit.MarshalPublicKeyPEM(s.PublicKey())
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("auditlog: public key: %w", err)
	}
	return store.SigningKey{Fingerprint: audit.Fingerprint(s.PublicKey()), PublicKeyPEM: string(pemBytes), Origin: s.Origin(), AddedAt: now}, nil
}

// ClaimKey checks, before a replica starts, that its key signed the log's
// latest checkpoint and is the registry's current key, registering it if
// the log has no key yet. Otherwise it returns *ForeignKeyError.
func (l *Log) ClaimKey(ctx context.Context, keys KeyRegistry, now time.Time) error {
	mine := audit.Fingerprint(l.Signer.PublicKey())
	_, last, err := l.Store.LatestCheckpoint(ctx)
	if err != nil && !errors.Is(err, vault.ErrNotFound) {
		return fmt.Errorf("auditlog: claim key: %w", err)
	}
	if err == nil {
		if _, verr := audit.OpenCheckpoint(last, l.Signer.Origin(), l.Signer.PublicKey()); verr != nil {
			detail := "it did not sign the latest checkpoint"
			if l.retired(ctx, keys, now) {
				detail = "it was retired by a key rotation and did not sign the latest checkpoint"
			}
			return &ForeignKeyError{Mine: mine, Signer: checkpointSigner(ctx, keys, last), Detail: detail}
		}
	}
	me, err := signingKey(l.Signer, now)
	if err != nil {
		return err
	}
	err = keys.RegisterSigningKey(ctx, store.RegisterSigningKeyParams{Key: me, Now: now})
	var kerr *store.KeyNotCurrentError
	if errors.As(err, &kerr) {
		detail := "another key is current"
		if kerr.Retired {
			detail = "it was retired by a key rotation"
		}
		return &ForeignKeyError{Mine: mine, Signer: kerr.Current, Detail: detail}
	}
	if err != nil {
		return fmt.Errorf("auditlog: claim key: %w", err)
	}
	return nil
}

// retired reports whether this log's key was once current and rotated
// away. It registers nothing: it asks only while another key is current.
func (l *Log) retired(ctx context.Context, keys KeyRegistry, now time.Time) bool {
	if _, err := keys.CurrentSigningKey(ctx); err != nil {
		return false
	}
	me, err := signingKey(l.Signer, now)
	if err != nil {
		return false
	}
	var kerr *store.KeyNotCurrentError
	return errors.As(keys.RegisterSigningKey(ctx, store.RegisterSigningKeyParams{Key: me, Now: now}), &kerr) && kerr.Retired
}

// checkpointSigner names who signed a checkpoint: the registry's current
// key if its signature is there, else the note's key names.
func checkpointSigner(ctx context.Context, keys KeyRegistry, signed []byte) string {
	if cur, err := keys.CurrentSigningKey(ctx); err == nil {
		if pub, err := audit.ParsePublicKeyPEM([]byte(cur.PublicKeyPEM)); err == nil {
			if _, err := audit.OpenCheckpointSignedBy(signed, cur.Origin, pub); err == nil {
				return cur.Fingerprint
			}
		}
	}
	names := audit.SignerNames(signed)
	if len(names) == 0 {
		return "an unknown key"
	}
	return "the key named " + strings.Join(names, ", ")
}

// checkCurrent returns *ForeignKeyError unless this log's key is the
// registry's current key (a rotation by another process retires it).
func (l *Log) checkCurrent(ctx context.Context) error {
	if l.Keys == nil {
		return nil
	}
	cur, err := l.Keys.CurrentSigningKey(ctx)
	if errors.Is(err, vault.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("auditlog: current key: %w", err)
	}
	if mine := audit.Fingerprint(l.Signer.PublicKey()); cur.Fingerprint != mine {
		return &ForeignKeyError{Mine: mine, Signer: cur.Fingerprint, Detail: "it is no longer the current key"}
	}
	return nil
}

// Rotate hands the log to next: it appends a signing_key.rotated entry and
// a checkpoint over the log including it, signed by both the current key
// and next (a C2SP signed note with two signatures), and makes next the
// current key, all in one transaction. Afterwards replicas start only with
// next.
func (l *Log) Rotate(ctx context.Context, keys KeyRegistry, next ed25519.PrivateKey, actor string, now time.Time) (audit.Checkpoint, []byte, error) {
	pub := next.Public().(ed25519.PublicKey)
	ns, err := audit.NewSigner(audit.DefaultOrigin(pub), next)
	if err != nil {
		return audit.Checkpoint{}, nil, fmt.Errorf("auditlog: rotate: %w", err)
	}
	if err := l.ClaimKey(ctx, keys, now); err != nil {
		return audit.Checkpoint{}, nil, err
	}
	oldFP, newFP := audit.Fingerprint(l.Signer.PublicKey()), audit.Fingerprint(pub)
	if oldFP == newFP {
		return audit.Checkpoint{}, nil, errors.New("auditlog: rotate: the new key is the current key")
	}
	nk, err := signingKey(ns, now)
	if err != nil {
		return audit.Checkpoint{}, nil, err
	}
	var cp audit.Checkpoint
	_, signed, err := keys.RotateSigningKey(ctx, store.RotateSigningKeyParams{
		Old: oldFP, New: nk,
		Event: store.AuditEvent{Time: now, Type: "signing_key.rotated", Actor: actor, Subject: newFP,
			Data: map[string]string{"old_key_fingerprint": oldFP, "new_key_fingerprint": newFP, "new_origin": ns.Origin()}},
		Sign: func(size int64, root tlog.Hash) ([]byte, error) {
			cp = audit.Checkpoint{Origin: ns.Origin(), Size: size, Root: root}
			return audit.SignRotation(cp, l.Signer, ns)
		},
	})
	if err != nil {
		return audit.Checkpoint{}, nil, fmt.Errorf("auditlog: rotate: %w", err)
	}
	return cp, signed, nil
}

// SignWorker is the [jobs.Worker] of [jobs.KindSignCheckpoint]: the engine
// schedules one job per interval for all replicas, so one replica signs at
// a time. It signs only if the log grew since the latest checkpoint.
type SignWorker struct{ Log *Log }

// Work signs a checkpoint if the log grew. A replica whose key was
// retired by a rotation leaves the job to the others.
func (w SignWorker) Work(ctx context.Context, _ *jobs.Job) error {
	size, err := w.Log.Store.AuditSize(ctx)
	if err != nil {
		return fmt.Errorf("auditlog: sign: %w", err)
	}
	last, _, err := w.Log.Store.LatestCheckpoint(ctx)
	if err == nil && last == size {
		return nil
	}
	if err != nil && !errors.Is(err, vault.ErrNotFound) {
		return fmt.Errorf("auditlog: sign: %w", err)
	}
	_, _, err = w.Log.Checkpoint(ctx)
	var fe *ForeignKeyError
	if errors.As(err, &fe) {
		return jobs.Snooze(time.Second)
	}
	return err
}

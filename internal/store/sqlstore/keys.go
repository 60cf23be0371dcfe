package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/holdfast/holdfast/internal/audit"
	"github.com/holdfast/holdfast/internal/store"
	"github.com/holdfast/holdfast/internal/vault"
)

const keyColumns = `fingerprint, public_key, origin, added_at, retired_at`

func scanKey(r scanner) (store.SigningKey, error) {
	var k store.SigningKey
	var added int64
	var retired sql.NullInt64
	if err := r.Scan(&k.Fingerprint, &k.PublicKeyPEM, &k.Origin, &added, &retired); err != nil {
		return store.SigningKey{}, err
	}
	k.AddedAt = fromNanos(added)
	k.RetiredAt = ptrTime(retired)
	return k, nil
}

// CurrentSigningKey returns the registry's current key, or vault.ErrNotFound
// before any replica registered one.
func (s *Store) CurrentSigningKey(ctx context.Context) (store.SigningKey, error) {
	k, err := scanKey(s.db.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM signing_keys WHERE retired_at IS NULL`))
	if isNoRows(err) {
		return store.SigningKey{}, vault.ErrNotFound
	}
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("%s: current signing key: %w", s.d.Name, err)
	}
	return k, nil
}

// RegisterSigningKey makes p.Key current if no key is current yet, and
// returns *store.KeyNotCurrentError if another key is.
func (s *Store) RegisterSigningKey(ctx context.Context, p store.RegisterSigningKeyParams) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		cur, err := scanKey(tx.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM signing_keys WHERE retired_at IS NULL`+s.d.ForUpdate))
		switch {
		case err == nil:
			if cur.Fingerprint == p.Key.Fingerprint {
				return nil
			}
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM signing_keys WHERE fingerprint = $1`, p.Key.Fingerprint).Scan(&n); err != nil {
				return err
			}
			return &store.KeyNotCurrentError{Given: p.Key.Fingerprint, Current: cur.Fingerprint, Retired: n > 0}
		case !isNoRows(err):
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO signing_keys (fingerprint, public_key, origin, added_at) VALUES ($1, $2, $3, $4)`,
			p.Key.Fingerprint, p.Key.PublicKeyPEM, p.Key.Origin, nanos(p.Now))
		return err
	})
	var kerr *store.KeyNotCurrentError
	if errors.As(err, &kerr) {
		return kerr
	}
	if err != nil {
		return fmt.Errorf("%s: register signing key: %w", s.d.Name, err)
	}
	return nil
}

// RotateSigningKey retires p.Old and makes p.New current, appending
// p.Event and the checkpoint p.Sign returns (over the log including that
// entry) in the same transaction.
func (s *Store) RotateSigningKey(ctx context.Context, p store.RotateSigningKeyParams) (int64, []byte, error) {
	var size int64
	var signed []byte
	err := s.tx(ctx, func(tx *sql.Tx) error {
		cur, err := scanKey(tx.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM signing_keys WHERE retired_at IS NULL`+s.d.ForUpdate))
		if err != nil && !isNoRows(err) {
			return err
		}
		if isNoRows(err) || cur.Fingerprint != p.Old {
			current := cur.Fingerprint
			if current == "" {
				current = "(none registered)"
			}
			return &store.KeyNotCurrentError{Given: p.Old, Current: current}
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM signing_keys WHERE fingerprint = $1`, p.New.Fingerprint).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return &vault.ValidationError{Errors: []vault.FieldError{{Field: "new_key", Code: "invalid", Message: "the new key " + p.New.Fingerprint + " was already used by this log; generate a fresh key"}}}
		}
		e, err := s.appendAudit(ctx, tx, p.Event)
		if err != nil {
			return err
		}
		size = e.Index + 1
		root, err := audit.TreeHash(size, hashReader{ctx, tx})
		if err != nil {
			return err
		}
		if signed, err = p.Sign(size, root); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO audit_checkpoints (size, signed) VALUES ($1, $2)`, size, string(signed)); err != nil {
			return err
		}
		now := nanos(p.Event.Time)
		if _, err := tx.ExecContext(ctx, `UPDATE signing_keys SET retired_at = $1 WHERE fingerprint = $2`, now, p.Old); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO signing_keys (fingerprint, public_key, origin, added_at) VALUES ($1, $2, $3, $4)`,
			p.New.Fingerprint, p.New.PublicKeyPEM, p.New.Origin, now)
		return err
	})
	var kerr *store.KeyNotCurrentError
	var verr *vault.ValidationError
	if errors.As(err, &kerr) || errors.As(err, &verr) {
		return 0, nil, err
	}
	if err != nil {
		return 0, nil, fmt.Errorf("%s: rotate signing key: %w", s.d.Name, err)
	}
	return size, signed, nil
}

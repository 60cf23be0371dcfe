package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/holdfast/holdfast/internal/store"
	"github.com/holdfast/holdfast/internal/vault"
)

// CreateSession stores a console session and sweeps expired ones.
func (s *Store) CreateSession(ctx context.Context, p store.CreateSessionParams) error {
	ss := p.Session
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM console_sessions WHERE seen_at < $1 OR created_at < $2`,
			nanos(p.ExpireSeenBefore), nanos(p.ExpireCreatedBefore)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO console_sessions (id_hash, secret_hash, token_id, created_at, seen_at) VALUES ($1, $2, $3, $4, $5)`,
			ss.IDHash, ss.SecretHash, ss.TokenID, nanos(ss.CreatedAt), nanos(ss.SeenAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: create session: %w", s.d.Name, err)
	}
	return nil
}

// GetSession returns one console session.
func (s *Store) GetSession(ctx context.Context, idHash string) (store.Session, error) {
	var ss store.Session
	var created, seen int64
	err := s.db.QueryRowContext(ctx, `SELECT id_hash, secret_hash, token_id, created_at, seen_at FROM console_sessions WHERE id_hash = $1`, idHash).
		Scan(&ss.IDHash, &ss.SecretHash, &ss.TokenID, &created, &seen)
	if isNoRows(err) {
		return store.Session{}, vault.ErrNotFound
	}
	if err != nil {
		return store.Session{}, fmt.Errorf("%s: get session: %w", s.d.Name, err)
	}
	ss.CreatedAt, ss.SeenAt = fromNanos(created), fromNanos(seen)
	return ss, nil
}

// TouchSession records a session's use at most once per interval.
func (s *Store) TouchSession(ctx context.Context, p store.TouchSessionParams) error {
	_, err := s.db.ExecContext(ctx, `UPDATE console_sessions SET seen_at = $1 WHERE id_hash = $2 AND seen_at < $3`,
		nanos(p.Now), p.IDHash, nanos(p.Now.Add(-p.Interval)))
	if err != nil {
		return fmt.Errorf("%s: touch session: %w", s.d.Name, err)
	}
	return nil
}

// DeleteSession removes one console session.
func (s *Store) DeleteSession(ctx context.Context, idHash string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM console_sessions WHERE id_hash = $1`, idHash); err != nil {
		return fmt.Errorf("%s: delete session: %w", s.d.Name, err)
	}
	return nil
}

package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/holdfast/holdfast/internal/store"
	"github.com/holdfast/holdfast/internal/vault"
)

// CreateToken stores a token and audits its creation (never its secret).
func (s *Store) CreateToken(ctx context.Context, p store.CreateTokenParams) (vault.Token, error) {
	perms, err := json.Marshal(p.Permissions)
	if err != nil {
		return vault.Token{}, err
	}
	t := vault.Token{ID: p.ID, Name: p.Name, Permissions: p.Permissions, CreatedAt: vault.FormatTime(p.Now)}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO tokens (id, name, permissions, secret_hash, created_at) VALUES ($1, $2, $3, $4, $5)`,
			p.ID, p.Name, string(perms), p.SecretHash, nanos(p.Now)); err != nil {
			return err
		}
		_, err := s.appendAudit(ctx, tx, store.AuditEvent{Time: p.Now, Type: "token.created", Actor: p.Actor, Subject: p.ID,
			Data: map[string]any{"name": p.Name, "permissions": p.Permissions}})
		return err
	})
	if err != nil {
		return vault.Token{}, fmt.Errorf("%s: create token: %w", s.d.Name, err)
	}
	return t, nil
}

// TokenBySecretHash finds a token by the hash of its secret.
func (s *Store) TokenBySecretHash(ctx context.Context, hash string) (vault.Token, error) {
	var t vault.Token
	var perms string
	var created int64
	err := s.db.QueryRowContext(ctx, `SELECT id, name, permissions, created_at FROM tokens WHERE secret_hash = $1`, hash).Scan(&t.ID, &t.Name, &perms, &created)
	if isNoRows(err) {
		return vault.Token{}, vault.ErrNotFound
	}
	if err != nil {
		return vault.Token{}, fmt.Errorf("%s: token: %w", s.d.Name, err)
	}
	if err := json.Unmarshal([]byte(perms), &t.Permissions); err != nil {
		return vault.Token{}, fmt.Errorf("%s: token %s permissions: %w", s.d.Name, t.ID, err)
	}
	t.CreatedAt = vault.FormatTime(fromNanos(created))
	return t, nil
}

// CountTokens returns how many tokens exist.
func (s *Store) CountTokens(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM tokens`).Scan(&n); err != nil {
		return 0, fmt.Errorf("%s: count tokens: %w", s.d.Name, err)
	}
	return n, nil
}

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

// tokenColumns are the columns scanTokens reads, in its order.
const tokenColumns = `id, name, permissions, created_at, last_used_at, revoked_at`

// scanToken reads one row of tokenColumns.
func scanToken(sc interface{ Scan(...any) error }) (vault.Token, error) {
	var t vault.Token
	var perms string
	var created int64
	var used, revoked sql.NullInt64
	if err := sc.Scan(&t.ID, &t.Name, &perms, &created, &used, &revoked); err != nil {
		return vault.Token{}, err
	}
	if err := json.Unmarshal([]byte(perms), &t.Permissions); err != nil {
		return vault.Token{}, fmt.Errorf("token %s permissions: %w", t.ID, err)
	}
	t.CreatedAt = vault.FormatTime(fromNanos(created))
	t.LastUsedAt, t.RevokedAt = ptrTime(used), ptrTime(revoked)
	return t, nil
}

// TokenBySecretHash finds a token by the hash of its secret.
func (s *Store) TokenBySecretHash(ctx context.Context, hash string) (vault.Token, error) {
	t, err := scanToken(s.db.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE secret_hash = $1`, hash))
	if isNoRows(err) {
		return vault.Token{}, vault.ErrNotFound
	}
	if err != nil {
		return vault.Token{}, fmt.Errorf("%s: token: %w", s.d.Name, err)
	}
	return t, nil
}

// ListTokens returns one page of tokens in id order.
func (s *Store) ListTokens(ctx context.Context, p store.ListTokensParams) ([]vault.Token, string, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = 100
	}
	var a args
	q := `SELECT ` + tokenColumns + ` FROM tokens`
	if p.Cursor != "" {
		q += ` WHERE id > ` + a.add(p.Cursor)
	}
	q += ` ORDER BY id LIMIT ` + a.add(limit+1)
	rows, err := s.db.QueryContext(ctx, q, a.v...)
	if err != nil {
		return nil, "", fmt.Errorf("%s: list tokens: %w", s.d.Name, err)
	}
	defer rows.Close()
	out := []vault.Token{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, "", fmt.Errorf("%s: list tokens: %w", s.d.Name, err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("%s: list tokens: %w", s.d.Name, err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, nil
}

// RevokeToken revokes a token in the transaction that audits it.
func (s *Store) RevokeToken(ctx context.Context, p store.RevokeTokenParams) (vault.Token, error) {
	var t vault.Token
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		t, err = scanToken(tx.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE id = $1`+s.d.ForUpdate, p.ID))
		if isNoRows(err) {
			return vault.ErrNotFound
		}
		if err != nil || t.RevokedAt != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tokens SET revoked_at = $1 WHERE id = $2`, nanos(p.Now), p.ID); err != nil {
			return err
		}
		now := fromNanos(nanos(p.Now))
		t.RevokedAt = &now
		_, err = s.appendAudit(ctx, tx, store.AuditEvent{Time: p.Now, Type: "token.revoked", Actor: p.Actor, Subject: p.ID,
			Data: map[string]any{"name": t.Name, "permissions": t.Permissions}})
		return err
	})
	if err != nil {
		return vault.Token{}, fmt.Errorf("%s: revoke token %s: %w", s.d.Name, p.ID, err)
	}
	return t, nil
}

// TouchToken records a token's use, at most once per interval. It is one
// conditional UPDATE outside the writers' lock: losing a race with another
// touch only means one of two nearly equal times is kept.
func (s *Store) TouchToken(ctx context.Context, p store.TouchTokenParams) error {
	_, err := s.db.ExecContext(ctx, `UPDATE tokens SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)`,
		nanos(p.Now), p.ID, nanos(p.Now.Add(-p.Interval)))
	if err != nil {
		return fmt.Errorf("%s: touch token %s: %w", s.d.Name, p.ID, err)
	}
	return nil
}

// CountTokens returns how many tokens exist.
func (s *Store) CountTokens(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM tokens`).Scan(&n); err != nil {
		return 0, fmt.Errorf("%s: count tokens: %w", s.d.Name, err)
	}
	return n, nil
}

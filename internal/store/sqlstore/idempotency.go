package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/holdfast/holdfast/internal/store"
	"github.com/holdfast/holdfast/internal/vault"
)

// abandonedAfter is how old an in-progress reservation must be before a
// new request may take it over: longer than any upload should take, so a
// live request is never overtaken, short enough that a crashed server's
// keys become usable again.
const abandonedAfter = 30 * time.Minute

// ReserveIdempotencyKey claims a key for one request.
func (s *Store) ReserveIdempotencyKey(ctx context.Context, p store.IdempotencyKey) (*store.IdempotencyOutcome, error) {
	var out *store.IdempotencyOutcome
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var state, fp, res string
		var status int
		err := tx.QueryRowContext(ctx, `SELECT state, fingerprint, resource_id, status FROM idempotency_keys WHERE token_id = $1 AND route = $2 AND idem_key = $3`+s.d.ForUpdate,
			p.TokenID, p.Route, p.Key).Scan(&state, &fp, &res, &status)
		switch {
		case isNoRows(err):
			_, err = tx.ExecContext(ctx, `INSERT INTO idempotency_keys (token_id, route, idem_key, state, fingerprint, resource_id, status, created_at) VALUES ($1, $2, $3, 'in_progress', '', '', 0, $4)`,
				p.TokenID, p.Route, p.Key, nanos(p.Now))
			return err
		case err != nil:
			return err
		case state == "in_progress":
			var created int64
			if err := tx.QueryRowContext(ctx, `SELECT created_at FROM idempotency_keys WHERE token_id = $1 AND route = $2 AND idem_key = $3`,
				p.TokenID, p.Route, p.Key).Scan(&created); err != nil {
				return err
			}
			if p.Now.Sub(fromNanos(created)) < abandonedAfter {
				return vault.ErrIdempotencyInProgress
			}
			// The request that reserved it died long ago: take it over.
			_, err = tx.ExecContext(ctx, `UPDATE idempotency_keys SET created_at = $1 WHERE token_id = $2 AND route = $3 AND idem_key = $4`,
				nanos(p.Now), p.TokenID, p.Route, p.Key)
			return err
		}
		out = &store.IdempotencyOutcome{Fingerprint: fp, ResourceID: res, Status: status}
		return nil
	})
	if err == vault.ErrIdempotencyInProgress {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("%s: reserve idempotency key: %w", s.d.Name, err)
	}
	return out, nil
}

// ReleaseIdempotencyKey drops an in-progress reservation.
func (s *Store) ReleaseIdempotencyKey(ctx context.Context, p store.IdempotencyKey) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE token_id = $1 AND route = $2 AND idem_key = $3 AND state = 'in_progress'`, p.TokenID, p.Route, p.Key)
	if err != nil {
		return fmt.Errorf("%s: release idempotency key: %w", s.d.Name, err)
	}
	return nil
}

// ClearIdempotencyReservations drops every in-progress reservation.
func (s *Store) ClearIdempotencyReservations(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE state = 'in_progress'`); err != nil {
		return fmt.Errorf("%s: clear idempotency reservations: %w", s.d.Name, err)
	}
	return nil
}

// completeIdempotency marks a reserved key done inside tx.
func completeIdempotency(ctx context.Context, tx *sql.Tx, c *store.IdempotencyCompletion, resourceID string) error {
	if c == nil {
		return nil
	}
	_, err := tx.ExecContext(ctx, `UPDATE idempotency_keys SET state = 'completed', fingerprint = $1, resource_id = $2, status = $3 WHERE token_id = $4 AND route = $5 AND idem_key = $6`,
		c.Fingerprint, resourceID, c.Status, c.TokenID, c.Route, c.Key)
	if err != nil {
		return fmt.Errorf("complete idempotency key: %w", err)
	}
	return nil
}

package sqlstore

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/holdfast/holdfast/internal/audit"
	"github.com/holdfast/holdfast/internal/store"
	"github.com/holdfast/holdfast/internal/vault"
)

// hashReader reads stored tree hashes through a query runner (the database
// or an open transaction).
type hashReader struct {
	ctx context.Context
	q   querier
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// ReadHashes returns the stored hashes at the given indexes, in order.
func (h hashReader) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	if len(indexes) == 0 {
		return out, nil
	}
	pos := make(map[int64][]int, len(indexes))
	var a args
	ph := ""
	for i, idx := range indexes {
		if _, ok := pos[idx]; !ok {
			if ph != "" {
				ph += ", "
			}
			ph += a.add(idx)
		}
		pos[idx] = append(pos[idx], i)
	}
	rows, err := h.q.QueryContext(h.ctx, `SELECT id, hash FROM audit_hashes WHERE id IN (`+ph+`)`, a.v...)
	if err != nil {
		return nil, fmt.Errorf("read audit hashes: %w", err)
	}
	defer rows.Close()
	found := 0
	for rows.Next() {
		var id int64
		var hx string
		if err := rows.Scan(&id, &hx); err != nil {
			return nil, err
		}
		hash, err := decodeHash(hx)
		if err != nil {
			return nil, fmt.Errorf("audit hash %d: %w", id, err)
		}
		for _, i := range pos[id] {
			out[i] = hash
			found++
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if found != len(indexes) {
		return nil, fmt.Errorf("read audit hashes: %d of %d hashes missing", len(indexes)-found, len(indexes))
	}
	return out, nil
}

func decodeHash(hx string) (tlog.Hash, error) {
	var h tlog.Hash
	b, err := hex.DecodeString(hx)
	if err != nil || len(b) != len(h) {
		return h, fmt.Errorf("malformed hash %q", hx)
	}
	copy(h[:], b)
	return h, nil
}

// appendAudit appends one entry inside tx. The audit_head row serializes
// appenders: every appender updates it first, so on databases with row
// locks concurrent appends queue there rather than racing for an index.
func (s *Store) appendAudit(ctx context.Context, tx *sql.Tx, ev store.AuditEvent) (audit.Entry, error) {
	data, err := store.MarshalData(ev.Data)
	if err != nil {
		return audit.Entry{}, fmt.Errorf("audit data: %w", err)
	}
	var size int64
	if _, err := tx.ExecContext(ctx, `UPDATE audit_head SET size = size + 1 WHERE id = 1`); err != nil {
		return audit.Entry{}, fmt.Errorf("audit head: %w", err)
	}
	if err := tx.QueryRowContext(ctx, `SELECT size FROM audit_head WHERE id = 1`).Scan(&size); err != nil {
		return audit.Entry{}, fmt.Errorf("audit head: %w", err)
	}
	n := size - 1
	e := audit.Entry{Index: n, Time: ev.Time.UTC(), Type: ev.Type, Actor: ev.Actor, Subject: ev.Subject, Data: data}
	canon, err := e.Canonical()
	if err != nil {
		return audit.Entry{}, fmt.Errorf("audit entry: %w", err)
	}
	// Store the data member exactly as it was hashed.
	var c struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(canon, &c); err != nil {
		return audit.Entry{}, fmt.Errorf("audit entry: %w", err)
	}
	e.Data = c.Data
	hashes, err := audit.StoredHashes(n, audit.LeafHash(canon), hashReader{ctx, tx})
	if err != nil {
		return audit.Entry{}, fmt.Errorf("audit hashes: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_entries (idx, time, type, actor, subject, data) VALUES ($1, $2, $3, $4, $5, $6)`,
		n, nanos(e.Time), e.Type, e.Actor, e.Subject, string(e.Data)); err != nil {
		return audit.Entry{}, fmt.Errorf("audit insert: %w", err)
	}
	base := tlog.StoredHashIndex(0, n)
	for i, h := range hashes {
		if _, err := tx.ExecContext(ctx, `INSERT INTO audit_hashes (id, hash) VALUES ($1, $2)`, base+int64(i), hex.EncodeToString(h[:])); err != nil {
			return audit.Entry{}, fmt.Errorf("audit hash insert: %w", err)
		}
	}
	return e, nil
}

// AppendAudit appends an entry that belongs to no other change.
func (s *Store) AppendAudit(ctx context.Context, ev store.AuditEvent) (audit.Entry, error) {
	var e audit.Entry
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		e, err = s.appendAudit(ctx, tx, ev)
		return err
	})
	if err != nil {
		return audit.Entry{}, fmt.Errorf("%s: append audit: %w", s.d.Name, err)
	}
	return e, nil
}

// AuditSize returns the number of entries.
func (s *Store) AuditSize(ctx context.Context) (int64, error) {
	var n int64
	if err := s.db.QueryRowContext(ctx, `SELECT size FROM audit_head WHERE id = 1`).Scan(&n); err != nil {
		return 0, fmt.Errorf("%s: audit size: %w", s.d.Name, err)
	}
	return n, nil
}

// AuditEntries returns entries [start, start+limit) with their stored leaf
// hashes. Entries are read as stored; a gap left by a removed row shows as
// a missing index, which verification reports.
func (s *Store) AuditEntries(ctx context.Context, start int64, limit int) ([]store.AuditRecord, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT idx, time, type, actor, subject, data FROM audit_entries WHERE idx >= $1 ORDER BY idx LIMIT $2`, start, limit)
	if err != nil {
		return nil, fmt.Errorf("%s: audit entries: %w", s.d.Name, err)
	}
	defer rows.Close()
	var out []store.AuditRecord
	for rows.Next() {
		var e audit.Entry
		var t int64
		var data string
		if err := rows.Scan(&e.Index, &t, &e.Type, &e.Actor, &e.Subject, &data); err != nil {
			return nil, fmt.Errorf("%s: audit entries: %w", s.d.Name, err)
		}
		e.Time = fromNanos(t)
		if data != "" {
			e.Data = json.RawMessage(data)
		}
		out = append(out, store.AuditRecord{Entry: e})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: audit entries: %w", s.d.Name, err)
	}
	if len(out) == 0 {
		return out, nil
	}
	idx := make([]int64, len(out))
	for i, r := range out {
		idx[i] = tlog.StoredHashIndex(0, r.Entry.Index)
	}
	hashes, err := hashReader{ctx, s.db}.ReadHashes(idx)
	if err != nil {
		return nil, fmt.Errorf("%s: audit entries: %w", s.d.Name, err)
	}
	for i := range out {
		out[i].LeafHash = hashes[i]
	}
	return out, nil
}

// AuditHashReader reads stored tree hashes.
func (s *Store) AuditHashReader(ctx context.Context) tlog.HashReader {
	return hashReader{ctx, s.db}
}

// SaveCheckpoint stores a signed checkpoint (once per size).
func (s *Store) SaveCheckpoint(ctx context.Context, size int64, signed []byte) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_checkpoints WHERE size = $1`, size).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO audit_checkpoints (size, signed) VALUES ($1, $2)`, size, string(signed))
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: save checkpoint: %w", s.d.Name, err)
	}
	return nil
}

// LatestCheckpoint returns the largest signed checkpoint.
func (s *Store) LatestCheckpoint(ctx context.Context) (int64, []byte, error) {
	var size int64
	var signed string
	err := s.db.QueryRowContext(ctx, `SELECT size, signed FROM audit_checkpoints ORDER BY size DESC LIMIT 1`).Scan(&size, &signed)
	if isNoRows(err) {
		return 0, nil, vault.ErrNotFound
	}
	if err != nil {
		return 0, nil, fmt.Errorf("%s: latest checkpoint: %w", s.d.Name, err)
	}
	return size, []byte(signed), nil
}

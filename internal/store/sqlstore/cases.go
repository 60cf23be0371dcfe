package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/holdfast/holdfast/internal/store"
	"github.com/holdfast/holdfast/internal/vault"
)

// ListCases returns one page of cases in case_id order: every non-empty
// case_id of a hold or an export job.
func (s *Store) ListCases(ctx context.Context, p store.ListCasesParams) ([]vault.Case, string, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = 100
	}
	var a args
	q := `SELECT case_id FROM holds WHERE case_id <> '' AND case_id > ` + a.add(p.Cursor) +
		` UNION SELECT case_id FROM export_jobs WHERE case_id <> '' AND case_id > ` + a.add(p.Cursor) +
		` ORDER BY case_id LIMIT ` + a.add(limit+1)
	rows, err := s.db.QueryContext(ctx, q, a.v...)
	if err != nil {
		return nil, "", fmt.Errorf("%s: list cases: %w", s.d.Name, err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, "", fmt.Errorf("%s: list cases: %w", s.d.Name, err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("%s: list cases: %w", s.d.Name, err)
	}
	next := ""
	if len(ids) > limit {
		ids = ids[:limit]
		next = ids[limit-1]
	}
	sums, err := s.caseSummaries(ctx, s.db, ids)
	if err != nil {
		return nil, "", fmt.Errorf("%s: list cases: %w", s.d.Name, err)
	}
	out := make([]vault.Case, 0, len(ids))
	for _, id := range ids {
		out = append(out, *sums[id])
	}
	return out, next, nil
}

// caseSummaries counts the holds, held recordings and exports of each
// case, and finds its latest activity (a hold applied or released, a
// recording released, an export created or finished).
func (s *Store) caseSummaries(ctx context.Context, q querier, ids []string) (map[string]*vault.Case, error) {
	out := make(map[string]*vault.Case, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	last := map[string]int64{}
	for _, id := range ids {
		out[id] = &vault.Case{CaseID: id}
	}
	queries := []struct {
		sql  func(in string) string
		scan func(c *vault.Case, a, b int64)
	}{
		{func(in string) string {
			return `SELECT case_id, SUM(CASE WHEN released_at IS NULL THEN 1 ELSE 0 END), MAX(CASE WHEN released_at IS NULL OR applied_at > released_at THEN applied_at ELSE released_at END)
				FROM holds WHERE case_id IN ` + in + ` GROUP BY case_id`
		}, func(c *vault.Case, a, b int64) { c.ActiveHolds = int(a) }},
		{func(in string) string {
			return `SELECT h.case_id, COUNT(DISTINCT CASE WHEN hr.released_at IS NULL AND h.released_at IS NULL THEN hr.recording_id END), MAX(COALESCE(hr.released_at, 0))
				FROM hold_recordings hr JOIN holds h ON h.id = hr.hold_id WHERE h.case_id IN ` + in + ` GROUP BY h.case_id`
		}, func(c *vault.Case, a, b int64) { c.HeldRecordings = int(a) }},
		{func(in string) string {
			return `SELECT case_id, COUNT(*), MAX(CASE WHEN finished_at IS NULL OR created_at > finished_at THEN created_at ELSE finished_at END)
				FROM export_jobs WHERE case_id IN ` + in + ` GROUP BY case_id`
		}, func(c *vault.Case, a, b int64) { c.Exports = int(a) }},
	}
	for _, qq := range queries {
		var a args
		rows, err := q.QueryContext(ctx, qq.sql(a.in(ids)), a.v...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id string
			var n, at sql.NullInt64
			if err := rows.Scan(&id, &n, &at); err != nil {
				rows.Close()
				return nil, err
			}
			c, ok := out[id]
			if !ok {
				continue
			}
			qq.scan(c, n.Int64, at.Int64)
			last[id] = max(last[id], at.Int64)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	for id, c := range out {
		if last[id] > 0 {
			c.LastActivityAt = fromNanos(last[id])
		}
	}
	return out, nil
}

// caseKnown reports whether any hold or export job names the case.
func caseKnown(ctx context.Context, q interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}, caseID string) (bool, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM holds WHERE case_id = $1) + (SELECT COUNT(*) FROM export_jobs WHERE case_id = $1)`, caseID).Scan(&n)
	return n > 0, err
}

// GetCase returns a case with every hold and export job that names it,
// oldest first.
func (s *Store) GetCase(ctx context.Context, caseID string) (vault.CaseDetail, error) {
	if caseID == "" {
		return vault.CaseDetail{}, vault.ErrNotFound
	}
	sums, err := s.caseSummaries(ctx, s.db, []string{caseID})
	if err != nil {
		return vault.CaseDetail{}, fmt.Errorf("%s: get case: %w", s.d.Name, err)
	}
	d := vault.CaseDetail{Case: *sums[caseID]}
	var a args
	d.Holds, err = s.queryHolds(ctx, `WHERE case_id = `+a.add(caseID)+` ORDER BY applied_at, id`, a.v)
	if err != nil {
		return vault.CaseDetail{}, fmt.Errorf("%s: get case: %w", s.d.Name, err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id FROM export_jobs WHERE case_id = $1 ORDER BY created_at, id`, caseID)
	if err != nil {
		return vault.CaseDetail{}, fmt.Errorf("%s: get case: %w", s.d.Name, err)
	}
	var jobIDs []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return vault.CaseDetail{}, fmt.Errorf("%s: get case: %w", s.d.Name, err)
		}
		jobIDs = append(jobIDs, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return vault.CaseDetail{}, fmt.Errorf("%s: get case: %w", s.d.Name, err)
	}
	d.ExportJobs = []vault.CaseExport{}
	for _, id := range jobIDs {
		j, err := s.GetExportJob(ctx, id)
		if err != nil {
			return vault.CaseDetail{}, fmt.Errorf("%s: get case: %w", s.d.Name, err)
		}
		d.ExportJobs = append(d.ExportJobs, vault.CaseExport{ID: j.ID, State: j.State, HoldID: j.HoldID, CreatedAt: j.CreatedAt, FinishedAt: j.FinishedAt, Progress: j.Progress})
	}
	if len(d.Holds) == 0 && len(d.ExportJobs) == 0 {
		return vault.CaseDetail{}, vault.ErrNotFound
	}
	return d, nil
}

// ReleaseCase releases every active hold of the case in one transaction:
// each release is audited as hold.released, and the whole as
// case.released. Holds already released are left as they are.
func (s *Store) ReleaseCase(ctx context.Context, p store.ReleaseCaseParams) (vault.CaseRelease, error) {
	out := vault.CaseRelease{CaseID: p.CaseID, ReleasedHoldIDs: []string{}}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		known, err := caseKnown(ctx, tx, p.CaseID)
		if err != nil {
			return err
		}
		if !known || p.CaseID == "" {
			return vault.ErrNotFound
		}
		rows, err := tx.QueryContext(ctx, `SELECT id FROM holds WHERE case_id = $1 AND released_at IS NULL ORDER BY id`+s.d.ForUpdate, p.CaseID)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			out.ReleasedHoldIDs = append(out.ReleasedHoldIDs, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(out.ReleasedHoldIDs) == 0 {
			return nil
		}
		rp := store.ReleaseHoldParams{Reason: p.Reason, Actor: p.Actor, Now: p.Now}
		for _, id := range out.ReleasedHoldIDs {
			if err := s.releaseHoldTx(ctx, tx, id, p.CaseID, rp, map[string]any{"case_release": true}); err != nil {
				return err
			}
		}
		_, err = s.appendAudit(ctx, tx, store.AuditEvent{Time: p.Now, Type: "case.released", Actor: p.Actor, Subject: p.CaseID,
			Data: map[string]any{"case_id": p.CaseID, "release_reason": p.Reason, "released_hold_ids": out.ReleasedHoldIDs}})
		return err
	})
	if err == vault.ErrNotFound {
		return vault.CaseRelease{}, err
	}
	if err != nil {
		return vault.CaseRelease{}, fmt.Errorf("%s: release case: %w", s.d.Name, err)
	}
	return out, nil
}

// queryHolds returns the holds selected by where (a WHERE clause with its
// ORDER BY and LIMIT).
func (s *Store) queryHolds(ctx context.Context, where string, args []any) ([]vault.Hold, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+holdColumns+` FROM holds `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []vault.Hold{}
	for rows.Next() {
		h, err := scanHold(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

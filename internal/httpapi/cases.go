package httpapi

import (
	"net/http"

	"github.com/holdfast/holdfast/internal/store"
	"github.com/holdfast/holdfast/internal/vault"
)

// listCases handles GET /api/v2/cases: every matter with its counts.
func (s *Server) listCases(w http.ResponseWriter, r *http.Request, tok vault.Token) error {
	var probs vault.Problems
	p := store.ListCasesParams{}
	p.Limit, p.Cursor = pageParams(r, &probs)
	if err := probs.Err(); err != nil {
		return err
	}
	cases, next, err := s.cfg.Store.ListCases(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listPage[vault.Case]{Items: cases, NextCursor: encodeCursor(next)})
	return nil
}

// caseID returns the path's case id; one that breaks the case_id rule
// cannot name a case, so it is not found.
func caseID(r *http.Request) (string, error) {
	id := r.PathValue("case_id")
	if !vault.CaseIDPattern.MatchString(id) {
		return "", vault.ErrNotFound
	}
	return id, nil
}

// getCase handles GET /api/v2/cases/{case_id}: the case with its holds
// and export jobs.
func (s *Server) getCase(w http.ResponseWriter, r *http.Request, tok vault.Token) error {
	id, err := caseID(r)
	if err != nil {
		return err
	}
	d, err := s.cfg.Store.GetCase(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

// releaseCase handles POST /api/v2/cases/{case_id}/release: every active
// hold of the case is released in one transaction.
func (s *Server) releaseCase(w http.ResponseWriter, r *http.Request, tok vault.Token) error {
	id, err := caseID(r)
	if err != nil {
		return err
	}
	body, err := readJSONBody(w, r)
	if err != nil {
		return err
	}
	reason, err := vault.DecodeRelease(body)
	if err != nil {
		return err
	}
	res, err := s.cfg.Store.ReleaseCase(r.Context(), store.ReleaseCaseParams{CaseID: id, Reason: reason, Actor: tok.ID, Now: s.now()})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

package httpapi

import (
	"net/http"
	"strconv"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/holdfast/holdfast/internal/audit"
	"github.com/holdfast/holdfast/internal/vault"
)

// auditEntry is an audit entry as the API shows it, with the leaf hash
// the server recorded when the entry was appended.
type auditEntry struct {
	audit.Entry
	LeafHash string `json:"leaf_hash"`
}

// auditEntriesPage is a list page with the tree size at the time of the
// request.
type auditEntriesPage struct {
	Items      []auditEntry `json:"items"`
	NextCursor string       `json:"next_cursor"`
	TreeSize   int64        `json:"tree_size"`
}

// queryInt reads an optional non-negative integer query parameter.
func queryInt(r *http.Request, name string, def int64, p *vault.Problems) int64 {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		p.Add("query."+name, "invalid_value", "must be a non-negative integer, e.g. 0")
		return def
	}
	return n
}

// auditEntries handles GET /api/v2/audit/entries?start=&limit=&cursor=.
func (s *Server) auditEntries(w http.ResponseWriter, r *http.Request, tok vault.Token) error {
	var probs vault.Problems
	limit, cursor := pageParams(r, &probs)
	start := queryInt(r, "start", 0, &probs)
	if cursor != "" {
		n, err := strconv.ParseInt(cursor, 10, 64)
		if err != nil || n < 0 {
			probs.Add("query.cursor", "invalid_value", "must be a next_cursor value from a previous page")
		}
		start = n
	}
	if err := probs.Err(); err != nil {
		return err
	}
	size, err := s.cfg.Store.AuditSize(r.Context())
	if err != nil {
		return err
	}
	recs, err := s.cfg.Store.AuditEntries(r.Context(), start, limit)
	if err != nil {
		return err
	}
	page := auditEntriesPage{Items: make([]auditEntry, len(recs)), TreeSize: size}
	for i, rec := range recs {
		page.Items[i] = auditEntry{Entry: rec.Entry, LeafHash: audit.FormatHash(rec.LeafHash)}
	}
	if len(recs) == limit {
		page.NextCursor = encodeCursor(strconv.FormatInt(recs[len(recs)-1].Entry.Index+1, 10))
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

// auditCheckpoint signs and returns the current tree head as a C2SP
// signed note.
func (s *Server) auditCheckpoint(w http.ResponseWriter, r *http.Request, tok vault.Token) error {
	_, signed, err := s.cfg.Audit.Checkpoint(r.Context())
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(signed)
	return nil
}

// inclusionProof is the answer of GET /api/v2/audit/proof/inclusion.
type inclusionProof struct {
	Index    int64    `json:"index"`
	Size     int64    `json:"size"`
	LeafHash string   `json:"leaf_hash"`
	RootHash string   `json:"root_hash"`
	Proof    []string `json:"proof"`
}

// consistencyProof is the answer of GET /api/v2/audit/proof/consistency.
type consistencyProof struct {
	Old     int64    `json:"old"`
	New     int64    `json:"new"`
	OldRoot string   `json:"old_root"`
	NewRoot string   `json:"new_root"`
	Proof   []string `json:"proof"`
}

func formatHashes(hs []tlog.Hash) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = audit.FormatHash(h)
	}
	return out
}

func (s *Server) auditInclusion(w http.ResponseWriter, r *http.Request, tok vault.Token) error {
	var probs vault.Problems
	size, err := s.cfg.Store.AuditSize(r.Context())
	if err != nil {
		return err
	}
	if r.URL.Query().Get("index") == "" {
		probs.Add("query.index", "required", "is required, e.g. index=0")
	}
	index := queryInt(r, "index", 0, &probs)
	at := queryInt(r, "size", size, &probs)
	if probs.Empty() {
		if at > size || at < 1 {
			probs.Add("query.size", "out_of_range", "must be from 1 to the current tree size "+strconv.FormatInt(size, 10))
		} else if index >= at {
			probs.Add("query.index", "out_of_range", "must be less than size "+strconv.FormatInt(at, 10))
		}
	}
	if err := probs.Err(); err != nil {
		return err
	}
	ep, err := s.cfg.Audit.ProveEntry(r.Context(), index, at)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, inclusionProof{Index: index, Size: at, LeafHash: audit.FormatHash(ep.LeafHash), RootHash: audit.FormatHash(ep.Root), Proof: formatHashes(ep.Proof)})
	return nil
}

func (s *Server) auditConsistency(w http.ResponseWriter, r *http.Request, tok vault.Token) error {
	var probs vault.Problems
	size, err := s.cfg.Store.AuditSize(r.Context())
	if err != nil {
		return err
	}
	for _, name := range []string{"old", "new"} {
		if r.URL.Query().Get(name) == "" {
			probs.Add("query."+name, "required", "is required, e.g. "+name+"=1")
		}
	}
	oldN := queryInt(r, "old", 0, &probs)
	newN := queryInt(r, "new", 0, &probs)
	if probs.Empty() && (newN > size || oldN < 1 || oldN > newN) {
		probs.Add("query.new", "out_of_range", "need 1 <= old <= new <= current tree size "+strconv.FormatInt(size, 10))
	}
	if err := probs.Err(); err != nil {
		return err
	}
	hr := s.cfg.Store.AuditHashReader(r.Context())
	proof, err := audit.ProveConsistency(oldN, newN, hr)
	if err != nil {
		return err
	}
	oldRoot, err := audit.TreeHash(oldN, hr)
	if err != nil {
		return err
	}
	newRoot, err := audit.TreeHash(newN, hr)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, consistencyProof{Old: oldN, New: newN, OldRoot: audit.FormatHash(oldRoot), NewRoot: audit.FormatHash(newRoot), Proof: formatHashes(proof)})
	return nil
}

// signingKey serves the server's Ed25519 public key as PEM. It needs no
// token: verifying a package offline must not require an account.
func (s *Server) signingKey(w http.ResponseWriter, r *http.Request) {
	pemBytes, err := audit.MarshalPublicKeyPEM(s.cfg.Audit.Signer.PublicKey())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	w.Header().Set("X-Key-Fingerprint", audit.Fingerprint(s.cfg.Audit.Signer.PublicKey()))
	_, _ = w.Write(pemBytes)
}

// auditVerify handles POST /api/v2/audit/verify: it recomputes the whole
// log against the latest signed checkpoint (what "Verify now" in the
// console runs).
func (s *Server) auditVerify(w http.ResponseWriter, r *http.Request, tok vault.Token) error {
	v, err := s.cfg.Audit.VerifyLatest(r.Context(), s.now())
	if err != nil {
		return err
	}
	if !v.OK {
		s.log.Error("audit verification failed", "tree_size", v.TreeSize, "first_bad_index", v.FirstBadIndex, "problems", len(v.Problems), "first", v.Problems[0].String())
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

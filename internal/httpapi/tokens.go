package httpapi

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"

	"github.com/holdfast/holdfast/internal/store"
	"github.com/holdfast/holdfast/internal/vault"
)

// NewSecret returns a new token secret: "hf_" and 256 random bits.
func NewSecret() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("httpapi: crypto/rand failed: " + err.Error())
	}
	return "hf_" + base64.RawURLEncoding.EncodeToString(b[:])
}

// tokenCreated is the only response that ever shows a token's secret.
type tokenCreated struct {
	vault.Token
	Secret string `json:"token"`
}

// createToken handles POST /api/v2/tokens (admin).
func (s *Server) createToken(w http.ResponseWriter, r *http.Request, tok vault.Token) error {
	body, err := readJSONBody(w, r)
	if err != nil {
		return err
	}
	obj, err := vault.DecodeObject(body, "")
	if err != nil {
		return err
	}
	var p vault.Problems
	f := vault.NewFields(obj, "", &p)
	name, ok := f.String("name", "export-bot")
	if !ok {
		if _, present := f.Raw("name"); !present {
			f.Require("name", `"export-bot"`)
		}
	} else if name == "" || len(name) > 100 || strings.IndexFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		p.Add("name", "invalid_value", `must be 1 to 100 printable characters, e.g. "export-bot"`)
	}
	var perms []vault.Permission
	if arr, ok := f.Array("permissions", `["recording:view", "recording:export"]`); ok {
		for i, raw := range arr {
			var s string
			if err := jsonString(raw, &s); err != nil || !vault.ValidPermission(s) {
				known := make([]string, len(vault.Permissions))
				for i, p := range vault.Permissions {
					known[i] = string(p)
				}
				p.Add("permissions["+itoa(i)+"]", "invalid_enum", "must be one of "+strings.Join(known, ", ")+`, e.g. "recording:view"`)
				continue
			}
			perms = append(perms, vault.Permission(s))
		}
		if len(arr) == 0 {
			p.Add("permissions", "required", `must list at least one permission, e.g. ["recording:view"]`)
		}
	} else if _, present := f.Raw("permissions"); !present {
		f.Require("permissions", `["recording:view", "recording:export"]`)
	}
	f.RejectUnknown("name, permissions", nil)
	if err := p.Err(); err != nil {
		return err
	}
	now := s.now()
	secret := NewSecret()
	t, err := s.cfg.Store.CreateToken(r.Context(), store.CreateTokenParams{ID: vault.NewID("tok", now), Name: name, Permissions: perms, SecretHash: HashSecret(secret), Actor: tok.ID, Now: now})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, tokenCreated{Token: t, Secret: secret})
	return nil
}

// listTokens handles GET /api/v2/tokens (admin): every token, revoked ones
// included, without secrets, one page at a time.
func (s *Server) listTokens(w http.ResponseWriter, r *http.Request, tok vault.Token) error {
	var probs vault.Problems
	limit, cursor := pageParams(r, &probs)
	if err := probs.Err(); err != nil {
		return err
	}
	toks, next, err := s.cfg.Store.ListTokens(r.Context(), store.ListTokensParams{Limit: limit, Cursor: cursor})
	if err != nil {
		return err
	}
	// Listing is audited (contract §3): who looked at the tokens, and
	// which page. It is recorded before the answer, like a read of evidence.
	data := map[string]any{"count": len(toks), "request_id": requestID(r.Context())}
	if len(toks) > 0 {
		data["first_id"], data["last_id"] = toks[0].ID, toks[len(toks)-1].ID
	}
	if _, err := s.cfg.Store.AppendAudit(r.Context(), store.AuditEvent{Time: s.now(), Type: "token.listed", Actor: tok.ID, Subject: "tokens", Data: data}); err != nil {
		return fmt.Errorf("httpapi: record token.listed: %w", err)
	}
	writeJSON(w, http.StatusOK, listPage[vault.Token]{Items: toks, NextCursor: encodeCursor(next)})
	return nil
}

// revokeToken handles DELETE /api/v2/tokens/{id} (admin). The revocation
// is committed before the answer, and every request authenticates against
// the database, so the token's very next request is a 401 on every
// replica.
func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request, tok vault.Token) error {
	t, err := s.cfg.Store.RevokeToken(r.Context(), store.RevokeTokenParams{ID: r.PathValue("id"), Actor: tok.ID, Now: s.now()})
	if err != nil {
		return err
	}
	s.limMu.Lock()
	delete(s.limiters, t.ID)
	s.limMu.Unlock()
	writeJSON(w, http.StatusOK, t)
	return nil
}

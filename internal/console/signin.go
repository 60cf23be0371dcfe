package console

import (
	"errors"
	"net/http"
	"strings"

	"github.com/holdfast/holdfast/internal/httpapi"
)

// signinData is the sign-in page's data.
type signinData struct {
	Next string
	Msg  string
}

// safeNext keeps a post-sign-in redirect on this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	// Browsers drop tabs and line breaks from URLs ("/\t/evil" becomes
	// "//evil"), so no control character may pass.
	for _, r := range next {
		if r < 0x20 || r == 0x7f {
			return "/"
		}
	}
	return next
}

func (c *Console) signinForm(w http.ResponseWriter, r *http.Request) {
	if _, ok := c.cfg.Sessions.SecretHash(r); ok {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	q := r.URL.Query()
	c.render(w, http.StatusOK, "signin", &view{Title: "Sign in", Data: signinData{Next: safeNext(q.Get("next")), Msg: q.Get("msg")}})
}

// signin checks the token through the API (so a revoked or unknown token
// is refused exactly as the API refuses it) and starts a session.
func (c *Console) signin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	secret := strings.TrimSpace(r.PostFormValue("token"))
	next := safeNext(r.PostFormValue("next"))
	v := &view{Title: "Sign in", Data: signinData{Next: next}}
	if secret == "" {
		v.Err = &httpapi.Problem{Status: http.StatusBadRequest, Code: "validation_failed", Message: "Token: enter the API token you were given (it starts with hf_)"}
		c.render(w, http.StatusBadRequest, "signin", v)
		return
	}
	hash := httpapi.HashSecret(secret)
	tok, err := c.cfg.API.Authenticate(r.WithContext(httpapi.WithSession(r.Context(), hash)))
	var p *httpapi.Problem
	if errors.As(err, &p) {
		v.Err = p
		c.render(w, p.Status, "signin", v)
		return
	}
	if err != nil {
		c.renderError(w, r, v, err)
		return
	}
	if err := c.cfg.Sessions.End(r); err != nil {
		c.renderError(w, r, v, err)
		return
	}
	ck, err := c.cfg.Sessions.Create(r.Context(), hash, tok.ID, r.TLS != nil)
	if err != nil {
		c.renderError(w, r, v, err)
		return
	}
	http.SetCookie(w, ck)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// signout ends the session on the server and in the browser.
func (c *Console) signout(w http.ResponseWriter, r *http.Request) {
	if err := c.cfg.Sessions.End(r); err != nil {
		c.renderError(w, r, &view{Title: "Sign out"}, err)
		return
	}
	http.SetCookie(w, clearCookie(r.TLS != nil))
	http.Redirect(w, r, "/signin?msg="+"Signed+out.", http.StatusSeeOther)
}

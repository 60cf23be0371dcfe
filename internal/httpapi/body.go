package httpapi

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/holdfast/holdfast/internal/vault"
)

// MaxJSONBody bounds JSON request bodies.
const MaxJSONBody = 8 << 20

// readJSONBody reads a JSON request body. Nothing is read unless the body
// is declared as application/json (else 415) and its declared length is
// within MaxJSONBody (else 413 at once); the read itself is bounded too,
// for bodies of unknown length. An empty body needs no Content-Type.
func readJSONBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength != 0 {
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
			got := r.Header.Get("Content-Type")
			if got == "" {
				got = "none"
			}
			return nil, newProblem(http.StatusUnsupportedMediaType, "unsupported_media_type",
				fmt.Sprintf("this endpoint reads a JSON body: send it with Content-Type: application/json (got %s), e.g. curl --json '{…}'", got))
		}
	}
	tooLarge := newProblem(http.StatusRequestEntityTooLarge, "payload_too_large", fmt.Sprintf("the JSON body is larger than %d bytes (8 MiB)", MaxJSONBody))
	if r.ContentLength > MaxJSONBody {
		return nil, tooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxJSONBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge
		}
		return nil, &vault.MalformedError{Message: "request body could not be read: " + err.Error()}
	}
	return body, nil
}

// bodyRequest is a decoded JSON request whose permissions depend on what
// it asks for.
type bodyRequest interface {
	// Needs returns every permission the request needs.
	Needs() []vault.Permission
}

// decided builds the handler of a route whose permissions depend on its
// JSON body. The body is read once and decoded once, by decode; the
// permissions are taken from that decoded value, then a rehearsal fault
// may be injected (every such route is a hold or export request), then
// the value's validation problems are reported, and only then does act
// run, with the same value. A body decode cannot read (not JSON, a
// duplicate key) is refused before anything else, so it never reaches a
// decision. The route's guard has already checked the permissions that do
// not depend on the body, before the body was read.
func decided[T bodyRequest](s *Server, decode func(r *http.Request, body []byte) (T, error), act func(w http.ResponseWriter, r *http.Request, tok vault.Token, body []byte, req T) error) apiHandler {
	return func(w http.ResponseWriter, r *http.Request, tok vault.Token) error {
		body, err := readJSONBody(w, r)
		if err != nil {
			return err
		}
		req, err := decode(r, body)
		var invalid *vault.ValidationError
		if err != nil && !errors.As(err, &invalid) {
			return err
		}
		if missing := tok.Missing(req.Needs()...); len(missing) > 0 {
			return permissionProblem(missing)
		}
		if p := s.injectFault(); p != nil {
			return p
		}
		if err != nil {
			return err
		}
		return act(w, r, tok, body, req)
	}
}

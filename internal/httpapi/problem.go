package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/holdfast/holdfast/internal/auditlog"
	"github.com/holdfast/holdfast/internal/vault"
)

// Problem is an RFC 9457 problem document with holdfast's members. Every
// error response of the API is one of these.
type Problem struct {
	Type               string             `json:"type"`
	Title              string             `json:"title"`
	Status             int                `json:"status"`
	Code               string             `json:"code"`
	Message            string             `json:"message"`
	Errors             []vault.FieldError `json:"errors,omitempty"`
	MissingPermissions []vault.Permission `json:"missing_permissions,omitempty"`
	Holds              []problemHold      `json:"holds,omitempty"`
	RequestID          string             `json:"request_id"`

	retryAfter time.Duration
}

type problemHold struct {
	HoldID string `json:"hold_id"`
	CaseID string `json:"case_id,omitempty"`
}

func (p *Problem) Error() string { return p.Code + ": " + p.Message }

var titles = map[string]string{
	"malformed_json":             "Malformed JSON",
	"validation_failed":          "Request validation failed",
	"unauthenticated":            "Authentication required",
	"permission_denied":          "Permission denied",
	"not_found":                  "Not found",
	"method_not_allowed":         "Method not allowed",
	"legal_hold_active":          "Recording is under legal hold",
	"recording_locked":           "Recording is locked",
	"idempotency_in_progress":    "Request with this Idempotency-Key is in progress",
	"payload_too_large":          "Payload too large",
	"unsupported_media_type":     "Unsupported media type",
	"idempotency_key_reused":     "Idempotency-Key reused with a different request",
	"rate_limited":               "Too many requests",
	"unavailable":                "Service unavailable",
	"range_not_satisfiable":      "Range not satisfiable",
	"headers_too_large":          "Request headers too large",
	"malformed_request":          "Malformed HTTP request",
	"request_timeout":            "Request body too slow",
	"not_implemented":            "Not implemented",
	"http_version_not_supported": "HTTP version not supported",
	"internal_error":             "Internal error",
	"audit_log_inconsistent":     "Audit log inconsistent",
}

// newProblem builds a problem; retryAfter > 0 adds Retry-After headers.
func newProblem(status int, code, message string) *Problem {
	return &Problem{Type: "urn:holdfast:problem:" + code, Title: titles[code], Status: status, Code: code, Message: message}
}

func (p *Problem) withRetryAfter(d time.Duration) *Problem {
	p.retryAfter = d
	return p
}

// retryAfterSeconds rounds a delay up to whole seconds, at least 1.
func retryAfterSeconds(d time.Duration) int {
	s := int((d + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return s
}

// writeProblem sends p. Retry-After and X-Retry-After carry the same
// delay-seconds value.
func writeProblem(w http.ResponseWriter, r *http.Request, p *Problem) {
	p.RequestID = requestID(r.Context())
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	if p.retryAfter > 0 {
		v := strconv.Itoa(retryAfterSeconds(p.retryAfter))
		w.Header().Set("Retry-After", v)
		w.Header().Set("X-Retry-After", v)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	if p.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="holdfast"`)
	}
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// problemFor translates an error from the domain, store or blob layers
// into a problem. Errors it does not recognise are failures of a
// dependency: they become 503 with Retry-After, and are logged by the
// caller.
func problemFor(err error) (*Problem, bool) {
	var p *Problem
	var ve *vault.ValidationError
	var me *vault.MalformedError
	var he *vault.LegalHoldActiveError
	switch {
	case errors.As(err, &p):
		return p, true
	case errors.As(err, &ve):
		msg := "request validation failed"
		if len(ve.Errors) > 0 {
			msg = ve.Errors[0].Field + ": " + ve.Errors[0].Message
			if len(ve.Errors) > 1 {
				msg += " (and " + strconv.Itoa(len(ve.Errors)-1) + " more; see errors)"
			}
		}
		p := newProblem(http.StatusBadRequest, "validation_failed", msg)
		p.Errors = ve.Errors
		return p, true
	case errors.As(err, &me):
		p := newProblem(http.StatusBadRequest, "malformed_json", me.Message)
		if me.Field != "" {
			p.Errors = []vault.FieldError{{Field: me.Field, Code: me.Code, Message: me.Message}}
		}
		return p, true
	case errors.As(err, &he):
		p := newProblem(http.StatusConflict, "legal_hold_active", he.Error()+"; release the hold(s) before deleting")
		for _, h := range he.Holds {
			p.Holds = append(p.Holds, problemHold{HoldID: h.HoldID, CaseID: h.CaseID})
		}
		return p, true
	case errors.Is(err, vault.ErrNotFound):
		return newProblem(http.StatusNotFound, "not_found", "no such resource"), true
	case errors.Is(err, vault.ErrIdempotencyInProgress):
		return newProblem(http.StatusConflict, "idempotency_in_progress", "a request with this Idempotency-Key is still being processed; retry after the delay in Retry-After").withRetryAfter(2 * time.Second), true
	case errors.Is(err, auditlog.ErrInconsistent):
		// Permanent until an operator acts: never a retryable 503.
		return newProblem(http.StatusInternalServerError, "audit_log_inconsistent", "the audit log contradicts its last signed checkpoint, so the server will not sign a new one; this lasts until an operator investigates (see /readyz)"), false
	case errors.Is(err, vault.ErrIdempotencyKeyReused):
		return newProblem(http.StatusUnprocessableEntity, "idempotency_key_reused", "this Idempotency-Key was already used with a different request; use a new key for a new request"), true
	}
	return newProblem(http.StatusServiceUnavailable, "unavailable", "a dependency of the server failed; retry after the delay in Retry-After").withRetryAfter(5 * time.Second), false
}

// writeJSON sends v with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

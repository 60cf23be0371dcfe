package client

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// FieldError is one broken field of a rejected request.
type FieldError struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// ProblemHold names a hold that blocked a delete.
type ProblemHold struct {
	HoldID string `json:"hold_id"`
	CaseID string `json:"case_id,omitempty"`
}

// Error is a problem+json answer from the server (RFC 9457), or a non-2xx
// answer without one. Use errors.As to reach it.
type Error struct {
	Status             int           `json:"status"`
	Type               string        `json:"type"`
	Title              string        `json:"title"`
	Code               string        `json:"code"`
	Message            string        `json:"message"`
	Errors             []FieldError  `json:"errors"`
	MissingPermissions []string      `json:"missing_permissions"`
	Holds              []ProblemHold `json:"holds"`
	RequestID          string        `json:"request_id"`
	// RetryAfter is the server's Retry-After (or X-Retry-After), if any.
	RetryAfter time.Duration `json:"-"`
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "server answered %d %s: %s", e.Status, e.Code, e.Message)
	if len(e.Errors) > 1 {
		b.WriteString(" [")
		for i, f := range e.Errors {
			if i > 0 {
				b.WriteString("; ")
			}
			b.WriteString(f.Field + ": " + f.Message)
		}
		b.WriteString("]")
	}
	if e.RequestID != "" {
		b.WriteString(" (request " + e.RequestID + ")")
	}
	return b.String()
}

// parseRetryAfter reads Retry-After, falling back to X-Retry-After; both
// may be delay-seconds or an HTTP-date.
func parseRetryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	for _, name := range []string{"Retry-After", "X-Retry-After"} {
		v := strings.TrimSpace(h.Get(name))
		if v == "" {
			continue
		}
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
			return time.Duration(n) * time.Second, true
		}
		if t, err := http.ParseTime(v); err == nil {
			d := t.Sub(now)
			if d < 0 {
				d = 0
			}
			return d, true
		}
	}
	return 0, false
}

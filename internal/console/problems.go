package console

import (
	"errors"
	"net/http"

	"github.com/holdfast/holdfast/internal/httpapi"
	"github.com/holdfast/holdfast/internal/vault"
)

func asProblem(err error) (*httpapi.Problem, bool) {
	var p *httpapi.Problem
	if errors.As(err, &p) {
		return p, true
	}
	return nil, false
}

// permissionProblem is what the console shows before asking the API for a
// page the token may not read; the API would answer the same.
func permissionProblem(perm string) *httpapi.Problem {
	return &httpapi.Problem{Status: http.StatusForbidden, Code: "permission_denied", Title: "Permission denied",
		Message:            "this token lacks the permission(s) " + perm + "; ask an administrator for a token that has them",
		MissingPermissions: []vault.Permission{vault.Permission(perm)}}
}

func validationProblem(field, msg string) *httpapi.Problem {
	return &httpapi.Problem{Status: http.StatusBadRequest, Code: "validation_failed", Title: "Request validation failed",
		Message: field + ": " + msg, Errors: []vault.FieldError{{Field: field, Code: "invalid_value", Message: msg}}}
}

package vault

import "time"

// Permission is a capability a token carries.
type Permission string

// The permissions of the contract (§3).
const (
	PermRecordingView    Permission = "recording:view"
	PermRecordingIngest  Permission = "recording:ingest"
	PermRecordingDelete  Permission = "recording:delete"
	PermRecordingExport  Permission = "recording:export"
	PermExportLegalHold  Permission = "recording:export:legalhold"
	PermLegalHoldRelease Permission = "legalhold:release"
	PermAuditView        Permission = "audit:view"
	PermAdmin            Permission = "admin"
)

// Permissions lists every permission, in the contract's order.
var Permissions = []Permission{
	PermRecordingView, PermRecordingIngest, PermRecordingDelete, PermRecordingExport,
	PermExportLegalHold, PermLegalHoldRelease, PermAuditView, PermAdmin,
}

// ValidPermission reports whether s names a permission.
func ValidPermission(s string) bool {
	for _, p := range Permissions {
		if string(p) == s {
			return true
		}
	}
	return false
}

// Token is an API token as stored: only the hash of its secret is kept.
// A revoked token is kept (so the audit log's actors stay resolvable) but
// never authenticates again.
type Token struct {
	ID          string       `json:"id"`
	Name        string       `json:"name"`
	Permissions []Permission `json:"permissions"`
	CreatedAt   string       `json:"created_at,omitempty"`
	// LastUsedAt is when the token last authenticated a request, to within
	// the store's touch interval (about a minute); nil if never.
	LastUsedAt *time.Time `json:"last_used_at"`
	// RevokedAt is when the token was revoked; nil while it is valid.
	RevokedAt *time.Time `json:"revoked_at"`
}

// Missing returns the permissions of need that the token lacks. A token
// with admin lacks nothing.
func (t Token) Missing(need ...Permission) []Permission {
	for _, p := range t.Permissions {
		if p == PermAdmin {
			return nil
		}
	}
	var out []Permission
	for _, n := range need {
		has := false
		for _, p := range t.Permissions {
			if p == n {
				has = true
				break
			}
		}
		if !has {
			out = append(out, n)
		}
	}
	return out
}

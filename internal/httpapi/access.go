package httpapi

import (
	"fmt"
	"net/http"

	"github.com/holdfast/holdfast/internal/store"
	"github.com/holdfast/holdfast/internal/vault"
)

// Audit entry types of reads of evidence (contract §9).
const (
	auditMediaRead             = "recording.media_read"
	auditPackageDownloaded     = "export.package_downloaded"
	auditPackageFileDownloaded = "export.package_file_downloaded"
)

// maxAuditedRange bounds how much of a Range header an audit entry keeps,
// so a hostile header cannot bloat the log.
const maxAuditedRange = 200

// recordAccess appends the audit entry of one read of evidence, before a
// byte of it is sent: a read that cannot be recorded is not served (503).
// It is one entry per request, however many bytes or ranges it reads.
// HEAD sends no content and is not recorded.
func (s *Server) recordAccess(r *http.Request, tok vault.Token, typ, subject string, data map[string]any) error {
	if r.Method == http.MethodHead {
		return nil
	}
	if data == nil {
		data = map[string]any{}
	}
	if rg := r.Header.Get("Range"); rg != "" {
		if len(rg) > maxAuditedRange {
			rg = rg[:maxAuditedRange] + "…"
		}
		data["range"] = rg
	}
	data["request_id"] = requestID(r.Context())
	if _, err := s.cfg.Store.AppendAudit(r.Context(), store.AuditEvent{Time: s.now(), Type: typ, Actor: tok.ID, Subject: subject, Data: data}); err != nil {
		return fmt.Errorf("httpapi: record %s of %s: %w", typ, subject, err)
	}
	return nil
}

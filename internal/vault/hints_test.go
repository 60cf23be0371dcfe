package vault

import (
	"errors"
	"strings"
	"testing"
)

// TestExportHints checks that other platforms' field names are refused
// with the holdfast field to use instead.
func TestExportHints(t *testing.T) {
	tests := []struct {
		name, body, field string
		says              []string
	}{
		{"the user's request", `{"filter":{"media_type":"SIP","date_range":{"start":"2026-11-24T00:00:00Z","end":"2026-11-26T00:00:00Z"}},"metadata":{"legal_hold":true,"case_id":"LC-2024-001"}}`,
			"filter.date_range", []string{"use filter.from and filter.to"}},
		{"interval", `{"filter":{"interval":"2026-11-24T00:00:00Z/2026-11-26T00:00:00Z"}}`, "filter.interval", []string{"filter.from", "filter.to"}},
		{"mediaType in filter", `{"filter":{"mediaType":"SIP"}}`, "filter.mediaType", []string{"use filter.media_type"}},
		{"recordingIds in filter", `{"filter":{"recordingIds":["rec_1"]}}`, "filter.recordingIds", []string{"use filter.record_ids"}},
		{"caseId in filter", `{"filter":{"caseId":"LC-1"}}`, "filter.caseId", []string{"use filter.case_id"}},
		{"legalHold in metadata", `{"filter":{"media_type":"SIP"},"metadata":{"legalHold":true}}`, "metadata.legalHold", []string{"use metadata.legal_hold"}},
		{"caseId in metadata", `{"filter":{"media_type":"SIP"},"metadata":{"caseId":"LC-1"}}`, "metadata.caseId", []string{"use metadata.case_id"}},
		{"legalHold at the top", `{"filter":{"media_type":"SIP"},"legalHold":true}`, "legalHold", []string{"metadata.legal_hold"}},
		{"date_range at the top", `{"media_type":"SIP","date_range":{}}`, "date_range", []string{"use filter.from and filter.to"}},
		{"mediaType at the top", `{"mediaType":"SIP"}`, "mediaType", []string{"filter.media_type"}},
		{"recordingIds at the top", `{"recordingIds":["rec_1"]}`, "recordingIds", []string{"filter.record_ids"}},
		{"caseId at the top", `{"caseId":"LC-1"}`, "caseId", []string{"metadata.case_id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeExportRequest([]byte(tt.body), nil)
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error = %v, want a validation error", err)
			}
			for _, fe := range ve.Errors {
				if fe.Field != tt.field {
					continue
				}
				for _, s := range tt.says {
					if !strings.Contains(fe.Message, s) {
						t.Errorf("%s: message %q does not say %q", fe.Field, fe.Message, s)
					}
				}
				return
			}
			t.Errorf("no error for %s in %+v", tt.field, ve.Errors)
		})
	}
}

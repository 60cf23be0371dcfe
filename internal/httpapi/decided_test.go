package httpapi

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/holdfast/holdfast/internal/strictjson/strictjsontest"
	"github.com/holdfast/holdfast/internal/vault"
)

// bodyPermissionCases are the bodies of issue 8 and their relatives.
var bodyPermissionCases = []string{
	`{"recordings":5,"recordings":[{"id":"rec_01JD0000000000000000000000","metadata":{"legal_hold":false,"release_reason":"x","case_id":"REL-2"}}]}`,
	`{"filter":{"record_ids":["rec_01JD0000000000000000000000"]},"metadata":5,"metadata":{"legal_hold":true,"case_id":"ESC-1"}}`,
	`{"recordings":[{"id":"rec_1","metadata":{"legal_hold":false,"case_id":"C","release_reason":"x"}}]}`,
	`{"recordings":[{"id":"rec_1","metadata":{"legal_hold":true,"hold_reason":"r"}},{"id":"rec_2","metadata":{"legal_hold":false,"case_id":"C","release_reason":"x"}}]}`,
	`{"filter":{"media_type":"SIP"},"metadata":{"legal_hold":true,"case_id":"LC-1"}}`,
	`{"record_ids":["rec_1"],"legal_hold":true}`,
	`{"recordings":[{"id":"rec_1","metadata":{"legal_hold":true,"l\u0065gal_hold":false,"case_id":"C","release_reason":"x","hold_reason":"r"}}]}`,
	`{"recordings":[{"id":"rec_1","metadata":null}]}`,
	`{"recordings":[{"id":"rec_1","metadata":{"legal_hold":null,"hold_reason":"r"}}]}`,
	`{"recordings":[{"id":"rec_1","metadata":{"legal_hold":false,"case_id":null,"release_reason":null}}]}`,
}

// tokenFromMask gives a token the permissions whose bits are set.
func tokenFromMask(mask uint8, perms ...vault.Permission) vault.Token {
	tok := vault.Token{ID: "tok_fuzz"}
	for i, p := range perms {
		if mask&(1<<i) != 0 {
			tok.Permissions = append(tok.Permissions, p)
		}
	}
	return tok
}

// runDecided sends body through a decided handler and reports whether
// the action ran and the error the handler returned.
func runDecided[T bodyRequest](t *testing.T, decode func(*http.Request, []byte) (T, error), body []byte, tok vault.Token) (bool, error) {
	t.Helper()
	s := &Server{}
	acted := false
	h := decided(s, decode, func(w http.ResponseWriter, r *http.Request, tok vault.Token, b []byte, req T) error {
		acted = true
		if !bytes.Equal(b, body) {
			t.Fatalf("the action got another body")
		}
		return nil
	})
	r := httptest.NewRequest("POST", "/", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return acted, h(httptest.NewRecorder(), r, tok)
}

// FuzzDecidedPermissions drives the real decision of both routes whose
// permissions depend on the body (decided with each route's decoder) with
// arbitrary bodies and tokens. Bit 3 of mask picks the route (set: POST
// /api/v2/bulk/recordingexports, clear: POST
// /api/v2/recordings/legalholds); bits 0-2 give the token
// recording:export, recording:export:legalhold and legalhold:release.
// Whenever the action runs, the body decodes, both independent readings of
// it agree, and the token holds what they say it needs: for a hold
// request, recording:export:legalhold for every entry that places a hold
// and legalhold:release for every entry that releases one; for an export,
// recording:export, and recording:export:legalhold if legal_hold is true
// (canonical or top-level). A 403 names only permissions the token lacks.
// One target for both routes halves the fuzzing budget CI spends here.
func FuzzDecidedPermissions(f *testing.F) {
	for _, b := range bodyPermissionCases {
		for mask := uint8(0); mask < 16; mask++ {
			f.Add([]byte(b), mask)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, mask uint8) {
		tok := tokenFromMask(mask, vault.PermRecordingExport, vault.PermExportLegalHold, vault.PermLegalHoldRelease)
		if mask&8 != 0 {
			checkExportDecision(t, body, tok)
		} else {
			checkHoldDecision(t, body, tok)
		}
	})
}

func checkHoldDecision(t *testing.T, body []byte, tok vault.Token) {
	acted, err := runDecided(t, decodeRecordingHolds, body, tok)
	checkDenial(t, err, tok)
	if !acted {
		return
	}
	if _, derr := vault.DecodeRecordingHolds(body); derr != nil {
		t.Fatalf("acted on %q, which does not decode: %v", body, derr)
	}
	last, first, rerr := strictjsontest.Readings(body)
	if rerr != nil {
		t.Fatalf("acted on %q, which a reader refuses: %v", body, rerr)
	}
	for _, reading := range []any{last, first} {
		items, _ := strictjsontest.Get(reading, "recordings")
		arr, _ := items.([]any)
		for i := range arr {
			lh, _ := strictjsontest.Get(reading, "recordings", i, "metadata", "legal_hold")
			switch {
			case lh == true && tok.Missing(vault.PermExportLegalHold) != nil:
				t.Fatalf("acted on %q: entry %d places a hold, token %v", body, i, tok.Permissions)
			case lh == false && tok.Missing(vault.PermLegalHoldRelease) != nil:
				t.Fatalf("acted on %q: entry %d releases a hold, token %v", body, i, tok.Permissions)
			case lh != true && lh != false:
				t.Fatalf("acted on %q: entry %d has legal_hold %v", body, i, lh)
			}
		}
	}
}

func checkExportDecision(t *testing.T, body []byte, tok vault.Token) {
	acted, err := runDecided(t, decodeExportRequest, body, tok)
	checkDenial(t, err, tok)
	if !acted {
		return
	}
	if _, derr := vault.DecodeExportRequest(body, nil); derr != nil {
		t.Fatalf("acted on %q, which does not decode: %v", body, derr)
	}
	if tok.Missing(vault.PermRecordingExport) != nil {
		t.Fatalf("acted on %q for a token without recording:export", body)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return // an empty body is {}: it asks for no hold
	}
	last, first, rerr := strictjsontest.Readings(body)
	if rerr != nil {
		t.Fatalf("acted on %q, which a reader refuses: %v", body, rerr)
	}
	for _, reading := range []any{last, first} {
		top, _ := strictjsontest.Get(reading, "legal_hold")
		canon, _ := strictjsontest.Get(reading, "metadata", "legal_hold")
		if (top == true || canon == true) && tok.Missing(vault.PermExportLegalHold) != nil {
			t.Fatalf("acted on %q, which places a hold, for token %v", body, tok.Permissions)
		}
	}
}

// checkDenial checks that a 403 names only permissions the token lacks.
func checkDenial(t *testing.T, err error, tok vault.Token) {
	t.Helper()
	var p *Problem
	if !errors.As(err, &p) || p.Status != http.StatusForbidden {
		return
	}
	if len(p.MissingPermissions) == 0 {
		t.Fatalf("403 without missing_permissions")
	}
	for _, m := range p.MissingPermissions {
		if slices.Contains(tok.Permissions, m) {
			t.Fatalf("403 names %s, which the token has", m)
		}
	}
}

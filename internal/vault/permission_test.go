package vault

import (
	"errors"
	"slices"
	"testing"

	"github.com/holdfast/holdfast/internal/strictjson/strictjsontest"
)

// The two bodies of issue 8, and variants of them.
var attackBodies = []string{
	`{"recordings":5,"recordings":[{"id":"rec_01JD0000000000000000000000","metadata":{"legal_hold":false,"release_reason":"x","case_id":"REL-2"}}]}`,
	`{"filter":{"record_ids":["rec_01JD0000000000000000000000"]},"metadata":5,"metadata":{"legal_hold":true,"case_id":"ESC-1"}}`,
	`{"recordings":[{"id":"rec_1","metadata":{"legal_hold":true,"legal_hold":false,"case_id":"C","release_reason":"x","hold_reason":"r"}}]}`,
	`{"recordings":[{"id":"rec_1","metadata":{"legal_hold":true,"l\u0065gal_hold":false,"case_id":"C","release_reason":"x","hold_reason":"r"}}]}`,
	`{"recordings":[{"id":"rec_1","metadata":{"legal_hold":false,"case_id":"C","release_reason":"x"},"metadata":{"legal_hold":true,"hold_reason":"r"}}]}`,
	`{"legal_hold":true,"metadata":{"legal_hold":false},"filter":{"media_type":"SIP"}}`,
	`{"legal_hold":false,"legal_hold":true,"filter":{"media_type":"SIP"}}`,
	`{"filter":{"media_type":"SIP"},"metadata":{"legal_hold":true,"case_id":"\ud800"}}`,
}

// holdActions returns what each reading's entries ask for: 'a' apply,
// 'r' release, '-' neither.
func holdActions(reading any) []byte {
	items, _ := strictjsontest.Get(reading, "recordings")
	arr, _ := items.([]any)
	out := make([]byte, len(arr))
	for i := range arr {
		v, _ := strictjsontest.Get(reading, "recordings", i, "metadata", "legal_hold")
		switch v {
		case true:
			out[i] = 'a'
		case false:
			out[i] = 'r'
		default:
			out[i] = '-'
		}
	}
	return out
}

// FuzzHoldPermissions checks that the permissions a per-recording hold
// request is judged to need agree with what it asks for: for any body the
// decoder accepts, both independent readings of it ask for exactly the
// decoded entries' actions, and every hold needs recording:export:legalhold
// and every release legalhold:release. A body the decoder cannot read
// yields nothing to act on.
func FuzzHoldPermissions(f *testing.F) {
	for _, b := range attackBodies {
		f.Add([]byte(b))
	}
	f.Add([]byte(`{"recordings":[{"id":"rec_1","metadata":{"legal_hold":false,"case_id":"C","release_reason":"x"}},{"id":"rec_2","metadata":{"legal_hold":true,"hold_reason":"r"}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := DecodeRecordingHolds(data)
		var me *MalformedError
		var ve *ValidationError
		switch {
		case errors.As(err, &me):
			if len(req.Items) != 0 || len(req.Needs()) != 0 {
				t.Fatalf("malformed body %q still decoded to %+v", data, req)
			}
			return
		case err != nil && !errors.As(err, &ve):
			t.Fatalf("error of type %T: %v", err, err)
		}
		need := req.Needs()
		for _, it := range req.Items {
			if it.Action == HoldApply && !slices.Contains(need, PermExportLegalHold) || it.Action == HoldRelease && !slices.Contains(need, PermLegalHoldRelease) {
				t.Fatalf("entry %+v of %q, needs %v", it, data, need)
			}
		}
		if err != nil {
			return // never acted on
		}
		last, first, rerr := strictjsontest.Readings(data)
		if rerr != nil {
			t.Fatalf("accepted %q, which a reader refuses: %v", data, rerr)
		}
		decoded := make([]byte, len(req.Items))
		for i, it := range req.Items {
			decoded[i] = map[HoldAction]byte{HoldApply: 'a', HoldRelease: 'r', HoldUndecided: '-'}[it.Action]
		}
		for _, reading := range []any{last, first} {
			acts := holdActions(reading)
			if string(acts) != string(decoded) {
				t.Fatalf("accepted %q as %s, but a reader sees %s", data, decoded, acts)
			}
			if slices.Contains(acts, 'a') != slices.Contains(need, PermExportLegalHold) || slices.Contains(acts, 'r') != slices.Contains(need, PermLegalHoldRelease) {
				t.Fatalf("accepted %q asking %s, but it needs %v", data, acts, need)
			}
		}
	})
}

// FuzzExportPermissions does the same for export requests: an accepted
// body needs recording:export:legalhold exactly when either reading of it
// sets legal_hold true (canonical or top-level), and the decoded request
// places a hold exactly then.
func FuzzExportPermissions(f *testing.F) {
	for _, b := range attackBodies {
		f.Add([]byte(b))
	}
	f.Add([]byte(`{"filter":{"media_type":"SIP"},"metadata":{"legal_hold":true,"case_id":"LC-1"}}`))
	f.Add([]byte(`{"record_ids":["rec_1"],"legal_hold":true,"case_id":"LC-1"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := DecodeExportRequest(data, nil)
		need := req.Needs()
		if !slices.Contains(need, PermRecordingExport) {
			t.Fatalf("%q needs %v, without recording:export", data, need)
		}
		if req.Metadata.LegalHold != slices.Contains(need, PermExportLegalHold) {
			t.Fatalf("%q: legal_hold %v but needs %v", data, req.Metadata.LegalHold, need)
		}
		var me *MalformedError
		var ve *ValidationError
		switch {
		case errors.As(err, &me):
			if req.Metadata.LegalHold {
				t.Fatalf("malformed body %q still decoded to a hold", data)
			}
			return
		case err != nil && !errors.As(err, &ve):
			t.Fatalf("error of type %T: %v", err, err)
		case err != nil:
			return // never acted on
		}
		body := data
		if len(body) == 0 || len(slices.DeleteFunc(slices.Clone(body), func(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' })) == 0 {
			body = []byte("{}")
		}
		last, first, rerr := strictjsontest.Readings(body)
		if rerr != nil {
			t.Fatalf("accepted %q, which a reader refuses: %v", data, rerr)
		}
		for _, reading := range []any{last, first} {
			top, _ := strictjsontest.Get(reading, "legal_hold")
			canon, _ := strictjsontest.Get(reading, "metadata", "legal_hold")
			if asks := top == true || canon == true; asks != req.Metadata.LegalHold {
				t.Fatalf("accepted %q with legal_hold %v, but a reader sees legal_hold %v/%v", data, req.Metadata.LegalHold, top, canon)
			}
		}
	})
}

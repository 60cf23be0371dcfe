package vault

import (
	"errors"
	"strings"
	"testing"
)

func validationFields(t *testing.T, err error) []string {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v, want *ValidationError", err)
	}
	return fieldsOf(ve.Errors)
}

func TestDecodeRecordingHolds(t *testing.T) {
	t.Parallel()
	const ok = `{"recordings":[{"id":"rec_1","metadata":{"legal_hold":true,"hold_reason":"Discovery Request #12345","hold_date":"2023-11-01T00:00:00.000Z","case_id":"LC-2024-001"}}]}`
	req, err := DecodeRecordingHolds([]byte(ok))
	items := req.Items
	if err != nil || len(items) != 1 || items[0].Action != HoldApply || items[0].Spec.CaseID != "LC-2024-001" || items[0].Spec.HoldDate.Year() != 2023 {
		t.Fatalf("contract payload: %+v %v", items, err)
	}
	tests := []struct {
		name, body string
		want       []string
		msgPart    string
	}{
		{"hold_date date only", `{"recordings":[{"id":"r","metadata":{"legal_hold":true,"hold_reason":"x","hold_date":"2023-11-01"}}]}`,
			[]string{"recordings[0].metadata.hold_date/invalid_timestamp"}, "2023-11-01T00:00:00.000Z"},
		{"hold_date with space", `{"recordings":[{"id":"r","metadata":{"legal_hold":true,"hold_reason":"x","hold_date":"2023-11-01 00:00:00"}}]}`,
			[]string{"recordings[0].metadata.hold_date/invalid_timestamp"}, "2023-11-01T00:00:00.000Z"},
		{"hold_date no zone", `{"recordings":[{"id":"r","metadata":{"legal_hold":true,"hold_reason":"x","hold_date":"2023-11-01T00:00:00"}}]}`,
			[]string{"recordings[0].metadata.hold_date/invalid_timestamp"}, "time zone"},
		{"legal_hold as string", `{"recordings":[{"id":"r","metadata":{"legal_hold":"true","hold_reason":"x"}}]}`,
			[]string{"recordings[0].metadata.legal_hold/invalid_type"}, "JSON boolean"},
		{"bad case id", `{"recordings":[{"id":"r","metadata":{"legal_hold":true,"hold_reason":"x","case_id":"-bad case"}}]}`,
			[]string{"recordings[0].metadata.case_id/invalid_pattern"}, "LC-2024-001"},
		{"empty reason", `{"recordings":[{"id":"r","metadata":{"legal_hold":true,"hold_reason":""}}]}`,
			[]string{"recordings[0].metadata.hold_reason/invalid_length"}, "1 to 500"},
		{"long reason", `{"recordings":[{"id":"r","metadata":{"legal_hold":true,"hold_reason":"` + strings.Repeat("x", 501) + `"}}]}`,
			[]string{"recordings[0].metadata.hold_reason/invalid_length"}, "1 to 500"},
		{"missing reason", `{"recordings":[{"id":"r","metadata":{"legal_hold":true}}]}`,
			[]string{"recordings[0].metadata.hold_reason/required"}, ""},
		{"release needs case and reason", `{"recordings":[{"id":"r","metadata":{"legal_hold":false}}]}`,
			[]string{"recordings[0].metadata.case_id/required", "recordings[0].metadata.release_reason/required"}, ""},
		{"legal_hold at top level", `{"legal_hold":true,"recordings":[{"id":"r","metadata":{"legal_hold":true,"hold_reason":"x"}}]}`,
			[]string{"legal_hold/unknown_field"}, "recordings[i].metadata.legal_hold"},
		{"several items, all errors", `{"recordings":[{"metadata":{"legal_hold":true,"hold_reason":"x"}},{"id":"r","metadata":{"hold_reason":"x"}}]}`,
			[]string{"recordings[0].id/required", "recordings[1].metadata.legal_hold/required"}, ""},
		{"empty list", `{"recordings":[]}`, []string{"recordings/required"}, ""},
		// JSON null is absence: a required member given as null is
		// required, never silently skipped (a null metadata once made an
		// undecided entry that was applied as a hold with no permission).
		{"null list", `{"recordings":null}`, []string{"recordings/required"}, ""},
		{"null id", `{"recordings":[{"id":null,"metadata":{"legal_hold":true,"hold_reason":"x"}}]}`, []string{"recordings[0].id/required"}, ""},
		{"null metadata", `{"recordings":[{"id":"r","metadata":null}]}`, []string{"recordings[0].metadata/required"}, ""},
		{"null legal_hold", `{"recordings":[{"id":"r","metadata":{"legal_hold":null,"hold_reason":"x"}}]}`, []string{"recordings[0].metadata.legal_hold/required"}, ""},
		{"null hold_reason", `{"recordings":[{"id":"r","metadata":{"legal_hold":true,"hold_reason":null}}]}`, []string{"recordings[0].metadata.hold_reason/required"}, ""},
		{"null release fields", `{"recordings":[{"id":"r","metadata":{"legal_hold":false,"case_id":null,"release_reason":null}}]}`,
			[]string{"recordings[0].metadata.case_id/required", "recordings[0].metadata.release_reason/required"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := DecodeRecordingHolds([]byte(tt.body))
			got := validationFields(t, err)
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("fields\n got %v\nwant %v", got, tt.want)
			}
			if tt.msgPart != "" && !strings.Contains(err.(*ValidationError).Errors[0].Message, tt.msgPart) {
				t.Fatalf("message %q lacks %q", err.(*ValidationError).Errors[0].Message, tt.msgPart)
			}
		})
	}
}

func TestDecodeHold(t *testing.T) {
	t.Parallel()
	in, err := DecodeHold([]byte(`{"case_id":"LC-2024-001","hold_reason":"r","hold_date":"2023-11-01T00:00:00.000Z","filter":{"media_type":"SIP","from":"2026-11-24T06:00:00Z","to":"2026-11-26T06:00:00Z","record_ids":["a","a","b"]},"include_future":true}`))
	if err != nil || !in.IncludeFuture || in.Filter.MediaType != "SIP" || len(in.Filter.RecordIDs) != 2 {
		t.Fatalf("contract payload: %+v %v", in, err)
	}
	tests := []struct {
		name, body string
		want       []string
	}{
		{"no filter", `{"hold_reason":"r"}`, []string{"filter/required"}},
		{"null filter", `{"hold_reason":"r","filter":null}`, []string{"filter/required"}},
		{"null reason", `{"hold_reason":null,"filter":{"media_type":"SIP"}}`, []string{"hold_reason/required"}},
		{"empty filter", `{"hold_reason":"r","filter":{}}`, []string{"filter/required"}},
		{"to before from", `{"hold_reason":"r","filter":{"from":"2026-11-26T00:00:00Z","to":"2026-11-25T00:00:00Z"}}`, []string{"filter.to/out_of_order"}},
		{"include_future string", `{"hold_reason":"r","filter":{"media_type":"SIP"},"include_future":"yes"}`, []string{"include_future/invalid_type"}},
		{"legal_hold not needed", `{"hold_reason":"r","filter":{"media_type":"SIP"},"legal_hold":true}`, []string{"legal_hold/unknown_field"}},
	}
	for _, tt := range tests {
		_, err := DecodeHold([]byte(tt.body))
		if got := validationFields(t, err); strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("%s: fields %v, want %v", tt.name, got, tt.want)
		}
	}
}

func FuzzDecodeRecordingHolds(f *testing.F) {
	f.Add([]byte(`{"recordings":[{"id":"rec_1","metadata":{"legal_hold":true,"hold_reason":"Discovery Request #12345","hold_date":"2023-11-01T00:00:00.000Z","case_id":"LC-2024-001"}}]}`))
	f.Add([]byte(`{"recordings":[{"id":"r","metadata":{"legal_hold":false,"case_id":"X","release_reason":"done"}}]}`))
	f.Add([]byte(`{"case_id":"LC-1","hold_reason":"r","filter":{"media_type":"SIP"}}`))
	f.Add([]byte(`{"recordings":[{"id":"r","metadata":null}]}`))
	f.Add([]byte(`{"recordings":[{"id":"r","metadata":{"legal_hold":false,"case_id":null,"release_reason":null}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := DecodeRecordingHolds(data)
		if err == nil {
			for _, it := range req.Items {
				if it.ID == "" || it.Action == HoldUndecided || (it.Action == HoldApply && it.Spec.HoldReason == "") || (it.Action == HoldRelease && (it.ReleaseReason == "" || it.Spec.CaseID == "")) {
					t.Fatalf("accepted incomplete item %+v from %q", it, data)
				}
			}
		}
		if _, err := DecodeHold(data); err != nil {
			var ve *ValidationError
			var me *MalformedError
			if !errors.As(err, &ve) && !errors.As(err, &me) {
				t.Fatalf("DecodeHold error of type %T", err)
			}
		}
		_, _ = DecodeRelease(data)
	})
}

// A release of a hold or a case names its reason; null is no reason (it
// once released a hold with an empty release_reason).
func TestDecodeReleaseNeedsAReason(t *testing.T) {
	t.Parallel()
	if r, err := DecodeRelease([]byte(`{"release_reason":"Matter closed"}`)); err != nil || r != "Matter closed" {
		t.Fatalf("contract payload: %q %v", r, err)
	}
	for _, body := range []string{`{}`, `{"release_reason":null}`} {
		_, err := DecodeRelease([]byte(body))
		if got := validationFields(t, err); strings.Join(got, ",") != "release_reason/required" {
			t.Errorf("%s: fields %v, want release_reason/required", body, got)
		}
	}
}

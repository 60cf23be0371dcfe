package vault

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func fieldsOf(errs []FieldError) []string {
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = e.Field + "/" + e.Code
	}
	return out
}

func TestDecodeRecordingMetadata(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		in         string
		wantFields []string // field/code, in order
		malformed  bool
		check      func(t *testing.T, m RecordingMetadata)
	}{
		{name: "contract example", in: `{"media_type":"SIP","call_id":"a84b4c76e66710@pc33.example.com","started_at":"2026-11-25T10:00:00Z","ended_at":"2026-11-25T10:05:00Z","direction":"inbound","participants":[{"aor":"sip:alice@example.com","name":"Alice","role":"agent"}],"labels":{"queue":"billing"}}`,
			check: func(t *testing.T, m RecordingMetadata) {
				if m.MediaType != "SIP" || m.CallID != "a84b4c76e66710@pc33.example.com" || m.Direction != "inbound" || len(m.Participants) != 1 || m.Labels["queue"] != "billing" {
					t.Fatalf("decoded %+v", m)
				}
				if !m.StartedAt.Equal(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)) || !m.EndedAt.Equal(time.Date(2026, 11, 25, 10, 5, 0, 0, time.UTC)) {
					t.Fatalf("times %v %v", m.StartedAt, m.EndedAt)
				}
			}},
		{name: "media type case-insensitive", in: `{"media_type":"sip","started_at":"2026-11-25T10:00:00+01:00"}`,
			check: func(t *testing.T, m RecordingMetadata) {
				if m.MediaType != "SIP" || m.StartedAt.Hour() != 9 {
					t.Fatalf("got %q %v", m.MediaType, m.StartedAt)
				}
			}},
		{name: "three bad fields at once", in: `{"media_type":"FAX","started_at":"2026-11-25 10:00","direction":"sideways"}`,
			wantFields: []string{"metadata.media_type/invalid_enum", "metadata.started_at/invalid_timestamp", "metadata.direction/invalid_enum"}},
		{name: "missing media type", in: `{"started_at":"2026-11-25T10:00:00Z"}`, wantFields: []string{"metadata.media_type/required"}},
		{name: "wrong types", in: `{"media_type":7,"call_id":true,"participants":{},"labels":[]}`,
			wantFields: []string{"metadata.media_type/invalid_type", "metadata.call_id/invalid_type", "metadata.participants/invalid_type", "metadata.labels/invalid_type"}},
		{name: "participant problems", in: `{"media_type":"SIP","participants":[{"name":"x"},{"aor":"mailto:a@b"},"str",{"aor":"sip:a@b","extra":1}]}`,
			wantFields: []string{"metadata.participants[0].aor/required", "metadata.participants[1].aor/invalid_value", "metadata.participants[2]/invalid_type", "metadata.participants[3].extra/unknown_field"}},
		{name: "label problems", in: `{"media_type":"SIP","labels":{"bad key":"x","n":5}}`,
			wantFields: []string{"metadata.labels.bad key/invalid_key", "metadata.labels.n/invalid_type"}},
		{name: "unknown field and misplaced legal_hold", in: `{"media_type":"SIP","legal_hold":true,"zzz":1}`,
			wantFields: []string{"metadata.legal_hold/unknown_field", "metadata.zzz/unknown_field"}},
		{name: "null counts as absent", in: `{"media_type":"SIP","call_id":null}`},
		{name: "null is no aor and no label value", in: `{"media_type":"SIP","participants":[{"aor":null}],"labels":{"q":null}}`,
			wantFields: []string{"metadata.participants[0].aor/required", "metadata.labels.q/invalid_type"}},
		{name: "not an object", in: `[1,2]`, malformed: true},
		{name: "not json", in: `media_type=SIP`, malformed: true},
		{name: "trailing data", in: `{"media_type":"SIP"} {}`, malformed: true},
		{name: "empty", in: ``, malformed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, errs, err := DecodeRecordingMetadata([]byte(tt.in))
			var me *MalformedError
			if tt.malformed {
				if !errors.As(err, &me) {
					t.Fatalf("err = %v, want *MalformedError", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			got := strings.Join(fieldsOf(errs), ",")
			if want := strings.Join(tt.wantFields, ","); got != want {
				t.Fatalf("field errors\n got %s\nwant %s", got, want)
			}
			for _, e := range errs {
				if e.Message == "" {
					t.Fatalf("field %s has no message", e.Field)
				}
			}
			if tt.check != nil {
				tt.check(t, m)
			}
		})
	}
}

func TestParseTimestamp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		ok      bool
		msgPart string
	}{
		{"2023-11-01T00:00:00.000Z", true, ""},
		{"2023-11-01T00:00:00Z", true, ""},
		{"2023-11-01T00:00:00.123456789+05:30", true, ""},
		{"2023-11-01", false, "date without a time"},
		{"2023-11-01 00:00:00", false, "space"},
		{"2023-11-01T00:00:00", false, "no time zone"},
		{"2023-02-30T00:00:00Z", false, "not a real date"},
		{"2023-11-01t00:00:00z", false, "RFC 3339"},
		{"yesterday", false, "RFC 3339"},
	}
	for _, tt := range tests {
		_, msg, ok := ParseTimestamp(tt.in)
		if ok != tt.ok {
			t.Errorf("ParseTimestamp(%q) ok = %v, want %v", tt.in, ok, tt.ok)
			continue
		}
		if !ok {
			if !strings.Contains(msg, tt.msgPart) || !strings.Contains(msg, TimestampExample) {
				t.Errorf("ParseTimestamp(%q) message %q lacks %q or the example", tt.in, msg, tt.msgPart)
			}
		}
	}
}

func TestCheckMetadata(t *testing.T) {
	t.Parallel()
	var p Problems
	(&RecordingMetadata{}).Check(&p)
	if got := fieldsOf(p.List()); len(got) != 1 || got[0] != "metadata.started_at/required" {
		t.Fatalf("missing started_at: %v", got)
	}
	var q Problems
	start := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	(&RecordingMetadata{StartedAt: start, EndedAt: start.Add(-time.Second)}).Check(&q)
	if got := fieldsOf(q.List()); len(got) != 1 || got[0] != "metadata.ended_at/out_of_order" {
		t.Fatalf("ended before started: %v", got)
	}
}

func TestNewIDSortsAndValidates(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	a, b := NewID("rec", t0), NewID("rec", t0.Add(time.Millisecond))
	if !(a < b) {
		t.Fatalf("ids do not sort by time: %s !< %s", a, b)
	}
	if !ValidID("rec", a) || ValidID("hold", a) || ValidID("rec", a+"x") || ValidID("rec", "rec_0000000000000000000000000!") {
		t.Fatal("ValidID accepted or rejected the wrong ids")
	}
}

func TestTokenMissing(t *testing.T) {
	t.Parallel()
	tok := Token{Permissions: []Permission{PermRecordingView}}
	got := tok.Missing(PermRecordingView, PermExportLegalHold, PermRecordingExport)
	if len(got) != 2 || got[0] != PermExportLegalHold || got[1] != PermRecordingExport {
		t.Fatalf("Missing = %v", got)
	}
	if m := (Token{Permissions: []Permission{PermAdmin}}).Missing(PermLegalHoldRelease); m != nil {
		t.Fatalf("admin lacks %v", m)
	}
}

func FuzzDecodeRecordingMetadata(f *testing.F) {
	f.Add([]byte(`{"media_type":"SIP","call_id":"a@b","started_at":"2026-11-25T10:00:00Z","participants":[{"aor":"sip:a@b"}],"labels":{"q":"x"}}`))
	f.Add([]byte(`{"media_type":"FAX","started_at":"2026-11-25 10:00","direction":"sideways"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, errs, err := DecodeRecordingMetadata(data)
		if err != nil {
			var me *MalformedError
			if !errors.As(err, &me) {
				t.Fatalf("non-malformed error %T %v", err, err)
			}
			return
		}
		for _, e := range errs {
			if e.Field == "" || e.Code == "" || e.Message == "" {
				t.Fatalf("incomplete field error %+v", e)
			}
		}
		if len(errs) == 0 {
			var p Problems
			m.Check(&p)
			if m.MediaType == "" {
				t.Fatalf("accepted metadata without media_type: %q", data)
			}
		}
	})
}

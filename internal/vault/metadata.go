package vault

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// RecordingMetadata is the validated metadata of an upload, before the
// SIPREC document (if any) fills the gaps.
type RecordingMetadata struct {
	MediaType    string
	CallID       string
	StartedAt    time.Time // zero if absent
	EndedAt      time.Time // zero if absent
	Direction    string
	Participants []Participant
	Labels       map[string]string
}

// Limits on metadata, chosen generously for real SIP traffic while keeping
// a single request's metadata small.
const (
	MaxMetadataBytes = 1 << 20
	maxCallIDLen     = 256
	maxParticipants  = 100
	maxLabels        = 50
)

var labelKey = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

const metadataFields = "media_type, call_id, started_at, ended_at, direction, participants, labels"

// DecodeRecordingMetadata decodes the "metadata" part of an upload and
// checks every field, returning all broken fields at once (with paths under
// "metadata."). A body that is not a JSON object is a *MalformedError. It
// does not require started_at: that may still come from SIPREC; call
// [RecordingMetadata.Check] after merging.
func DecodeRecordingMetadata(data []byte) (RecordingMetadata, []FieldError, error) {
	var m RecordingMetadata
	obj, err := DecodeObject(data, "metadata")
	var ve *ValidationError
	if errors.As(err, &ve) {
		return m, ve.Errors, nil
	}
	if err != nil {
		return m, nil, err
	}
	var p Problems
	f := NewFields(obj, "metadata", &p)
	if _, ok := f.Raw("media_type"); ok {
		m.MediaType, _ = f.Enum("media_type", MediaTypes)
	} else {
		f.Require("media_type", `"SIP"`)
	}
	if s, ok := f.String("call_id", "a84b4c76e66710@pc33.example.com"); ok {
		switch {
		case s == "" || len(s) > maxCallIDLen || !utf8.ValidString(s) || hasControl(s):
			p.Add(f.Path("call_id"), "invalid_value", fmt.Sprintf("must be 1 to %d printable characters, e.g. \"a84b4c76e66710@pc33.example.com\"", maxCallIDLen))
		default:
			m.CallID = s
		}
	}
	m.StartedAt, _ = f.Time("started_at")
	m.EndedAt, _ = f.Time("ended_at")
	if _, ok := f.Raw("direction"); ok {
		m.Direction, _ = f.Enum("direction", Directions)
	}
	if arr, ok := f.Array("participants", `[{"aor": "sip:alice@example.com", "name": "Alice", "role": "agent"}]`); ok {
		m.Participants = decodeParticipants(arr, f.Path("participants"), &p)
	}
	if obj, ok := f.Object("labels", `{"queue": "billing"}`); ok {
		m.Labels = decodeLabels(obj, f.Path("labels"), &p)
	}
	f.RejectUnknown(metadataFields, map[string]string{
		"legal_hold": "is not part of recording metadata; place holds with POST /api/v2/legalholds or POST /api/v2/recordings/legalholds",
	})
	return m, p.List(), nil
}

// Check applies the rules that need the merged metadata: started_at is
// required and ended_at may not precede it.
func (m *RecordingMetadata) Check(p *Problems) {
	if m.StartedAt.IsZero() {
		p.Add("metadata.started_at", "required", "is required (in metadata, or as associate-time in the siprec part), e.g. "+TimestampExample)
		return
	}
	if !m.EndedAt.IsZero() && m.EndedAt.Before(m.StartedAt) {
		p.Add("metadata.ended_at", "out_of_order", "must not be before started_at, e.g. "+FormatTime(m.StartedAt.Add(5*time.Minute)))
	}
}

func decodeParticipants(arr []json.RawMessage, path string, p *Problems) []Participant {
	if len(arr) > maxParticipants {
		p.Add(path, "too_many", fmt.Sprintf("must have at most %d participants", maxParticipants))
		return nil
	}
	out := make([]Participant, 0, len(arr))
	for i, raw := range arr {
		ip := fmt.Sprintf("%s[%d]", path, i)
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
			p.Add(ip, "invalid_type", `must be a JSON object, e.g. {"aor": "sip:alice@example.com", "name": "Alice", "role": "agent"}`)
			continue
		}
		f := NewFields(obj, ip, p)
		var pt Participant
		if s, ok := f.String("aor", "sip:alice@example.com"); ok {
			if ValidAOR(s) {
				pt.AOR = s
			} else {
				p.Add(f.Path("aor"), "invalid_value", `must be a sip:, sips: or tel: URI, e.g. "sip:alice@example.com"`)
			}
		} else if _, present := f.Raw("aor"); !present {
			f.Require("aor", `"sip:alice@example.com"`)
		}
		if s, ok := f.String("name", "Alice"); ok {
			if len(s) > 200 || hasControl(s) {
				p.Add(f.Path("name"), "invalid_value", `must be at most 200 printable characters, e.g. "Alice"`)
			}
			pt.Name = s
		}
		if s, ok := f.String("role", "agent"); ok {
			if len(s) > 64 || hasControl(s) {
				p.Add(f.Path("role"), "invalid_value", `must be at most 64 printable characters, e.g. "agent"`)
			}
			pt.Role = s
		}
		f.RejectUnknown("aor, name, role", nil)
		out = append(out, pt)
	}
	return out
}

func decodeLabels(obj map[string]json.RawMessage, path string, p *Problems) map[string]string {
	if len(obj) > maxLabels {
		p.Add(path, "too_many", fmt.Sprintf("must have at most %d labels", maxLabels))
		return nil
	}
	out := make(map[string]string, len(obj))
	// Sorted, so the same request always lists its errors in one order.
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		raw := obj[k]
		kp := path + "." + k
		if !labelKey.MatchString(k) {
			p.Add(kp, "invalid_key", `label names must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$, e.g. "queue"`)
			continue
		}
		var v string
		if err := json.Unmarshal(raw, &v); err != nil || string(raw) == "null" {
			p.Add(kp, "invalid_type", `label values must be JSON strings, e.g. "billing"`)
			continue
		}
		if len(v) > 256 || hasControl(v) {
			p.Add(kp, "invalid_value", `label values must be at most 256 printable characters, e.g. "billing"`)
			continue
		}
		out[k] = v
	}
	return out
}

// ValidAOR reports whether s is a plausible SIP address of record: a sip:,
// sips: or tel: URI with something after the scheme and no whitespace.
func ValidAOR(s string) bool {
	if len(s) > 512 || hasControl(s) || strings.ContainsAny(s, " \t") {
		return false
	}
	for _, scheme := range []string{"sip:", "sips:", "tel:"} {
		if len(s) > len(scheme) && strings.EqualFold(s[:len(scheme)], scheme) {
			return true
		}
	}
	return false
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return !utf8.ValidString(s)
}

// LabelSelector is one `label=<key>:<value>` condition of a recording
// search: the recording must carry label Key with exactly Value.
type LabelSelector struct {
	Key, Value string
}

// LabelSelectorRule is the message of a malformed label selector.
const LabelSelectorRule = `must be <key>:<value> with a label name matching ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$ and a value of at most 256 printable characters, e.g. "queue:billing"`

// ParseLabelSelector parses `<key>:<value>`. Label names cannot contain a
// colon, so the first colon separates them and the value may contain more.
// The value may be empty, as a label's value may.
func ParseLabelSelector(s string) (LabelSelector, bool) {
	k, v, ok := strings.Cut(s, ":")
	if !ok || !labelKey.MatchString(k) || len(v) > 256 || hasControl(v) {
		return LabelSelector{}, false
	}
	return LabelSelector{Key: k, Value: v}, true
}

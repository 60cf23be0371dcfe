package vault

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/holdfast/holdfast/internal/strictjson"
)

// FieldError is one broken rule in a request: the path of the field
// (for example "recordings[3].metadata.hold_date" or "query.limit"), a
// machine-readable code, and a message that states the rule and shows a
// valid value.
type FieldError struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// ValidationError carries every broken field of a request at once, so a
// client can fix them all before resubmitting. The HTTP layer answers it
// with 400 validation_failed.
type ValidationError struct {
	Errors []FieldError
}

func (e *ValidationError) Error() string {
	if len(e.Errors) == 0 {
		return "validation failed"
	}
	f := e.Errors[0]
	msg := f.Field + ": " + f.Message
	if n := len(e.Errors) - 1; n > 0 {
		msg += fmt.Sprintf(" (and %d more)", n)
	}
	return msg
}

// MalformedError reports a body that is not JSON, not the JSON type the
// endpoint expects, or ambiguous (an object with the same key twice). The
// HTTP layer answers it with 400 malformed_json. Field, if set, is the path
// of the offending member (e.g. "recordings[0].metadata.legal_hold") and
// Code says what is wrong with it.
type MalformedError struct {
	Message string
	Field   string
	Code    string
}

func (e *MalformedError) Error() string { return e.Message }

// Problems collects field errors while a request is checked. The zero value
// is ready to use. It is not safe for concurrent use.
type Problems struct {
	errs []FieldError
}

// Add records one broken rule.
func (p *Problems) Add(field, code, message string) {
	p.errs = append(p.errs, FieldError{Field: field, Code: code, Message: message})
}

// Merge appends field errors collected elsewhere.
func (p *Problems) Merge(errs []FieldError) { p.errs = append(p.errs, errs...) }

// List returns the collected field errors.
func (p *Problems) List() []FieldError { return p.errs }

// Empty reports whether nothing has been recorded.
func (p *Problems) Empty() bool { return len(p.errs) == 0 }

// Err returns a *ValidationError with everything collected, or nil.
func (p *Problems) Err() error {
	if len(p.errs) == 0 {
		return nil
	}
	return &ValidationError{Errors: append([]FieldError(nil), p.errs...)}
}

// TimestampExample is the valid timestamp that every timestamp rule shows.
const TimestampExample = "2023-11-01T00:00:00.000Z"

// TimestampRule is the message for a timestamp that is not strict RFC 3339.
const TimestampRule = "must be an RFC 3339 timestamp with a time zone, e.g. " + TimestampExample

var (
	rfc3339Strict = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$`)
	dateOnly      = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	spaceSep      = regexp.MustCompile(`^\d{4}-\d{2}-\d{2} \d{2}:\d{2}`)
	noZone        = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$`)
)

// The range of timestamps holdfast accepts. Stores keep times as 64-bit
// nanoseconds, which cover 1678 to 2262; the narrower range leaves room
// and catches typos such as year 0202.
var (
	minTimestamp = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTimestamp = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// ParseTimestamp parses a strict RFC 3339 timestamp that carries a time
// zone ("Z" or "±hh:mm"). On failure it returns a message that says what is
// wrong with this particular value and shows the accepted form, because the
// usual mistakes (a bare date, a space instead of "T", a missing zone) each
// deserve their own explanation.
func ParseTimestamp(s string) (time.Time, string, bool) {
	if rfc3339Strict.MatchString(s) {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return time.Time{}, "is not a real date or time; " + TimestampRule, false
		}
		if t.Before(minTimestamp) || !t.Before(maxTimestamp) {
			return time.Time{}, "must lie between 1900-01-01T00:00:00Z and 2199-12-31T23:59:59Z; " + TimestampRule, false
		}
		return t.UTC(), "", true
	}
	switch {
	case dateOnly.MatchString(s):
		return time.Time{}, "is a date without a time and time zone; " + TimestampRule, false
	case spaceSep.MatchString(s):
		return time.Time{}, "separates date and time with a space instead of \"T\" and needs a time zone; " + TimestampRule, false
	case noZone.MatchString(s):
		return time.Time{}, "has no time zone; " + TimestampRule, false
	}
	return time.Time{}, TimestampRule, false
}

// FormatTime renders a time the way every holdfast response does: RFC 3339
// in UTC with the fraction only when there is one.
func FormatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// DecodeObject decodes data as a JSON object into its members. path is
// where data sits in the request ("" for the request body itself,
// "metadata" for the metadata part of an upload); it prefixes the fields
// errors name.
//
// Every JSON request holdfast reads passes through here, so this is where
// ambiguity is refused: data must pass [strictjson.Check]. An object with
// the same key twice (at any depth) is a *MalformedError naming the key;
// a string that is not valid UTF-8, including a lone surrogate escape, is
// a *ValidationError naming every such string, never silently replaced.
// Anything else that is not one JSON object (invalid JSON, an array, a
// string, trailing data) is a *MalformedError naming what was expected.
// Once checked, the members can be decoded with encoding/json, and every
// reader of them sees the same value.
func DecodeObject(data []byte, path string) (map[string]json.RawMessage, error) {
	what := path
	if what == "" {
		what = "request body"
	}
	at := func(sub string) string {
		switch {
		case path == "":
			return sub
		case sub == "":
			return path
		case strings.HasPrefix(sub, "["):
			return path + sub
		}
		return path + "." + sub
	}
	var (
		se *strictjson.SyntaxError
		de *strictjson.DuplicateKeyError
		ue *strictjson.InvalidUTF8Error
	)
	switch err := strictjson.Check(data); {
	case errors.As(err, &se):
		return nil, &MalformedError{Message: what + " is not valid JSON: " + se.Error()}
	case errors.As(err, &de):
		field := at(de.Path)
		return nil, &MalformedError{Field: field, Code: "duplicate_key", Message: fmt.Sprintf("%s has the key %s twice in one object; give each key once", what, field)}
	case errors.As(err, &ue):
		var p Problems
		for _, sub := range ue.Paths {
			field := at(sub)
			if field == "" {
				field = "body"
			}
			p.Add(field, "invalid_utf8", `must be valid UTF-8 text; invalid bytes and lone surrogate escapes such as "\ud800" are refused, not replaced`)
		}
		return nil, p.Err()
	case err != nil:
		return nil, fmt.Errorf("vault: checking JSON: %w", err)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil || obj == nil {
		return nil, &MalformedError{Message: what + " must be a JSON object"}
	}
	return obj, nil
}

// Fields walks a decoded JSON object and records problems under a path
// prefix. It is the shared machinery behind every request decoder, so that
// all of them report the same codes and messages for the same mistakes.
type Fields struct {
	obj    map[string]json.RawMessage
	prefix string
	p      *Problems
	seen   map[string]bool
}

// NewFields starts walking obj; prefix is the path of obj in the request
// ("" for the body itself).
func NewFields(obj map[string]json.RawMessage, prefix string, p *Problems) *Fields {
	return &Fields{obj: obj, prefix: prefix, p: p, seen: map[string]bool{}}
}

// Path returns the full path of a member.
func (f *Fields) Path(name string) string {
	if f.prefix == "" {
		return name
	}
	return f.prefix + "." + name
}

// Raw returns a member's raw JSON and marks it as known. JSON null counts as
// absent.
func (f *Fields) Raw(name string) (json.RawMessage, bool) {
	f.seen[name] = true
	v, ok := f.obj[name]
	if !ok || string(v) == "null" {
		return nil, false
	}
	return v, true
}

// Problems returns the collector the walk reports into.
func (f *Fields) Problems() *Problems { return f.p }

// String reads a string member. example is shown if it has the wrong type.
func (f *Fields) String(name, example string) (string, bool) {
	raw, ok := f.Raw(name)
	if !ok {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		f.p.Add(f.Path(name), "invalid_type", "must be a JSON string, e.g. "+quote(example))
		return "", false
	}
	return s, true
}

// Bool reads a member that must be a JSON boolean. A string such as "true"
// is rejected with a message that says so, because that is the most common
// way scripts get this wrong.
func (f *Fields) Bool(name string) (bool, bool) {
	raw, ok := f.Raw(name)
	if !ok {
		return false, false
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err != nil {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			f.p.Add(f.Path(name), "invalid_type", fmt.Sprintf("must be a JSON boolean (true or false without quotes), not the string %q", s))
		} else {
			f.p.Add(f.Path(name), "invalid_type", "must be a JSON boolean, e.g. true")
		}
		return false, false
	}
	return b, true
}

// Time reads a member that must be a strict RFC 3339 timestamp.
func (f *Fields) Time(name string) (time.Time, bool) {
	s, ok := f.String(name, TimestampExample)
	if !ok {
		return time.Time{}, false
	}
	t, msg, ok := ParseTimestamp(s)
	if !ok {
		f.p.Add(f.Path(name), "invalid_timestamp", msg)
		return time.Time{}, false
	}
	return t, true
}

// Enum reads a string member that must be one of allowed, matched
// case-insensitively; it returns the allowed spelling.
func (f *Fields) Enum(name string, allowed []string) (string, bool) {
	s, ok := f.String(name, allowed[0])
	if !ok {
		return "", false
	}
	for _, a := range allowed {
		if strings.EqualFold(a, s) {
			return a, true
		}
	}
	f.p.Add(f.Path(name), "invalid_enum", fmt.Sprintf("must be one of %s, e.g. %s; got %q", strings.Join(allowed, ", "), allowed[0], s))
	return "", false
}

// Object reads a member that must be a JSON object.
func (f *Fields) Object(name, example string) (map[string]json.RawMessage, bool) {
	raw, ok := f.Raw(name)
	if !ok {
		return nil, false
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		f.p.Add(f.Path(name), "invalid_type", "must be a JSON object, e.g. "+example)
		return nil, false
	}
	return obj, true
}

// Array reads a member that must be a JSON array.
func (f *Fields) Array(name, example string) ([]json.RawMessage, bool) {
	raw, ok := f.Raw(name)
	if !ok {
		return nil, false
	}
	var arr []json.RawMessage
	if err := json.Unmarshal(raw, &arr); err != nil || arr == nil {
		f.p.Add(f.Path(name), "invalid_type", "must be a JSON array, e.g. "+example)
		return nil, false
	}
	return arr, true
}

// Require records a "required" problem for a member that is absent.
func (f *Fields) Require(name, example string) {
	f.p.Add(f.Path(name), "required", "is required, e.g. "+example)
}

// RejectUnknown reports every member that was never read, so misspelled or
// misplaced fields are caught rather than silently ignored. hints maps a
// member name to a better message for fields known to be misplaced.
func (f *Fields) RejectUnknown(known string, hints map[string]string) {
	var names []string
	for k := range f.obj {
		if !f.seen[k] {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		if h, ok := hints[k]; ok {
			f.p.Add(f.Path(k), "unknown_field", h)
			continue
		}
		f.p.Add(f.Path(k), "unknown_field", "is not a known field here; known fields are "+known)
	}
}

func quote(s string) string {
	if strings.HasPrefix(s, "{") || strings.HasPrefix(s, "[") || s == "true" || s == "false" {
		return s
	}
	return `"` + s + `"`
}

// CaseIDPattern is the rule every case_id must match.
var CaseIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// CaseIDRule explains CaseIDPattern to a user.
const CaseIDRule = `must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$ (letters, digits, ".", "_", "-"; up to 64 characters), e.g. "LC-2024-001"`

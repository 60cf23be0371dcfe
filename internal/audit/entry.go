package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/tlog"
)

// Entry is one audit record: a single state change of holdfast. It is the
// unit that is hashed into the Merkle tree, so every field is covered by the
// tree and by the signed checkpoints. The JSON tags are the wire form used by
// the store and the API; the hashed form is [Entry.Canonical].
type Entry struct {
	// Index is the entry's position in the log, starting at 0. It is part of
	// the hashed form so that reordering entries is detectable.
	Index int64 `json:"index"`
	// Time is when the change happened. It is hashed in UTC with nanosecond
	// precision, so callers must hash exactly the value they persist (truncate
	// first if the store keeps less precision).
	Time time.Time `json:"time"`
	// Type names the kind of change, e.g. "recording.ingested", "hold.applied".
	Type string `json:"type"`
	// Actor is the API token id that caused the change, or "system".
	Actor string `json:"actor"`
	// Subject is the id of the thing changed (recording, hold, export, token).
	Subject string `json:"subject"`
	// Data holds event details as a JSON object. Empty or JSON null means
	// "no details" and is omitted from the hashed form.
	Data json.RawMessage `json:"data,omitempty"`
}

// canonicalTimeLayout is the hashed time format: RFC 3339, UTC, always nine
// fractional digits so that every instant has exactly one textual form.
const canonicalTimeLayout = "2006-01-02T15:04:05.000000000Z"

// maxDataDepth bounds the nesting of Data to keep canonicalisation cheap and
// its recursion shallow.
const maxDataDepth = 64

// Canonical returns the canonical JSON bytes of the entry, the exact bytes
// whose RFC 6962 leaf hash goes into the audit tree. The form follows RFC 8785
// (JCS): object keys sorted by UTF-16 code units, no insignificant whitespace,
// minimal string escaping, numbers in ECMAScript shortest form. It contains
// index, time (UTC, nine fractional digits), type, actor, subject and, when
// present, data; Data is re-canonicalised, so key order and whitespace in
// Data do not change the hash.
//
// To keep the mapping from entries to bytes injective (two different entries
// must never hash alike), Canonical rejects, with an error: a negative index,
// a zero time or a year outside 0000..9999, invalid UTF-8, Data that is not a
// JSON object, duplicate object keys, unpaired UTF-16 surrogate escapes, and
// numbers whose value would change in canonical form (e.g. integers beyond
// 2^53); such values should be encoded as JSON strings by the producer.
func (e Entry) Canonical() ([]byte, error) {
	if e.Index < 0 {
		return nil, fmt.Errorf("audit: entry index %d is negative", e.Index)
	}
	if e.Time.IsZero() {
		return nil, fmt.Errorf("audit: entry %d: time is zero", e.Index)
	}
	t := e.Time.UTC()
	if y := t.Year(); y < 0 || y > 9999 {
		return nil, fmt.Errorf("audit: entry %d: time year %d outside 0000..9999", e.Index, y)
	}
	for _, f := range []struct{ name, v string }{{"type", e.Type}, {"actor", e.Actor}, {"subject", e.Subject}} {
		if !utf8.ValidString(f.v) {
			return nil, fmt.Errorf("audit: entry %d: %s is not valid UTF-8", e.Index, f.name)
		}
	}
	var data []byte
	if d := bytes.TrimSpace(e.Data); len(d) > 0 && !bytes.Equal(d, []byte("null")) {
		if d[0] != '{' {
			return nil, fmt.Errorf("audit: entry %d: data is not a JSON object", e.Index)
		}
		c, err := CanonicalJSON(d)
		if err != nil {
			return nil, fmt.Errorf("audit: entry %d: data: %w", e.Index, err)
		}
		data = c
	}

	var b bytes.Buffer
	b.WriteString(`{"actor":`)
	writeJSONString(&b, e.Actor)
	if data != nil {
		b.WriteString(`,"data":`)
		b.Write(data)
	}
	b.WriteString(`,"index":`)
	b.WriteString(strconv.FormatInt(e.Index, 10))
	b.WriteString(`,"subject":`)
	writeJSONString(&b, e.Subject)
	b.WriteString(`,"time":`)
	writeJSONString(&b, t.Format(canonicalTimeLayout))
	b.WriteString(`,"type":`)
	writeJSONString(&b, e.Type)
	b.WriteByte('}')
	return b.Bytes(), nil
}

// Hash returns the leaf hash of the entry, LeafHash(Canonical()). It is the
// value the store keeps per entry and the API serves as leaf_hash.
func (e Entry) Hash() (tlog.Hash, error) {
	c, err := e.Canonical()
	if err != nil {
		return tlog.Hash{}, err
	}
	return LeafHash(c), nil
}

// CanonicalJSON returns the RFC 8785 (JCS) style canonical form of one JSON
// value: sorted object keys, no whitespace, minimal escaping, ECMAScript
// number formatting. It is exported so that other components (and tests) can
// canonicalise event details the same way [Entry.Canonical] does. It returns
// an error for invalid JSON, invalid UTF-8, unpaired surrogate escapes,
// duplicate keys, nesting deeper than 64, and numbers that cannot be written
// canonically without changing their value.
func CanonicalJSON(in []byte) ([]byte, error) {
	if !utf8.Valid(in) {
		return nil, errors.New("audit: JSON is not valid UTF-8")
	}
	if !json.Valid(in) {
		return nil, errors.New("audit: invalid JSON")
	}
	if err := checkSurrogateEscapes(in); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(in))
	dec.UseNumber()
	var b bytes.Buffer
	if err := canonicalValue(dec, &b, 0); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("audit: trailing data after JSON value")
	}
	return b.Bytes(), nil
}

// canonicalValue reads one JSON value from dec and writes its canonical form.
func canonicalValue(dec *json.Decoder, b *bytes.Buffer, depth int) error {
	if depth > maxDataDepth {
		return fmt.Errorf("audit: JSON nested deeper than %d", maxDataDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("audit: invalid JSON: %w", err)
	}
	switch v := tok.(type) {
	case json.Delim:
		switch v {
		case '{':
			return canonicalObject(dec, b, depth)
		case '[':
			b.WriteByte('[')
			for i := 0; dec.More(); i++ {
				if i > 0 {
					b.WriteByte(',')
				}
				if err := canonicalValue(dec, b, depth+1); err != nil {
					return err
				}
			}
			if _, err := dec.Token(); err != nil { // ']'
				return fmt.Errorf("audit: invalid JSON: %w", err)
			}
			b.WriteByte(']')
			return nil
		}
		return fmt.Errorf("audit: unexpected JSON delimiter %q", v)
	case string:
		writeJSONString(b, v)
	case json.Number:
		s, err := canonicalNumber(string(v))
		if err != nil {
			return err
		}
		b.WriteString(s)
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case nil:
		b.WriteString("null")
	default:
		return fmt.Errorf("audit: unexpected JSON token %T", tok)
	}
	return nil
}

// canonicalObject writes an object whose '{' has been consumed.
func canonicalObject(dec *json.Decoder, b *bytes.Buffer, depth int) error {
	type member struct {
		key string
		val []byte
	}
	var members []member
	seen := make(map[string]bool)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("audit: invalid JSON: %w", err)
		}
		key, ok := tok.(string)
		if !ok {
			return fmt.Errorf("audit: invalid JSON object key %v", tok)
		}
		if seen[key] {
			return fmt.Errorf("audit: duplicate JSON object key %q", key)
		}
		seen[key] = true
		var vb bytes.Buffer
		if err := canonicalValue(dec, &vb, depth+1); err != nil {
			return err
		}
		members = append(members, member{key, vb.Bytes()})
	}
	if _, err := dec.Token(); err != nil { // '}'
		return fmt.Errorf("audit: invalid JSON: %w", err)
	}
	slices.SortFunc(members, func(a, b member) int { return compareUTF16(a.key, b.key) })
	b.WriteByte('{')
	for i, m := range members {
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSONString(b, m.key)
		b.WriteByte(':')
		b.Write(m.val)
	}
	b.WriteByte('}')
	return nil
}

// compareUTF16 orders strings by their UTF-16 code units, as RFC 8785 requires.
func compareUTF16(a, b string) int {
	return slices.Compare(utf16.Encode([]rune(a)), utf16.Encode([]rune(b)))
}

// writeJSONString writes s as a JSON string with RFC 8785 escaping: only '"',
// '\\' and control characters are escaped, using the short forms where JSON
// has them. s must be valid UTF-8.
func writeJSONString(b *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 {
				b.WriteString(`\u00`)
				b.WriteByte(hex[r>>4])
				b.WriteByte(hex[r&0xF])
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}

// checkSurrogateEscapes rejects \uXXXX escapes that encode an unpaired UTF-16
// surrogate. encoding/json silently turns those into U+FFFD, which would let
// two different inputs share one canonical form. in must be valid JSON.
func checkSurrogateEscapes(in []byte) error {
	inString := false
	for i := 0; i < len(in); i++ {
		c := in[i]
		if !inString {
			inString = c == '"'
			continue
		}
		switch c {
		case '"':
			inString = false
		case '\\':
			if i+1 < len(in) && in[i+1] == 'u' {
				r, ok := hex4(in, i+2)
				if !ok {
					return errors.New("audit: invalid JSON escape")
				}
				switch {
				case utf16.IsSurrogate(r) && r < 0xDC00: // high surrogate
					lo, ok := rune(0), false
					if i+7 < len(in) && in[i+6] == '\\' && in[i+7] == 'u' {
						lo, ok = hex4(in, i+8)
					}
					if !ok || lo < 0xDC00 || lo > 0xDFFF {
						return errors.New("audit: unpaired UTF-16 surrogate escape in JSON string")
					}
					i += 11
				case utf16.IsSurrogate(r):
					return errors.New("audit: unpaired UTF-16 surrogate escape in JSON string")
				default:
					i += 5
				}
			} else {
				i++ // skip the escaped character
			}
		}
	}
	return nil
}

// hex4 decodes four hex digits at in[i:i+4].
func hex4(in []byte, i int) (rune, bool) {
	if i+4 > len(in) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(in[i:i+4]), 16, 16)
	return rune(v), err == nil
}

// canonicalNumber returns the RFC 8785 form of the JSON number literal lit
// (the ECMAScript Number.prototype.toString of its float64 value). It fails
// if that form does not denote exactly the same decimal value as lit, so that
// canonicalisation never merges two distinct values.
func canonicalNumber(lit string) (string, error) {
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		return "", fmt.Errorf("audit: JSON number %s out of range: %w", lit, err)
	}
	c := formatES(f)
	a, okA := parseDecimal(lit)
	z, okZ := parseDecimal(c)
	if !okA || !okZ || a != z {
		return "", fmt.Errorf("audit: JSON number %s cannot be represented exactly in canonical form (%s); encode it as a string", lit, c)
	}
	return c, nil
}

// formatES formats a finite float64 like ECMAScript's Number.prototype.toString,
// as RFC 8785 section 3.2.2.3 requires.
func formatES(f float64) string {
	if f == 0 {
		return "0" // also for -0
	}
	sign := ""
	if f < 0 {
		sign, f = "-", -f
	}
	// Shortest round-trip digits: "d.ddde±x" or "de±x".
	e := strconv.FormatFloat(f, 'e', -1, 64)
	mant, expStr, _ := strings.Cut(e, "e")
	digits := strings.Replace(mant, ".", "", 1)
	x, _ := strconv.Atoi(expStr)
	k, n := len(digits), x+1 // value = 0.digits × 10^n
	var s string
	switch {
	case k <= n && n <= 21:
		s = digits + strings.Repeat("0", n-k)
	case 0 < n && n <= 21:
		s = digits[:n] + "." + digits[n:]
	case -6 < n && n <= 0:
		s = "0." + strings.Repeat("0", -n) + digits
	default:
		s = digits[:1]
		if k > 1 {
			s += "." + digits[1:]
		}
		es := "+"
		if n-1 < 0 {
			es = "-"
		}
		s += "e" + es + strconv.Itoa(abs(n-1))
	}
	return sign + s
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// decimal is an exact decimal value: (-1)^neg × digits × 10^exp, where digits
// has no leading or trailing zeros; zero is the zero value.
type decimal struct {
	neg    bool
	digits string
	exp    int64
}

// parseDecimal parses a JSON number literal into its exact decimal value.
func parseDecimal(s string) (decimal, bool) {
	var d decimal
	if strings.HasPrefix(s, "-") {
		d.neg, s = true, s[1:]
	}
	mant, expStr, hasExp := strings.Cut(strings.ToLower(s), "e")
	var exp int64
	if hasExp {
		v, err := strconv.ParseInt(strings.TrimPrefix(expStr, "+"), 10, 64)
		if err != nil {
			return decimal{}, false
		}
		exp = v
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	digits := intPart + frac
	exp -= int64(len(frac))
	digits = strings.TrimLeft(digits, "0")
	trimmed := strings.TrimRight(digits, "0")
	exp += int64(len(digits) - len(trimmed))
	if trimmed == "" {
		return decimal{}, true // zero, sign and exponent irrelevant
	}
	d.digits, d.exp = trimmed, exp
	return d, true
}

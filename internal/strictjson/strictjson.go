// Package strictjson checks JSON text for the ambiguities that let two
// readers of one document see two different values: an object with the
// same key twice (at any depth, compared after unescaping, so "a" and
// "\u0061" are the same key) and strings that are not valid UTF-8 (raw
// invalid bytes, or \u escapes of lone surrogates such as "\ud800", which
// encoding/json silently replaces with U+FFFD).
//
// It is for every reader of untrusted JSON in holdfast: text that passes
// [Check] means one thing to every conforming decoder, so a value decoded
// from it with encoding/json is the value a permission check, a validator
// and an action all see. It does no I/O and is safe for concurrent use.
package strictjson

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxDepth is the deepest nesting of arrays and objects Check accepts, the
// same bound encoding/json applies.
const MaxDepth = 10000

// maxInvalid bounds how many invalid strings one error lists.
const maxInvalid = 50

// SyntaxError reports text that is not one JSON value.
type SyntaxError struct {
	Msg    string
	Offset int // byte offset of the problem
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s at byte %d", e.Msg, e.Offset)
}

// DuplicateKeyError reports an object that has the same key twice. Path is
// where the key sits, e.g. "recordings[0].metadata.legal_hold".
type DuplicateKeyError struct {
	Path   string
	Offset int // byte offset of the second occurrence
}

func (e *DuplicateKeyError) Error() string {
	return fmt.Sprintf("key %s is given twice in one object (second time at byte %d)", e.Path, e.Offset)
}

// InvalidUTF8Error reports strings (values or keys) that are not valid
// UTF-8. Paths lists where, in document order; at most 50 are listed.
type InvalidUTF8Error struct {
	Paths []string
}

func (e *InvalidUTF8Error) Error() string {
	return fmt.Sprintf("string at %s is not valid UTF-8", strings.Join(e.Paths, ", "))
}

// Check reads data as exactly one JSON value (with optional surrounding
// whitespace). It returns a *SyntaxError if data is not JSON; otherwise a
// *DuplicateKeyError for the first object with a repeated key; otherwise an
// *InvalidUTF8Error listing every string that is not valid UTF-8; otherwise
// nil.
func Check(data []byte) error {
	c := checker{data: data}
	c.space()
	if c.pos >= len(data) {
		return &SyntaxError{Msg: "unexpected end of JSON input", Offset: c.pos}
	}
	c.value(0)
	if c.syntax == nil {
		c.space()
		if c.pos < len(data) {
			c.fail("data after the JSON value")
		}
	}
	switch {
	case c.syntax != nil:
		return c.syntax
	case c.dup != nil:
		return c.dup
	case len(c.invalid) > 0:
		return &InvalidUTF8Error{Paths: c.invalid}
	}
	return nil
}

// segment is one step of a path: an object key or an array index.
type segment struct {
	key   string
	index int // -1 for a key
}

type checker struct {
	data    []byte
	pos     int
	path    []segment
	syntax  *SyntaxError
	dup     *DuplicateKeyError
	invalid []string
}

func (c *checker) fail(msg string) {
	if c.syntax == nil {
		c.syntax = &SyntaxError{Msg: msg, Offset: c.pos}
	}
}

// pathString renders the current path, e.g. "a.b[2].c". Keys are shown
// with invalid bytes replaced, since the path itself goes into messages.
func (c *checker) pathString() string {
	var b strings.Builder
	for _, s := range c.path {
		if s.index >= 0 {
			b.WriteString("[" + strconv.Itoa(s.index) + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strings.ToValidUTF8(s.key, "\uFFFD"))
	}
	return b.String()
}

func (c *checker) space() {
	for c.pos < len(c.data) {
		switch c.data[c.pos] {
		case ' ', '\t', '\n', '\r':
			c.pos++
		default:
			return
		}
	}
}

// value reads one value at c.pos; it stops at the first syntax error.
func (c *checker) value(depth int) {
	if c.pos >= len(c.data) {
		c.fail("unexpected end of JSON input")
		return
	}
	switch ch := c.data[c.pos]; {
	case ch == '{':
		c.object(depth + 1)
	case ch == '[':
		c.array(depth + 1)
	case ch == '"':
		_, valid := c.str(false)
		if !valid && c.syntax == nil {
			c.markInvalid()
		}
	case ch == '-' || ch >= '0' && ch <= '9':
		c.number()
	case ch == 't':
		c.literal("true")
	case ch == 'f':
		c.literal("false")
	case ch == 'n':
		c.literal("null")
	default:
		c.fail(fmt.Sprintf("invalid character %q looking for the beginning of a value", rune(ch)))
	}
}

func (c *checker) markInvalid() {
	if len(c.invalid) < maxInvalid {
		c.invalid = append(c.invalid, c.pathString())
	}
}

func (c *checker) literal(word string) {
	if len(c.data)-c.pos < len(word) || string(c.data[c.pos:c.pos+len(word)]) != word {
		c.fail("invalid literal, expected " + word)
		return
	}
	c.pos += len(word)
}

func (c *checker) digits() int {
	n := 0
	for c.pos < len(c.data) && c.data[c.pos] >= '0' && c.data[c.pos] <= '9' {
		c.pos++
		n++
	}
	return n
}

func (c *checker) number() {
	if c.data[c.pos] == '-' {
		c.pos++
	}
	switch {
	case c.pos < len(c.data) && c.data[c.pos] == '0':
		c.pos++
	case c.digits() == 0:
		c.fail("invalid number: expected a digit")
		return
	}
	if c.pos < len(c.data) && c.data[c.pos] == '.' {
		c.pos++
		if c.digits() == 0 {
			c.fail("invalid number: expected a digit after the decimal point")
			return
		}
	}
	if c.pos < len(c.data) && (c.data[c.pos] == 'e' || c.data[c.pos] == 'E') {
		c.pos++
		if c.pos < len(c.data) && (c.data[c.pos] == '+' || c.data[c.pos] == '-') {
			c.pos++
		}
		if c.digits() == 0 {
			c.fail("invalid number: expected a digit in the exponent")
		}
	}
}

func (c *checker) object(depth int) {
	if depth > MaxDepth {
		c.fail("JSON nested too deeply")
		return
	}
	c.pos++ // '{'
	c.space()
	if c.pos < len(c.data) && c.data[c.pos] == '}' {
		c.pos++
		return
	}
	seen := map[string]struct{}{}
	for {
		c.space()
		if c.pos >= len(c.data) || c.data[c.pos] != '"' {
			c.fail("expected a string as an object key")
			return
		}
		keyAt := c.pos
		key, valid := c.str(true)
		if c.syntax != nil {
			return
		}
		c.path = append(c.path, segment{key: key, index: -1})
		if !valid {
			c.markInvalid()
		}
		if _, dup := seen[key]; dup && c.dup == nil {
			c.dup = &DuplicateKeyError{Path: c.pathString(), Offset: keyAt}
		}
		seen[key] = struct{}{}
		c.space()
		if c.pos >= len(c.data) || c.data[c.pos] != ':' {
			c.fail("expected ':' after an object key")
			return
		}
		c.pos++
		c.space()
		c.value(depth)
		c.path = c.path[:len(c.path)-1]
		if c.syntax != nil {
			return
		}
		if c.separator('}', "an object member") {
			return
		}
	}
}

func (c *checker) array(depth int) {
	if depth > MaxDepth {
		c.fail("JSON nested too deeply")
		return
	}
	c.pos++ // '['
	c.space()
	if c.pos < len(c.data) && c.data[c.pos] == ']' {
		c.pos++
		return
	}
	for i := 0; ; i++ {
		c.space()
		c.path = append(c.path, segment{index: i})
		c.value(depth)
		c.path = c.path[:len(c.path)-1]
		if c.syntax != nil {
			return
		}
		if c.separator(']', "an array element") {
			return
		}
	}
}

// separator reads what follows an object member or array element: ','
// (more to come) or close (the end of the container, then consumed). It
// reports whether the container is done; anything else is a syntax error
// (c.syntax is set) and also ends it.
func (c *checker) separator(close byte, what string) (end bool) {
	c.space()
	if c.pos >= len(c.data) {
		c.fail("unexpected end of JSON input")
		return true
	}
	switch c.data[c.pos] {
	case ',':
		c.pos++
		return false
	case close:
		c.pos++
		return true
	}
	c.fail("expected ',' or '" + string(close) + "' after " + what)
	return true
}

// str reads a string at c.pos (which is '"'). It returns whether it was
// valid UTF-8 with no lone surrogate escape and, if want is set, the
// unescaped text (invalid parts replaced by U+FFFD); only keys need it.
func (c *checker) str(want bool) (string, bool) {
	c.pos++ // opening quote
	start := c.pos
	// Fast path: no escapes, all ASCII.
	for c.pos < len(c.data) {
		ch := c.data[c.pos]
		if ch == '"' {
			var s string
			if want {
				s = string(c.data[start:c.pos])
			}
			c.pos++
			return s, true
		}
		if ch == '\\' || ch < 0x20 || ch >= utf8.RuneSelf {
			break
		}
		c.pos++
	}
	var b builder
	b.on = want
	b.add(c.data[start:c.pos])
	valid := true
	for c.pos < len(c.data) {
		ch := c.data[c.pos]
		switch {
		case ch == '"':
			c.pos++
			return b.String(), valid
		case ch < 0x20:
			c.fail("invalid control character in a string")
			return "", false
		case ch == '\\':
			if !c.escape(&b) {
				valid = false
			}
			if c.syntax != nil {
				return "", false
			}
		case ch < utf8.RuneSelf:
			b.addByte(ch)
			c.pos++
		default:
			r, size := utf8.DecodeRune(c.data[c.pos:])
			if r == utf8.RuneError && size == 1 {
				valid = false
			}
			b.addRune(r)
			c.pos += size
		}
	}
	c.fail("unexpected end of JSON input in a string")
	return "", false
}

// escape reads one escape sequence at c.pos (which is '\') into b. It
// reports false for a lone surrogate.
func (c *checker) escape(b *builder) bool {
	if c.pos+1 >= len(c.data) {
		c.pos = len(c.data)
		c.fail("unexpected end of JSON input in a string")
		return false
	}
	e := c.data[c.pos+1]
	if r, ok := simpleEscape(e); ok {
		b.addByte(r)
		c.pos += 2
		return true
	}
	if e != 'u' {
		c.pos++
		c.fail(fmt.Sprintf("invalid escape character %q in a string", rune(e)))
		return false
	}
	r, ok := c.hex4(c.pos + 2)
	if !ok {
		return false
	}
	c.pos += 6
	switch {
	case r >= 0xD800 && r < 0xDC00:
		// A high surrogate must be followed by an escaped low one.
		if c.pos+1 < len(c.data) && c.data[c.pos] == '\\' && c.data[c.pos+1] == 'u' {
			lo, ok := c.hex4(c.pos + 2)
			if !ok {
				return false
			}
			if lo >= 0xDC00 && lo < 0xE000 {
				b.addRune(0x10000 + (r-0xD800)<<10 + (lo - 0xDC00))
				c.pos += 6
				return true
			}
		}
		b.addRune(utf8.RuneError)
		return false
	case r >= 0xDC00 && r < 0xE000:
		b.addRune(utf8.RuneError)
		return false
	}
	b.addRune(r)
	return true
}

// builder collects unescaped text only when on, so that checking a value
// string allocates nothing.
type builder struct {
	on bool
	sb strings.Builder
}

func (b *builder) add(p []byte) {
	if b.on {
		b.sb.Write(p)
	}
}

func (b *builder) addByte(c byte) {
	if b.on {
		b.sb.WriteByte(c)
	}
}

func (b *builder) addRune(r rune) {
	if b.on {
		b.sb.WriteRune(r)
	}
}

func (b *builder) String() string { return b.sb.String() }

// simpleEscape maps the character after a backslash to what it stands
// for, for every escape but \u.
func simpleEscape(e byte) (byte, bool) {
	switch e {
	case '"', '\\', '/':
		return e, true
	case 'b':
		return '\b', true
	case 'f':
		return '\f', true
	case 'n':
		return '\n', true
	case 'r':
		return '\r', true
	case 't':
		return '\t', true
	}
	return 0, false
}

// hex4 reads four hex digits at i.
func (c *checker) hex4(i int) (rune, bool) {
	if i+4 > len(c.data) {
		c.pos = len(c.data)
		c.fail("unexpected end of JSON input in a \\u escape")
		return 0, false
	}
	var r rune
	for _, h := range c.data[i : i+4] {
		var d byte
		switch {
		case h >= '0' && h <= '9':
			d = h - '0'
		case h >= 'a' && h <= 'f':
			d = h - 'a' + 10
		case h >= 'A' && h <= 'F':
			d = h - 'A' + 10
		default:
			c.pos = i
			c.fail("invalid \\u escape: expected four hex digits")
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	return r, true
}

package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/holdfast/holdfast/internal/strictjson/strictjsontest"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     string // "" valid; "syntax"; "dup:<path>"; "utf8:<paths>"
	}{
		{"object", `{"a":1,"b":[true,false,null],"c":{"d":"e"}}`, ""},
		{"scalars", ` -0.5e+10 `, ""},
		{"escapes", `"\" \\ \/ \b \f \n \r \t \u00e9 \ud83d\ude00"`, ""},
		{"raw utf8", `{"name":"Zoë 😀"}`, ""},
		{"replacement char itself is valid", `["\ufffd","` + "\uFFFD" + `"]`, ""},
		{"same key in sibling objects", `[{"a":1},{"a":2}]`, ""},
		{"same key at two depths", `{"a":{"a":1}}`, ""},

		{"dup top level", `{"recordings":5,"recordings":[]}`, "dup:recordings"},
		{"dup nested", `{"filter":{"record_ids":[]},"metadata":{"legal_hold":true,"legal_hold":false}}`, "dup:metadata.legal_hold"},
		{"dup in array element", `{"recordings":[{"id":"a"},{"id":"b","id":"c"}]}`, "dup:recordings[1].id"},
		{"dup by escape", `{"a":1,"\u0061":2}`, "dup:a"},
		{"dup by escaped slash", `{"a/b":1,"a\/b":2}`, "dup:a/b"},
		{"dup by surrogate pair", `{"😀":1,"\ud83d\ude00":2}`, "dup:😀"},
		{"dup reported before bad utf8", `{"a":"\ud800","a":1}`, "dup:a"},
		{"first dup wins", `{"x":{"b":1,"b":2},"a":1,"a":2}`, "dup:x.b"},

		{"lone high surrogate", `{"a":"\ud800"}`, "utf8:a"},
		{"lone low surrogate", `{"a":["x","\udc00"]}`, "utf8:a[1]"},
		{"high then non-low", `{"a":"\ud800\u0041"}`, "utf8:a"},
		{"high at end", `"x\uD800"`, "utf8:"},
		{"reversed pair", `{"a":"\ude00\ud83d"}`, "utf8:a"},
		{"raw invalid byte", "{\"a\":\"\xff\"}", "utf8:a"},
		{"overlong encoding", "{\"a\":\"\xc0\xaf\"}", "utf8:a"},
		{"raw surrogate bytes", "{\"a\":\"\xed\xa0\x80\"}", "utf8:a"},
		{"invalid key", "{\"k\xff\":1}", "utf8:k\uFFFD"},
		{"all invalid listed", `{"a":"\ud800","b":{"c":"\udfff"}}`, "utf8:a,b.c"},

		{"empty", ``, "syntax"},
		{"only space", "  \n", "syntax"},
		{"trailing data", `{} {}`, "syntax"},
		{"trailing comma", `{"a":1,}`, "syntax"},
		{"unquoted key", `{a:1}`, "syntax"},
		{"single quotes", `{'a':1}`, "syntax"},
		{"bad escape", `"\x"`, "syntax"},
		{"short unicode escape", `"\u12"`, "syntax"},
		{"control char", "\"a\tb\"", "syntax"},
		{"leading zero", `01`, "syntax"},
		{"bare minus", `-`, "syntax"},
		{"dot without digits", `1.`, "syntax"},
		{"unterminated", `{"a":"b`, "syntax"},
		{"NaN", `NaN`, "syntax"},
		{"bad literal", `tru`, "syntax"},
		{"syntax wins over dup", `{"a":1,"a":2`, "syntax"},
		{"too deep", strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1), "syntax"},
		{"deep enough", strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := describe(Check([]byte(tt.in))); got != tt.want {
				t.Fatalf("Check(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func describe(err error) string {
	var se *SyntaxError
	var de *DuplicateKeyError
	var ue *InvalidUTF8Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &se):
		return "syntax"
	case errors.As(err, &de):
		return "dup:" + de.Path
	case errors.As(err, &ue):
		return "utf8:" + strings.Join(ue.Paths, ",")
	}
	return "unexpected " + err.Error()
}

// hasDuplicate reports whether any object repeats a key, as the token
// stream sees it.
func hasDuplicate(data []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	type frame struct {
		obj  bool
		keys map[string]bool
		key  bool // next token in an object is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		if n := len(stack); n > 0 && stack[n-1].obj && stack[n-1].key {
			if d, ok := tok.(json.Delim); !ok || d != '}' {
				k := tok.(string)
				if stack[n-1].keys[k] {
					return true
				}
				stack[n-1].keys[k] = true
				stack[n-1].key = false
				continue
			}
		}
		if n := len(stack); n > 0 && stack[n-1].obj {
			stack[n-1].key = true
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{':
				stack = append(stack, &frame{obj: true, keys: map[string]bool{}, key: true})
			case '[':
				stack = append(stack, &frame{})
			default:
				stack = stack[:len(stack)-1]
			}
		}
	}
}

// hasSurrogateEscape reports whether data has a \u escape of a UTF-16
// surrogate (paired or not).
func hasSurrogateEscape(data []byte) bool {
	for i := 0; i+5 < len(data); i++ {
		if data[i] != '\\' {
			continue
		}
		if data[i+1] == 'u' && (data[i+2] == 'd' || data[i+2] == 'D') && strings.ContainsRune("89abcdefABCDEF", rune(data[i+3])) {
			return true
		}
		i++ // skip the escaped character
	}
	return false
}

// FuzzCheck compares Check with encoding/json and with an independent
// first-wins reader: text Check accepts means the same to both readers,
// and each rejection has a cause the others can confirm.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{
		`{"a":1}`, `{"a":1,"a":2}`, `{"a":1,"\u0061":2}`, `{"a":"\ud800"}`, `{"a":"\ud83d\ude00"}`,
		"{\"a\":\"\xff\"}", `[{"x":[{"y":{"z":null,"z":0}}]}]`, `{"recordings":5,"recordings":[{"id":"rec_1","metadata":{"legal_hold":false,"release_reason":"x","case_id":"REL-2"}}]}`,
		`{"filter":{"record_ids":["rec_1"]},"metadata":5,"metadata":{"legal_hold":true,"case_id":"ESC-1"}}`, `1e5`, `"\u00"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		err := Check(data)
		var se *SyntaxError
		var de *DuplicateKeyError
		var ue *InvalidUTF8Error
		switch {
		case err == nil:
			if !json.Valid(data) {
				t.Fatalf("accepted invalid JSON %q", data)
			}
			last, first, err := strictjsontest.Readings(data)
			if err != nil {
				t.Fatalf("accepted %q, which a reader refuses: %v", data, err)
			}
			if !reflect.DeepEqual(first, last) {
				t.Fatalf("accepted %q, but first-wins and last-wins readers disagree: %v vs %v", data, first, last)
			}
		case errors.As(err, &se):
			if json.Valid(data) {
				t.Fatalf("syntax error %v for valid JSON %q", err, data)
			}
		case errors.As(err, &de):
			if !json.Valid(data) || !hasDuplicate(data) {
				t.Fatalf("duplicate %v reported for %q, which has none", err, data)
			}
		case errors.As(err, &ue):
			if !json.Valid(data) || (utf8.Valid(data) && !hasSurrogateEscape(data)) {
				t.Fatalf("invalid UTF-8 %v reported for %q", err, data)
			}
			if len(ue.Paths) == 0 {
				t.Fatalf("invalid UTF-8 reported with no path for %q", data)
			}
		default:
			t.Fatalf("error of type %T", err)
		}
		if err == nil || errors.As(err, &ue) {
			if hasDuplicate(data) {
				t.Fatalf("missed a duplicate key in %q", data)
			}
		}
		if json.Valid(data) && !hasDuplicate(data) && utf8.Valid(data) && !hasSurrogateEscape(data) && err != nil {
			t.Fatalf("rejected clean JSON %q: %v", data, err)
		}
	})
}

// BenchmarkCheck measures the check on a body near the API's 8 MiB limit:
// a per-recording hold request of many entries.
func BenchmarkCheck(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString(`{"recordings":[`)
	for i := 0; buf.Len() < 8<<20-200; i++ {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString(`{"id":"rec_01JD0000000000000000000000","metadata":{"legal_hold":true,"hold_reason":"Discovery Request #12345 \u00e9","case_id":"LC-2024-001"}}`)
	}
	buf.WriteString(`]}`)
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := Check(data); err != nil {
			b.Fatal(err)
		}
	}
}

package audit

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/rfc6962"
)

var testTime = time.Date(2025, 3, 4, 5, 6, 7, 890, time.UTC)

func TestEntryCanonicalStable(t *testing.T) {
	base := Entry{Index: 3, Time: testTime, Type: "hold.applied", Actor: "tok_1", Subject: "rec_9"}
	const want = `{"actor":"tok_1","data":{"a":[1,2,{"c":null,"d":true}],"b":"x"},"index":3,"subject":"rec_9","time":"2025-03-04T05:06:07.000000890Z","type":"hold.applied"}`
	tests := []struct {
		name string
		data string
		tz   *time.Location
	}{
		{"sorted compact", `{"a":[1,2,{"c":null,"d":true}],"b":"x"}`, time.UTC},
		{"reversed keys", `{"b":"x","a":[1,2,{"d":true,"c":null}]}`, time.UTC},
		{"whitespace", " {\n\t\"b\" : \"x\" ,\r\n \"a\" : [ 1 , 2.0 , { \"d\" : true , \"c\" : null } ] }\n", time.UTC},
		{"escaped key and number forms", `{"\u0062":"\u0078","a":[1E0,0.2e1,{"d":true,"c":null}]}`, time.UTC},
		{"other time zone", `{"b":"x","a":[1,2,{"d":true,"c":null}]}`, time.FixedZone("X", -7*3600)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := base
			e.Time = testTime.In(tc.tz)
			e.Data = json.RawMessage(tc.data)
			got, err := e.Canonical()
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != want {
				t.Errorf("Canonical() =\n%s\nwant\n%s", got, want)
			}
			h, err := e.Hash()
			if err != nil {
				t.Fatal(err)
			}
			if ref := rfc6962.DefaultHasher.HashLeaf([]byte(want)); string(ref) != string(h[:]) {
				t.Errorf("Hash() differs from RFC 6962 leaf hash")
			}
		})
	}
}

func TestEntryCanonicalFields(t *testing.T) {
	tests := []struct {
		name string
		e    Entry
		want string
	}{
		{"no data", Entry{Index: 0, Time: testTime, Type: "t", Actor: "system", Subject: "s"},
			`{"actor":"system","index":0,"subject":"s","time":"2025-03-04T05:06:07.000000890Z","type":"t"}`},
		{"null data", Entry{Index: 1, Time: testTime, Type: "t", Actor: "a", Subject: "s", Data: json.RawMessage("null")},
			`{"actor":"a","index":1,"subject":"s","time":"2025-03-04T05:06:07.000000890Z","type":"t"}`},
		{"empty object", Entry{Index: 1, Time: testTime, Type: "t", Actor: "a", Subject: "s", Data: json.RawMessage("{ }")},
			`{"actor":"a","data":{},"index":1,"subject":"s","time":"2025-03-04T05:06:07.000000890Z","type":"t"}`},
		{"escaping", Entry{Index: 2, Time: testTime.Truncate(time.Second), Type: "<&>\u2028", Actor: "a\"b\\c", Subject: "\x01\n\t\x7f"},
			`{"actor":"a\"b\\c","index":2,"subject":"\u0001\n\t` + "\x7f" + `","time":"2025-03-04T05:06:07.000000000Z","type":"<&>` + "\u2028" + `"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.e.Canonical()
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("Canonical() =\n%s\nwant\n%s", got, tc.want)
			}
			if !json.Valid(got) {
				t.Errorf("canonical form is not valid JSON")
			}
		})
	}
}

func TestEntryCanonicalErrors(t *testing.T) {
	ok := Entry{Index: 0, Time: testTime, Type: "t", Actor: "a", Subject: "s"}
	tests := []struct {
		name   string
		mutate func(*Entry)
		substr string
	}{
		{"negative index", func(e *Entry) { e.Index = -1 }, "negative"},
		{"zero time", func(e *Entry) { e.Time = time.Time{} }, "time is zero"},
		{"year 10000", func(e *Entry) { e.Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, "year"},
		{"invalid utf-8 type", func(e *Entry) { e.Type = "\xff" }, "UTF-8"},
		{"invalid utf-8 data", func(e *Entry) { e.Data = json.RawMessage("{\"a\":\"\xff\"}") }, "UTF-8"},
		{"invalid json", func(e *Entry) { e.Data = json.RawMessage(`{"a":}`) }, "invalid JSON"},
		{"trailing data", func(e *Entry) { e.Data = json.RawMessage(`{} {}`) }, "invalid JSON"},
		{"array data", func(e *Entry) { e.Data = json.RawMessage(`[1]`) }, "not a JSON object"},
		{"string data", func(e *Entry) { e.Data = json.RawMessage(`"x"`) }, "not a JSON object"},
		{"duplicate key", func(e *Entry) { e.Data = json.RawMessage(`{"a":1,"a":2}`) }, "duplicate"},
		{"nested duplicate key", func(e *Entry) { e.Data = json.RawMessage(`{"x":[{"a":1,"\u0061":2}]}`) }, "duplicate"},
		{"lone high surrogate", func(e *Entry) { e.Data = json.RawMessage(`{"a":"\ud800"}`) }, "surrogate"},
		{"lone low surrogate", func(e *Entry) { e.Data = json.RawMessage(`{"a":"x\udc00"}`) }, "surrogate"},
		{"reversed surrogates", func(e *Entry) { e.Data = json.RawMessage(`{"a":"\udc00\ud800"}`) }, "surrogate"},
		{"inexact big integer", func(e *Entry) { e.Data = json.RawMessage(`{"n":9007199254740993}`) }, "exactly"},
		{"too precise decimal", func(e *Entry) { e.Data = json.RawMessage(`{"n":0.30000000000000001}`) }, "exactly"},
		{"underflow", func(e *Entry) { e.Data = json.RawMessage(`{"n":1e-400}`) }, "exactly"},
		{"overflow", func(e *Entry) { e.Data = json.RawMessage(`{"n":1e400}`) }, "out of range"},
		{"too deep", func(e *Entry) {
			e.Data = json.RawMessage(`{"a":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`)
		}, "deeper"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := ok
			tc.mutate(&e)
			_, err := e.Canonical()
			if err == nil {
				t.Fatal("Canonical() succeeded, want error")
			}
			if !strings.Contains(err.Error(), tc.substr) || !strings.HasPrefix(err.Error(), "audit: ") {
				t.Errorf("error %q, want prefix \"audit: \" and %q", err, tc.substr)
			}
		})
	}
}

func TestCanonicalJSON(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		// RFC 8785 section 3.2.2 example, minus 333333333.33333329, which is
		// not exact in float64 and is rejected here (see inexact test).
		{"rfc8785 example",
			`{"numbers": [1E30, 4.50, 2e-3, 0.000000000000000000000000001],
			  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
			  "literals": [null, true, false]}`,
			`{"literals":[null,true,false],"numbers":[1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`},
		{"utf16 key order", `{"\ue000":1,"😀":2,"a":3,"\u00e9":4}`, `{"a":3,"é":4,"😀":2,"` + "\ue000" + `":1}`},
		{"surrogate pair", `{"s":"\ud83d\ude00"}`, `{"s":"😀"}`},
		{"escaped backslash before u", `{"s":"\\ud800"}`, `{"s":"\\ud800"}`},
		{"numbers", `[0,-0,0.0,1.0,100,1e21,1e20,123456789012345680000,1e-7,1e-6,0.000001,-1.5e-10,5e-324,1.7976931348623157e308,0.1,9007199254740992]`,
			`[0,0,0,1,100,1e+21,100000000000000000000,123456789012345680000,1e-7,0.000001,0.000001,-1.5e-10,5e-324,1.7976931348623157e+308,0.1,9007199254740992]`},
		{"scalars", `"x"`, `"x"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CanonicalJSON([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("CanonicalJSON() =\n%s\nwant\n%s", got, tc.want)
			}
			again, err := CanonicalJSON(got)
			if err != nil || string(again) != string(got) {
				t.Errorf("canonical form not a fixed point: %s, %v", again, err)
			}
		})
	}
}

// FuzzCanonicalJSON checks that canonical output is valid JSON, a fixed point,
// and equal in meaning to the input.
func FuzzCanonicalJSON(f *testing.F) {
	for _, s := range []string{`{"b":1,"a":[1.5e3,-0,"\u00e9\ud83d\ude00"]}`, `{"x":{"y":null,"z":true}}`, `[1e21,1e-7]`, `"\u0001"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := CanonicalJSON(in)
		if err != nil {
			return
		}
		again, err := CanonicalJSON(c)
		if err != nil || string(again) != string(c) {
			t.Fatalf("not a fixed point: %q -> %q -> %q (%v)", in, c, again, err)
		}
		var a, b any
		if json.Unmarshal(in, &a) != nil || json.Unmarshal(c, &b) != nil || !reflect.DeepEqual(a, b) {
			t.Fatalf("meaning changed: %q -> %q", in, c)
		}
	})
}

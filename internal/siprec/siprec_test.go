package siprec

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// doc wraps body in a <recording> root in the RFC 7865 namespace.
func doc(body string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<recording xmlns="urn:ietf:params:xml:ns:recording:1">
` + body + `
</recording>
`
}

func ts(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("bad test timestamp %q: %v", s, err)
	}
	return v.UTC()
}

func TestParseFiles(t *testing.T) {
	tests := []struct {
		file string
		want Metadata
	}{
		{
			file: "rfc7865_example.xml",
			want: Metadata{
				CallID:    "", // RFC 7865's example has only a Session-ID
				StartedAt: ts(t, "2010-12-16T23:41:07Z"),
				Participants: []Participant{
					{AOR: "sip:bob@biloxi.com", Name: "Bob"},
					{AOR: "sip:Paul@biloxi.com", Name: "Paul"},
				},
			},
		},
		{
			file: "src_complete_call.xml",
			want: Metadata{
				CallID:    "a84b4c76e66710@pc33.atlanta.example.com",
				StartedAt: ts(t, "2024-03-05T14:02:11.25Z"),
				EndedAt:   ts(t, "2024-03-05T14:09:43.125Z"),
				Participants: []Participant{
					{AOR: "sip:alice@atlanta.example.com", Name: "Alice Liddell"},
					{AOR: "tel:+1-404-555-0101", Name: "Alice Liddell"},
					{AOR: "sips:bob@biloxi.example.com", Name: "Bob"},
				},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, err := Parse(f)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Metadata
	}{
		{
			name: "empty recording",
			in:   doc(""),
			want: Metadata{},
		},
		{
			name: "datamode only",
			in:   doc("<datamode>partial</datamode>"),
			want: Metadata{},
		},
		{
			name: "participants only, no times or call id",
			in: doc(`<participant participant_id="p1"><nameID aor="sip:a@example.com"/></participant>
<participant participant_id="p2"><nameID aor="tel:+15551234567"><name>  Carol  </name></nameID></participant>`),
			want: Metadata{Participants: []Participant{
				{AOR: "sip:a@example.com"},
				{AOR: "tel:+15551234567", Name: "Carol"},
			}},
		},
		{
			name: "participant without nameID contributes nothing",
			in:   doc(`<participant participant_id="p1"/>`),
			want: Metadata{},
		},
		{
			name: "first non-empty name of several languages",
			in: doc(`<participant participant_id="p1"><nameID aor="sip:a@example.com">
<name xml:lang="en"> </name><name xml:lang="it">Alessia</name><name xml:lang="fr">Alexia</name></nameID></participant>`),
			want: Metadata{Participants: []Participant{{AOR: "sip:a@example.com", Name: "Alessia"}}},
		},
		{
			name: "duplicate AOR keeps first position, later name fills gap",
			in: doc(`<participant participant_id="p1"><nameID aor="sip:b@example.com"/></participant>
<participant participant_id="p2"><nameID aor="sip:a@example.com"><name>A</name></nameID></participant>
<participant participant_id="p3"><nameID aor=" sip:b@example.com "><name>B</name></nameID></participant>
<participant participant_id="p4"><nameID aor="sip:a@example.com"><name>Other</name></nameID></participant>`),
			want: Metadata{Participants: []Participant{
				{AOR: "sip:b@example.com", Name: "B"},
				{AOR: "sip:a@example.com", Name: "A"},
			}},
		},
		{
			name: "scheme is case-insensitive",
			in:   doc(`<participant participant_id="p1"><nameID aor="SIP:A@example.com"/></participant>`),
			want: Metadata{Participants: []Participant{{AOR: "SIP:A@example.com"}}},
		},
		{
			name: "call id directly in session",
			in:   doc(`<session session_id="s1"><sipSessionID>abc</sipSessionID><callid> 1234@host </callid></session>`),
			want: Metadata{CallID: "1234@host"},
		},
		{
			name: "call id in session extension data",
			in: doc(`<session session_id="s1"><ext:info xmlns:ext="http://vendor.example/x">
<ext:callid>ext-call@host</ext:callid></ext:info></session>`),
			want: Metadata{CallID: "ext-call@host"},
		},
		{
			name: "call id name compared case-insensitively",
			in:   doc(`<session session_id="s1"><v:callId xmlns:v="http://vendor.example/x">cased@host</v:callId></session>`),
			want: Metadata{CallID: "cased@host"},
		},
		{
			name: "call id in group extension used when session has none",
			in: doc(`<group group_id="g1"><associate-time>2026-06-25T04:50:41Z</associate-time>
<callData xmlns="urn:ietf:params:xml:ns:callData"><callid>4990206_132492727@10.87.18.17</callid></callData></group>
<session session_id="s1"><group-ref>g1</group-ref><start-time>2026-06-25T04:50:41Z</start-time></session>`),
			want: Metadata{CallID: "4990206_132492727@10.87.18.17", StartedAt: ts(t, "2026-06-25T04:50:41Z")},
		},
		{
			name: "session call id wins over group call id",
			in: doc(`<group group_id="g1"><x:callid xmlns:x="http://x.example">from-group</x:callid></group>
<session session_id="s1"><callid>from-session</callid></session>`),
			want: Metadata{CallID: "from-session"},
		},
		{
			name: "first session call id wins",
			in: doc(`<session session_id="s1"><callid>first</callid></session>
<session session_id="s2"><callid>second</callid></session>`),
			want: Metadata{CallID: "first"},
		},
		{
			name: "empty callid ignored",
			in:   doc(`<session session_id="s1"><callid>  </callid><callid>real</callid></session>`),
			want: Metadata{CallID: "real"},
		},
		{
			name: "callid outside session and group ignored",
			in:   doc(`<callid>top</callid><participant participant_id="p"><callid>p</callid></participant>`),
			want: Metadata{},
		},
		{
			name: "sipSessionID is not a call id",
			in:   doc(`<session session_id="s1"><sipSessionID>ab30317f1a784dc48ff824d0d3715d86</sipSessionID></session>`),
			want: Metadata{},
		},
		{
			name: "times from session and both association kinds",
			in: doc(`<session session_id="s1"><start-time>2024-01-01T10:00:05Z</start-time><stop-time>2024-01-01T10:30:00Z</stop-time></session>
<sessionrecordingassoc session_id="s1"><associate-time>2024-01-01T10:00:03Z</associate-time><disassociate-time>2024-01-01T10:31:00Z</disassociate-time></sessionrecordingassoc>
<participantsessionassoc participant_id="p1" session_id="s1"><associate-time>2024-01-01T11:00:01+01:00</associate-time><disassociate-time>2024-01-01T10:32:00.5Z</disassociate-time></participantsessionassoc>`),
			want: Metadata{StartedAt: ts(t, "2024-01-01T10:00:01Z"), EndedAt: ts(t, "2024-01-01T10:32:00.5Z")},
		},
		{
			name: "end-time accepted as stop-time",
			in:   doc(`<session session_id="s1"><end-time>2024-01-01T10:30:00Z</end-time></session>`),
			want: Metadata{EndedAt: ts(t, "2024-01-01T10:30:00Z")},
		},
		{
			name: "only end time",
			in:   doc(`<sessionrecordingassoc session_id="s1"><disassociate-time>2024-01-01T10:30:00Z</disassociate-time></sessionrecordingassoc>`),
			want: Metadata{EndedAt: ts(t, "2024-01-01T10:30:00Z")},
		},
		{
			name: "group and stream times validated but not used",
			in: doc(`<group group_id="g1"><associate-time>2000-01-01T00:00:00Z</associate-time><disassociate-time>2099-01-01T00:00:00Z</disassociate-time></group>
<stream stream_id="x" session_id="s1"><associate-time>2001-01-01T00:00:00Z</associate-time></stream>`),
			want: Metadata{},
		},
		{
			name: "time elements in other namespaces are extension data",
			in:   doc(`<session session_id="s1"><start-time xmlns="http://other.example">yesterday</start-time></session>`),
			want: Metadata{},
		},
		{
			name: "recording elements in no namespace are extension data",
			in: `<recording xmlns="urn:ietf:params:xml:ns:recording:1"><participant xmlns="" participant_id="p">
<nameID aor="mailto:x@example.com"/></participant></recording>`,
			want: Metadata{},
		},
		{
			name: "recording-namespace elements inside extension data are ignored",
			in: doc(`<x:ext xmlns:x="http://x.example"><participant participant_id="p">
<nameID aor="http://not-checked"/></participant></x:ext>`),
			want: Metadata{},
		},
		{
			name: "unknown recording-namespace elements ignored",
			in:   doc(`<futureElement a="b"><child>text</child></futureElement>`),
			want: Metadata{},
		},
		{
			name: "prefixed root",
			in: `<r:recording xmlns:r="urn:ietf:params:xml:ns:recording:1"><r:participant participant_id="p">
<r:nameID aor="sips:z@example.com"><r:name>Zed</r:name></r:nameID></r:participant></r:recording>`,
			want: Metadata{Participants: []Participant{{AOR: "sips:z@example.com", Name: "Zed"}}},
		},
		{
			name: "byte order mark, comments, processing instruction, CDATA, entities",
			in: "\xef\xbb\xbf" + doc(`<!-- c --><?app hint?><participant participant_id="p">
<nameID aor="sip:o&apos;brien@example.com"><name><![CDATA[O'Brien & Co]]></name></nameID></participant>`),
			want: Metadata{Participants: []Participant{{AOR: "sip:o'brien@example.com", Name: "O'Brien & Co"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(strings.NewReader(tt.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

// TestParseOpenSIPSOffset accepts the colon-less offset OpenSIPS writes.
func TestParseOpenSIPSOffset(t *testing.T) {
	t.Parallel()
	md, err := Parse(strings.NewReader(doc(`<sessionrecordingassoc session_id="s1"><associate-time>2026-09-04T12:00:00-0400</associate-time></sessionrecordingassoc>`)))
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 9, 4, 16, 0, 0, 0, time.UTC); !md.StartedAt.Equal(want) {
		t.Fatalf("StartedAt = %v, want %v", md.StartedAt, want)
	}
}

func TestParseErrors(t *testing.T) {
	billionLaughs := `<?xml version="1.0"?>
<!DOCTYPE recording [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<recording xmlns="urn:ietf:params:xml:ns:recording:1">
  <participant participant_id="p"><nameID aor="sip:a@example.com"><name>&lol9;</name></nameID></participant>
</recording>`
	tests := []struct {
		name string
		in   string
		want []string // substrings of the message
	}{
		{"empty", "", []string{"document is empty"}},
		{"white space only", " \n\t ", []string{"document is empty"}},
		{"not XML", "call_id=abc; from=alice", []string{"malformed XML"}},
		{"JSON", `{"call_id":"abc"}`, []string{"malformed XML"}},
		{"prolog only", `<?xml version="1.0"?><!-- nothing -->`, []string{"no <recording> element"}},
		{"unclosed", `<recording xmlns="urn:ietf:params:xml:ns:recording:1"><session>`, []string{"malformed XML"}},
		{"mismatched tags", doc(`<session></group>`), []string{"malformed XML", "line 3"}},
		{"invalid UTF-8", doc("<participant participant_id=\"p\"><nameID aor=\"sip:a@example.com\"><name>\xff</name></nameID></participant>"), []string{"malformed XML"}},
		{"non UTF-8 encoding", `<?xml version="1.0" encoding="ISO-8859-1"?><recording xmlns="urn:ietf:params:xml:ns:recording:1"/>`, []string{"malformed XML"}},
		{"undeclared entity", doc(`<session session_id="s"><callid>&custom;</callid></session>`), []string{"malformed XML"}},
		{"billion laughs", billionLaughs, []string{"DOCTYPE", "not allowed", "line 2"}},
		{"external entity", `<?xml version="1.0"?><!DOCTYPE r SYSTEM "file:///etc/passwd"><recording xmlns="urn:ietf:params:xml:ns:recording:1"/>`, []string{"DOCTYPE"}},
		{"wrong root", `<metadata xmlns="urn:ietf:params:xml:ns:recording:1"/>`, []string{"root element is <metadata>", Namespace}},
		{"no namespace", `<recording><session session_id="s"/></recording>`, []string{"root element is <recording> in no namespace", Namespace}},
		{"draft namespace", `<recording xmlns="urn:ietf:params:xml:ns:recording"/>`, []string{`in namespace "urn:ietf:params:xml:ns:recording"`, "want <recording>"}},
		{"other namespace", `<recording xmlns="http://example.com/recording"/>`, []string{`in namespace "http://example.com/recording"`}},
		{"undeclared prefix", `<r:recording/>`, []string{"root element is <recording>"}},
		{"second root", doc("") + `<recording xmlns="urn:ietf:params:xml:ns:recording:1"/>`, []string{"after the end of <recording>"}},
		{"text after root", doc("") + "trailing", []string{"text outside the <recording> element"}},
		{"text before root", "junk" + doc(""), []string{"text outside the <recording> element"}},
		{
			"bad start-time", doc(`<session session_id="s1"><start-time>2024-01-01 10:00:00</start-time></session>`),
			[]string{"<start-time>", "recording/session[1]/start-time[1]", `"2024-01-01 10:00:00" is not an RFC 3339 timestamp`, "line 3"},
		},
		{
			"timestamp without zone", doc(`<sessionrecordingassoc session_id="s1"><associate-time>2024-01-01T10:00:00</associate-time></sessionrecordingassoc>`),
			[]string{"<associate-time>", "not an RFC 3339 timestamp"},
		},
		{
			"offset of three digits", doc(`<sessionrecordingassoc session_id="s1"><associate-time>2026-09-04T12:00:00-040</associate-time></sessionrecordingassoc>`),
			[]string{"<associate-time>", `"2026-09-04T12:00:00-040" is not an RFC 3339`},
		},
		{
			"empty disassociate-time", doc(`<participantsessionassoc participant_id="p" session_id="s"><disassociate-time/></participantsessionassoc>`),
			[]string{"<disassociate-time>", "recording/participantsessionassoc[1]/disassociate-time[1]", `"" is not an RFC 3339`},
		},
		{
			"bad unused group time", doc(`<group group_id="g"><associate-time>now</associate-time></group>`),
			[]string{"<associate-time>", "recording/group[1]/associate-time[1]"},
		},
		{
			"impossible date", doc(`<session session_id="s"><stop-time>2024-02-30T00:00:00Z</stop-time></session>`),
			[]string{"<stop-time>", "not an RFC 3339"},
		},
		{
			"element inside time", doc(`<session session_id="s"><start-time><b>2024-01-01T00:00:00Z</b></start-time></session>`),
			[]string{"<start-time>", "must hold only text", "<b>"},
		},
		{
			"end before start", doc(`<session session_id="s"><start-time>2024-01-01T10:00:00Z</start-time><stop-time>2024-01-01T09:00:00Z</stop-time></session>`),
			[]string{"is before earliest start"},
		},
		{
			"mailto AOR", doc(`<participant participant_id="p1"/><participant participant_id="p2"><nameID aor="mailto:bob@example.com"/></participant>`),
			[]string{"<nameID>", "recording/participant[2]/nameID[1]", `aor "mailto:bob@example.com" is not a sip:, sips: or tel: URI`},
		},
		{
			"bare AOR", doc(`<participant participant_id="p"><nameID aor="4694733291@10.87.18.120"/></participant>`),
			[]string{`aor "4694733291@10.87.18.120" is not a URI`},
		},
		{
			"http AOR", doc(`<participant participant_id="p"><nameID aor="https://example.com/bob"/></participant>`),
			[]string{"is not a sip:, sips: or tel: URI"},
		},
		{
			"scheme only", doc(`<participant participant_id="p"><nameID aor="sip:"/></participant>`),
			[]string{"nothing after the scheme"},
		},
		{
			"space in AOR", doc(`<participant participant_id="p"><nameID aor="sip:bob smith@example.com"/></participant>`),
			[]string{"white space or control characters"},
		},
		{
			"empty aor", doc(`<participant participant_id="p"><nameID aor=""/></participant>`),
			[]string{`aor "" is not a URI`},
		},
		{
			"missing aor", doc(`<participant participant_id="p"><nameID><name>Bob</name></nameID></participant>`),
			[]string{"<nameID> at recording/participant[1]/nameID[1] has no aor attribute"},
		},
		{
			"element inside name", doc(`<participant participant_id="p"><nameID aor="sip:a@b"><name><i>x</i></name></nameID></participant>`),
			[]string{"<name>", "must hold only text"},
		},
		{
			"too deep", doc(strings.Repeat("<x:a xmlns:x='http://x'>", 100) + strings.Repeat("</x:a>", 100)),
			[]string{"nested more than 64 deep"},
		},
		{
			"long element names in malformed XML", doc("<" + strings.Repeat("a", 5000) + "></" + strings.Repeat("b", 5000) + ">"),
			[]string{"malformed XML", "…"},
		},
		{
			"long element names in path", doc("<session session_id='s'>" + strings.Repeat("<"+strings.Repeat("o", 500)+">", 40) + "<start-time>x</start-time>" + strings.Repeat("</"+strings.Repeat("o", 500)+">", 40) + "</session>"),
			[]string{"<start-time>", "…", "/start-time[1]", `"x" is not an RFC 3339`},
		},
		{
			"long bad value truncated", doc(`<session session_id="s"><start-time>` + strings.Repeat("9", 5000) + `</start-time></session>`),
			[]string{"…\" is not an RFC 3339"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(strings.NewReader(tt.in))
			if err == nil {
				t.Fatalf("Parse = %+v, nil; want error", got)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "siprec: ") {
				t.Errorf("error %q does not start with %q", msg, "siprec: ")
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
			if len(msg) > 400 {
				t.Errorf("error message is %d bytes long; want a short message", len(msg))
			}
			if !reflect.DeepEqual(got, Metadata{}) {
				t.Errorf("Parse returned %+v alongside an error; want zero Metadata", got)
			}
		})
	}
}

// endless is an io.Reader that never ends.
type endless struct{ n int64 }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	e.n += int64(len(p))
	return len(p), nil
}

// failing is an io.Reader that fails after some bytes.
type failing struct{ r io.Reader }

var errBroken = errors.New("connection reset")

func (f failing) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, errBroken
	}
	return n, err
}

func TestParseMalformedUnwraps(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"unclosed", `<recording xmlns="urn:ietf:params:xml:ns:recording:1">`},
		{"bad entity", doc(`<datamode>&nope;</datamode>`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tt.in))
			var syn *xml.SyntaxError
			if !errors.As(err, &syn) {
				t.Fatalf("Parse error = %v, want one wrapping *xml.SyntaxError", err)
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	// A document exactly MaxSize bytes long, padded with a comment.
	head := doc(`<participant participant_id="p"><nameID aor="sip:a@example.com"/></participant>`)
	pad := MaxSize - len(head) - len("<!---->")
	exact := head + "<!--" + strings.Repeat("x", pad) + "-->"
	if len(exact) != MaxSize {
		t.Fatalf("test document is %d bytes, want %d", len(exact), MaxSize)
	}

	tests := []struct {
		name    string
		r       func() io.Reader
		wantErr error  // matched with errors.Is; nil means success
		wantMsg string // substring of the message
	}{
		{
			name: "exactly MaxSize",
			r:    func() io.Reader { return strings.NewReader(exact) },
		},
		{
			name:    "one byte over",
			r:       func() io.Reader { return strings.NewReader(exact + " ") },
			wantErr: ErrTooLarge,
			wantMsg: "siprec: document too large: over 1048576 bytes",
		},
		{
			name: "huge element text",
			r: func() io.Reader {
				return strings.NewReader(doc("<datamode>" + strings.Repeat("a", 4*MaxSize) + "</datamode>"))
			},
			wantErr: ErrTooLarge,
		},
		{
			name:    "endless stream",
			r:       func() io.Reader { return &endless{} },
			wantErr: ErrTooLarge,
		},
		{
			name:    "read error",
			r:       func() io.Reader { return failing{strings.NewReader(doc(""))} },
			wantErr: errBroken,
			wantMsg: "siprec: reading document",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.r()
			_, err := Parse(r)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Parse error = %v, want one wrapping %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tt.wantMsg)
			}
			if e, ok := r.(*endless); ok && e.n > 2*MaxSize {
				t.Errorf("read %d bytes from an endless reader; want about MaxSize", e.n)
			}
		})
	}
}

// checkInvariants verifies what any successful Parse result must satisfy.
func checkInvariants(t *testing.T, md Metadata) {
	t.Helper()
	seen := make(map[string]bool)
	for _, p := range md.Participants {
		if err := checkAOR(p.AOR); err != nil {
			t.Errorf("participant AOR %q %v", p.AOR, err)
		}
		if seen[p.AOR] {
			t.Errorf("participant AOR %q appears twice", p.AOR)
		}
		seen[p.AOR] = true
		if p.Name != strings.TrimSpace(p.Name) {
			t.Errorf("participant name %q is not trimmed", p.Name)
		}
	}
	if !md.StartedAt.IsZero() && !md.EndedAt.IsZero() && md.EndedAt.Before(md.StartedAt) {
		t.Errorf("EndedAt %v before StartedAt %v", md.EndedAt, md.StartedAt)
	}
	for _, v := range []time.Time{md.StartedAt, md.EndedAt} {
		if !v.IsZero() && v.Location() != time.UTC {
			t.Errorf("time %v is not in UTC", v)
		}
	}
	if md.CallID != strings.TrimSpace(md.CallID) {
		t.Errorf("CallID %q is not trimmed", md.CallID)
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"rfc7865_example.xml", "src_complete_call.xml"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		md, err := Parse(bytes.NewReader(in))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "siprec: ") {
				t.Errorf("error %q lacks the siprec: prefix", err)
			}
			if len(err.Error()) > 1000 {
				t.Errorf("error message is %d bytes long", len(err.Error()))
			}
			if !reflect.DeepEqual(md, Metadata{}) {
				t.Errorf("non-zero Metadata %+v with error %v", md, err)
			}
			return
		}
		checkInvariants(t, md)
		again, err := Parse(bytes.NewReader(in))
		if err != nil || !reflect.DeepEqual(md, again) {
			t.Errorf("Parse is not deterministic: %+v, %v then %+v, %v", md, nil, again, err)
		}
	})
}

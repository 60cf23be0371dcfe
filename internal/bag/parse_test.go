package bag

import (
	"strings"
	"testing"
)

func TestPathEncoding(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, enc string }{
		{"data/a.wav", "data/a.wav"},
		{"data/100%.txt", "data/100%25.txt"},
		{"data/line\nbreak\r.txt", "data/line%0Abreak%0D.txt"},
		{"data/%0A", "data/%250A"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			if got := encodePath(tc.in); got != tc.enc {
				t.Errorf("encodePath(%q) = %q, want %q", tc.in, got, tc.enc)
			}
			if got := decodePath(tc.enc); got != tc.in {
				t.Errorf("decodePath(%q) = %q, want %q", tc.enc, got, tc.in)
			}
		})
	}
	if got := decodePath("data/%7Edir/%test"); got != "data/%7Edir/%test" {
		t.Errorf("decodePath decoded a non-RFC escape: %q", got)
	}
}

func TestCheckPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		bad      bool
	}{
		{"data/x", "data/x", false},
		{"./data/x", "data/x", false},
		{"data/a/../b", "data/b", false},
		{"../x", "", true},
		{"data/../../x", "", true},
		{"/etc/passwd", "", true},
		{"~/x", "", true},
		{"~root/x", "", true},
		{`C:\Windows\x`, "", true},
		{`\\server\share`, "", true},
		{`%HomeDrive%\x`, "", true},
		{"", "", true},
		{".", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got, _, err := checkPath(tc.in)
			if (err != nil) != tc.bad || got != tc.want {
				t.Errorf("checkPath(%q) = %q, %v; want %q, bad=%v", tc.in, got, err, tc.want, tc.bad)
			}
		})
	}
}

func TestParseBagitTxt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"lf", "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n", true},
		{"crlf-no-final-newline", "BagIt-Version: 0.97\r\nTag-File-Character-Encoding: UTF-8", true},
		{"bom", "\ufeffBagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n", false},
		{"space-before-colon", "BagIt-Version : 1.0\nTag-File-Character-Encoding : UTF-8\n", false},
		{"trailing-space", "BagIt-Version: 1.0 \nTag-File-Character-Encoding: UTF-8\n", false},
		{"missing-encoding", "BagIt-Version: 1.0\n", false},
		{"bad-version", "BagIt-Version: .97\nTag-File-Character-Encoding: UTF-8\n", false},
		{"extra-line", "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\nX: y\n", false},
		{"empty", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d, issues := parseBagitTxt([]byte(tc.in))
			ok := len(issues) == 0 && d.version != "" && d.encoding != ""
			if ok != tc.ok {
				t.Errorf("parseBagitTxt(%q) ok=%v issues=%v", tc.in, ok, issues)
			}
		})
	}
}

func TestParseTagFile(t *testing.T) {
	t.Parallel()
	fields, issues := parseTagFile("A: 1\nB :  2\nC: long\n  continued\n\nnocolon\n")
	want := []Field{{"A", "1"}, {"B", "2"}, {"C", "long continued"}}
	if len(fields) != len(want) {
		t.Fatalf("fields = %v", fields)
	}
	for i := range want {
		if fields[i] != want[i] {
			t.Errorf("field %d = %v, want %v", i, fields[i], want[i])
		}
	}
	var problems int
	for _, i := range issues {
		if !i.warn {
			problems++
		}
	}
	if problems != 1 {
		t.Errorf("issues = %v, want exactly one problem (nocolon)", issues)
	}
}

func TestParseManifest(t *testing.T) {
	t.Parallel()
	sum := strings.Repeat("ab", 32)
	tests := []struct {
		name, in string
		paths    []string
		problems int
	}{
		{"two-spaces", sum + "  data/a b.txt\n", []string{"data/a b.txt"}, 0},
		{"one-space-crlf", sum + " data/x\r\n", []string{"data/x"}, 0},
		{"md5sum-star", sum + " *data/x\n", []string{"data/x"}, 0},
		{"encoded", sum + "  data/a%0Ab\n", []string{"data/a\nb"}, 0},
		{"short-sum", "abcd  data/x\n", nil, 1},
		{"no-path", sum + "\n", nil, 1},
		{"non-hex", strings.Repeat("zz", 32) + "  data/x\n", nil, 1},
		{"escape", sum + "  ../x\n", nil, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			lines, issues := parseManifest(tc.in, 64)
			var problems int
			for _, i := range issues {
				if !i.warn {
					problems++
				}
			}
			if problems != tc.problems || len(lines) != len(tc.paths) {
				t.Fatalf("lines=%v issues=%v", lines, issues)
			}
			for i, p := range tc.paths {
				if lines[i].path != p {
					t.Errorf("path %d = %q, want %q", i, lines[i].path, p)
				}
			}
		})
	}
}

func TestDecodeText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, enc string
		in        []byte
		want      string
		bad       bool
	}{
		{"utf8", "UTF-8", []byte("héllo"), "héllo", false},
		{"utf8-invalid", "UTF-8", []byte{0xff}, "", true},
		{"latin1", "ISO-8859-1", []byte{'h', 0xe9}, "hé", false},
		{"utf16be-bom", "UTF-16", []byte{0xfe, 0xff, 0, 'h', 0, 'i'}, "hi", false},
		{"utf16le-bom", "UTF-16", []byte{0xff, 0xfe, 'h', 0, 'i', 0}, "hi", false},
		{"utf16-odd", "UTF-16", []byte{0, 'h', 0}, "", true},
		{"unknown", "EBCDIC", []byte("x"), "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, _, err := decodeText(tc.in, tc.enc)
			if (err != nil) != tc.bad || got != tc.want {
				t.Errorf("decodeText = %q, %v", got, err)
			}
		})
	}
}

package bag

import (
	"strings"
	"testing"
)

// FuzzParseManifest checks that manifest parsing never panics, that every
// accepted path is safe, and that accepted entries survive a format/parse
// round trip.
func FuzzParseManifest(f *testing.F) {
	f.Add([]byte("751e32179ec8acd71081654527f2e771  data/bare-filename\n"), 32)
	f.Add([]byte("b1946ac92492d2347c6235b4d2611184 *data/hello.txt\r\n"), 32)
	f.Add([]byte("3e6ffc4a8a1f38a7094e15d2356d7252  ../../../README.md\n"), 0)
	f.Fuzz(func(t *testing.T, data []byte, digestLen int) {
		lines, _ := parseManifest(string(data), digestLen%200)
		for _, l := range lines {
			if l.path == "" || strings.HasPrefix(l.path, "/") || strings.HasPrefix(l.path, "~") ||
				l.path == ".." || strings.HasPrefix(l.path, "../") || strings.Contains(l.path, "/../") {
				t.Fatalf("unsafe path accepted: %q", l.path)
			}
			if !isHex(l.checksum) {
				t.Fatalf("non-hex checksum accepted: %q", l.checksum)
			}
			// Round trip through the writer's formatting. A path starting
			// with whitespace (reachable only via a "*" marker) is
			// ambiguous in the manifest format; the writer refuses those.
			if checkWritePath(l.path) != nil {
				continue
			}
			out := formatManifest([]Entry{{Path: l.path, Digests: Digests{SHA256: l.checksum}}},
				func(d Digests) string { return d.SHA256 })
			again, issues := parseManifest(string(out), 0)
			if len(again) != 1 || again[0].path != l.path || again[0].checksum != l.checksum {
				t.Fatalf("round trip of %q via %q gave %v %v", l.path, out, again, issues)
			}
		}
	})
}

// FuzzParseTagFile checks bagit.txt, bag-info.txt, fetch.txt and text
// decoding never panic on arbitrary input.
func FuzzParseTagFile(f *testing.F) {
	f.Add([]byte("BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"))
	f.Add([]byte("\xef\xbb\xbfBagIt-Version: 0.97\r\nTag-File-Character-Encoding: UTF-8"))
	f.Add([]byte("Payload-Oxum: 58.2\nExternal-Description: a\n  b\nTest-Tag : 3\n"))
	f.Add([]byte("http://x/y - data/test 1.txt\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		parseBagitTxt(data)
		fields, _ := parseTagFile(string(data))
		for _, fl := range fields {
			if fl.Label == "" || strings.ContainsAny(fl.Label, ":\r\n") {
				t.Fatalf("bad label %q", fl.Label)
			}
		}
		if v, ok := Info(fields).Get("Payload-Oxum"); ok {
			parseOxum(v)
		}
		fetch, _ := parseFetch(string(data))
		for _, l := range fetch {
			if !strings.HasPrefix(l.path, "data/") {
				t.Fatalf("fetch path outside payload accepted: %q", l.path)
			}
		}
		for _, enc := range []string{"UTF-8", "ISO-8859-1", "UTF-16", "UTF-16LE", "US-ASCII"} {
			decodeText(data, enc)
		}
	})
}

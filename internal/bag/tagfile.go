package bag

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// bagitDecl is the parsed content of bagit.txt.
type bagitDecl struct {
	version  string // "M.N" as written
	encoding string // Tag-File-Character-Encoding value
}

// parseBagitTxt parses bagit.txt strictly per RFC 8493 §2.1.1: no byte
// order mark, exactly two lines "BagIt-Version: M.N" and
// "Tag-File-Character-Encoding: ENCODING", each with exactly one space after
// the colon and no other whitespace. Any deviation is a problem; a problem
// on either line leaves the corresponding field empty.
func parseBagitTxt(b []byte) (bagitDecl, []lineIssue) {
	var d bagitDecl
	var issues []lineIssue
	bad := func(line int, format string, args ...any) {
		issues = append(issues, lineIssue{line: line, msg: fmt.Sprintf(format, args...)})
	}
	if bytes.HasPrefix(b, []byte("\xef\xbb\xbf")) {
		bad(0, "bagit.txt must not start with a byte-order mark")
		b = b[3:]
	}
	if !utf8.Valid(b) {
		bad(0, "bagit.txt is not valid UTF-8")
		return d, issues
	}
	lines := splitLines(string(b))
	if len(lines) < 1 || !strings.HasPrefix(lines[0], "BagIt-Version") {
		bad(1, "first line must be \"BagIt-Version: M.N\"")
	} else if v, ok := strings.CutPrefix(lines[0], "BagIt-Version: "); !ok || !validVersion(v) {
		bad(1, "invalid BagIt-Version line %q (want exactly \"BagIt-Version: M.N\")", lines[0])
	} else {
		d.version = v
	}
	switch {
	case len(lines) < 2:
		bad(2, "missing \"Tag-File-Character-Encoding\" line")
	default:
		e, ok := strings.CutPrefix(lines[1], "Tag-File-Character-Encoding: ")
		if !ok || e == "" || strings.TrimSpace(e) != e || strings.ContainsAny(e, " \t") {
			bad(2, "invalid Tag-File-Character-Encoding line %q (want exactly \"Tag-File-Character-Encoding: ENCODING\")", lines[1])
		} else {
			d.encoding = e
		}
	}
	for i := 2; i < len(lines); i++ {
		bad(i+1, "unexpected extra line %q in bagit.txt", lines[i])
	}
	return d, issues
}

// validVersion reports whether v is "M.N" with M and N non-empty decimal.
func validVersion(v string) bool {
	maj, min, ok := strings.Cut(v, ".")
	return ok && isDigits(maj) && isDigits(min)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// decodeText converts a tag file in the declared Tag-File-Character-Encoding
// to a Go string. UTF-8, US-ASCII, ISO-8859-1 (Latin-1) and UTF-16 (with or
// without BOM, big-endian by default) are supported; a leading BOM is
// removed and reported via hadBOM.
func decodeText(b []byte, enc string) (text string, hadBOM bool, err error) {
	norm := strings.NewReplacer("-", "", "_", "").Replace(strings.ToUpper(enc))
	switch norm {
	case "UTF8":
		if rest, ok := bytes.CutPrefix(b, []byte("\xef\xbb\xbf")); ok {
			b, hadBOM = rest, true
		}
		if !utf8.Valid(b) {
			return "", hadBOM, fmt.Errorf("not valid UTF-8")
		}
		return string(b), hadBOM, nil
	case "USASCII", "ASCII":
		for _, c := range b {
			if c >= 0x80 {
				return "", false, fmt.Errorf("non-ASCII byte 0x%02x in US-ASCII file", c)
			}
		}
		return string(b), false, nil
	case "ISO88591", "LATIN1", "L1", "ISOLATIN1":
		r := make([]rune, len(b))
		for i, c := range b {
			r[i] = rune(c)
		}
		return string(r), false, nil
	case "UTF16", "UTF16BE", "UTF16LE":
		if len(b)%2 != 0 {
			return "", false, fmt.Errorf("odd length %d for UTF-16", len(b))
		}
		big := norm != "UTF16LE"
		if len(b) >= 2 {
			switch {
			case b[0] == 0xfe && b[1] == 0xff:
				big, hadBOM, b = true, true, b[2:]
			case b[0] == 0xff && b[1] == 0xfe:
				big, hadBOM, b = false, true, b[2:]
			}
		}
		u := make([]uint16, len(b)/2)
		for i := range u {
			if big {
				u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
			} else {
				u[i] = uint16(b[2*i+1])<<8 | uint16(b[2*i])
			}
		}
		return string(utf16.Decode(u)), hadBOM, nil
	}
	return "", false, fmt.Errorf("unsupported Tag-File-Character-Encoding %q", enc)
}

// parseTagFile parses a label/value tag file such as bag-info.txt
// (RFC 8493 §2.2.2). Continuation lines start with a space or tab and are
// joined to the previous value with a single space. Whitespace between a
// label and its colon is tolerated with a warning (BagIt 0.97 tools wrote
// it); a line without a colon is a problem.
func parseTagFile(text string) ([]Field, []lineIssue) {
	var fields []Field
	var issues []lineIssue
	for i, line := range splitLines(text) {
		n := i + 1
		if strings.TrimSpace(line) == "" {
			issues = append(issues, lineIssue{line: n, warn: true, msg: "blank line"})
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if len(fields) == 0 {
				issues = append(issues, lineIssue{line: n, msg: "continuation line before any label"})
				continue
			}
			f := &fields[len(fields)-1]
			f.Value = strings.TrimSpace(f.Value + " " + strings.TrimSpace(line))
			continue
		}
		label, value, ok := strings.Cut(line, ":")
		if !ok {
			issues = append(issues, lineIssue{line: n, msg: fmt.Sprintf("line %q has no \"label: value\" colon", line)})
			continue
		}
		if t := strings.TrimRight(label, " \t"); t != label {
			issues = append(issues, lineIssue{line: n, warn: true, msg: fmt.Sprintf("whitespace before colon after label %q", t)})
			label = t
		}
		if label == "" {
			issues = append(issues, lineIssue{line: n, msg: "empty label"})
			continue
		}
		fields = append(fields, Field{Label: label, Value: strings.TrimSpace(value)})
	}
	return fields, issues
}

// parseOxum parses a Payload-Oxum value "octets.streamcount".
func parseOxum(v string) (octets, count int64, err error) {
	a, b, ok := strings.Cut(v, ".")
	if !ok || !isDigits(a) || !isDigits(b) {
		return 0, 0, fmt.Errorf("malformed Payload-Oxum %q (want OCTETS.COUNT)", v)
	}
	octets, err1 := strconv.ParseInt(a, 10, 64)
	count, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("Payload-Oxum %q out of range", v)
	}
	return octets, count, nil
}

// fetchLine is one parsed line of fetch.txt.
type fetchLine struct {
	line   int
	url    string
	length int64 // -1 when "-"
	path   string
}

// parseFetch parses fetch.txt (RFC 8493 §2.2.3): "URL LENGTH FILEPATH",
// where LENGTH is a decimal or "-" and FILEPATH may contain spaces. Paths
// are decoded and must be safe and inside the payload directory.
func parseFetch(text string) ([]fetchLine, []lineIssue) {
	var out []fetchLine
	var issues []lineIssue
	for i, raw := range splitLines(text) {
		n := i + 1
		if strings.TrimSpace(raw) == "" {
			continue
		}
		url, rest, ok1 := cutSpace(raw)
		length, p, ok2 := cutSpace(rest)
		if !ok1 || !ok2 || url == "" || p == "" {
			issues = append(issues, lineIssue{line: n, msg: "malformed line: expected \"URL LENGTH PATH\""})
			continue
		}
		fl := fetchLine{line: n, url: url, length: -1}
		if length != "-" {
			v, err := strconv.ParseInt(length, 10, 64)
			if err != nil || v < 0 {
				issues = append(issues, lineIssue{line: n, msg: fmt.Sprintf("invalid length %q", length)})
				continue
			}
			fl.length = v
		}
		if !strings.Contains(url, ":") {
			issues = append(issues, lineIssue{line: n, msg: fmt.Sprintf("URL %q is not absolute", url)})
		}
		clean, warns, err := checkPath(decodePath(p))
		for _, w := range warns {
			issues = append(issues, lineIssue{line: n, warn: true, msg: w})
		}
		if err != nil {
			issues = append(issues, lineIssue{line: n, msg: err.Error()})
			continue
		}
		if !strings.HasPrefix(clean, "data/") {
			issues = append(issues, lineIssue{line: n, msg: fmt.Sprintf("path %q is outside the payload directory", clean)})
			continue
		}
		fl.path = clean
		out = append(out, fl)
	}
	return out, issues
}

// cutSpace splits s at its first run of spaces or tabs.
func cutSpace(s string) (before, after string, ok bool) {
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, "", false
	}
	return s[:i], strings.TrimLeft(s[i:], " \t"), true
}

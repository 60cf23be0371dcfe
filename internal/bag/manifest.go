package bag

import (
	"fmt"
	"os"
	"path"
	"sort"
	"strings"
)

// manifestLine is one parsed line of a (tag) manifest.
type manifestLine struct {
	line     int    // 1-based line number
	checksum string // lowercase hex
	path     string // decoded, cleaned, bag-relative slash path
}

// lineIssue is a problem or warning found while parsing one tag file line.
type lineIssue struct {
	line int
	warn bool
	msg  string
}

func (i lineIssue) String() string {
	if i.line > 0 {
		return fmt.Sprintf("line %d: %s", i.line, i.msg)
	}
	return i.msg
}

// encodePath percent-encodes a bag-relative path for a manifest or fetch
// line as RFC 8493 §2.1.3 requires: % as %25, LF as %0A and CR as %0D.
func encodePath(p string) string {
	if !strings.ContainsAny(p, "%\r\n") {
		return p
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '%':
			b.WriteString("%25")
		case '\n':
			b.WriteString("%0A")
		case '\r':
			b.WriteString("%0D")
		default:
			b.WriteByte(p[i])
		}
	}
	return b.String()
}

// decodePath reverses encodePath. Only %25, %0A and %0D (any case) are
// decoded; every other % sequence is kept literally, because bags in the
// wild (and the conformance suite's bag-with-encoded-names) contain file
// names such as "%7Edir2" and "%test2.txt" that are stored unencoded.
func decodePath(p string) string {
	if !strings.Contains(p, "%") {
		return p
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] == '%' && i+2 < len(p) {
			switch strings.ToUpper(p[i+1 : i+3]) {
			case "25":
				b.WriteByte('%')
				i += 2
				continue
			case "0A":
				b.WriteByte('\n')
				i += 2
				continue
			case "0D":
				b.WriteByte('\r')
				i += 2
				continue
			}
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

// isWindowsAbs reports whether p is a Windows drive-absolute ("C:\x"),
// UNC ("\\server") or environment-variable shortcut ("%HomeDrive%\x")
// path, none of which is valid in a bag.
func isWindowsAbs(p string) bool {
	if len(p) >= 3 && p[1] == ':' && (p[2] == '\\' || p[2] == '/') &&
		('a' <= p[0] && p[0] <= 'z' || 'A' <= p[0] && p[0] <= 'Z') {
		return true
	}
	if strings.HasPrefix(p, `\\`) {
		return true
	}
	if strings.HasPrefix(p, "%") {
		if end := strings.Index(p[1:], "%"); end > 0 {
			next := p[1+end+1:]
			return strings.HasPrefix(next, `\`) || strings.HasPrefix(next, "/")
		}
	}
	return false
}

// checkPath validates a decoded manifest or fetch path and returns it in
// clean form. Problems are errors; warnings describe tolerated oddities such
// as a leading "./".
func checkPath(p string) (clean string, warns []string, err error) {
	trimmed := p
	if strings.HasPrefix(p, "./") {
		warns = append(warns, fmt.Sprintf("path %q has a leading ./", p))
		for strings.HasPrefix(trimmed, "./") {
			trimmed = trimmed[2:]
		}
	}
	switch {
	case trimmed == "":
		return "", warns, fmt.Errorf("empty path %q", p)
	case strings.ContainsRune(trimmed, 0):
		return "", warns, fmt.Errorf("path %q contains NUL", p)
	case strings.HasPrefix(trimmed, "/"):
		return "", warns, fmt.Errorf("absolute path %q is outside the bag", p)
	case strings.HasPrefix(trimmed, "~"):
		return "", warns, fmt.Errorf("home-directory shortcut path %q is outside the bag", p)
	case isWindowsAbs(trimmed):
		return "", warns, fmt.Errorf("windows absolute or shortcut path %q is outside the bag", p)
	}
	clean = path.Clean(trimmed)
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "", warns, fmt.Errorf("path %q escapes the bag", p)
	}
	if clean == "." {
		return "", warns, fmt.Errorf("path %q names the bag directory", p)
	}
	if clean != trimmed {
		warns = append(warns, fmt.Sprintf("path %q is not in clean form", p))
	}
	if strings.Contains(p, `\`) {
		warns = append(warns, fmt.Sprintf("path %q contains a backslash (not portable)", p))
	}
	return clean, warns, nil
}

// isHex reports whether s is non-empty hex.
func isHex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// parseManifest parses the text (already decoded to UTF-8) of a manifest
// or tag manifest for algorithm alg. Each line is "checksum<ws>path"; a
// path prefixed with "*" (md5sum binary mode) is accepted with a warning.
// Lines that cannot be parsed are reported and skipped. Paths are decoded
// and checked with checkPath. digestLen is the expected hex length (0 to
// skip the check).
func parseManifest(text string, digestLen int) ([]manifestLine, []lineIssue) {
	var out []manifestLine
	var issues []lineIssue
	for i, raw := range splitLines(text) {
		n := i + 1
		if strings.TrimSpace(raw) == "" {
			continue
		}
		sep := strings.IndexAny(raw, " \t")
		if sep <= 0 {
			issues = append(issues, lineIssue{line: n, msg: "malformed line: expected \"checksum path\""})
			continue
		}
		sum := raw[:sep]
		rest := strings.TrimLeft(raw[sep:], " \t")
		if !isHex(sum) {
			issues = append(issues, lineIssue{line: n, msg: fmt.Sprintf("malformed checksum %q", sum)})
			continue
		}
		if digestLen > 0 && len(sum) != digestLen {
			issues = append(issues, lineIssue{line: n, msg: fmt.Sprintf("checksum %q has %d hex digits, want %d", sum, len(sum), digestLen)})
			continue
		}
		if strings.HasPrefix(rest, "*") {
			issues = append(issues, lineIssue{line: n, warn: true, msg: "path has md5sum-style \"*\" binary marker"})
			rest = rest[1:]
		}
		clean, warns, err := checkPath(decodePath(rest))
		for _, w := range warns {
			issues = append(issues, lineIssue{line: n, warn: true, msg: w})
		}
		if err != nil {
			issues = append(issues, lineIssue{line: n, msg: err.Error()})
			continue
		}
		out = append(out, manifestLine{line: n, checksum: strings.ToLower(sum), path: clean})
	}
	return out, issues
}

// splitLines splits text into lines terminated by LF, CRLF or CR. A final
// line without terminator is included; a trailing terminator does not
// produce an empty final line.
func splitLines(text string) []string {
	var lines []string
	for len(text) > 0 {
		i := strings.IndexAny(text, "\r\n")
		if i < 0 {
			lines = append(lines, text)
			break
		}
		lines = append(lines, text[:i])
		if text[i] == '\r' && i+1 < len(text) && text[i+1] == '\n' {
			i++
		}
		text = text[i+1:]
	}
	return lines
}

// formatManifest renders entries as manifest lines "<hex>  <path>\n",
// sorted by path, with paths percent-encoded. sum selects the digest.
func formatManifest(entries []Entry, sum func(Digests) string) []byte {
	sorted := append([]Entry(nil), entries...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Path < sorted[j].Path })
	var b strings.Builder
	for _, e := range sorted {
		b.WriteString(sum(e.Digests))
		b.WriteString("  ")
		b.WriteString(encodePath(e.Path))
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

// ReadManifestFile reads a holdfast-written (or any well-formed) manifest
// or tag manifest at path and returns path → lowercase hex checksum, with
// paths decoded and checked exactly as Validate does. Lines that do not
// parse are left out; Validate is where they are reported.
func ReadManifestFile(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("bag: read manifest: %w", err)
	}
	lines, _ := parseManifest(string(b), 0)
	out := make(map[string]string, len(lines))
	for _, l := range lines {
		out[l.path] = l.checksum
	}
	return out, nil
}

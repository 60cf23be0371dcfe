package bag

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"sort"
	"strings"
)

// Options tunes Validate.
type Options struct {
	// Workers is the number of files hashed in parallel; zero or negative
	// means runtime.NumCPU().
	Workers int
}

// Problem describes one reason a bag is invalid, or one warning.
type Problem struct {
	// Path is the bag-relative slash path of the file the problem is
	// about, or "" for a bag-level problem.
	Path string
	// Message explains the problem for an operator.
	Message string
}

// String renders the problem as "path: message".
func (p Problem) String() string {
	if p.Path == "" {
		return p.Message
	}
	return p.Path + ": " + p.Message
}

// Report is the outcome of Validate. It is a plain value; it is not safe
// for concurrent mutation but may be read from several goroutines.
type Report struct {
	// Version is the BagIt-Version declared in bagit.txt ("" if unreadable).
	Version string
	// Problems make the bag invalid.
	Problems []Problem
	// Warnings are tolerated oddities (md5-only manifests, duplicate
	// identical manifest lines in BagIt 0.97, leading "./" in paths, ...).
	Warnings []Problem
	// PayloadFiles and PayloadBytes count the regular files under data/.
	PayloadFiles int
	PayloadBytes int64
}

// Valid reports whether the bag has no problems.
func (r *Report) Valid() bool { return len(r.Problems) == 0 }

// manifest is one parsed payload or tag manifest.
type manifest struct {
	name    string            // file name, e.g. "manifest-sha256.txt"
	alg     string            // algorithm, e.g. "sha256"
	tag     bool              // tag manifest
	entries map[string]string // path -> lowercase hex checksum
}

// validator holds the state of one Validate call.
type validator struct {
	root     *os.Root
	rep      *Report
	files    map[string]int64 // regular files: slash path -> size
	hasData  bool             // data/ exists as a directory
	version  string
	encoding string
	strict   bool // BagIt 1.0 rules (duplicates are errors)
	payload  []*manifest
	tags     []*manifest
	fetch    map[string]bool
}

func (v *validator) problem(path, format string, args ...any) {
	v.rep.Problems = append(v.rep.Problems, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) warn(path, format string, args ...any) {
	v.rep.Warnings = append(v.rep.Warnings, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// issues records parser findings for file path.
func (v *validator) issues(path string, is []lineIssue) {
	for _, i := range is {
		if i.warn {
			v.warn(path, "%s", i)
		} else {
			v.problem(path, "%s", i)
		}
	}
}

// Validate checks the bag in dir against RFC 8493 (BagIt 1.0, and the 0.97
// draft that the Library of Congress conformance suite also covers). It
// checks bagit.txt exactly, parses bag-info.txt and fetch.txt, requires at
// least one payload manifest, checks completeness (every payload file listed
// in every payload manifest and every listed file present), path safety,
// Payload-Oxum, and every checksum in every payload and tag manifest
// (md5, sha1, sha224, sha256, sha384, sha512).
//
// Files are hashed by opts.Workers goroutines; each file is read exactly
// once, computing all algorithms it is listed under in a single pass.
// Invalidity is reported in Report.Problems; the error is non-nil only if
// dir itself cannot be read or ctx is cancelled. Validate never follows
// symbolic links and reads only through an os.Root confined to dir. It is
// safe for concurrent use.
func Validate(ctx context.Context, dir string, opts Options) (*Report, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("bag: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("bag: %s is not a directory", dir)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("bag: open %s: %w", dir, err)
	}
	defer root.Close()
	v := &validator{root: root, rep: &Report{}, files: map[string]int64{}, fetch: map[string]bool{}}
	if err := v.scan(); err != nil {
		return nil, err
	}
	if v.readBagitTxt() {
		v.readManifests()
		v.readBagInfo()
		v.readFetch()
		v.checkCompleteness()
		if err := v.verifyChecksums(ctx, opts.Workers); err != nil {
			return nil, err
		}
		v.extraWarnings()
	}
	v.finish()
	return v.rep, nil
}

// scan walks the bag, recording regular files and rejecting symbolic
// links and special files. Only a failure to read the bag directory itself
// is an error.
func (v *validator) scan() error {
	return fs.WalkDir(v.root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == "." {
				return fmt.Errorf("bag: read bag dir: %w", err)
			}
			v.problem(p, "cannot read: %v", err)
			return nil
		}
		switch {
		case p == ".":
		case d.IsDir():
			if p == "data" {
				v.hasData = true
			}
		case d.Type()&fs.ModeSymlink != 0:
			v.problem(p, "symbolic links are not allowed in a bag")
		case !d.Type().IsRegular():
			v.problem(p, "not a regular file (mode %v)", d.Type())
		default:
			info, err := d.Info()
			if err != nil {
				v.problem(p, "cannot stat: %v", err)
				return nil
			}
			v.files[p] = info.Size()
			if strings.HasPrefix(p, "data/") {
				v.rep.PayloadFiles++
				v.rep.PayloadBytes += info.Size()
			}
		}
		return nil
	})
}

// readFile reads a bag file via the root; problems are recorded.
func (v *validator) readFile(rel string) ([]byte, bool) {
	b, err := v.root.ReadFile(rel)
	if err != nil {
		v.problem(rel, "cannot read: %v", err)
		return nil, false
	}
	return b, true
}

// readTagText reads and decodes a tag file in the declared encoding.
func (v *validator) readTagText(rel string) (string, bool) {
	b, ok := v.readFile(rel)
	if !ok {
		return "", false
	}
	text, bom, err := decodeText(b, v.encoding)
	if err != nil {
		v.problem(rel, "cannot decode as %s: %v", v.encoding, err)
		return "", false
	}
	if bom {
		v.warn(rel, "starts with a byte-order mark")
	}
	return text, true
}

// readBagitTxt checks bagit.txt and reports whether validation can go on.
func (v *validator) readBagitTxt() bool {
	if _, ok := v.files[bagitTxt]; !ok {
		v.problem(bagitTxt, "missing bagit.txt (required bag declaration)")
		return false
	}
	b, ok := v.readFile(bagitTxt)
	if !ok {
		return false
	}
	d, is := parseBagitTxt(b)
	v.issues(bagitTxt, is)
	v.rep.Version = d.version
	v.version, v.encoding = d.version, d.encoding
	switch d.version {
	case "1.0":
		v.strict = true
	case "0.97":
	case "":
	default:
		v.problem(bagitTxt, "unsupported BagIt-Version %q (supported: 0.97, 1.0)", d.version)
	}
	if d.encoding == "" {
		return false
	}
	if _, _, err := decodeText(nil, d.encoding); err != nil {
		v.problem(bagitTxt, "%v", err)
		return false
	}
	return true
}

// manifestAlg returns the algorithm and kind of a top-level manifest name.
func manifestAlg(name string) (alg string, tag, ok bool) {
	if strings.Contains(name, "/") || !strings.HasSuffix(name, ".txt") {
		return "", false, false
	}
	base := strings.TrimSuffix(name, ".txt")
	if a, found := strings.CutPrefix(base, "tagmanifest-"); found && a != "" {
		return a, true, true
	}
	if a, found := strings.CutPrefix(base, "manifest-"); found && a != "" {
		return a, false, true
	}
	return "", false, false
}

// readManifests loads and parses every payload and tag manifest.
func (v *validator) readManifests() {
	names := make([]string, 0, 8)
	for p := range v.files {
		if _, _, ok := manifestAlg(p); ok {
			names = append(names, p)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		alg, tag, _ := manifestAlg(name)
		h := newHash(alg)
		if h == nil {
			v.warn(name, "unsupported checksum algorithm %q; checksums not verified", alg)
		}
		text, ok := v.readTagText(name)
		if !ok {
			continue
		}
		want := 0
		if h != nil {
			want = 2 * h.Size()
		}
		lines, is := parseManifest(text, want)
		v.issues(name, is)
		m := &manifest{name: name, alg: alg, tag: tag, entries: make(map[string]string, len(lines))}
		if h == nil {
			m.alg = "" // completeness only
		}
		for _, l := range lines {
			inData := strings.HasPrefix(l.path, "data/")
			if !tag && !inData {
				v.problem(name, "line %d: path %q is outside the payload directory data/", l.line, l.path)
				continue
			}
			if tag && inData {
				v.problem(name, "line %d: tag manifest lists payload file %q", l.line, l.path)
				continue
			}
			if prev, dup := m.entries[l.path]; dup {
				switch {
				case prev != l.checksum:
					v.problem(name, "line %d: %q listed more than once with different checksums", l.line, l.path)
				case v.strict:
					v.problem(name, "line %d: %q listed more than once (not allowed in BagIt 1.0)", l.line, l.path)
				default:
					v.warn(name, "line %d: %q listed more than once with the same checksum", l.line, l.path)
				}
				continue
			}
			m.entries[l.path] = l.checksum
		}
		if tag {
			v.tags = append(v.tags, m)
		} else {
			v.payload = append(v.payload, m)
		}
	}
	supported := 0
	for _, m := range v.payload {
		if m.alg != "" {
			supported++
		}
	}
	if supported == 0 {
		v.problem("", "no payload manifest with a supported algorithm (manifest-<alg>.txt)")
	}
}

// readBagInfo parses bag-info.txt when present and checks Payload-Oxum.
func (v *validator) readBagInfo() {
	if _, ok := v.files[bagInfoTxt]; !ok {
		return
	}
	text, ok := v.readTagText(bagInfoTxt)
	if !ok {
		return
	}
	fields, is := parseTagFile(text)
	v.issues(bagInfoTxt, is)
	oxum, ok := Info(fields).Get("Payload-Oxum")
	if !ok {
		return
	}
	octets, count, err := parseOxum(oxum)
	if err != nil {
		v.problem(bagInfoTxt, "%v", err)
		return
	}
	if octets != v.rep.PayloadBytes || count != int64(v.rep.PayloadFiles) {
		v.problem(bagInfoTxt, "Payload-Oxum %s does not match payload %d.%d", oxum, v.rep.PayloadBytes, v.rep.PayloadFiles)
	}
}

// readFetch parses fetch.txt when present.
func (v *validator) readFetch() {
	if _, ok := v.files["fetch.txt"]; !ok {
		return
	}
	text, ok := v.readTagText("fetch.txt")
	if !ok {
		return
	}
	lines, is := parseFetch(text)
	v.issues("fetch.txt", is)
	for _, l := range lines {
		v.fetch[l.path] = true
	}
}

// checkCompleteness checks that every payload file is in every payload
// manifest and every listed file exists.
func (v *validator) checkCompleteness() {
	if !v.hasData {
		v.problem("data", "missing payload directory data/")
	}
	for _, m := range v.payload {
		for p := range v.files {
			if strings.HasPrefix(p, "data/") {
				if _, ok := m.entries[p]; !ok {
					v.problem(p, "payload file not listed in %s", m.name)
				}
			}
		}
		for p := range m.entries {
			if _, ok := v.files[p]; ok {
				continue
			}
			if v.fetch[p] {
				v.problem(p, "listed in fetch.txt but not fetched (bag incomplete)")
			} else {
				v.problem(p, "listed in %s but missing from the bag", m.name)
			}
		}
	}
	for _, m := range v.tags {
		for p := range m.entries {
			if _, ok := v.files[p]; !ok {
				v.problem(p, "listed in %s but missing from the bag", m.name)
			}
		}
	}
	for p := range v.fetch {
		if _, listed := v.files[p]; listed {
			continue
		}
		inManifest := false
		for _, m := range v.payload {
			if _, ok := m.entries[p]; ok {
				inManifest = true
			}
		}
		if !inManifest {
			v.problem("fetch.txt", "%q is not listed in any payload manifest", p)
		}
	}
}

// finish sorts and de-duplicates problems and warnings.
func (v *validator) finish() {
	v.rep.Problems = sortProblems(v.rep.Problems)
	v.rep.Warnings = sortProblems(v.rep.Warnings)
}

func sortProblems(ps []Problem) []Problem {
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].Path != ps[j].Path {
			return ps[i].Path < ps[j].Path
		}
		return ps[i].Message < ps[j].Message
	})
	out := ps[:0]
	for i, p := range ps {
		if i == 0 || p != ps[i-1] {
			out = append(out, p)
		}
	}
	return out
}

// defaultWorkers resolves Options.Workers.
func defaultWorkers(n int) int {
	if n <= 0 {
		return runtime.NumCPU()
	}
	return n
}

// Package siprec reads SIP recording metadata (RFC 7865, media type
// application/rs-metadata+xml) for holdfast's ingest API.
//
// It is for the ingest handler: a client may upload the metadata document
// its Session Recording Client sent alongside a recording, as the optional
// multipart part "siprec", and holdfast fills call_id, participants,
// started_at and ended_at from it whenever the JSON metadata leaves them
// out. The package takes only those four things from the document; it is not
// a general model of RFC 7865.
//
// What is read, all from elements in the RFC 7865 namespace
// (urn:ietf:params:xml:ns:recording:1) unless said otherwise:
//
//   - Participants: every <recording>/<participant>/<nameID aor="..."> with
//     the first non-empty <name> inside it. A participant with several
//     <nameID> elements contributes each address. Addresses must be sip:,
//     sips: or tel: URIs and are deduplicated, first occurrence wins.
//   - StartedAt: the earliest of <session>/<start-time>,
//     <sessionrecordingassoc>/<associate-time> and
//     <participantsessionassoc>/<associate-time>.
//   - EndedAt: the latest of <session>/<stop-time> (also accepted as
//     <end-time>), <sessionrecordingassoc>/<disassociate-time> and
//     <participantsessionassoc>/<disassociate-time>.
//   - CallID: RFC 7865 has no Call-ID element. <session>/<sipSessionID>
//     carries an RFC 7989 Session-ID, which is a different identifier, and
//     is deliberately not used. Recording clients that send the SIP Call-ID
//     put it in a <callid> element, either directly in <session> or in
//     extension data; so the first <callid> element (any namespace, name
//     compared case-insensitively) found anywhere inside a <session> is
//     used, and failing that the first one inside a <group> (where some
//     SBCs put their call data extension).
//
// Every other element in the RFC 7865 namespace is accepted and ignored, and
// so is every element in another namespace (RFC 7865 extension data). Any
// <associate-time>, <disassociate-time>, <start-time>, <stop-time> or
// <end-time> in the RFC 7865 namespace outside extension data must hold an
// RFC 3339 timestamp, whether or not it is used.
//
// For safety the parser refuses document type declarations (so no entity
// can be declared or expanded), documents over MaxSize bytes and element
// nesting deeper than 64 levels.
package siprec

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxSize is the largest document, in bytes, that Parse accepts. Real
// metadata documents are a few kilobytes; the bound keeps a hostile upload
// from costing more than a bounded amount of memory and CPU.
const MaxSize = 1 << 20

// Namespace is the XML namespace of RFC 7865 recording metadata. The root
// <recording> element, and every element Parse takes data from, must be in
// it.
const Namespace = "urn:ietf:params:xml:ns:recording:1"

// maxDepth bounds element nesting. RFC 7865's deepest path is four levels;
// extension data gets generous room, but not unbounded stack growth.
const maxDepth = 64

// ErrTooLarge is wrapped by the error Parse returns for a document over
// MaxSize bytes, so that a caller can answer with a size-specific status.
var ErrTooLarge = errors.New("siprec: document too large")

// Metadata is what holdfast takes from a SIPREC document.
type Metadata struct {
	// CallID is the SIP Call-ID of the recorded session, taken from a
	// <callid> element (see the package documentation), or "" if the
	// document carries none.
	CallID string
	// StartedAt is the earliest session start or association time, in
	// UTC, or the zero time if the document carries none.
	StartedAt time.Time
	// EndedAt is the latest session stop or disassociation time, in UTC,
	// or the zero time if the document carries none.
	EndedAt time.Time
	// Participants are the recorded parties in document order, one per
	// distinct address of record.
	Participants []Participant
}

// Participant is one recorded party: who was on the call, as the recording
// client identified them.
type Participant struct {
	// AOR is the party's address of record, a sip:, sips: or tel: URI
	// such as "sip:alice@example.com", from the nameID aor attribute.
	AOR string
	// Name is the display name from the first non-empty <name> of the
	// <nameID>, with surrounding white space removed; it may be "".
	Name string
}

// kind says what an open element is to the parser.
type kind int

const (
	kindRecording   kind = iota // the root
	kindSession                 // recording/session
	kindGroup                   // recording/group
	kindAssoc                   // recording/sessionrecordingassoc or participantsessionassoc
	kindParticipant             // recording/participant
	kindNameID                  // participant/nameID
	kindName                    // nameID/name (text collected)
	kindTime                    // a time element (text collected)
	kindCallID                  // a callid element inside session or group (text collected)
	kindOther                   // another element in the RFC 7865 namespace
	kindForeign                 // extension data: another namespace, and all below it
)

// timeRole says what a time element contributes to.
type timeRole int

const (
	roleCheck timeRole = iota // validated only
	roleStart                 // candidate for StartedAt
	roleEnd                   // candidate for EndedAt
)

// frame is one open element.
type frame struct {
	kind      kind
	local     string // local name, for messages
	path      string // e.g. recording/participant[2]/nameID[1]
	line      int    // line of the start tag
	counts    map[string]int
	text      strings.Builder // for kindName, kindTime and kindCallID
	role      timeRole        // for kindTime
	inSession bool            // inside a recording/session
	inGroup   bool            // inside a recording/group
	aor       string          // for kindNameID
	name      string          // for kindNameID: first non-empty <name>
}

// parser holds the state of one Parse call.
type parser struct {
	dec         *xml.Decoder
	data        []byte // the whole document, for line numbers
	tokLine     int    // line on which the current token starts
	lineOff     int64  // bytes of data scanned for newlines
	lineNum     int    // line at lineOff, counting from 1
	stack       []*frame
	seen        map[string]int // AOR -> index in md.Participants
	md          Metadata
	sessionCall string
	groupCall   string
	haveSession bool
	haveGroup   bool
	rootDone    bool
	started     time.Time
	ended       time.Time
}

// Parse reads one RFC 7865 metadata document from r and returns what
// holdfast takes from it.
//
// It rejects, with an error that names the problem and the element (and
// line) where it was found: input that is not well-formed XML or not
// UTF-8; a root element other than <recording> in the RFC 7865 namespace;
// any DOCTYPE or other <!...> declaration, so that no entity can be
// declared or expanded; documents over MaxSize bytes (the error wraps
// ErrTooLarge); time elements that do not hold an RFC 3339 timestamp; a
// <nameID> without an aor attribute, or whose aor is not a sip:, sips: or
// tel: URI; and documents whose latest end time precedes their earliest
// start time. All error messages start with "siprec: " and are written to
// be shown to the API user as the message of a field error.
func Parse(r io.Reader) (Metadata, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return Metadata{}, fmt.Errorf("siprec: reading document: %w", err)
	}
	if len(data) > MaxSize {
		return Metadata{}, fmt.Errorf("%w: over %d bytes", ErrTooLarge, MaxSize)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // UTF-8 byte order mark
	if len(bytes.TrimSpace(data)) == 0 {
		return Metadata{}, errors.New("siprec: document is empty, want a <recording> element")
	}

	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true       // no HTML leniency, unknown entities are errors
	dec.Entity = nil        // only XML's five predefined entities
	dec.CharsetReader = nil // UTF-8 only
	p := &parser{dec: dec, data: data, lineNum: 1, seen: make(map[string]int)}
	if err := p.run(); err != nil {
		return Metadata{}, err
	}
	return p.finish()
}

// run consumes every token of the document.
func (p *parser) run() error {
	for {
		p.tokLine = p.lineAt(p.dec.InputOffset())
		tok, err := p.dec.Token()
		if err == io.EOF {
			if !p.rootDone {
				// The decoder reports unclosed elements itself; this is
				// a document with nothing but a prolog.
				return errors.New("siprec: document has no <recording> element")
			}
			return nil
		}
		if err != nil {
			return malformedError{err}
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := p.start(t); err != nil {
				return err
			}
		case xml.EndElement:
			if err := p.end(); err != nil {
				return err
			}
		case xml.CharData:
			if err := p.chardata(t); err != nil {
				return err
			}
		case xml.Directive:
			return fmt.Errorf("siprec: line %d: DOCTYPE and other <!...> declarations are not allowed", p.line())
		case xml.Comment, xml.ProcInst:
			// Comments and processing instructions carry no metadata.
		}
	}
}

// line returns the line on which the current token starts, for messages.
func (p *parser) line() int {
	return p.tokLine
}

// lineAt returns the line of the first non-space byte at or after off.
// Offsets only grow during a parse, so the count resumes where the last
// call stopped and the whole document is scanned once.
func (p *parser) lineAt(off int64) int {
	for off < int64(len(p.data)) && isSpace(p.data[off]) {
		off++
	}
	for ; p.lineOff < off; p.lineOff++ {
		if p.data[p.lineOff] == '\n' {
			p.lineNum++
		}
	}
	return p.lineNum
}

// isSpace reports whether b is XML white space.
func isSpace(b byte) bool {
	return b == ' ' || b == '\t' || b == '\r' || b == '\n'
}

// start handles a start tag.
func (p *parser) start(t xml.StartElement) error {
	line := p.line()
	if len(p.stack) == 0 {
		if p.rootDone {
			return fmt.Errorf("siprec: line %d: element <%s> after the end of <recording>; a document has exactly one root element", line, truncate(t.Name.Local))
		}
		if t.Name.Local != "recording" || t.Name.Space != Namespace {
			return fmt.Errorf("siprec: line %d: root element is <%s>%s, want <recording> in namespace %q",
				line, truncate(t.Name.Local), describeSpace(t.Name.Space), Namespace)
		}
		p.stack = append(p.stack, &frame{kind: kindRecording, local: "recording", path: "recording", line: line})
		return nil
	}
	if len(p.stack) >= maxDepth {
		return fmt.Errorf("siprec: line %d: elements are nested more than %d deep", line, maxDepth)
	}
	parent := p.stack[len(p.stack)-1]
	switch parent.kind {
	case kindName, kindTime:
		return fmt.Errorf("siprec: line %d: <%s> in %s must hold only text, found element <%s>",
			line, parent.local, shortPath(parent.path), truncate(t.Name.Local))
	}
	if parent.counts == nil {
		parent.counts = make(map[string]int)
	}
	parent.counts[t.Name.Local]++
	f := &frame{
		local:     t.Name.Local,
		path:      parent.path + "/" + truncate(t.Name.Local) + "[" + strconv.Itoa(parent.counts[t.Name.Local]) + "]",
		line:      line,
		inSession: parent.inSession,
		inGroup:   parent.inGroup,
	}
	f.kind, f.role = classify(parent.kind, t.Name)
	switch f.kind {
	case kindSession:
		f.inSession = true
	case kindGroup:
		f.inGroup = true
	case kindForeign, kindOther:
		if (f.inSession || f.inGroup) && strings.EqualFold(t.Name.Local, "callid") {
			f.kind = kindCallID
		}
	case kindNameID:
		aor, err := nameIDAOR(t, f)
		if err != nil {
			return err
		}
		f.aor = aor
	}
	p.stack = append(p.stack, f)
	return nil
}

// classify decides what a child element is from its parent and its name.
func classify(parent kind, name xml.Name) (kind, timeRole) {
	if parent == kindForeign || name.Space != Namespace {
		return kindForeign, roleCheck
	}
	switch name.Local {
	case "associate-time", "disassociate-time", "start-time", "stop-time", "end-time":
		return kindTime, timeRoleOf(parent, name.Local)
	}
	switch parent {
	case kindRecording:
		switch name.Local {
		case "session":
			return kindSession, roleCheck
		case "group":
			return kindGroup, roleCheck
		case "participant":
			return kindParticipant, roleCheck
		case "sessionrecordingassoc", "participantsessionassoc":
			return kindAssoc, roleCheck
		}
	case kindParticipant:
		if name.Local == "nameID" {
			return kindNameID, roleCheck
		}
	case kindNameID:
		if name.Local == "name" {
			return kindName, roleCheck
		}
	}
	return kindOther, roleCheck
}

// timeRoleOf says what a time element named local contributes to, given
// the kind of its parent.
func timeRoleOf(parent kind, local string) timeRole {
	switch parent {
	case kindSession:
		switch local {
		case "start-time":
			return roleStart
		case "stop-time", "end-time":
			return roleEnd
		}
	case kindAssoc:
		switch local {
		case "associate-time":
			return roleStart
		case "disassociate-time":
			return roleEnd
		}
	}
	return roleCheck
}

// nameIDAOR returns the validated aor attribute of a <nameID>.
func nameIDAOR(t xml.StartElement, f *frame) (string, error) {
	for _, a := range t.Attr {
		if a.Name.Space == "" && a.Name.Local == "aor" {
			aor := strings.TrimSpace(a.Value)
			if err := checkAOR(aor); err != nil {
				return "", fmt.Errorf("siprec: line %d: <nameID> at %s: aor %q %s", f.line, shortPath(f.path), truncate(aor), err.Error())
			}
			return aor, nil
		}
	}
	return "", fmt.Errorf("siprec: line %d: <nameID> at %s has no aor attribute", f.line, shortPath(f.path))
}

// checkAOR reports whether aor is a usable sip:, sips: or tel: URI. The
// returned error's text completes a sentence that starts with the AOR.
func checkAOR(aor string) error {
	scheme, rest, ok := strings.Cut(aor, ":")
	if !ok || aor == "" {
		return errors.New("is not a URI; want a sip:, sips: or tel: URI")
	}
	switch strings.ToLower(scheme) {
	case "sip", "sips", "tel":
	default:
		return errors.New("is not a sip:, sips: or tel: URI")
	}
	if rest == "" {
		return errors.New("has nothing after the scheme")
	}
	for _, r := range rest {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return errors.New("contains white space or control characters")
		}
	}
	return nil
}

// chardata handles text.
func (p *parser) chardata(t xml.CharData) error {
	if len(p.stack) == 0 {
		if len(bytes.TrimSpace(t)) != 0 {
			return fmt.Errorf("siprec: line %d: malformed XML: text outside the <recording> element", p.line())
		}
		return nil
	}
	f := p.stack[len(p.stack)-1]
	switch f.kind {
	case kindName, kindTime, kindCallID:
		f.text.Write(t)
	}
	return nil
}

// end handles an end tag; the decoder has already checked that it matches.
func (p *parser) end() error {
	f := p.stack[len(p.stack)-1]
	p.stack = p.stack[:len(p.stack)-1]
	var parent *frame
	if len(p.stack) > 0 {
		parent = p.stack[len(p.stack)-1]
	}
	switch f.kind {
	case kindRecording:
		p.rootDone = true
	case kindTime:
		raw := strings.TrimSpace(f.text.String())
		ts, err := parseTime(raw)
		if err != nil {
			return fmt.Errorf("siprec: line %d: <%s> at %s: %q is not an RFC 3339 timestamp (want e.g. 2010-12-16T23:41:07Z)",
				f.line, f.local, shortPath(f.path), truncate(raw))
		}
		ts = ts.UTC()
		switch f.role {
		case roleStart:
			if p.started.IsZero() || ts.Before(p.started) {
				p.started = ts
			}
		case roleEnd:
			if p.ended.IsZero() || ts.After(p.ended) {
				p.ended = ts
			}
		}
	case kindCallID:
		id := strings.TrimSpace(f.text.String())
		if id == "" {
			break
		}
		if f.inSession && !p.haveSession {
			p.sessionCall, p.haveSession = id, true
		} else if !f.inSession && f.inGroup && !p.haveGroup {
			p.groupCall, p.haveGroup = id, true
		}
	case kindName:
		if name := strings.TrimSpace(f.text.String()); name != "" && parent != nil && parent.name == "" {
			parent.name = name
		}
	case kindNameID:
		p.addParticipant(Participant{AOR: f.aor, Name: f.name})
	}
	return nil
}

// addParticipant appends pt unless its AOR was seen; a later duplicate
// only supplies a display name the first one lacked.
func (p *parser) addParticipant(pt Participant) {
	if i, ok := p.seen[pt.AOR]; ok {
		if p.md.Participants[i].Name == "" {
			p.md.Participants[i].Name = pt.Name
		}
		return
	}
	p.seen[pt.AOR] = len(p.md.Participants)
	p.md.Participants = append(p.md.Participants, pt)
}

// finish assembles the result once the whole document has been read.
func (p *parser) finish() (Metadata, error) {
	md := p.md
	md.CallID = p.sessionCall
	if !p.haveSession {
		md.CallID = p.groupCall
	}
	md.StartedAt, md.EndedAt = p.started, p.ended
	if !md.StartedAt.IsZero() && !md.EndedAt.IsZero() && md.EndedAt.Before(md.StartedAt) {
		return Metadata{}, fmt.Errorf("siprec: latest stop or disassociate time %s is before earliest start or associate time %s",
			md.EndedAt.Format(time.RFC3339Nano), md.StartedAt.Format(time.RFC3339Nano))
	}
	return md, nil
}

// describeSpace renders a namespace for a message about the root element.
func describeSpace(space string) string {
	if space == "" {
		return " in no namespace"
	}
	return fmt.Sprintf(" in namespace %q", truncate(space))
}

// truncate shortens s for inclusion in an error message, so that a hostile
// document cannot make an error message of its own size.
func truncate(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// shortPath keeps the end of a long element path, the part that locates
// the problem, so that deep nesting cannot make a long error message.
func shortPath(path string) string {
	const max = 160
	if len(path) <= max {
		return path
	}
	cut := len(path) - max
	for cut < len(path) && !utf8.RuneStart(path[cut]) {
		cut++
	}
	return "…" + path[cut:]
}

// malformedError reports input the XML decoder rejected. Its message is
// bounded, because the decoder quotes names from the document; the
// decoder's error stays available to errors.Is and errors.As.
type malformedError struct{ err error }

// Error returns the decoder's message, shortened if need be.
func (e malformedError) Error() string {
	msg := e.err.Error()
	const max = 200
	if len(msg) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + "…"
	}
	return "siprec: malformed XML: " + msg
}

// Unwrap returns the decoder's error.
func (e malformedError) Unwrap() error { return e.err }

// openSIPSLayout is the ISO 8601 form with a colon-less offset
// ("2026-09-04T12:00:00-0400") that OpenSIPS's SIPREC module writes. It is
// unambiguous, so it is accepted alongside RFC 3339 rather than rejecting
// every document from that recorder.
const openSIPSLayout = "2006-01-02T15:04:05.999999999-0700"

func parseTime(raw string) (time.Time, error) {
	ts, err := time.Parse(time.RFC3339Nano, raw)
	if err == nil {
		return ts, nil
	}
	if ts, err2 := time.Parse(openSIPSLayout, raw); err2 == nil {
		return ts, nil
	}
	return time.Time{}, err
}

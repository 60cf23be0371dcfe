package synth

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"strconv"
	"time"
)

// RecordingNamespace is the XML namespace of RFC 7865 recording metadata.
const RecordingNamespace = "urn:ietf:params:xml:ns:recording:1"

// ExtensionNamespace is the namespace of holdfast's extension element in
// SIPREC documents. RFC 7865 identifies a communication session by its
// RFC 7989 Session-ID (<sipSessionID>) and has no element for the SIP
// Call-ID, but permits elements from other namespaces inside <session>;
// holdfast carries the Call-ID there.
const ExtensionNamespace = "https://github.com/holdfast/holdfast/ns/siprec/1"

// The types below mirror the subset of the RFC 7865 schema that SIPREC
// uses; element order follows the examples in RFC 7865 section 8.

type xmlRecording struct {
	XMLName      xml.Name            `xml:"urn:ietf:params:xml:ns:recording:1 recording"`
	DataMode     string              `xml:"datamode"`
	Session      xmlSession          `xml:"session"`
	Participants []xmlParticipant    `xml:"participant"`
	Streams      []xmlStream         `xml:"stream"`
	SessionAssoc xmlSessionAssoc     `xml:"sessionrecordingassoc"`
	PartSessions []xmlPartSession    `xml:"participantsessionassoc"`
	PartStreams  []xmlPartStreamAsoc `xml:"participantstreamassoc"`
}

type xmlSession struct {
	SessionID    string    `xml:"session_id,attr"`
	SIPSessionID string    `xml:"sipSessionID"`
	CallID       xmlCallID `xml:"callid"`
}

type xmlCallID struct {
	XMLName xml.Name `xml:"https://github.com/holdfast/holdfast/ns/siprec/1 callid"`
	Value   string   `xml:",chardata"`
}

type xmlParticipant struct {
	ParticipantID string    `xml:"participant_id,attr"`
	NameID        xmlNameID `xml:"nameID"`
}

type xmlNameID struct {
	AOR  string  `xml:"aor,attr"`
	Name xmlName `xml:"name"`
}

type xmlName struct {
	Lang  string `xml:"http://www.w3.org/XML/1998/namespace lang,attr"`
	Value string `xml:",chardata"`
}

type xmlStream struct {
	StreamID  string `xml:"stream_id,attr"`
	SessionID string `xml:"session_id,attr"`
	Label     string `xml:"label"`
}

type xmlSessionAssoc struct {
	SessionID        string `xml:"session_id,attr"`
	AssociateTime    string `xml:"associate-time"`
	DisassociateTime string `xml:"disassociate-time"`
}

type xmlPartSession struct {
	ParticipantID    string `xml:"participant_id,attr"`
	SessionID        string `xml:"session_id,attr"`
	AssociateTime    string `xml:"associate-time"`
	DisassociateTime string `xml:"disassociate-time"`
}

type xmlPartStreamAsoc struct {
	ParticipantID string   `xml:"participant_id,attr"`
	Send          []string `xml:"send"`
	Recv          []string `xml:"recv"`
}

// SIPREC returns an RFC 7865 recording metadata document
// (application/rs-metadata+xml, namespace RecordingNamespace) describing
// the call as a session recording client would send it to a recording
// server at the end of the call: <datamode>complete</datamode>, one
// <session> whose <sipSessionID> is an RFC 7989 Session-ID derived from the
// Call-ID (the Call-ID itself is carried in a <callid> element in
// ExtensionNamespace), a <participant> with <nameID aor> and <name> per
// party, one <stream> per party (SDP labels "1", "2", ...), and the
// session-recording, participant-session and participant-stream
// associations. Start and end times appear as RFC 3339 associate-time and
// disassociate-time values. Identifiers are base64 name-based UUIDs derived
// from the Call-ID, so the document is deterministic.
func (c Call) SIPREC() []byte {
	start := c.StartedAt.UTC().Format(time.RFC3339)
	end := c.EndedAt.UTC().Format(time.RFC3339)
	sessionID := c.xmlID("session")
	doc := xmlRecording{
		DataMode: "complete",
		Session: xmlSession{
			SessionID:    sessionID,
			SIPSessionID: hex.EncodeToString(c.uuid("session-id:local")) + ";remote=" + hex.EncodeToString(c.uuid("session-id:remote")),
			CallID:       xmlCallID{Value: c.CallID},
		},
		SessionAssoc: xmlSessionAssoc{SessionID: sessionID, AssociateTime: start, DisassociateTime: end},
	}
	streamIDs := make([]string, len(c.Participants))
	for i := range c.Participants {
		streamIDs[i] = c.xmlID("stream:" + strconv.Itoa(i))
	}
	for i, p := range c.Participants {
		pid := c.xmlID("participant:" + strconv.Itoa(i))
		doc.Participants = append(doc.Participants, xmlParticipant{
			ParticipantID: pid,
			NameID:        xmlNameID{AOR: p.AOR, Name: xmlName{Lang: "en", Value: p.Name}},
		})
		doc.Streams = append(doc.Streams, xmlStream{StreamID: streamIDs[i], SessionID: sessionID, Label: strconv.Itoa(i + 1)})
		doc.PartSessions = append(doc.PartSessions, xmlPartSession{
			ParticipantID: pid, SessionID: sessionID, AssociateTime: start, DisassociateTime: end,
		})
		assoc := xmlPartStreamAsoc{ParticipantID: pid, Send: []string{streamIDs[i]}}
		for j := range streamIDs {
			if j != i {
				assoc.Recv = append(assoc.Recv, streamIDs[j])
			}
		}
		doc.PartStreams = append(doc.PartStreams, assoc)
	}
	// The document holds only strings in fixed struct types, so encoding
	// cannot fail.
	b, _ := xml.MarshalIndent(doc, "", "  ")
	return append([]byte(xml.Header), append(b, '\n')...)
}

// uuid returns a version 5 (SHA-1 name-based) UUID for the given facet of
// the call, so identifiers are stable across renders.
func (c Call) uuid(facet string) []byte {
	// RFC 9562 namespace for URLs; the name is a holdfast URN for the call.
	ns := [16]byte{0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}
	h := sha1.New()
	h.Write(ns[:])
	h.Write([]byte("holdfast:call:" + c.CallID + ":" + facet))
	u := h.Sum(nil)[:16]
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	return u
}

// xmlID returns a base64-encoded UUID, the identifier form RFC 7865 uses
// for session_id, participant_id and stream_id.
func (c Call) xmlID(facet string) string {
	return base64.StdEncoding.EncodeToString(c.uuid(facet))
}

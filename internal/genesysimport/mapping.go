package genesysimport

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/holdfast/holdfast/internal/genesys"
	"github.com/holdfast/holdfast/internal/vault"
)

// Labels every imported recording carries (contract §14).
const (
	LabelConversationID = "genesys.conversation_id"
	LabelRecordingID    = "genesys.recording_id"
)

// maxParticipants is holdfast's limit on participants per recording.
const maxParticipants = 100

// metadataDoc is the "metadata" part of an upload (contract §5).
type metadataDoc struct {
	MediaType    string            `json:"media_type"`
	CallID       string            `json:"call_id"`
	StartedAt    string            `json:"started_at"`
	EndedAt      string            `json:"ended_at,omitempty"`
	Direction    string            `json:"direction,omitempty"`
	Participants []participantDoc  `json:"participants"`
	Labels       map[string]string `json:"labels"`
}

type participantDoc struct {
	AOR  string `json:"aor"`
	Name string `json:"name,omitempty"`
	Role string `json:"role,omitempty"`
}

// metadataFor maps a Genesys conversation and one of its audio recordings
// onto holdfast's recording metadata:
//
//   - media_type SIP (holdfast's type for call audio);
//   - call_id is the Genesys conversation id, the one id by which the call is
//     known in Genesys, so the export's index.csv carries it;
//   - started_at and ended_at are the conversation's start and end;
//   - direction is the conversation's originating direction;
//   - participants are the conversation's participants, each with its
//     purpose as role (customer, agent, acd, ivr, …), its name, and as aor
//     its own sip:/tel: address; a participant without one (a queue, a
//     flow) gets sip:<user or participant id>@users|participants.genesys.invalid
//     (RFC 2606 .invalid: an identifier, never dialable);
//   - labels genesys.conversation_id and genesys.recording_id.
//
// The result is checked with holdfast's own metadata rules, so a
// conversation holdfast would refuse (an id too long to be a label, a date
// outside holdfast's range) fails before anything is downloaded, naming
// the field.
func metadataFor(c genesys.Conversation, recordingID string) ([]byte, error) {
	b, err := buildMetadata(c, recordingID)
	if err != nil {
		return nil, err
	}
	m, fieldErrs, err := vault.DecodeRecordingMetadata(b)
	if err != nil {
		return nil, fmt.Errorf("its metadata is not valid JSON: %w", err)
	}
	if len(fieldErrs) == 0 {
		var p vault.Problems
		m.Check(&p)
		var ve *vault.ValidationError
		if errors.As(p.Err(), &ve) {
			fieldErrs = ve.Errors
		}
	}
	if len(fieldErrs) > 0 {
		return nil, fmt.Errorf("holdfast would refuse its metadata: %s: %s", fieldErrs[0].Field, fieldErrs[0].Message)
	}
	return b, nil
}

func buildMetadata(c genesys.Conversation, recordingID string) ([]byte, error) {
	doc := metadataDoc{
		MediaType: "SIP",
		CallID:    c.ConversationID,
		StartedAt: c.ConversationStart.UTC().Format(time.RFC3339Nano),
		Labels:    map[string]string{LabelConversationID: c.ConversationID, LabelRecordingID: recordingID},
	}
	if c.ConversationEnd != nil && !c.ConversationEnd.Before(c.ConversationStart) {
		doc.EndedAt = c.ConversationEnd.UTC().Format(time.RFC3339Nano)
	}
	switch d := strings.ToLower(c.OriginatingDirection); d {
	case "inbound", "outbound":
		doc.Direction = d
	}
	doc.Participants = []participantDoc{}
	for _, p := range c.Participants {
		if len(doc.Participants) == maxParticipants {
			break
		}
		doc.Participants = append(doc.Participants, participantDoc{AOR: aorOf(p), Name: clip(printable(p.ParticipantName), 200), Role: clip(printable(p.Purpose), 64)})
	}
	return json.Marshal(doc)
}

// aorOf picks a participant's own address: addressSelf, then (for the
// customer side) ani or dnis, then a stable non-dialable identifier.
func aorOf(p genesys.Participant) string {
	for _, s := range p.Sessions {
		cands := []string{s.AddressSelf}
		if p.Purpose == "customer" || p.Purpose == "external" {
			if s.Direction == "outbound" {
				cands = append(cands, s.Dnis, s.AddressTo)
			} else {
				cands = append(cands, s.Ani, s.AddressFrom)
			}
		}
		for _, a := range cands {
			if validAOR(a) {
				return a
			}
		}
	}
	if id := safeID(p.UserID); id != "" {
		return "sip:" + id + "@users.genesys.invalid"
	}
	if id := safeID(p.ParticipantID); id != "" {
		return "sip:" + id + "@participants.genesys.invalid"
	}
	return "sip:unknown@participants.genesys.invalid"
}

// validAOR mirrors holdfast's rule for participant addresses: a sip:,
// sips: or tel: URI, printable, without spaces, at most 512 bytes.
func validAOR(s string) bool {
	if s == "" || len(s) > 512 || strings.ContainsAny(s, " \t") || printable(s) != s {
		return false
	}
	l := strings.ToLower(s)
	for _, scheme := range []string{"sip:", "sips:", "tel:"} {
		if len(l) > len(scheme) && strings.HasPrefix(l, scheme) {
			return true
		}
	}
	return false
}

// safeID keeps an id only if it is made of URI-safe characters.
func safeID(s string) string {
	if s == "" || len(s) > 128 {
		return ""
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_') {
			return ""
		}
	}
	return s
}

// printable drops control characters, which holdfast refuses in names.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '\uFFFD' {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
}

// clip cuts s to at most n bytes on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8Start(s[n]) {
		n--
	}
	return s[:n]
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

// extFor names the uploaded file by the result's content type.
func extFor(contentType string) string {
	ct, _, _ := strings.Cut(strings.ToLower(contentType), ";")
	switch strings.TrimSpace(ct) {
	case "audio/webm", "video/webm":
		return ".webm"
	case "audio/ogg", "audio/opus":
		return ".ogg"
	case "audio/wav", "audio/x-wav", "audio/wave":
		return ".wav"
	case "audio/mpeg", "audio/mp3":
		return ".mp3"
	}
	return ".bin"
}

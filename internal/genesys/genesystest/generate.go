package genesystest

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/holdfast/holdfast/internal/media/synth"
)

// GenerateOptions shape a synthetic organisation's conversations.
type GenerateOptions struct {
	Conversations int
	// Start and End bound the conversations' start times.
	Start, End time.Time
	Seed       uint64
	// SecondRecordingEvery gives every Nth conversation a second audio
	// recording (a transfer), TranscodingEvery makes every Nth audio
	// recording answer "not ready" Transcoding times first, and
	// ScreenEvery and ChatEvery add a screen recording to, or turn into a
	// chat, every Nth conversation. Zero disables each.
	SecondRecordingEvery, TranscodingEvery, Transcoding, ScreenEvery, ChatEvery int
}

// Generate builds conversations with WebM/Opus audio recordings (each a
// few seconds, unique bytes), deterministic for a seed.
func Generate(o GenerateOptions) ([]Conversation, error) {
	rng := rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))
	span := o.End.Sub(o.Start)
	if span <= 0 || o.Conversations < 0 {
		return nil, fmt.Errorf("genesystest: bad generate options")
	}
	calls := synth.Generate(rng, o.Conversations, synth.Options{Now: o.End, Spread: span, MinDuration: 2 * time.Second, MaxDuration: 5 * time.Second})
	out := make([]Conversation, 0, o.Conversations)
	audio := 0
	for i, call := range calls {
		start := o.Start.Add(time.Duration(rng.Int64N(int64(span)))).Truncate(time.Millisecond)
		dur := call.Duration().Truncate(time.Millisecond)
		c := Conversation{
			ID: uuidFrom(rng), Start: start, End: start.Add(dur), MediaType: "voice",
			Direction: []string{"inbound", "outbound"}[rng.IntN(2)], ProtocolCallID: call.CallID,
		}
		agent := fmt.Sprintf("Agent %03d", rng.IntN(1000))
		c.Participants = []Participant{
			{ID: uuidFrom(rng), Purpose: "customer", Address: fmt.Sprintf("tel:+1317555%04d", rng.IntN(10000))},
			{ID: uuidFrom(rng), Purpose: "acd", Name: "Billing"},
			{ID: uuidFrom(rng), Purpose: "agent", Name: agent, UserID: uuidFrom(rng),
				Address: fmt.Sprintf("sip:%s@example.mypurecloud.com", uuidFrom(rng)[:8])},
		}
		n := i + 1
		if o.ChatEvery > 0 && n%o.ChatEvery == 0 {
			c.MediaType = "chat"
			c.Recordings = []Recording{{ID: uuidFrom(rng), Media: "chat", Body: []byte(`{"transcript":[]}`), ContentType: "application/json"}}
			out = append(out, c)
			continue
		}
		recs := 1
		if o.SecondRecordingEvery > 0 && n%o.SecondRecordingEvery == 0 {
			recs = 2
		}
		for k := range recs {
			call.CallID = fmt.Sprintf("%s#%d", c.ProtocolCallID, k)
			var buf bytes.Buffer
			if err := call.WriteWebM(&buf); err != nil {
				return nil, err
			}
			audio++
			r := Recording{ID: uuidFrom(rng), Media: "audio", Body: buf.Bytes(), ContentType: "audio/webm"}
			if o.TranscodingEvery > 0 && audio%o.TranscodingEvery == 0 {
				r.Transcoding = max(o.Transcoding, 1)
			}
			c.Recordings = append(c.Recordings, r)
		}
		if o.ScreenEvery > 0 && n%o.ScreenEvery == 0 {
			c.Recordings = append(c.Recordings, Recording{ID: uuidFrom(rng), Media: "screen", Body: []byte("\x1aE\xdf\xa3 video"), ContentType: "video/webm"})
		}
		out = append(out, c)
	}
	return out, nil
}

func uuidFrom(rng *rand.Rand) string {
	a, b := rng.Uint64(), rng.Uint64()
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", a>>32, a>>16&0xffff, a&0xfff, b>>48&0x3fff|0x8000, b&0xffffffffffff)
}

package synth_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/holdfast/holdfast/internal/media"
	"github.com/holdfast/holdfast/internal/media/synth"
)

func newRNG(t *testing.T, seed uint64) *rand.Rand {
	t.Helper()
	return rand.New(rand.NewPCG(seed, seed+1))
}

func TestGenerateDeterministicAndInWindow(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 4, 12, 30, 15, 500_000_000, time.UTC)
	cases := []struct {
		name string
		opts synth.Options
		min  time.Duration
		max  time.Duration
		win  time.Duration
	}{
		{"defaults", synth.Options{Now: now}, 20 * time.Second, 6 * time.Minute, 72 * time.Hour},
		{"short window", synth.Options{Now: now, Spread: 90 * time.Second}, 20 * time.Second, 6 * time.Minute, 90 * time.Second},
		{"custom bounds", synth.Options{Now: now, MinDuration: 5 * time.Second, MaxDuration: 10 * time.Second, SampleRate: 16000}, 5 * time.Second, 10 * time.Second, 72 * time.Hour},
		{"zero now", synth.Options{}, 20 * time.Second, 6 * time.Minute, 72 * time.Hour},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := synth.Generate(newRNG(t, 42), 200, tc.opts)
			b := synth.Generate(newRNG(t, 42), 200, tc.opts)
			if !reflect.DeepEqual(a, b) {
				t.Fatal("same seed produced different calls")
			}
			if c := synth.Generate(newRNG(t, 43), 200, tc.opts); reflect.DeepEqual(a, c) {
				t.Fatal("different seeds produced identical calls")
			}
			end := tc.opts.Now
			if end.IsZero() {
				end = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			}
			ids := map[string]bool{}
			dirs := map[string]int{}
			for _, c := range a {
				if c.StartedAt.Before(end.Add(-tc.win)) || !c.StartedAt.Before(end) {
					t.Fatalf("start %v outside [%v, %v)", c.StartedAt, end.Add(-tc.win), end)
				}
				if c.StartedAt.Location() != time.UTC || c.StartedAt.Nanosecond() != 0 || c.EndedAt.Nanosecond() != 0 {
					t.Fatalf("times not UTC second precision: %v %v", c.StartedAt, c.EndedAt)
				}
				if d := c.Duration(); d < tc.min || d > tc.max {
					t.Fatalf("duration %v outside [%v, %v]", d, tc.min, tc.max)
				}
				if tc.win > tc.max && c.EndedAt.After(end) {
					t.Fatalf("call ends %v after now %v", c.EndedAt, end)
				}
				if ids[c.CallID] {
					t.Fatalf("duplicate Call-ID %q", c.CallID)
				}
				ids[c.CallID] = true
				dirs[c.Direction]++
				if len(c.Participants) != 2 || c.Participants[0].Role != "agent" {
					t.Fatalf("participants %+v", c.Participants)
				}
				if c.Labels["queue"] == "" {
					t.Fatalf("no queue label: %v", c.Labels)
				}
				want := tc.opts.SampleRate
				if want == 0 {
					want = 8000
				}
				if c.SampleRate != want {
					t.Fatalf("sample rate %d, want %d", c.SampleRate, want)
				}
			}
			for _, d := range []string{"inbound", "outbound", "internal"} {
				if dirs[d] == 0 {
					t.Fatalf("no %s calls in %v", d, dirs)
				}
			}
		})
	}
}

func TestWAVProbes(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		name string
		dur  time.Duration
		rate int
	}{
		{"20s default rate", 20 * time.Second, 0},
		{"6m", 6 * time.Minute, 8000},
		{"wideband", 7 * time.Second, 16000},
		{"zero length", 0, 8000},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := synth.Generate(newRNG(t, 7), 1, synth.Options{})[0]
			c.StartedAt, c.EndedAt, c.SampleRate = start, start.Add(tc.dur), tc.rate
			path := filepath.Join(t.TempDir(), "call.wav")
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if err := c.WriteWAV(f); err != nil {
				t.Fatal(err)
			}
			st, err := f.Stat()
			if err != nil {
				t.Fatal(err)
			}
			if st.Size() != c.WAVSize() {
				t.Fatalf("wrote %d bytes, WAVSize says %d", st.Size(), c.WAVSize())
			}
			info, err := media.Probe(f, st.Size())
			if err != nil {
				t.Fatal(err)
			}
			rate := tc.rate
			if rate == 0 {
				rate = 8000
			}
			want := media.Info{Format: "audio/wav", Ext: "wav", Codec: "pcm_s16le", SampleRate: rate, Channels: 2, DurationMS: tc.dur.Milliseconds()}
			if info != want {
				t.Fatalf("Probe = %+v, want %+v", info, want)
			}
		})
	}
}

// TestWebMProbes: the synthetic WebM is what Genesys Cloud delivers (one
// two-channel Opus track) and probes to the call's rate and duration (in
// whole 20 ms packets); two calls never share bytes.
func TestWebMProbes(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	calls := synth.Generate(newRNG(t, 9), 2, synth.Options{})
	for _, tc := range []struct {
		dur    time.Duration
		rate   int
		wantMS int64
	}{{20 * time.Second, 0, 20000}, {95*time.Second + 30*time.Millisecond, 16000, 95020}, {0, 8000, 20}} {
		var outs [2][]byte
		for i, c := range calls {
			c.StartedAt, c.EndedAt, c.SampleRate = start, start.Add(tc.dur), tc.rate
			var buf bytes.Buffer
			if err := c.WriteWebM(&buf); err != nil {
				t.Fatal(err)
			}
			outs[i] = buf.Bytes()
			info, err := media.Probe(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
			if err != nil {
				t.Fatalf("%v: %v", tc.dur, err)
			}
			rate := tc.rate
			if rate == 0 {
				rate = 8000
			}
			want := media.Info{Format: "audio/webm", Ext: "webm", Codec: "opus", SampleRate: rate, Channels: 2, DurationMS: tc.wantMS}
			if info != want {
				t.Fatalf("Probe = %+v, want %+v", info, want)
			}
		}
		if bytes.Equal(outs[0], outs[1]) {
			t.Fatal("two calls wrote the same WebM bytes")
		}
	}
}

// TestWAVSignal checks the audio is deterministic, speech-like on both
// channels (each party talks, at different times) and not silent.
func TestWAVSignal(t *testing.T) {
	t.Parallel()
	c := synth.Generate(newRNG(t, 9), 1, synth.Options{MinDuration: 60 * time.Second, MaxDuration: 60 * time.Second})[0]
	var a, b bytes.Buffer
	if err := c.WriteWAV(&a); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteWAV(&b); err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(a.Bytes()) != sha256.Sum256(b.Bytes()) {
		t.Fatal("WriteWAV is not deterministic")
	}
	pcm := a.Bytes()[44:]
	var loud [2]int // frames where a channel is clearly active
	both := 0
	for i := 0; i+4 <= len(pcm); i += 4 {
		var on [2]bool
		for ch := range 2 {
			s := int16(uint16(pcm[i+2*ch]) | uint16(pcm[i+2*ch+1])<<8)
			on[ch] = s > 3000 || s < -3000
			if on[ch] {
				loud[ch]++
			}
		}
		if on[0] && on[1] {
			both++
		}
	}
	frames := len(pcm) / 4
	for ch, n := range loud {
		if n < frames/20 {
			t.Fatalf("channel %d loud in only %d of %d frames", ch, n, frames)
		}
	}
	if both != 0 {
		t.Fatalf("both channels loud at once in %d frames; talkers should alternate", both)
	}
}

// errWriter fails after accepting limit bytes.
type errWriter struct{ limit int }

var errFull = errors.New("disk full")

func (w *errWriter) Write(p []byte) (int, error) {
	if len(p) > w.limit {
		return 0, errFull
	}
	w.limit -= len(p)
	return len(p), nil
}

func TestWriteWAVErrors(t *testing.T) {
	t.Parallel()
	c := synth.Generate(newRNG(t, 1), 1, synth.Options{})[0]
	for _, limit := range []int{0, 44, 10000} {
		if err := c.WriteWAV(&errWriter{limit: limit}); !errors.Is(err, errFull) {
			t.Fatalf("limit %d: err = %v, want errFull", limit, err)
		}
	}
	long := c
	long.EndedAt = long.StartedAt.Add(100 * time.Hour)
	if err := long.WriteWAV(io.Discard); err == nil {
		t.Fatal("100-hour call fit in a WAV file")
	}
}

func TestMetadata(t *testing.T) {
	t.Parallel()
	for i, c := range synth.Generate(newRNG(t, 5), 20, synth.Options{}) {
		var doc struct {
			MediaType    string              `json:"media_type"`
			CallID       string              `json:"call_id"`
			StartedAt    time.Time           `json:"started_at"`
			EndedAt      time.Time           `json:"ended_at"`
			Direction    string              `json:"direction"`
			Participants []synth.Participant `json:"participants"`
			Labels       map[string]string   `json:"labels"`
		}
		dec := json.NewDecoder(bytes.NewReader(c.Metadata()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&doc); err != nil {
			t.Fatalf("call %d: %v\n%s", i, err, c.Metadata())
		}
		if doc.MediaType != "SIP" || doc.CallID != c.CallID || doc.Direction != c.Direction ||
			!doc.StartedAt.Equal(c.StartedAt) || !doc.EndedAt.Equal(c.EndedAt) ||
			!reflect.DeepEqual(doc.Participants, c.Participants) || !reflect.DeepEqual(doc.Labels, c.Labels) {
			t.Fatalf("call %d: metadata %+v does not match %+v", i, doc, c)
		}
	}
	var empty synth.Call
	if !json.Valid(empty.Metadata()) || !bytes.Contains(empty.Metadata(), []byte(`"participants":[]`)) {
		t.Fatalf("zero Call metadata: %s", empty.Metadata())
	}
}

func TestSIPREC(t *testing.T) {
	t.Parallel()
	const ns = "urn:ietf:params:xml:ns:recording:1"
	for i, c := range synth.Generate(newRNG(t, 6), 10, synth.Options{}) {
		raw := c.SIPREC()
		var doc struct {
			XMLName  xml.Name
			DataMode string `xml:"urn:ietf:params:xml:ns:recording:1 datamode"`
			Session  struct {
				ID           string `xml:"session_id,attr"`
				SIPSessionID string `xml:"urn:ietf:params:xml:ns:recording:1 sipSessionID"`
				CallID       string `xml:"https://github.com/holdfast/holdfast/ns/siprec/1 callid"`
			} `xml:"urn:ietf:params:xml:ns:recording:1 session"`
			Participants []struct {
				ID     string `xml:"participant_id,attr"`
				NameID struct {
					AOR  string `xml:"aor,attr"`
					Name string `xml:"urn:ietf:params:xml:ns:recording:1 name"`
				} `xml:"urn:ietf:params:xml:ns:recording:1 nameID"`
			} `xml:"urn:ietf:params:xml:ns:recording:1 participant"`
			Streams []struct {
				ID      string `xml:"stream_id,attr"`
				Session string `xml:"session_id,attr"`
			} `xml:"urn:ietf:params:xml:ns:recording:1 stream"`
			Assoc struct {
				Session string    `xml:"session_id,attr"`
				Start   time.Time `xml:"urn:ietf:params:xml:ns:recording:1 associate-time"`
				End     time.Time `xml:"urn:ietf:params:xml:ns:recording:1 disassociate-time"`
			} `xml:"urn:ietf:params:xml:ns:recording:1 sessionrecordingassoc"`
			PartSessions []struct {
				Participant string    `xml:"participant_id,attr"`
				Start       time.Time `xml:"urn:ietf:params:xml:ns:recording:1 associate-time"`
				End         time.Time `xml:"urn:ietf:params:xml:ns:recording:1 disassociate-time"`
			} `xml:"urn:ietf:params:xml:ns:recording:1 participantsessionassoc"`
		}
		if err := xml.Unmarshal(raw, &doc); err != nil {
			t.Fatalf("call %d: %v\n%s", i, err, raw)
		}
		if doc.XMLName.Space != ns || doc.XMLName.Local != "recording" {
			t.Fatalf("root %v", doc.XMLName)
		}
		if doc.DataMode != "complete" || doc.Session.CallID != c.CallID || doc.Session.ID == "" || doc.Session.SIPSessionID == "" {
			t.Fatalf("call %d: bad session %+v datamode %q", i, doc.Session, doc.DataMode)
		}
		if len(doc.Participants) != 2 || len(doc.Streams) != 2 || len(doc.PartSessions) != 2 {
			t.Fatalf("call %d: %d participants, %d streams, %d participant-session associations", i, len(doc.Participants), len(doc.Streams), len(doc.PartSessions))
		}
		for j, p := range doc.Participants {
			if p.NameID.AOR != c.Participants[j].AOR || p.NameID.Name != c.Participants[j].Name {
				t.Fatalf("participant %d = %+v, want %+v", j, p, c.Participants[j])
			}
			ps := doc.PartSessions[j]
			if ps.Participant != p.ID || !ps.Start.Equal(c.StartedAt) || !ps.End.Equal(c.EndedAt) {
				t.Fatalf("participant-session association %+v", ps)
			}
			if doc.Streams[j].Session != doc.Session.ID {
				t.Fatalf("stream %d in session %q", j, doc.Streams[j].Session)
			}
		}
		if doc.Assoc.Session != doc.Session.ID || !doc.Assoc.Start.Equal(c.StartedAt) || !doc.Assoc.End.Equal(c.EndedAt) {
			t.Fatalf("session-recording association %+v", doc.Assoc)
		}
		if !bytes.Equal(raw, c.SIPREC()) {
			t.Fatal("SIPREC is not deterministic")
		}
	}
}

func TestWriteDir(t *testing.T) {
	t.Parallel()
	calls := synth.Generate(newRNG(t, 11), 3, synth.Options{MinDuration: 20 * time.Second, MaxDuration: 25 * time.Second})
	calls = append(calls, calls[0]) // a colliding name
	calls[3].CallID = "../../etc/passwd"
	calls = append(calls, calls[3])
	dir := filepath.Join(t.TempDir(), "nested", "out")
	if err := synth.WriteDir(dir, calls); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3*len(calls) {
		t.Fatalf("got %d files, want %d", len(entries), 3*len(calls))
	}
	for _, name := range []string{calls[0].FileBase() + ".wav", "call.._.._etc_passwd.json", "call.._.._etc_passwd-2.xml"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(filepath.Join(dir, calls[1].FileBase()+".wav"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	info, err := media.Probe(f, st.Size())
	if err != nil || info.DurationMS != calls[1].Duration().Milliseconds() {
		t.Fatalf("Probe = %+v, %v", info, err)
	}
}

func TestFileBase(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"a84b4c76e66710@pc33.example.com": "a84b4c76e66710_pc33.example.com",
		"":                                "call",
		".hidden":                         "call.hidden",
		"a/b\\c d":                        "a_b_c_d",
	}
	for in, want := range cases {
		if got := (synth.Call{CallID: in}).FileBase(); got != want {
			t.Errorf("FileBase(%q) = %q, want %q", in, got, want)
		}
	}
}

func BenchmarkWriteWAV(b *testing.B) {
	c := synth.Generate(rand.New(rand.NewPCG(1, 2)), 1, synth.Options{MinDuration: 6 * time.Minute, MaxDuration: 6 * time.Minute})[0]
	b.SetBytes(c.WAVSize())
	for b.Loop() {
		if err := c.WriteWAV(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

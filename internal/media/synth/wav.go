package synth

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"time"
)

const (
	wavHeaderLen = 44
	wavChannels  = 2
	wavBlock     = wavChannels * 2 // bytes per frame: two 16-bit samples
	// wavChunkFrames is how many frames WriteWAV renders per Write call.
	wavChunkFrames = 2048
)

// frames returns the number of sample frames in the call's recording.
func (c Call) frames() int64 {
	d := c.Duration()
	r := int64(c.rate())
	return int64(d/time.Second)*r + int64(d%time.Second)*r/int64(time.Second)
}

// WAVSize returns the exact number of bytes WriteWAV produces for the call.
// Ingest tests and benchmarks use it to set Content-Length without
// rendering the audio.
func (c Call) WAVSize() int64 {
	return wavHeaderLen + c.frames()*wavBlock
}

// WriteWAV writes the call's recording to w as a two-channel, 16-bit PCM
// WAV lasting exactly the call's duration: channel 0 is the agent and
// channel 1 the other party. Each channel carries a speech-like voice
// (harmonic tones with pitch drift and syllable envelopes) while its party
// has the floor, with turns alternating between parties, over low
// background noise. The audio is a pure function of the call, and it is
// rendered in small chunks so memory use is constant however long the call.
func (c Call) WriteWAV(w io.Writer) error {
	frames := c.frames()
	dataLen := frames * wavBlock
	if dataLen > math.MaxUint32-36 {
		return fmt.Errorf("synth: call %q: %d bytes of audio do not fit in a WAV file", c.CallID, dataLen)
	}
	rate := c.rate()
	if rate > math.MaxUint32/wavBlock {
		return fmt.Errorf("synth: call %q: sample rate %d too high", c.CallID, rate)
	}
	var hdr [wavHeaderLen]byte
	copy(hdr[0:], "RIFF")
	binary.LittleEndian.PutUint32(hdr[4:], uint32(36+dataLen))
	copy(hdr[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(hdr[16:], 16)
	binary.LittleEndian.PutUint16(hdr[20:], 1) // PCM
	binary.LittleEndian.PutUint16(hdr[22:], wavChannels)
	binary.LittleEndian.PutUint32(hdr[24:], uint32(rate))
	binary.LittleEndian.PutUint32(hdr[28:], uint32(rate*wavBlock))
	binary.LittleEndian.PutUint16(hdr[32:], wavBlock)
	binary.LittleEndian.PutUint16(hdr[34:], 16)
	copy(hdr[36:], "data")
	binary.LittleEndian.PutUint32(hdr[40:], uint32(dataLen))
	if _, err := w.Write(hdr[:]); err != nil {
		return fmt.Errorf("synth: write wav header: %w", err)
	}

	v := newVoices(c)
	buf := make([]byte, wavChunkFrames*wavBlock)
	for done := int64(0); done < frames; {
		n := int(min(frames-done, wavChunkFrames))
		for i := range n {
			l, r := v.next()
			binary.LittleEndian.PutUint16(buf[i*wavBlock:], uint16(l))
			binary.LittleEndian.PutUint16(buf[i*wavBlock+2:], uint16(r))
		}
		if _, err := w.Write(buf[:n*wavBlock]); err != nil {
			return fmt.Errorf("synth: write wav data: %w", err)
		}
		done += int64(n)
	}
	return nil
}

// voices renders the two-party conversation one frame at a time.
type voices struct {
	rng  *rand.Rand
	rate float64

	f0      [2]float64 // each party's base pitch in Hz
	talker  int        // party holding the floor
	turnLen int        // frames in the current turn (speech then gap)
	speech  int        // frames of speech at the start of the turn
	pos     int        // frame index within the turn
	phase   float64    // voice phase in radians
	sylRate float64    // syllables per second this turn
	drift   float64    // pitch drift phase increment per frame
}

// newVoices seeds the renderer from the Call-ID so audio is a pure
// function of the call.
func newVoices(c Call) *voices {
	h := fnv.New64a()
	_, _ = io.WriteString(h, c.CallID)
	seed := h.Sum64()
	rng := rand.New(rand.NewPCG(seed, seed^0x9E3779B97F4A7C15))
	v := &voices{
		rng:  rng,
		rate: float64(c.rate()),
		f0:   [2]float64{100 + 120*rng.Float64(), 100 + 120*rng.Float64()},
	}
	v.talker = rng.IntN(2)
	v.startTurn()
	return v
}

// startTurn schedules the next stretch of speech, usually by the other
// party, followed by a short pause.
func (v *voices) startTurn() {
	if v.rng.Float64() < 0.8 {
		v.talker = 1 - v.talker
	}
	v.speech = int(v.rate * (0.8 + 5*v.rng.Float64()))
	v.turnLen = v.speech + int(v.rate*(0.1+0.7*v.rng.Float64()))
	v.pos = 0
	v.sylRate = 3 + 3*v.rng.Float64()
	v.drift = 2 * math.Pi * (0.3 + 0.7*v.rng.Float64()) / v.rate
}

// next returns the next frame's channel 0 and channel 1 samples.
func (v *voices) next() (int16, int16) {
	if v.pos >= v.turnLen {
		v.startTurn()
	}
	var out [2]float64
	for ch := range out {
		out[ch] = 0.003 * (2*v.rng.Float64() - 1) // background noise
	}
	if v.pos < v.speech {
		t := float64(v.pos) / v.rate
		f := v.f0[v.talker] * (1 + 0.08*math.Sin(v.drift*float64(v.pos)))
		v.phase += 2 * math.Pi * f / v.rate
		if v.phase > 2*math.Pi {
			v.phase -= 2 * math.Pi
		}
		// Harmonics 1, 2, 3 and 5 from one Sincos via angle-sum identities.
		s1, c1 := math.Sincos(v.phase)
		s2, c2 := 2*s1*c1, c1*c1-s1*s1
		s3, c3 := s2*c1+c2*s1, c2*c1-s2*s1
		s5 := s3*c2 + c3*s2
		s := s1 + 0.5*s2 + 0.3*s3 + 0.15*s5
		env := 0.5 * (1 - math.Cos(2*math.Pi*v.sylRate*t)) // syllables
		// 20 ms fades at the edges of the turn avoid clicks.
		fade := min(1, float64(v.pos)/(0.02*v.rate), float64(v.speech-v.pos)/(0.02*v.rate))
		out[v.talker] += 0.18 * env * fade * s
	}
	v.pos++
	return pcm16(out[0]), pcm16(out[1])
}

// pcm16 converts a sample in [-1, 1] to 16-bit PCM, clipping.
func pcm16(x float64) int16 {
	return int16(math.Round(min(max(x, -1), 1) * 32767))
}

package synth

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"time"
)

// webmFrame is the duration of one Opus packet in the synthetic WebM.
const webmFrame = 20 * time.Millisecond

// webmClusterFrames is how many packets one Cluster holds (10 s), well
// inside the ±32.767 s a block's relative timestamp can reach.
const webmClusterFrames = 500

// opusSilence is a complete 20 ms stereo CELT packet that decodes to
// digital silence (TOC config 31, stereo, one frame), so every player
// accepts the file.
var opusSilence = []byte{0xFC, 0xFF, 0xFE}

// WriteWebM writes the call as a WebM file with one two-channel Opus track,
// as Genesys Cloud delivers recordings: an EBML header with DocType "webm",
// Info (1 ms timestamps, the call's duration, its call id as Title, so no
// two calls share bytes), Tracks with an OpusHead recording the call's
// sample rate, and Clusters of 10 s of 20 ms packets of silence. There is
// no Opus encoder in holdfast, so the packets carry no speech; what probing
// reads (container, codec, rate, channels, duration) is exact.
func (c Call) WriteWebM(w io.Writer) error {
	d := c.Duration()
	frames := int64(d / webmFrame)
	if frames < 1 {
		frames = 1
	}
	rate := c.rate()
	if rate <= 0 || rate > math.MaxUint32 {
		return fmt.Errorf("synth: call %q: sample rate %d out of range", c.CallID, rate)
	}

	header := ebml(0x1A45DFA3,
		ebml(0x4286, uintBytes(1)),   // EBMLVersion
		ebml(0x42F7, uintBytes(1)),   // EBMLReadVersion
		ebml(0x42F2, uintBytes(4)),   // EBMLMaxIDLength
		ebml(0x42F3, uintBytes(8)),   // EBMLMaxSizeLength
		ebml(0x4282, []byte("webm")), // DocType
		ebml(0x4287, uintBytes(4)),   // DocTypeVersion
		ebml(0x4285, uintBytes(2)),   // DocTypeReadVersion
	)
	var dur [8]byte
	binary.BigEndian.PutUint64(dur[:], math.Float64bits(float64(frames*int64(webmFrame/time.Millisecond))))
	info := ebml(0x1549A966,
		ebml(0x2AD7B1, uintBytes(1_000_000)),   // TimestampScale: 1 ms
		ebml(0x4489, dur[:]),                   // Duration
		ebml(0x7BA9, []byte(c.CallID)),         // Title
		ebml(0x4D80, []byte("holdfast synth")), // MuxingApp
		ebml(0x5741, []byte("holdfast synth")), // WritingApp
	)
	opusHead := make([]byte, 19)
	copy(opusHead, "OpusHead")
	opusHead[8] = 1 // version
	opusHead[9] = 2 // channels
	binary.LittleEndian.PutUint16(opusHead[10:], 312)
	binary.LittleEndian.PutUint32(opusHead[12:], uint32(rate))
	var freq [8]byte
	binary.BigEndian.PutUint64(freq[:], math.Float64bits(48000))
	tracks := ebml(0x1654AE6B, ebml(0xAE,
		ebml(0xD7, uintBytes(1)),           // TrackNumber
		ebml(0x73C5, uintBytes(1)),         // TrackUID
		ebml(0x83, uintBytes(2)),           // TrackType: audio
		ebml(0x86, []byte("A_OPUS")),       // CodecID
		ebml(0x63A2, opusHead),             // CodecPrivate
		ebml(0x56AA, uintBytes(6_500_000)), // CodecDelay (ns)
		ebml(0x56BB, uintBytes(80_000_000)),
		ebml(0xE1, ebml(0xB5, freq[:]), ebml(0x9F, uintBytes(2))), // Audio
	))

	// The Segment's size is the sum of its children, known up front.
	var clusters [][]byte
	for start := int64(0); start < frames; start += webmClusterFrames {
		n := min(webmClusterFrames, frames-start)
		blocks := make([][]byte, 0, n+1)
		blocks = append(blocks, ebml(0xE7, uintBytes(uint64(start*int64(webmFrame/time.Millisecond)))))
		for i := range n {
			rel := i * int64(webmFrame/time.Millisecond)
			b := []byte{0x81, byte(rel >> 8), byte(rel), 0x80} // track 1, timestamp, keyframe
			blocks = append(blocks, ebml(0xA3, append(b, opusSilence...)))
		}
		clusters = append(clusters, ebml(0x1F43B675, blocks...))
	}
	segment := ebml(0x18538067, append([][]byte{info, tracks}, clusters...)...)
	for _, part := range [][]byte{header, segment} {
		if _, err := w.Write(part); err != nil {
			return fmt.Errorf("synth: write webm: %w", err)
		}
	}
	return nil
}

// ebml encodes one element: its id, its size as a minimal vint, then the
// concatenated children.
func ebml(id uint32, children ...[]byte) []byte {
	size := 0
	for _, c := range children {
		size += len(c)
	}
	var out []byte
	switch {
	case id > 0xFFFFFF:
		out = append(out, byte(id>>24), byte(id>>16), byte(id>>8), byte(id))
	case id > 0xFFFF:
		out = append(out, byte(id>>16), byte(id>>8), byte(id))
	case id > 0xFF:
		out = append(out, byte(id>>8), byte(id))
	default:
		out = append(out, byte(id))
	}
	out = append(out, sizeVint(uint64(size))...)
	for _, c := range children {
		out = append(out, c...)
	}
	return out
}

// sizeVint encodes n as the shortest EBML size vint (never all ones,
// which means "unknown").
func sizeVint(n uint64) []byte {
	for l := 1; l <= 8; l++ {
		if n < 1<<(7*l)-1 {
			b := make([]byte, l)
			v := n | 1<<(7*l)
			for i := l - 1; i >= 0; i-- {
				b[i] = byte(v)
				v >>= 8
			}
			return b
		}
	}
	panic("synth: element too large for EBML")
}

// uintBytes is the big-endian encoding of v without leading zero bytes.
func uintBytes(v uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	i := 0
	for i < 7 && b[i] == 0 {
		i++
	}
	return b[i:]
}

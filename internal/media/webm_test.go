package media_test

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/holdfast/holdfast/internal/media"
)

// el encodes one EBML element with a minimal size vint.
func el(id uint32, children ...[]byte) []byte {
	body := concat(children...)
	return concat(ebmlID(id), ebmlSize(len(body)), body)
}

// elUnknown encodes an element whose size is "unknown" (all ones), as a
// live recorder writes Segments and Clusters.
func elUnknown(id uint32, children ...[]byte) []byte {
	return concat(ebmlID(id), []byte{0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, concat(children...))
}

func ebmlID(id uint32) []byte {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], id)
	i := 0
	for i < 3 && b[i] == 0 {
		i++
	}
	return b[i:]
}

func ebmlSize(n int) []byte {
	if n < 0x7F {
		return []byte{0x80 | byte(n)}
	}
	return []byte{0x01, 0, 0, 0, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
}

func u(v uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return b[:]
}

func f64(v float64) []byte { return u(math.Float64bits(v)) }

func f32(v float32) []byte {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], math.Float32bits(v))
	return b[:]
}

// webmSpec describes a test file.
type webmSpec struct {
	docType    string
	scale      uint64  // 0: leave TimestampScale out (default 1 ms)
	duration   []byte  // Duration payload; nil leaves it out
	codec      string  // CodecID of the audio track
	channels   uint64  // Audio/Channels; 0 leaves it out
	opusRate   uint32  // OpusHead input rate; 0 leaves CodecPrivate out
	vorbisRate float64 // Audio/SamplingFrequency
	video      bool    // add a video track
	unknown    bool    // Segment and Clusters of unknown size
	clusters   int     // clusters of 50 blocks of 20 ms (CELT 20 ms TOC)
}

func buildWebM(s webmSpec) []byte {
	if s.docType == "" {
		s.docType = "webm"
	}
	hdr := el(0x1A45DFA3, el(0x4286, []byte{1}), el(0x4282, []byte(s.docType)))
	var info [][]byte
	if s.scale != 0 {
		info = append(info, el(0x2AD7B1, u(s.scale)))
	}
	if s.duration != nil {
		info = append(info, el(0x4489, s.duration))
	}
	audio := [][]byte{el(0xD7, []byte{1}), el(0x83, []byte{2}), el(0x86, []byte(s.codec))}
	if s.opusRate != 0 {
		head := make([]byte, 19)
		copy(head, "OpusHead")
		head[8], head[9] = 1, 2
		binary.LittleEndian.PutUint32(head[12:], s.opusRate)
		audio = append(audio, el(0x63A2, head))
	}
	var a [][]byte
	if s.vorbisRate != 0 {
		a = append(a, el(0xB5, f64(s.vorbisRate)))
	}
	if s.channels != 0 {
		a = append(a, el(0x9F, u(s.channels)))
	}
	audio = append(audio, el(0xE1, a...))
	entries := [][]byte{el(0xAE, audio...)}
	if s.video {
		entries = append(entries, el(0xAE, el(0xD7, []byte{2}), el(0x83, []byte{1}), el(0x86, []byte("V_VP8"))))
	}
	children := [][]byte{el(0x1549A966, info...), el(0x1654AE6B, entries...)}
	for c := range s.clusters {
		blocks := [][]byte{el(0xE7, u(uint64(c*1000)))}
		for i := range 50 {
			rel := i * 20
			blocks = append(blocks, el(0xA3, []byte{0x81, byte(rel >> 8), byte(rel), 0x80, 0xFC, 0xFF, 0xFE}))
		}
		if s.unknown {
			children = append(children, elUnknown(0x1F43B675, blocks...))
		} else {
			children = append(children, el(0x1F43B675, blocks...))
		}
	}
	if s.unknown {
		return concat(hdr, elUnknown(0x18538067, children...))
	}
	return concat(hdr, el(0x18538067, children...))
}

func webmInfo(codec string, rate, ch int, ms int64) media.Info {
	return media.Info{Format: "audio/webm", Ext: "webm", Codec: codec, SampleRate: rate, Channels: ch, DurationMS: ms}
}

func TestProbeWebM(t *testing.T) {
	t.Parallel()
	full := buildWebM(webmSpec{codec: "A_OPUS", channels: 2, opusRate: 8000, duration: f64(3000), clusters: 3})
	runProbeCases(t, []probeCase{
		{"opus with duration", full, webmInfo("opus", 8000, 2, 3000), nil},
		{"opus float32 duration, 1 ms scale", buildWebM(webmSpec{codec: "A_OPUS", channels: 1, opusRate: 16000, scale: 1_000_000, duration: f32(1234.5)}),
			webmInfo("opus", 16000, 1, 1234), nil},
		{"duration in 10 ms units", buildWebM(webmSpec{codec: "A_OPUS", channels: 2, scale: 10_000_000, duration: f64(250)}), webmInfo("opus", 48000, 2, 2500), nil},
		{"no duration: blocks counted", buildWebM(webmSpec{codec: "A_OPUS", channels: 2, opusRate: 48000, clusters: 2}), webmInfo("opus", 48000, 2, 2000), nil},
		{"unknown-size segment and clusters", buildWebM(webmSpec{codec: "A_OPUS", channels: 2, unknown: true, clusters: 4}), webmInfo("opus", 48000, 2, 4000), nil},
		{"channels from OpusHead", buildWebM(webmSpec{codec: "A_OPUS", opusRate: 8000, duration: f64(10)}), webmInfo("opus", 8000, 2, 10), nil},
		{"vorbis", buildWebM(webmSpec{codec: "A_VORBIS", channels: 1, vorbisRate: 44100, duration: f64(500)}), webmInfo("vorbis", 44100, 1, 500), nil},
		{"video track", buildWebM(webmSpec{codec: "A_OPUS", channels: 2, video: true, duration: f64(10)}), media.Info{}, media.ErrUnsupported},
		{"other codec", buildWebM(webmSpec{codec: "A_AAC", channels: 2, duration: f64(10)}), media.Info{}, media.ErrUnsupported},
		{"matroska doctype", buildWebM(webmSpec{docType: "matroska", codec: "A_OPUS", channels: 2}), media.Info{}, media.ErrNotAudio},
		{"truncated", full[:len(full)-200], media.Info{}, media.ErrCorrupt},
		{"NaN duration", buildWebM(webmSpec{codec: "A_OPUS", channels: 2, duration: f64(math.NaN())}), media.Info{}, media.ErrCorrupt},
		{"no channels", buildWebM(webmSpec{codec: "A_VORBIS", vorbisRate: 8000, duration: f64(10)}), media.Info{}, media.ErrCorrupt},
		{"header only", full[:40], media.Info{}, media.ErrCorrupt},
	})
	if f, ok := media.Sniff(full[:min(len(full), media.SniffLen)]); !ok || f != media.FormatWebM {
		t.Errorf("Sniff = %q, %v; want %q", f, ok, media.FormatWebM)
	}
}

func TestOpusFrameDurations(t *testing.T) {
	t.Parallel()
	// One block per cluster, so the duration is the last block's end: its
	// timestamp (0) plus what its TOC byte says.
	for toc, want := range map[byte]int64{0x00: 10, 0x08: 20, 0x18: 60, 0x60: 10, 0x68: 20, 0x80: 2, 0x98: 20, 0x99: 40} {
		hdr := el(0x1A45DFA3, el(0x4282, []byte("webm")))
		track := el(0x1654AE6B, el(0xAE, el(0x83, []byte{2}), el(0x86, []byte("A_OPUS")), el(0xE1, el(0x9F, []byte{1}))))
		cluster := el(0x1F43B675, el(0xE7, []byte{0}), el(0xA3, []byte{0x81, 0, 0, 0x80, toc, 0}))
		got, err := probeBytes(t, concat(hdr, el(0x18538067, track, cluster)))
		if err != nil || got.DurationMS != want {
			t.Errorf("TOC 0x%02X: %+v, %v; want %d ms", toc, got, err, want)
		}
	}
}

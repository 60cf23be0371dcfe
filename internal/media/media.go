// Package media identifies and inspects uploaded call recordings for the
// holdfast vault. It is for the ingest path and the HTTP layer: Sniff lets a
// handler reject non-audio uploads (415) from the first bytes before anything
// is stored, and Probe reads the container structure of a stored object to
// record its codec, sample rate, channel count and duration.
//
// Supported containers are RIFF/WAVE (including WAVE_FORMAT_EXTENSIBLE and
// RF64/BW64), Ogg (Opus and Vorbis), WebM (Opus and Vorbis; what Genesys
// Cloud exports) and MPEG audio layer III. Probe is written
// for hostile input: it never panics, its allocations are bounded by small
// constants rather than by sizes declared inside the file, and the amount of
// work it does is bounded regardless of the input. Ogg page CRCs are
// validated; WAV and MP3 carry no checksums that Probe verifies.
package media

import (
	"errors"
	"fmt"
	"io"
)

// Info describes probed audio. It is what holdfast stores alongside a
// recording so listings and players need not re-read the media.
type Info struct {
	// Format is the container MIME type: "audio/wav", "audio/ogg",
	// "audio/webm" or "audio/mpeg".
	Format string
	// Ext is the conventional file extension without the dot: "wav", "ogg",
	// "webm" or "mp3".
	Ext string
	// Codec names the audio coding: "pcm_s16le", "pcm_u8", "pcm_s24le",
	// "pcm_s32le", "pcm_f32le", "pcm_f64le", "pcm_mulaw", "pcm_alaw",
	// "opus", "vorbis" or "mp3".
	Codec string
	// SampleRate is in Hz. For Opus it is the original input rate recorded in
	// the OpusHead header, or 48000 when the header leaves it unspecified.
	SampleRate int
	// Channels is the number of audio channels.
	Channels int
	// DurationMS is the playable duration in milliseconds, rounded down.
	DurationMS int64
}

// MIME types reported by Sniff and in Info.Format.
const (
	// FormatWAV is the MIME type of RIFF/WAVE (and RF64/BW64) files.
	FormatWAV = "audio/wav"
	// FormatOgg is the MIME type of Ogg files.
	FormatOgg = "audio/ogg"
	// FormatMPEG is the MIME type of MPEG audio (MP3) files.
	FormatMPEG = "audio/mpeg"
)

// SniffLen is the number of leading bytes Sniff needs to make a decision.
// Callers should pass at least this many bytes when the upload is that long.
const SniffLen = 512

var (
	// ErrNotAudio reports that the bytes are not a recognised audio container
	// (or use a codec holdfast does not support). The HTTP layer maps it to
	// 415 Unsupported Media Type.
	ErrNotAudio = errors.New("media: not a recognised audio format")

	// ErrUnsupported reports a recognised container carrying audio coding
	// holdfast cannot describe (for example ADPCM in WAV, Speex in Ogg).
	// Every error that matches ErrUnsupported also matches ErrNotAudio, so
	// callers that only check ErrNotAudio still answer 415.
	ErrUnsupported = errors.New("media: unsupported audio coding")

	// ErrCorrupt reports a recognised container whose structure is malformed
	// or truncated beyond use. Recordings that fail this way are marked
	// "failed".
	ErrCorrupt = errors.New("media: corrupt audio")
)

// Sniff looks at the first bytes of an upload (SniffLen bytes are enough)
// and reports the container MIME type, or ok=false when the bytes do not
// start a supported audio container. It is cheap and allocation free so it
// can gate uploads before they are stored.
//
// Sniff only checks magic numbers and, for MP3, the validity of the first
// frame header; a true result does not guarantee that Probe will succeed.
func Sniff(head []byte) (format string, ok bool) {
	switch {
	case sniffWAV(head):
		return FormatWAV, true
	case sniffOgg(head):
		return FormatOgg, true
	case sniffWebM(head):
		return FormatWebM, true
	case sniffMP3(head):
		return FormatMPEG, true
	}
	return "", false
}

// Probe reads the container structure of r, which holds size bytes, and
// describes the audio. It returns an error matching ErrNotAudio when the
// data is not a supported audio container, ErrCorrupt when it is but the
// structure is malformed or truncated beyond use, or the underlying read
// error (wrapped) when r fails.
//
// Probe never panics, never allocates in proportion to sizes declared inside
// the data, and does a bounded amount of work for any input.
func Probe(r io.ReaderAt, size int64) (Info, error) {
	if size < 0 {
		return Info{}, fmt.Errorf("media: negative size %d", size)
	}
	src := source{r: r, size: size}
	head, err := src.readUpTo(0, SniffLen)
	if err != nil {
		return Info{}, err
	}
	format, ok := Sniff(head)
	if !ok {
		return Info{}, ErrNotAudio
	}
	switch format {
	case FormatWAV:
		return probeWAV(src)
	case FormatOgg:
		return probeOgg(src)
	case FormatWebM:
		return probeWebM(src)
	default:
		return probeMP3(src)
	}
}

// source is a bounds-checked view of the probed data.
type source struct {
	r    io.ReaderAt
	size int64
}

// read returns exactly n bytes at off. Reading beyond size is reported as
// ErrCorrupt (the container claims data that is not there); n must be a
// small, caller-bounded value.
func (s source) read(off int64, n int) ([]byte, error) {
	if off < 0 || n < 0 || off > s.size || int64(n) > s.size-off {
		return nil, fmt.Errorf("%w: truncated at offset %d", ErrCorrupt, off)
	}
	buf := make([]byte, n)
	if err := s.fill(off, buf); err != nil {
		return nil, err
	}
	return buf, nil
}

// readUpTo returns min(n, size-off) bytes at off.
func (s source) readUpTo(off int64, n int) ([]byte, error) {
	if off < 0 || off > s.size {
		return nil, fmt.Errorf("%w: offset %d out of range", ErrCorrupt, off)
	}
	if rem := s.size - off; int64(n) > rem {
		n = int(rem)
	}
	buf := make([]byte, n)
	if err := s.fill(off, buf); err != nil {
		return nil, err
	}
	return buf, nil
}

// fill reads len(buf) bytes at off, mapping short reads to ErrCorrupt and
// other failures to a wrapped I/O error.
func (s source) fill(off int64, buf []byte) error {
	if len(buf) == 0 {
		return nil
	}
	n, err := s.r.ReadAt(buf, off)
	if n == len(buf) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: short read at offset %d", ErrCorrupt, off)
	}
	return fmt.Errorf("media: read at offset %d: %w", off, err)
}

// unsupported builds an error matching both ErrNotAudio and ErrUnsupported.
func unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: %w: %s", ErrNotAudio, ErrUnsupported, fmt.Sprintf(format, args...))
}

// corrupt builds an error matching ErrCorrupt.
func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// durationMS returns units*1000/perSecond rounded down without overflowing
// for any non-negative units and positive perSecond.
func durationMS(units uint64, perSecond uint64) int64 {
	if perSecond == 0 {
		return 0
	}
	whole := units / perSecond
	frac := units % perSecond
	ms := whole*1000 + frac*1000/perSecond
	if whole > (1<<63-1)/1000 || ms > 1<<63-1 {
		return 1<<63 - 1
	}
	return int64(ms)
}

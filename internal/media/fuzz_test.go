package media_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/holdfast/holdfast/internal/media"
)

// FuzzProbe checks that Probe never panics, always classifies its errors,
// agrees with Sniff, and only reports plausible Info on success. Seeds
// live in testdata/fuzz/FuzzProbe; a few more are built here.
func FuzzProbe(f *testing.F) {
	f.Add(buildWAV(wavSpec{before: true, channels: 2, dataLen: 16}))
	f.Add(buildRF64(1, 8000, 8))
	f.Add(oggStream(1, opusHead(2, 312, 16000), 2, 8, 1000))
	f.Add(oggStream(2, vorbisID(1, 8000), 1, 8, 800))
	f.Add(concat(id3v2(4), xingFrame(mp3Header(25, 1, 2, false), 72, 17, "Xing", 3), mp3Frames(mp3Header(25, 1, 2, false), 72, 1)))
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := media.Probe(bytes.NewReader(data), int64(len(data)))
		_, sniffed := media.Sniff(data[:min(len(data), media.SniffLen)])
		if !sniffed && !errors.Is(err, media.ErrNotAudio) {
			t.Fatalf("Sniff rejected the data but Probe returned %+v, %v", info, err)
		}
		if err != nil {
			if !errors.Is(err, media.ErrNotAudio) && !errors.Is(err, media.ErrCorrupt) {
				t.Fatalf("unclassified error: %v", err)
			}
			if info != (media.Info{}) {
				t.Fatalf("non-zero Info %+v with error %v", info, err)
			}
			return
		}
		if info.Format == "" || info.Ext == "" || info.Codec == "" || info.SampleRate <= 0 || info.Channels <= 0 || info.DurationMS < 0 {
			t.Fatalf("implausible Info %+v", info)
		}
	})
}

// FuzzProbeWebM drives the EBML walker of the WebM prober with mutations of
// well-formed files (known and unknown sizes, with and without Duration);
// the properties are those of FuzzProbe. Seeds live in
// testdata/fuzz/FuzzProbeWebM.
func FuzzProbeWebM(f *testing.F) {
	f.Add(buildWebM(webmSpec{codec: "A_OPUS", channels: 2, opusRate: 8000, duration: f64(3000), clusters: 1}))
	f.Add(buildWebM(webmSpec{codec: "A_OPUS", channels: 2, unknown: true, clusters: 2}))
	f.Add(buildWebM(webmSpec{codec: "A_VORBIS", channels: 1, vorbisRate: 8000, duration: f32(10)}))
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := media.Probe(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			if !errors.Is(err, media.ErrNotAudio) && !errors.Is(err, media.ErrCorrupt) {
				t.Fatalf("unclassified error: %v", err)
			}
			if info != (media.Info{}) {
				t.Fatalf("non-zero Info %+v with error %v", info, err)
			}
			return
		}
		if info.Format == "" || info.Codec == "" || info.SampleRate <= 0 || info.Channels <= 0 || info.DurationMS < 0 {
			t.Fatalf("implausible Info %+v", info)
		}
	})
}

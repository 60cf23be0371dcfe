package media

import (
	"encoding/binary"
)

const (
	// mp3ScanWindow bounds how far past the ID3v2 tags probeMP3 searches
	// for the first frame header.
	mp3ScanWindow = 64 << 10
	// mp3MaxFrame is larger than any layer III frame (1441 bytes at
	// 320 kbit/s, 32 kHz), so a frame found inside the scan window can be
	// confirmed by the header that follows it.
	mp3MaxFrame = 2048
	// maxID3Tags bounds how many consecutive ID3v2 tags are skipped.
	maxID3Tags = 8
)

// mp3Frame is a decoded MPEG audio layer III frame header.
type mp3Frame struct {
	version    byte // 1 (MPEG-1), 2 (MPEG-2) or 25 (MPEG-2.5)
	sampleRate int
	kbps       int
	channels   int
	samples    int // samples per channel per frame
	length     int // frame length in bytes, including the header
	sideInfo   int // bytes of side information after the header
}

// parseMP3Header decodes the 4-byte frame header at the start of b.
func parseMP3Header(b []byte) (mp3Frame, bool) {
	if len(b) < 4 || b[0] != 0xFF || b[1]&0xE0 != 0xE0 {
		return mp3Frame{}, false
	}
	if (b[1]>>1)&3 != 1 { // layer III only
		return mp3Frame{}, false
	}
	var f mp3Frame
	var rates [3]int
	switch (b[1] >> 3) & 3 {
	case 3:
		f.version, rates = 1, [3]int{44100, 48000, 32000}
	case 2:
		f.version, rates = 2, [3]int{22050, 24000, 16000}
	case 0:
		f.version, rates = 25, [3]int{11025, 12000, 8000}
	default:
		return mp3Frame{}, false
	}
	brIdx, srIdx := b[2]>>4, (b[2]>>2)&3
	if srIdx == 3 {
		return mp3Frame{}, false
	}
	f.sampleRate = rates[srIdx]
	// Layer III bitrates in kbit/s by index. Index 0 (free format) and 15
	// (invalid) are unsupported.
	bitratesV1 := [16]uint16{0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0}
	bitratesV2 := [16]uint16{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0}
	if f.version == 1 {
		f.kbps = int(bitratesV1[brIdx])
	} else {
		f.kbps = int(bitratesV2[brIdx])
	}
	if f.kbps == 0 {
		return mp3Frame{}, false
	}
	padding := int(b[2]>>1) & 1
	mono := b[3]>>6 == 3
	f.channels = 2
	if mono {
		f.channels = 1
	}
	if f.version == 1 {
		f.samples = 1152
		f.length = 144*f.kbps*1000/f.sampleRate + padding
		f.sideInfo = 32
		if mono {
			f.sideInfo = 17
		}
	} else {
		f.samples = 576
		f.length = 72*f.kbps*1000/f.sampleRate + padding
		f.sideInfo = 17
		if mono {
			f.sideInfo = 9
		}
	}
	return f, true
}

// sameStream reports whether g plausibly continues the stream f starts.
func (f mp3Frame) sameStream(g mp3Frame) bool {
	return f.version == g.version && f.sampleRate == g.sampleRate
}

// id3Len returns the total length of the ID3v2 tag at the start of b, or
// ok=false if b does not start with a valid ID3v2 header.
func id3Len(b []byte) (int64, bool) {
	if len(b) < 10 || string(b[0:3]) != "ID3" || b[3] < 2 || b[3] > 4 || b[4] == 0xFF {
		return 0, false
	}
	var size int64
	for _, c := range b[6:10] {
		if c >= 0x80 {
			return 0, false
		}
		size = size<<7 | int64(c)
	}
	size += 10
	if b[5]&0x10 != 0 { // footer present (ID3v2.4)
		size += 10
	}
	return size, true
}

func sniffMP3(head []byte) bool {
	if _, ok := id3Len(head); ok {
		return true
	}
	f, ok := parseMP3Header(head)
	if !ok {
		return false
	}
	if next := head[min(f.length, len(head)):]; len(next) >= 4 {
		g, ok := parseMP3Header(next)
		return ok && f.sameStream(g)
	}
	return true
}

// probeMP3 skips ID3v2 tags, locates the first layer III frame and derives
// the duration from a Xing/Info header, else a VBRI header, else a
// constant-bitrate estimate over the bytes after the first frame's start
// (less a trailing ID3v1 tag). Encoder delay and padding recorded in LAME
// tags are not subtracted.
func probeMP3(src source) (Info, error) {
	var off int64
	for range maxID3Tags {
		b, err := src.readUpTo(off, 10)
		if err != nil {
			return Info{}, err
		}
		n, ok := id3Len(b)
		if !ok {
			break
		}
		off += n
		if off > src.size {
			return Info{}, corrupt("mp3: ID3v2 tag runs past end of file")
		}
	}
	buf, err := src.readUpTo(off, mp3ScanWindow+mp3MaxFrame)
	if err != nil {
		return Info{}, err
	}
	var (
		f     mp3Frame
		start = -1
	)
	for i := 0; i < mp3ScanWindow && i+4 <= len(buf); i++ {
		if buf[i] != 0xFF {
			continue
		}
		cand, ok := parseMP3Header(buf[i:])
		if !ok {
			continue
		}
		if i > 0 { // away from the expected position, demand a second header
			next := i + cand.length
			if next+4 <= len(buf) {
				g, ok := parseMP3Header(buf[next:])
				if !ok || !cand.sameStream(g) {
					continue
				}
			} else if off+int64(next) < src.size {
				continue
			}
		}
		f, start = cand, i
		break
	}
	if start < 0 {
		return Info{}, corrupt("mp3: no MPEG audio layer III frame found")
	}
	frame := buf[start:min(start+f.length, len(buf))]
	info := Info{
		Format:     FormatMPEG,
		Ext:        "mp3",
		Codec:      "mp3",
		SampleRate: f.sampleRate,
		Channels:   f.channels,
	}
	if frames, ok := vbrFrames(frame, f); ok {
		info.DurationMS = durationMS(frames*uint64(f.samples), uint64(f.sampleRate))
		return info, nil
	}
	audio := src.size - off - int64(start)
	if audio >= 128 {
		tag, err := src.read(src.size-128, 3)
		if err != nil {
			return Info{}, err
		}
		if string(tag) == "TAG" {
			audio -= 128
		}
	}
	info.DurationMS = durationMS(uint64(audio), uint64(f.kbps)*125)
	return info, nil
}

// vbrFrames reads the audio frame count from a Xing/Info or VBRI header in
// the first frame, if one is present and declares a non-zero count.
func vbrFrames(frame []byte, f mp3Frame) (uint64, bool) {
	if x := 4 + f.sideInfo; len(frame) >= x+12 {
		tag := string(frame[x : x+4])
		if tag == "Xing" || tag == "Info" {
			flags := binary.BigEndian.Uint32(frame[x+4 : x+8])
			if flags&1 != 0 {
				if n := binary.BigEndian.Uint32(frame[x+8 : x+12]); n > 0 {
					return uint64(n), true
				}
			}
			return 0, false
		}
	}
	if v := 4 + 32; len(frame) >= v+18 && string(frame[v:v+4]) == "VBRI" {
		if n := binary.BigEndian.Uint32(frame[v+14 : v+18]); n > 0 {
			return uint64(n), true
		}
	}
	return 0, false
}

package media_test

import (
	"bytes"
	"encoding/binary"
)

// wavSpec describes a WAV file for buildWAV. Zero fields take sensible
// defaults so table entries only state what they test.
type wavSpec struct {
	tag        uint16 // format tag; 0 means PCM
	channels   uint16
	rate       uint32
	bits       uint16
	blockAlign uint16 // 0 means channels*bits/8
	extensible bool   // wrap tag in WAVE_FORMAT_EXTENSIBLE
	fmtSize    uint32 // 0 means 16 (or 40 if extensible)
	dataLen    int    // bytes of sample data actually written
	dataSize   uint32 // declared data size; 0 means dataLen
	before     bool   // put an odd-sized LIST chunk before fmt
	dataFirst  bool   // put the data chunk before fmt
	trailer    bool   // add an odd-sized chunk after data
	noFmt      bool
	noData     bool
}

// buildWAV encodes spec as RIFF/WAVE bytes.
func buildWAV(s wavSpec) []byte {
	if s.channels == 0 {
		s.channels = 1
	}
	if s.rate == 0 {
		s.rate = 8000
	}
	if s.bits == 0 {
		s.bits = 16
	}
	if s.blockAlign == 0 {
		s.blockAlign = s.channels * s.bits / 8
	}
	tag := s.tag
	if tag == 0 {
		tag = 1
	}
	var fmtBody bytes.Buffer
	le := func(v any) { _ = binary.Write(&fmtBody, binary.LittleEndian, v) }
	if s.extensible {
		le(uint16(0xFFFE))
	} else {
		le(tag)
	}
	le(s.channels)
	le(s.rate)
	le(s.rate * uint32(s.blockAlign))
	le(s.blockAlign)
	le(s.bits)
	if s.extensible {
		le(uint16(22))
		le(s.bits) // valid bits
		le(uint32(3))
		le(tag)
		fmtBody.WriteString("\x00\x00\x00\x00\x10\x00\x80\x00\x00\xAA\x00\x38\x9B\x71")
	}
	fmtBytes := fmtBody.Bytes()
	if s.fmtSize != 0 && int(s.fmtSize) < len(fmtBytes) {
		fmtBytes = fmtBytes[:s.fmtSize]
	}

	var body bytes.Buffer
	chunk := func(id string, declared uint32, data []byte) {
		body.WriteString(id)
		_ = binary.Write(&body, binary.LittleEndian, declared)
		body.Write(data)
		if len(data)%2 == 1 {
			body.WriteByte(0)
		}
	}
	data := make([]byte, s.dataLen)
	for i := range data {
		data[i] = byte(i * 7)
	}
	declared := s.dataSize
	if declared == 0 {
		declared = uint32(s.dataLen)
	}
	if s.before {
		chunk("LIST", 5, []byte("INFOx"))
	}
	if s.dataFirst && !s.noData {
		chunk("data", declared, data)
	}
	if !s.noFmt {
		chunk("fmt ", uint32(len(fmtBytes)), fmtBytes)
	}
	if !s.dataFirst && !s.noData {
		chunk("data", declared, data)
	}
	if s.trailer {
		chunk("junk", 3, []byte("abc"))
	}
	var out bytes.Buffer
	out.WriteString("RIFF")
	_ = binary.Write(&out, binary.LittleEndian, uint32(4+body.Len()))
	out.WriteString("WAVE")
	out.Write(body.Bytes())
	return out.Bytes()
}

// buildRF64 encodes a PCM RF64 file whose data size lives in the ds64 chunk.
func buildRF64(channels uint16, rate uint32, dataLen int) []byte {
	var b bytes.Buffer
	le := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RF64")
	le(uint32(0xFFFFFFFF))
	b.WriteString("WAVE")
	b.WriteString("ds64")
	le(uint32(28))
	le(uint64(0)) // riff size (unused by probe)
	le(uint64(dataLen))
	le(uint64(dataLen) / uint64(channels*2))
	le(uint32(0))
	b.WriteString("fmt ")
	le(uint32(16))
	le(uint16(1))
	le(channels)
	le(rate)
	le(rate * uint32(channels) * 2)
	le(channels * 2)
	le(uint16(16))
	b.WriteString("data")
	le(uint32(0xFFFFFFFF))
	b.Write(make([]byte, dataLen))
	return b.Bytes()
}

// testOggCRC is an independent bitwise implementation of the Ogg checksum.
func testOggCRC(p []byte) uint32 {
	var crc uint32
	for _, b := range p {
		for i := 7; i >= 0; i-- {
			bit := (crc>>31)^uint32(b>>uint(i)&1) != 0
			crc <<= 1
			if bit {
				crc ^= 0x04C11DB7
			}
		}
	}
	return crc
}

// oggPage encodes one Ogg page holding the given complete packets.
func oggPage(serial, seq uint32, granule int64, flags byte, packets ...[]byte) []byte {
	var lacing, body []byte
	for _, p := range packets {
		n := len(p)
		for n >= 255 {
			lacing = append(lacing, 255)
			n -= 255
		}
		lacing = append(lacing, byte(n))
		body = append(body, p...)
	}
	h := make([]byte, 27, 27+len(lacing)+len(body))
	copy(h, "OggS")
	h[5] = flags
	binary.LittleEndian.PutUint64(h[6:], uint64(granule))
	binary.LittleEndian.PutUint32(h[14:], serial)
	binary.LittleEndian.PutUint32(h[18:], seq)
	h[26] = byte(len(lacing))
	h = append(h, lacing...)
	h = append(h, body...)
	binary.LittleEndian.PutUint32(h[22:], testOggCRC(h))
	return h
}

func opusHead(channels byte, preSkip uint16, inRate uint32) []byte {
	p := []byte("OpusHead")
	p = append(p, 1, channels)
	p = binary.LittleEndian.AppendUint16(p, preSkip)
	p = binary.LittleEndian.AppendUint32(p, inRate)
	p = append(p, 0, 0, 0) // gain, mapping family
	return p
}

func vorbisID(channels byte, rate uint32) []byte {
	p := []byte("\x01vorbis")
	p = binary.LittleEndian.AppendUint32(p, 0)
	p = append(p, channels)
	p = binary.LittleEndian.AppendUint32(p, rate)
	p = append(p, make([]byte, 12)...) // bitrates
	p = append(p, 0xB8, 1)             // blocksizes, framing
	return p
}

// oggStream builds a single logical stream: the identification page, a
// comment page, audio pages with granules rising evenly to final, and
// returns the bytes.
func oggStream(serial uint32, id []byte, audioPages int, pageLen int, final int64) []byte {
	var out []byte
	out = append(out, oggPage(serial, 0, 0, 0x02, id)...)
	out = append(out, oggPage(serial, 1, 0, 0, []byte("OpusTags\x00\x00\x00\x00\x00\x00\x00\x00"))...)
	for i := 1; i <= audioPages; i++ {
		pkt := make([]byte, pageLen)
		for j := range pkt {
			pkt[j] = byte(i*31 + j)
		}
		var flags byte
		if i == audioPages {
			flags = 0x04
		}
		out = append(out, oggPage(serial, uint32(i+1), final*int64(i)/int64(audioPages), flags, pkt)...)
	}
	return out
}

// mp3Header encodes a layer III frame header.
func mp3Header(version int, bitrateIdx, rateIdx byte, mono bool) []byte {
	var v byte
	switch version {
	case 1:
		v = 3
	case 2:
		v = 2
	default:
		v = 0
	}
	b1 := 0xE0 | v<<3 | 1<<1 | 1 // layer III, no CRC
	b3 := byte(0)
	if mono {
		b3 = 3 << 6
	}
	return []byte{0xFF, b1, bitrateIdx<<4 | rateIdx<<2, b3}
}

// mp3Frames returns n frames of the given length starting with header h.
func mp3Frames(h []byte, frameLen, n int) []byte {
	out := make([]byte, 0, frameLen*n)
	for range n {
		f := make([]byte, frameLen)
		copy(f, h)
		out = append(out, f...)
	}
	return out
}

// id3v2 returns an ID3v2.3 tag with a body of n bytes.
func id3v2(n int) []byte {
	t := []byte{'I', 'D', '3', 3, 0, 0, byte(n >> 21 & 0x7F), byte(n >> 14 & 0x7F), byte(n >> 7 & 0x7F), byte(n & 0x7F)}
	return append(t, make([]byte, n)...)
}

// xingFrame returns a first frame carrying a Xing (or Info) header that
// declares frames audio frames; sideInfo is the side-information size.
func xingFrame(h []byte, frameLen, sideInfo int, tag string, frames uint32) []byte {
	f := make([]byte, frameLen)
	copy(f, h)
	x := 4 + sideInfo
	copy(f[x:], tag)
	binary.BigEndian.PutUint32(f[x+4:], 0x0F)
	binary.BigEndian.PutUint32(f[x+8:], frames)
	return f
}

// vbriFrame returns a first frame carrying a VBRI header.
func vbriFrame(h []byte, frameLen int, frames uint32) []byte {
	f := make([]byte, frameLen)
	copy(f, h)
	copy(f[36:], "VBRI")
	binary.BigEndian.PutUint16(f[40:], 1)
	binary.BigEndian.PutUint32(f[50:], frames)
	return f
}

func concat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

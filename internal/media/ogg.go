package media

import (
	"bytes"
	"encoding/binary"
)

const (
	// oggHeaderLen is the fixed part of an Ogg page header.
	oggHeaderLen = 27
	// oggMaxPage is the largest possible Ogg page: header, 255 lacing
	// values and 255 segments of 255 bytes.
	oggMaxPage = oggHeaderLen + 255 + 255*255
	// oggTailWindow is how far back from the end Probe looks for the last
	// page. It is larger than one maximal page so the start of the final
	// page is always inside it.
	oggTailWindow = 2 * oggMaxPage
	// oggFlagBOS marks the first page of a logical bitstream.
	oggFlagBOS = 0x02
	// opusRate is the rate Opus granule positions count in.
	opusRate = 48000
	// oggMaxCandidates bounds how many "OggS" candidates in the tail are
	// CRC-checked, so a tail stuffed with fake capture patterns stays cheap.
	oggMaxCandidates = 256
)

func sniffOgg(head []byte) bool {
	return len(head) >= 5 && string(head[0:4]) == "OggS" && head[4] == 0
}

// oggPage is a parsed, CRC-checked Ogg page held in memory.
type oggPage struct {
	flags    byte
	granule  int64
	serial   uint32
	segments []byte // lacing values
	body     []byte
	length   int // total bytes including header
}

// parseOggPage parses the page at the start of b. It reports ok=false if b
// does not begin with a complete page whose CRC matches.
func parseOggPage(crc *crcTable, b []byte) (oggPage, bool) {
	if len(b) < oggHeaderLen || string(b[0:4]) != "OggS" || b[4] != 0 {
		return oggPage{}, false
	}
	nseg := int(b[26])
	if len(b) < oggHeaderLen+nseg {
		return oggPage{}, false
	}
	segs := b[oggHeaderLen : oggHeaderLen+nseg]
	bodyLen := 0
	for _, s := range segs {
		bodyLen += int(s)
	}
	total := oggHeaderLen + nseg + bodyLen
	if len(b) < total {
		return oggPage{}, false
	}
	if binary.LittleEndian.Uint32(b[22:26]) != crc.checksum(b[:total]) {
		return oggPage{}, false
	}
	return oggPage{
		flags:    b[5],
		granule:  int64(binary.LittleEndian.Uint64(b[6:14])),
		serial:   binary.LittleEndian.Uint32(b[14:18]),
		segments: segs,
		body:     b[oggHeaderLen+nseg : total],
		length:   total,
	}, true
}

// firstPacket returns the first packet on the page, and whether it is
// complete (ends on this page).
func (p oggPage) firstPacket() ([]byte, bool) {
	n := 0
	for _, s := range p.segments {
		n += int(s)
		if s < 255 {
			return p.body[:n], true
		}
	}
	return p.body[:n], false
}

// crcTable is the lookup table for the Ogg page checksum: CRC-32 with
// polynomial 0x04C11DB7, no reflection, zero initial value and no final xor.
// It is built per probe rather than held in a package variable.
type crcTable [256]uint32

func newCRCTable() *crcTable {
	var t crcTable
	for i := range t {
		r := uint32(i) << 24
		for range 8 {
			if r&0x80000000 != 0 {
				r = r<<1 ^ 0x04C11DB7
			} else {
				r <<= 1
			}
		}
		t[i] = r
	}
	return &t
}

// checksum computes the CRC of a whole page, taking the checksum field
// (bytes 22..25) as zero.
func (t *crcTable) checksum(page []byte) uint32 {
	var crc uint32
	for i, b := range page {
		if i >= 22 && i < 26 {
			b = 0
		}
		crc = crc<<8 ^ t[byte(crc>>24)^b]
	}
	return crc
}

// probeOgg reads the identification header from the first page and the
// final granule position from the last page of the same logical stream.
// CRCs are validated: a bad first page is ErrCorrupt, and candidate last
// pages with a bad CRC are skipped (they are usually "OggS" byte patterns
// inside compressed data, or a page cut off by truncation).
func probeOgg(src source) (Info, error) {
	head, err := src.readUpTo(0, oggMaxPage)
	if err != nil {
		return Info{}, err
	}
	crc := newCRCTable()
	first, ok := parseOggPage(crc, head)
	if !ok {
		return Info{}, corrupt("ogg: first page truncated or fails CRC")
	}
	if first.flags&oggFlagBOS == 0 {
		return Info{}, corrupt("ogg: first page lacks beginning-of-stream flag")
	}
	pkt, complete := first.firstPacket()
	if !complete {
		return Info{}, corrupt("ogg: identification header spans pages")
	}
	var (
		info    Info
		preSkip uint64
		rate    uint64 // granule units per second
	)
	switch {
	case bytes.HasPrefix(pkt, []byte("OpusHead")):
		if len(pkt) < 19 {
			return Info{}, corrupt("ogg: OpusHead is %d bytes, want at least 19", len(pkt))
		}
		if pkt[8]&0xF0 != 0 {
			return Info{}, unsupported("ogg: Opus header version %d", pkt[8])
		}
		ch := int(pkt[9])
		if ch == 0 {
			return Info{}, corrupt("ogg: Opus stream with zero channels")
		}
		preSkip = uint64(binary.LittleEndian.Uint16(pkt[10:12]))
		inRate := int(binary.LittleEndian.Uint32(pkt[12:16]))
		if inRate <= 0 {
			inRate = opusRate
		}
		rate = opusRate
		info = Info{Codec: "opus", SampleRate: inRate, Channels: ch}
	case len(pkt) >= 7 && pkt[0] == 1 && string(pkt[1:7]) == "vorbis":
		if len(pkt) < 30 {
			return Info{}, corrupt("ogg: Vorbis identification header is %d bytes, want 30", len(pkt))
		}
		if v := binary.LittleEndian.Uint32(pkt[7:11]); v != 0 {
			return Info{}, unsupported("ogg: Vorbis version %d", v)
		}
		ch := int(pkt[11])
		sr := binary.LittleEndian.Uint32(pkt[12:16])
		if ch == 0 || sr == 0 || sr > 1<<31-1 {
			return Info{}, corrupt("ogg: Vorbis header with %d channels at %d Hz", ch, sr)
		}
		rate = uint64(sr)
		info = Info{Codec: "vorbis", SampleRate: int(sr), Channels: ch}
	default:
		return Info{}, unsupported("ogg: unknown codec in first packet")
	}
	info.Format, info.Ext = FormatOgg, "ogg"

	granule, err := lastGranule(src, crc, first.serial)
	if err != nil {
		return Info{}, err
	}
	if granule < 0 {
		return Info{}, corrupt("ogg: negative final granule position %d", granule)
	}
	g := uint64(granule)
	if g < preSkip {
		g = 0
	} else {
		g -= preSkip
	}
	info.DurationMS = durationMS(g, rate)
	return info, nil
}

// lastGranule scans backwards from the end of the file, within
// oggTailWindow bytes, for the last valid page of the given stream that
// completes a packet, and returns its granule position.
func lastGranule(src source, crc *crcTable, serial uint32) (int64, error) {
	start := max(src.size-oggTailWindow, 0)
	tail, err := src.readUpTo(start, int(src.size-start))
	if err != nil {
		return 0, err
	}
	checked := 0
	for i := len(tail) - oggHeaderLen; i >= 0; i-- {
		if tail[i] != 'O' || string(tail[i:i+4]) != "OggS" {
			continue
		}
		if checked++; checked > oggMaxCandidates {
			break
		}
		p, ok := parseOggPage(crc, tail[i:])
		if !ok || p.serial != serial || p.granule == -1 {
			continue
		}
		return p.granule, nil
	}
	return 0, corrupt("ogg: no valid final page near the end of the file")
}

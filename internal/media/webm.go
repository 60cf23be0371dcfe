package media

import (
	"encoding/binary"
	"math"
)

// WebM is Matroska (EBML) restricted to a few codecs. Genesys Cloud hands
// out call recordings as WebM with one Opus track, so Probe reads just
// enough of the element tree to describe that: the EBML header's DocType,
// Segment/Info (TimestampScale, Duration), Segment/Tracks (codec, rate,
// channels, OpusHead) and, when Info carries no Duration (as in files
// written live by a recorder), the block timestamps of every Cluster.
//
// Every element is visited by its header alone (payloads of elements that
// are not read are skipped by seeking), payload reads are bounded by
// webmMaxRead, nesting by the fixed shape above and the number of elements
// by webmMaxElements, so the work is bounded for any input.

// EBML element ids (with their length-marker bits, as written).
const (
	ebmlHeaderID      = 0x1A45DFA3
	ebmlDocTypeID     = 0x4282
	mkvSegmentID      = 0x18538067
	mkvInfoID         = 0x1549A966
	mkvTimestampScale = 0x2AD7B1
	mkvDurationID     = 0x4489
	mkvTracksID       = 0x1654AE6B
	mkvTrackEntryID   = 0xAE
	mkvTrackTypeID    = 0x83
	mkvCodecIDID      = 0x86
	mkvCodecPrivateID = 0x63A2
	mkvAudioID        = 0xE1
	mkvSamplingFreqID = 0xB5
	mkvChannelsID     = 0x9F
	mkvClusterID      = 0x1F43B675
	mkvTimestampID    = 0xE7
	mkvSimpleBlockID  = 0xA3
	mkvBlockGroupID   = 0xA0
	mkvBlockID        = 0xA1
	mkvBlockDurID     = 0x9B
)

const (
	// FormatWebM is the MIME type of WebM audio files.
	FormatWebM = "audio/webm"
	// webmMaxRead bounds any single payload Probe reads into memory.
	webmMaxRead = 4096
	// webmMaxElements bounds how many element headers Probe visits.
	webmMaxElements = 4 << 20
	// unknownSize marks an element whose size field is all ones.
	unknownSize = -1
	// trackAudio and trackVideo are Matroska TrackType values.
	trackAudio = 2
	trackVideo = 1
)

// ebmlElement is one parsed element header.
type ebmlElement struct {
	id      uint32
	off     int64 // offset of the header
	dataOff int64 // offset of the payload
	size    int64 // payload size, or unknownSize
}

// end is the offset just past the element, bounded by limit for elements
// of unknown size.
func (e ebmlElement) end(limit int64) int64 {
	if e.size == unknownSize || e.dataOff+e.size > limit {
		return limit
	}
	return e.dataOff + e.size
}

// readVint decodes an EBML variable-length integer at the start of b. With
// keepMarker it returns the raw value (element ids); otherwise the marker
// bit is removed and an all-ones value reports unknownSize. n is 0 when b
// does not start a valid vint.
func readVint(b []byte, keepMarker bool, maxLen int) (v int64, n int) {
	if len(b) == 0 || b[0] == 0 {
		return 0, 0
	}
	n = 1
	for mask := byte(0x80); b[0]&mask == 0; mask >>= 1 {
		n++
	}
	if n > maxLen || n > len(b) {
		return 0, 0
	}
	var u uint64
	for i := range n {
		u = u<<8 | uint64(b[i])
	}
	if keepMarker {
		return int64(u), n
	}
	bits := uint(7 * n)
	u &= 1<<bits - 1
	if u == 1<<bits-1 {
		return unknownSize, n
	}
	return int64(u), n
}

// parseElementHeader parses the id and size at the start of b.
func parseElementHeader(b []byte) (id uint32, size int64, n int, ok bool) {
	idv, in := readVint(b, true, 4)
	if in == 0 {
		return 0, 0, 0, false
	}
	sz, sn := readVint(b[in:], false, 8)
	if sn == 0 {
		return 0, 0, 0, false
	}
	return uint32(idv), sz, in + sn, true
}

// sniffWebM reports whether head starts an EBML header whose DocType is
// "webm".
func sniffWebM(head []byte) bool {
	id, size, n, ok := parseElementHeader(head)
	if !ok || id != ebmlHeaderID || size == unknownSize {
		return false
	}
	body := head[n:]
	if int64(len(body)) > size {
		body = body[:size]
	}
	for len(body) > 0 {
		cid, csize, cn, ok := parseElementHeader(body)
		if !ok || csize == unknownSize || csize > int64(len(body)-cn) {
			return false
		}
		if cid == ebmlDocTypeID {
			return string(body[cn:cn+int(csize)]) == "webm"
		}
		body = body[cn+int(csize):]
	}
	return false
}

// webmWalker visits element headers within the probed data, counting them.
type webmWalker struct {
	src    source
	visits int
	scale  uint64 // ns per timestamp unit
}

// next parses the element header at off.
func (w *webmWalker) next(off int64) (ebmlElement, error) {
	w.visits++
	if w.visits > webmMaxElements {
		return ebmlElement{}, corrupt("webm: more than %d elements", webmMaxElements)
	}
	b, err := w.src.readUpTo(off, 12)
	if err != nil {
		return ebmlElement{}, err
	}
	id, size, n, ok := parseElementHeader(b)
	if !ok {
		return ebmlElement{}, corrupt("webm: bad element header at offset %d", off)
	}
	e := ebmlElement{id: id, off: off, dataOff: off + int64(n), size: size}
	if e.dataOff > w.src.size {
		return ebmlElement{}, corrupt("webm: element at offset %d is truncated", off)
	}
	return e, nil
}

// payload reads the whole payload of a small element.
func (w *webmWalker) payload(e ebmlElement) ([]byte, error) {
	if e.size == unknownSize || e.size > webmMaxRead {
		return nil, corrupt("webm: element 0x%X at offset %d has size %d, want at most %d", e.id, e.dataOff, e.size, webmMaxRead)
	}
	return w.src.read(e.dataOff, int(e.size))
}

// children calls fn for each child of the range [start, end). An element of
// unknown size that fn does not descend into ends the walk (its extent
// cannot be known without understanding it).
func (w *webmWalker) children(start, end int64, fn func(e ebmlElement) (stop bool, err error)) error {
	for off := start; off < end; {
		e, err := w.next(off)
		if err != nil {
			return err
		}
		stop, err := fn(e)
		if err != nil || stop {
			return err
		}
		if e.size == unknownSize {
			return nil
		}
		off = e.dataOff + e.size
	}
	return nil
}

func beUint(b []byte) (uint64, bool) {
	if len(b) > 8 {
		return 0, false
	}
	var u uint64
	for _, c := range b {
		u = u<<8 | uint64(c)
	}
	return u, true
}

func beFloat(b []byte) (float64, bool) {
	switch len(b) {
	case 0:
		return 0, true
	case 4:
		return float64(math.Float32frombits(binary.BigEndian.Uint32(b))), true
	case 8:
		return math.Float64frombits(binary.BigEndian.Uint64(b)), true
	}
	return 0, false
}

// webmTrack is what Probe learns about one track.
type webmTrack struct {
	kind     uint64
	codec    string
	rate     float64
	channels uint64
	opusHead []byte
}

func probeWebM(src source) (Info, error) {
	w := &webmWalker{src: src, scale: 1_000_000}
	hdr, err := w.next(0)
	if err != nil {
		return Info{}, err
	}
	if hdr.size == unknownSize {
		return Info{}, corrupt("webm: EBML header of unknown size")
	}
	segOff := hdr.dataOff + hdr.size
	seg, err := w.next(segOff)
	if err != nil {
		return Info{}, err
	}
	if seg.id != mkvSegmentID {
		return Info{}, corrupt("webm: element 0x%X where the Segment belongs", seg.id)
	}
	if seg.size != unknownSize && seg.dataOff+seg.size > src.size {
		return Info{}, corrupt("webm: Segment declares %d bytes, the file holds %d", seg.size, src.size-seg.dataOff)
	}
	segEnd := seg.end(src.size)

	var (
		duration float64
		tracks   []webmTrack
		lastTick int64 = -1 // end of the last block, in timestamp units
	)
	for off := seg.dataOff; off < segEnd; {
		e, err := w.next(off)
		if err != nil {
			return Info{}, err
		}
		switch e.id {
		case mkvInfoID:
			err = w.children(e.dataOff, e.end(segEnd), func(c ebmlElement) (bool, error) {
				if c.id != mkvTimestampScale && c.id != mkvDurationID {
					return false, nil
				}
				b, err := w.payload(c)
				if err != nil {
					return false, err
				}
				if c.id == mkvTimestampScale {
					v, ok := beUint(b)
					if !ok || v == 0 || v > 1<<40 {
						return false, corrupt("webm: bad TimestampScale")
					}
					w.scale = v
					return false, nil
				}
				v, ok := beFloat(b)
				if !ok || math.IsNaN(v) || v < 0 || v > 1<<53 {
					return false, corrupt("webm: bad Duration")
				}
				duration = v
				return false, nil
			})
		case mkvTracksID:
			err = w.children(e.dataOff, e.end(segEnd), func(c ebmlElement) (bool, error) {
				if c.id != mkvTrackEntryID {
					return false, nil
				}
				if len(tracks) >= 64 {
					return false, corrupt("webm: more than 64 tracks")
				}
				t, err := w.track(c, segEnd)
				tracks = append(tracks, t)
				return false, err
			})
		case mkvClusterID:
			if duration > 0 && len(tracks) > 0 {
				off = segEnd // Info had the duration: no need to read blocks
				continue
			}
			off, err = w.cluster(e, segEnd, &lastTick)
			if err != nil {
				return Info{}, err
			}
			continue
		}
		if err != nil {
			return Info{}, err
		}
		if e.size == unknownSize {
			break // an element of unknown size that is not a cluster ends the walk
		}
		off = e.dataOff + e.size
	}

	var audio *webmTrack
	for i := range tracks {
		switch tracks[i].kind {
		case trackVideo:
			return Info{}, unsupported("webm: a video track (screen recording), not audio")
		case trackAudio:
			if audio == nil {
				audio = &tracks[i]
			}
		}
	}
	if audio == nil {
		return Info{}, unsupported("webm: no audio track")
	}
	info := Info{Format: FormatWebM, Ext: "webm"}
	switch audio.codec {
	case "A_OPUS":
		info.Codec = "opus"
		info.SampleRate = opusRate
		info.Channels = int(audio.channels)
		if h := audio.opusHead; len(h) >= 19 && string(h[:8]) == "OpusHead" {
			if r := int(binary.LittleEndian.Uint32(h[12:16])); r > 0 {
				info.SampleRate = r
			}
			if info.Channels == 0 {
				info.Channels = int(h[9])
			}
		}
	case "A_VORBIS":
		info.Codec = "vorbis"
		info.SampleRate = int(audio.rate)
		info.Channels = int(audio.channels)
	default:
		return Info{}, unsupported("webm: audio codec %q", audio.codec)
	}
	if info.Channels <= 0 || info.Channels > 255 {
		return Info{}, corrupt("webm: audio track with %d channels", info.Channels)
	}
	if info.SampleRate <= 0 || info.SampleRate > 1<<20 {
		return Info{}, corrupt("webm: audio track at %d Hz", info.SampleRate)
	}
	ticks := duration
	if ticks == 0 && lastTick > 0 {
		ticks = float64(lastTick)
	}
	ms := ticks * float64(w.scale) / 1e6
	if ms > math.MaxInt64/2 {
		return Info{}, corrupt("webm: implausible duration")
	}
	info.DurationMS = int64(ms)
	return info, nil
}

// track parses one TrackEntry.
func (w *webmWalker) track(e ebmlElement, limit int64) (webmTrack, error) {
	var t webmTrack
	err := w.children(e.dataOff, e.end(limit), func(c ebmlElement) (bool, error) {
		switch c.id {
		case mkvTrackTypeID, mkvCodecIDID, mkvCodecPrivateID:
			b, err := w.payload(c)
			if err != nil {
				return false, err
			}
			switch c.id {
			case mkvTrackTypeID:
				v, ok := beUint(b)
				if !ok {
					return false, corrupt("webm: bad TrackType")
				}
				t.kind = v
			case mkvCodecIDID:
				t.codec = string(b)
			default:
				t.opusHead = b
			}
		case mkvAudioID:
			return false, w.children(c.dataOff, c.end(limit), func(a ebmlElement) (bool, error) {
				if a.id != mkvSamplingFreqID && a.id != mkvChannelsID {
					return false, nil
				}
				b, err := w.payload(a)
				if err != nil {
					return false, err
				}
				if a.id == mkvSamplingFreqID {
					v, ok := beFloat(b)
					if !ok || math.IsNaN(v) || v < 0 || v > 1<<20 {
						return false, corrupt("webm: bad SamplingFrequency")
					}
					t.rate = v
				} else {
					v, ok := beUint(b)
					if !ok || v > 255 {
						return false, corrupt("webm: bad Channels")
					}
					t.channels = v
				}
				return false, nil
			})
		}
		return false, nil
	})
	return t, err
}

// clusterChildren are the ids that may appear inside a Cluster; in a
// cluster of unknown size, any other id starts the next top-level element.
var clusterChildren = map[uint32]bool{
	mkvTimestampID: true, mkvSimpleBlockID: true, mkvBlockGroupID: true,
	0xA7: true, 0xAB: true, 0x5854: true, 0xAF: true, 0xEC: true, 0xBF: true,
}

// cluster reads the block timestamps of one Cluster, raising *lastTick to
// the end of its last block. It returns the offset of the next element:
// the cluster's end, or for a cluster of unknown size, the header of the
// first element that does not belong in a cluster.
func (w *webmWalker) cluster(e ebmlElement, limit int64, lastTick *int64) (int64, error) {
	var base int64
	next := e.end(limit)
	err := w.children(e.dataOff, e.end(limit), func(c ebmlElement) (bool, error) {
		if e.size == unknownSize && !clusterChildren[c.id] {
			next = c.off
			return true, nil
		}
		switch c.id {
		case mkvTimestampID:
			b, err := w.payload(c)
			if err != nil {
				return false, err
			}
			v, ok := beUint(b)
			if !ok || v > math.MaxInt64/4 {
				return false, corrupt("webm: bad cluster Timestamp")
			}
			base = int64(v)
		case mkvSimpleBlockID:
			return false, w.block(c, base, 0, lastTick)
		case mkvBlockGroupID:
			var blk ebmlElement
			var dur int64
			err := w.children(c.dataOff, c.end(limit), func(g ebmlElement) (bool, error) {
				switch g.id {
				case mkvBlockID:
					blk = g
				case mkvBlockDurID:
					b, err := w.payload(g)
					if err != nil {
						return false, err
					}
					v, ok := beUint(b)
					if !ok || v > math.MaxInt32 {
						return false, corrupt("webm: bad BlockDuration")
					}
					dur = int64(v)
				}
				return false, nil
			})
			if err != nil || blk.id == 0 {
				return false, err
			}
			return false, w.block(blk, base, dur, lastTick)
		}
		return false, nil
	})
	return next, err
}

// block reads a (Simple)Block header: track number vint, int16 relative
// timestamp, flags, then frames. It raises *lastTick to the block's end:
// its timestamp plus dur, or plus the Opus packet's duration when dur is 0.
func (w *webmWalker) block(e ebmlElement, base, dur int64, lastTick *int64) error {
	if e.size == unknownSize || e.size < 4 {
		return corrupt("webm: block at offset %d too short", e.dataOff)
	}
	b, err := w.src.read(e.dataOff, int(min(e.size, 16)))
	if err != nil {
		return err
	}
	_, n := readVint(b, false, 8)
	if n == 0 || len(b) < n+3 {
		return corrupt("webm: bad block header at offset %d", e.dataOff)
	}
	rel := int64(int16(binary.BigEndian.Uint16(b[n : n+2])))
	flags := b[n+2]
	if dur == 0 && flags&0x06 == 0 && len(b) > n+3 {
		// One unlaced frame: take the duration from the Opus TOC byte.
		dur = opusPacketMS(b[n+3:]) * 1_000_000 / int64(w.scale)
	}
	if t := base + rel + dur; t > *lastTick {
		*lastTick = t
	}
	return nil
}

// opusPacketMS returns an Opus packet's duration in whole milliseconds
// from its TOC byte (RFC 6716 §3.1), or 0 if it cannot tell.
func opusPacketMS(p []byte) int64 {
	if len(p) == 0 {
		return 0
	}
	toc := p[0]
	cfg := toc >> 3
	var tenthMS int64
	switch {
	case cfg < 12: // SILK: 10, 20, 40, 60 ms
		tenthMS = []int64{100, 200, 400, 600}[cfg%4]
	case cfg < 16: // Hybrid: 10, 20 ms
		tenthMS = []int64{100, 200}[cfg%2]
	default: // CELT: 2.5, 5, 10, 20 ms
		tenthMS = []int64{25, 50, 100, 200}[cfg%4]
	}
	frames := int64(1)
	switch toc & 3 {
	case 1, 2:
		frames = 2
	case 3:
		if len(p) < 2 {
			return 0
		}
		frames = int64(p[1] & 0x3F)
	}
	return tenthMS * frames / 10
}

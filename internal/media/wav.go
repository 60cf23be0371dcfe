package media

import "encoding/binary"

// WAVE format tags understood by probeWAV.
const (
	wavFormatPCM        = 0x0001
	wavFormatFloat      = 0x0003
	wavFormatALaw       = 0x0006
	wavFormatMuLaw      = 0x0007
	wavFormatExtensible = 0xFFFE
)

// maxWAVChunks bounds how many chunks probeWAV walks before giving up, so a
// file made of millions of empty chunks cannot make probing slow.
const maxWAVChunks = 4096

// ksDataFormatSuffix is the tail shared by all KSDATAFORMAT_SUBTYPE_* GUIDs
// whose first two bytes carry a classic format tag.
const ksDataFormatSuffix = "\x00\x00\x00\x00\x10\x00\x80\x00\x00\xAA\x00\x38\x9B\x71"

func sniffWAV(head []byte) bool {
	if len(head) < 12 || string(head[8:12]) != "WAVE" {
		return false
	}
	switch string(head[0:4]) {
	case "RIFF", "RF64", "BW64":
		return true
	}
	return false
}

// wavFmt is the decoded part of a "fmt " chunk that probing needs.
type wavFmt struct {
	tag        uint16
	channels   uint16
	sampleRate uint32
	blockAlign uint16
	bits       uint16
}

// probeWAV walks the RIFF chunk list of a WAVE file.
//
// Truncation policy: when the data chunk declares more bytes than the file
// holds (a recording cut off mid-upload, or a streamed file whose header
// still says 0xFFFFFFFF), the duration is computed from the bytes actually
// present. A data chunk that declares audio but has none present is
// ErrCorrupt; a data chunk that honestly declares zero bytes is a valid,
// zero-length recording.
func probeWAV(src source) (Info, error) {
	hdr, err := src.read(0, 12)
	if err != nil {
		return Info{}, err
	}
	rf64 := string(hdr[0:4]) != "RIFF"
	var (
		ds64Data  uint64 // data size from an RF64 ds64 chunk
		haveDS64  bool
		fmtChunk  *wavFmt
		dataAvail int64 // bytes of the data chunk present in the file
		haveData  bool
	)
	off := int64(12)
	for i := 0; ; i++ {
		if i >= maxWAVChunks {
			return Info{}, corrupt("wav: more than %d chunks", maxWAVChunks)
		}
		if fmtChunk != nil && haveData {
			break
		}
		if src.size-off < 8 {
			break // end of file (possibly a dangling pad byte or partial header)
		}
		ch, err := src.read(off, 8)
		if err != nil {
			return Info{}, err
		}
		id := string(ch[0:4])
		declared := uint64(binary.LittleEndian.Uint32(ch[4:8]))
		body := off + 8
		avail := src.size - body
		switch id {
		case "ds64":
			if !rf64 {
				break
			}
			b, err := src.read(body, min(int(min(declared, 28)), int(avail)))
			if err != nil {
				return Info{}, err
			}
			if len(b) < 16 {
				return Info{}, corrupt("wav: short ds64 chunk")
			}
			ds64Data = binary.LittleEndian.Uint64(b[8:16])
			haveDS64 = true
		case "fmt ":
			if declared < 16 || avail < 16 {
				return Info{}, corrupt("wav: fmt chunk too short (%d bytes)", declared)
			}
			n := min(declared, 40, uint64(avail))
			b, err := src.read(body, int(n))
			if err != nil {
				return Info{}, err
			}
			f, err := parseWAVFmt(b)
			if err != nil {
				return Info{}, err
			}
			fmtChunk = &f
		case "data":
			size := declared
			if rf64 && declared == 0xFFFFFFFF && haveDS64 {
				size = ds64Data
			}
			haveData = true
			if size == 0xFFFFFFFF || size > uint64(avail) {
				// Streamed or truncated: use what is present.
				dataAvail = avail
				if dataAvail == 0 {
					return Info{}, corrupt("wav: data chunk declares %d bytes but none are present", size)
				}
				// Nothing reliable follows a data chunk that runs to EOF.
				off = src.size
				continue
			}
			dataAvail = int64(size)
			declared = size
		}
		// Advance past the chunk and its pad byte (chunks are word aligned).
		next := uint64(body) + declared + declared&1
		if next > uint64(src.size) {
			break
		}
		off = int64(next)
	}
	if fmtChunk == nil {
		return Info{}, corrupt("wav: no fmt chunk")
	}
	if !haveData {
		return Info{}, corrupt("wav: no data chunk")
	}
	codec, err := wavCodec(*fmtChunk)
	if err != nil {
		return Info{}, err
	}
	frames := uint64(dataAvail) / uint64(fmtChunk.blockAlign)
	return Info{
		Format:     FormatWAV,
		Ext:        "wav",
		Codec:      codec,
		SampleRate: int(fmtChunk.sampleRate),
		Channels:   int(fmtChunk.channels),
		DurationMS: durationMS(frames, uint64(fmtChunk.sampleRate)),
	}, nil
}

// parseWAVFmt decodes a "fmt " chunk body of at least 16 bytes, resolving
// WAVE_FORMAT_EXTENSIBLE to the sub-format's classic tag.
func parseWAVFmt(b []byte) (wavFmt, error) {
	f := wavFmt{
		tag:        binary.LittleEndian.Uint16(b[0:2]),
		channels:   binary.LittleEndian.Uint16(b[2:4]),
		sampleRate: binary.LittleEndian.Uint32(b[4:8]),
		blockAlign: binary.LittleEndian.Uint16(b[12:14]),
		bits:       binary.LittleEndian.Uint16(b[14:16]),
	}
	if f.tag == wavFormatExtensible {
		if len(b) < 40 {
			return wavFmt{}, corrupt("wav: extensible fmt chunk too short (%d bytes)", len(b))
		}
		guid := b[24:40]
		if string(guid[2:]) != ksDataFormatSuffix {
			return wavFmt{}, unsupported("wav: extensible sub-format %x", guid)
		}
		f.tag = binary.LittleEndian.Uint16(guid[0:2])
	}
	switch {
	case f.channels == 0:
		return wavFmt{}, corrupt("wav: zero channels")
	case f.sampleRate == 0:
		return wavFmt{}, corrupt("wav: zero sample rate")
	case f.blockAlign == 0:
		return wavFmt{}, corrupt("wav: zero block align")
	}
	return f, nil
}

// wavCodec names the coding described by f, checking that the block
// alignment is consistent with it.
func wavCodec(f wavFmt) (string, error) {
	var codec string
	switch f.tag {
	case wavFormatPCM:
		switch f.bits {
		case 8:
			codec = "pcm_u8"
		case 16:
			codec = "pcm_s16le"
		case 24:
			codec = "pcm_s24le"
		case 32:
			codec = "pcm_s32le"
		}
	case wavFormatFloat:
		switch f.bits {
		case 32:
			codec = "pcm_f32le"
		case 64:
			codec = "pcm_f64le"
		}
	case wavFormatALaw:
		if f.bits == 8 {
			codec = "pcm_alaw"
		}
	case wavFormatMuLaw:
		if f.bits == 8 {
			codec = "pcm_mulaw"
		}
	default:
		return "", unsupported("wav: format tag 0x%04x", f.tag)
	}
	if codec == "" {
		return "", unsupported("wav: format tag 0x%04x with %d bits per sample", f.tag, f.bits)
	}
	// Frames may be padded beyond the sample size, never shorter than it.
	if want := uint32(f.channels) * uint32(f.bits/8); uint32(f.blockAlign) < want {
		return "", corrupt("wav: block align %d, want %d for %d channels of %d bits", f.blockAlign, want, f.channels, f.bits)
	}
	return codec, nil
}

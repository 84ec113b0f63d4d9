package mp3

// This file rebuilds Layer III frames so that go-mp3 decodes them right.
//
// A Layer III frame's main data (scale factors and Huffman codes) need not
// sit in the frame itself: main_data_begin says how many bytes before the
// frame's header it starts, in the main data of the frames before (the bit
// reservoir). go-mp3 keeps that reservoir but gets two things wrong:
//
//   - For MPEG-2 it computes the frame length as ((144*bitrate)/rate +
//     padding) >> 1, one byte short of 72*bitrate/rate + padding when
//     144*bitrate/rate is even and the padding bit is set (22050 Hz at 8,
//     16, 24, 32, 80, 96, 144 and 160 kbit/s). The lost byte shifts the
//     reservoir for the frames after it, which then decode as loud noise.
//   - A frame whose main data begins before the data it has (a stream that
//     starts, or was cut, in the middle of the reservoir) is decoded from
//     the wrong bytes, as noise, instead of being skipped.
//
// repacker therefore lays the main data out anew, as a stream S' that
// go-mp3 reads in chunks of the length it computes from each header. Every
// frame's main data keeps its bytes and stays contiguous; between the main
// data of one frame and the next (where no frame reads) bytes may be
// dropped, filler inserted, or bytes held back for the next frame, and
// main_data_begin is rewritten to match. Where the frame's own chunk is too
// small for the main data it has to carry, its bitrate field is raised (a
// larger chunk; bitrate plays no part in decoding). For a stream that go-mp3
// reads right, the frames come out unchanged. A frame whose main data is not
// there decodes as silence of the right length.

// repacker holds the main data not yet handed to go-mp3. Positions are
// offsets in S, the concatenated main data of all frames so far.
type repacker struct {
	store      []byte // backing array of pend, from S position storeStart
	storeStart int64  // keeps up to historySize bytes of S before frontier
	pend       []byte // S from frontier to end, not yet given to go-mp3
	frontier   int64  // S position of pend[0]
	end        int64  // S position after the last frame's main data
	validFrom  int64  // go-mp3's reservoir holds S from here to frontier
	out        [2048]byte
	side       [32]byte // side information rewritten by midSideFix
	fixed      []byte   // main data with bits inserted by midSideFix
	lost       int      // frames decoded as silence
	msFixed    int      // frames rewritten by midSideFix
}

// historySize is how much of S before the frontier the repacker keeps: the
// farthest back main data can begin.
const historySize = 512

// sideBits reads and writes big-endian bit fields of side information.
type sideBits struct {
	b   []byte
	pos int
}

func (r *sideBits) read(n int) int {
	v := 0
	for ; n > 0; n-- {
		v = v<<1 | int(r.b[r.pos>>3]>>(7-r.pos&7))&1
		r.pos++
	}
	return v
}

// mainDataBits returns main_data_begin and the total length in bits of the
// main data (scale factors and Huffman codes of every granule and channel)
// of a Layer III frame with header h and side information si.
func mainDataBits(h Header, si []byte) (begin, bits int) {
	r := sideBits{b: si}
	nch := 2
	if h.Mono {
		nch = 1
	}
	if h.Version == 1 {
		begin = r.read(9)
		r.pos += 5 - 2*(nch-1) + 4*nch // private bits, scfsi
		for range 2 * nch {
			bits += r.read(12)
			r.pos += 59 - 12
		}
		return begin, bits
	}
	begin = r.read(8)
	r.pos += nch // private bits
	for range nch {
		bits += r.read(12)
		r.pos += 63 - 12
	}
	return begin, bits
}

// setMainDataBegin writes main_data_begin into side information si.
func setMainDataBegin(h Header, si []byte, begin int) {
	if h.Version == 1 {
		si[0] = byte(begin >> 1)
		si[1] = si[1]&0x7F | byte(begin&1)<<7
		return
	}
	si[0] = byte(begin)
}

// goMP3FrameSize is the frame length go-mp3 computes for a frame of the
// stream of h with the given bitrate index and padding bit.
func goMP3FrameSize(h Header, bitrateIndex, padding int) int {
	lsf := 0
	if h.Version != 1 {
		lsf = 1
	}
	br := bitrates[lsf][2][bitrateIndex] * 1000
	return (144*br/h.Rate + padding) >> lsf
}

// take removes n bytes from the front of pend.
func (m *repacker) take(n int) {
	m.pend = m.pend[n:]
	m.frontier += int64(n)
}

// add appends b to pend, moving pend and the history before it to the
// front of its buffer first when needed, so that the buffer is reused.
func (m *repacker) add(b []byte) {
	if cap(m.pend)-len(m.pend) < len(b) {
		keep := min(historySize, m.frontier-m.storeStart)
		from := m.store[m.frontier-m.storeStart-keep : m.frontier-m.storeStart+int64(len(m.pend))]
		store := m.store
		if cap(store) < len(from)+len(b) {
			store = make([]byte, 0, max(4096, 2*(len(from)+len(b))))
		}
		m.store = store[:copy(store[:cap(store)], from)]
		m.storeStart = m.frontier - keep
		m.pend = m.store[keep:]
	}
	m.pend = append(m.pend, b...)
}

// history returns S from p to e, or nil when the repacker no longer has
// all of it.
func (m *repacker) history(p, e int64) []byte {
	if p < m.storeStart || e > m.end {
		return nil
	}
	return m.store[p-m.storeStart : e-m.storeStart]
}

// repack returns frame f (header h) rebuilt for go-mp3, valid until the
// next call.
func (m *repacker) repack(h Header, f []byte) []byte {
	si := 4
	if h.CRC {
		si += 2
	}
	sis := h.sideInfoSize()
	if len(f) < si+sis {
		return f // go-mp3 rejects it
	}
	body := f[si+sis:]
	prevEnd := m.end
	m.add(body)
	m.end += int64(len(body))

	out := m.out[:]
	copy(out, f[:si+sis])
	side := out[si : si+sis]
	begin, bits := mainDataBits(h, side)
	p := prevEnd - int64(begin) // where the main data starts in S
	e := p + int64((bits+7)/8)  // and ends
	bi, pad := int(f[2]>>4), int(f[2]>>1)&1
	lost := p < m.validFrom || e > m.end
	var must int    // bytes of pend that go first in the chunk
	var head []byte // what goes first: pend[:must], or rewritten main data
	size := 0
	if !lost && m.msFix(h, f[3], side, p, e, bits) {
		for ; bi < 15; bi, pad = bi+1, 0 {
			if size = goMP3FrameSize(h, bi, pad); size-si-sis >= len(m.fixed) {
				break
			}
		}
		if bi < 15 {
			// The whole rewritten main data at the start of the chunk; what
			// go-mp3 already has of the original is never read, nor what
			// it has of S after it, which goes again after this one.
			m.msFixed++
			copy(side, m.side[:sis])
			if e > m.frontier {
				m.take(int(e - m.frontier))
			} else {
				m.pend = m.store[e-m.storeStart : m.end-m.storeStart]
				m.frontier = e
			}
			p, head = m.frontier, m.fixed
		} else {
			bi, pad = int(f[2]>>4), int(f[2]>>1)&1
		}
	}
	if !lost && head == nil {
		if p > m.frontier { // bytes no frame reads
			m.take(int(p - m.frontier))
		}
		must = int(max(e-m.frontier, 0)) // main data go-mp3 has not got yet
		head = m.pend[:must]
		for ; bi < 15; bi, pad = bi+1, 0 {
			if size = goMP3FrameSize(h, bi, pad); size-si-sis >= must {
				break
			}
		}
		lost = bi == 15
	}
	if lost {
		// Decode silence: no main data. main_data_begin still reaches back
		// as far as it can, so that go-mp3 keeps the reservoir for the
		// frames after this one.
		m.lost++
		clear(side)
		maxBegin := int64(511)
		if h.Version != 1 {
			maxBegin = 255
		}
		p, must, head = max(m.validFrom, m.frontier-maxBegin), 0, nil
		bi, pad = int(f[2]>>4), int(f[2]>>1)&1
		size = goMP3FrameSize(h, bi, pad)
	}
	setMainDataBegin(h, side, int(m.frontier-p))
	m.validFrom = p
	out[2] = byte(bi)<<4 | f[2]&0x0D | byte(pad)<<1
	out[3] &^= 3 // emphasis: unused by go-mp3, which rejects its reserved value

	room := size - si - sis - len(head)
	rest := len(m.pend) - must
	dst := out[si+sis : size]
	n := copy(dst, head)
	if rest <= room {
		// All of it fits: filler goes between this frame's main data and
		// the next frame's, where nothing reads. go-mp3's reservoir is a
		// copy of S only after the filler.
		if room > rest {
			m.validFrom = m.frontier + int64(must)
		}
		clear(dst[n : n+room-rest])
		copy(dst[n+room-rest:], m.pend[must:])
		m.take(len(m.pend))
	} else {
		// Hold back what does not fit for the next frame.
		copy(dst[n:], m.pend[must:must+room])
		m.take(must + room)
	}
	return out[:size]
}

// msFix rewrites, in m.side and m.fixed, a frame (fourth header byte b3,
// side information side, main data S from p to e, bits long) that
// midSideFix says needs it, and reports whether it did.
func (m *repacker) msFix(h Header, b3 byte, side []byte, p, e int64, bits int) bool {
	copy(m.side[:], side)
	ins := midSideFix(h, b3, side, m.side[:len(side)])
	if ins == nil {
		return false
	}
	md := m.history(p, e)
	if md == nil {
		return false
	}
	m.fixed = insertBits(m.fixed[:0], md, bits, ins)
	return true
}

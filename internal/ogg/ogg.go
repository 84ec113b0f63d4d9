// Package ogg writes and reads the Ogg container (RFC 3533): pages with
// their CRC, segment tables, granule positions, serial numbers and
// beginning/end-of-stream flags, plus the OpusHead and OpusTags header
// packets of Ogg Opus (RFC 7845).
package ogg

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Header flags of a page.
const (
	FlagContinued = 0x01 // the page starts with the rest of a packet
	FlagBOS       = 0x02 // first page of a logical stream
	FlagEOS       = 0x04 // last page of a logical stream
)

// HeaderSize is the size of a page header without its segment table.
const HeaderSize = 27

// MaxSegments is the largest number of lacing values one page holds.
const MaxSegments = 255

// PageTarget is the body size past which the Writer closes a page on its
// own: large enough to keep the per-page overhead small (27 bytes plus
// one byte per 255 of data), small enough that a page leaves soon.
const PageTarget = 4096

var crcTable = func() (t [256]uint32) {
	for i := range t {
		r := uint32(i) << 24
		for range 8 {
			if r&0x80000000 != 0 {
				r = r<<1 ^ 0x04c11db7
			} else {
				r <<= 1
			}
		}
		t[i] = r
	}
	return t
}()

// CRC updates crc with b using Ogg's checksum: CRC-32 with polynomial
// 0x04c11db7, not reflected, initial value 0, no final inversion. A page's
// checksum is CRC(0, page) computed with its checksum field set to zero.
func CRC(crc uint32, b []byte) uint32 {
	for _, c := range b {
		crc = crc<<8 ^ crcTable[byte(crc>>24)^c]
	}
	return crc
}

// Writer builds the pages of one logical stream. It appends finished pages
// to the slices its methods are given, and holds the packets of the page
// being built until Flush, Close, or the page filling up.
type Writer struct {
	serial  uint32
	seq     uint32
	started bool // the BOS page has been written
	ended   bool // the EOS page has been written

	lacing    []byte
	body      []byte
	granule   int64 // of the last packet added to the page; -1: none ends here
	continued bool  // the pending page starts with the rest of a packet
	packets   int   // packets that end on the pending page
}

// NewWriter returns a Writer for a logical stream with this serial number.
func NewWriter(serial uint32) *Writer {
	w := &Writer{}
	w.Reset(serial)
	return w
}

// Reset drops any pending packets and starts a new logical stream with
// this serial number: the next page written carries the BOS flag and
// sequence number 0.
func (w *Writer) Reset(serial uint32) {
	w.serial, w.seq, w.started, w.ended = serial, 0, false, false
	w.lacing, w.body = w.lacing[:0], w.body[:0]
	w.granule, w.continued, w.packets = -1, false, 0
}

// Serial returns the serial number of the stream.
func (w *Writer) Serial() uint32 { return w.serial }

// Pending returns the number of packets waiting in the page being built.
func (w *Writer) Pending() int { return w.packets }

// Packet adds a packet whose last sample has the granule position granule
// and returns dst with any pages the packet completed appended: a page is
// written when it reaches MaxSegments lacing values or PageTarget bytes
// (a packet longer than a page continues on the next). Packets added
// after Close start nothing: they are dropped.
func (w *Writer) Packet(dst, packet []byte, granule int64) []byte {
	if w.ended {
		return dst
	}
	if len(w.lacing)+len(packet)/255+1 > MaxSegments || len(w.body) > 0 && len(w.body)+len(packet) > PageTarget {
		dst = w.Flush(dst)
	}
	for {
		room := MaxSegments - len(w.lacing)
		full := len(packet) / 255 // 255-byte segments still to lace
		if full < room {
			for range full {
				w.lacing = append(w.lacing, 255)
			}
			w.lacing = append(w.lacing, byte(len(packet)%255))
			w.body = append(w.body, packet...)
			w.granule = granule
			w.packets++
			return dst
		}
		// The packet does not end on this page: fill it and continue.
		for range room {
			w.lacing = append(w.lacing, 255)
		}
		w.body = append(w.body, packet[:room*255]...)
		packet = packet[room*255:]
		dst = w.page(dst, 0)
		w.continued = true
	}
}

// Flush writes the pending packets as a page (nothing when none is
// pending) and returns dst with it appended.
func (w *Writer) Flush(dst []byte) []byte {
	if len(w.lacing) == 0 || w.ended {
		return dst
	}
	return w.page(dst, 0)
}

// Close writes the pending packets as the last page of the stream, with
// the EOS flag, and returns dst with it appended. With no packets pending
// the last page is empty and carries the granule position of the last
// packet. A stream that never started writes nothing.
func (w *Writer) Close(dst []byte, lastGranule int64) []byte {
	if w.ended || !w.started && len(w.lacing) == 0 {
		return dst
	}
	if len(w.lacing) == 0 {
		w.granule = lastGranule
	}
	dst = w.page(dst, FlagEOS)
	w.ended = true
	return dst
}

// page writes the pending segments as one page.
func (w *Writer) page(dst []byte, flags byte) []byte {
	if w.continued {
		flags |= FlagContinued
	}
	if !w.started {
		flags |= FlagBOS
		w.started = true
	}
	granule := w.granule
	if w.packets == 0 && flags&FlagEOS == 0 {
		granule = -1 // no packet ends on this page
	}
	start := len(dst)
	dst = append(dst, 'O', 'g', 'g', 'S', 0, flags)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(granule))
	dst = binary.LittleEndian.AppendUint32(dst, w.serial)
	dst = binary.LittleEndian.AppendUint32(dst, w.seq)
	dst = append(dst, 0, 0, 0, 0, byte(len(w.lacing)))
	dst = append(dst, w.lacing...)
	dst = append(dst, w.body...)
	binary.LittleEndian.PutUint32(dst[start+22:], CRC(0, dst[start:]))
	w.seq++
	w.lacing, w.body = w.lacing[:0], w.body[:0]
	w.continued, w.packets = false, 0
	if granule >= 0 {
		w.granule = granule
	}
	return dst
}

// Packet is one packet read from a stream.
type Packet struct {
	// Data is the packet's bytes, valid until the next call to the Reader.
	Data []byte
	// Serial is the serial number of its logical stream.
	Serial uint32
	// BOS is set on the packets of a stream's first page: a new logical
	// stream starts with the first of them.
	BOS bool
	// Last is set on the last packet ending on its page; Granule is then
	// the page's granule position (otherwise -1) and EOS the page's
	// end-of-stream flag.
	Last    bool
	Granule int64
	EOS     bool
}

// Errors of the Reader; the errors it returns wrap them.
var (
	ErrSync     = errors.New("ogg: not an Ogg page")
	ErrChecksum = errors.New("ogg: page checksum mismatch")
	ErrStream   = errors.New("ogg: page out of its stream")
)

// Reader splits an Ogg stream into packets. Bytes may arrive in pieces of
// any size: Write adds them, Next returns the packets completed so far.
// Chained streams (one logical stream after another) are followed;
// multiplexed streams are not (a page of another stream in the middle of
// one is an error).
type Reader struct {
	buf []byte // bytes not yet parsed into pages
	off int    // start of unparsed bytes in buf

	inStream bool
	serial   uint32
	seq      uint32
	partial  []byte // start of a packet continued on the next page
	dropping bool   // the partial packet was lost: skip its continuation

	// the page being split into packets
	page    []byte
	lacing  []byte
	pos     int // next lacing value
	bodyOff int // next body byte
	flags   byte
	granule int64
	pserial uint32
	lastSeg int // index of the last lacing value that ends a packet
	out     []byte
}

// Reset forgets everything: the next bytes start a new stream.
func (r *Reader) Reset() {
	r.buf, r.off = r.buf[:0], 0
	r.inStream, r.partial, r.dropping = false, r.partial[:0], false
	r.page, r.lacing, r.pos = nil, nil, 0
}

// Write adds bytes of the stream. It never fails.
func (r *Reader) Write(p []byte) (int, error) {
	// buf is compacted only between pages (readPage), so the page being
	// split stays intact while more bytes arrive.
	r.buf = append(r.buf, p...)
	return len(p), nil
}

// Next returns the next complete packet. ok is false when the bytes
// written so far hold no further packet; an error reports a malformed
// stream, after which the Reader should be Reset.
func (r *Reader) Next() (p Packet, ok bool, err error) {
	for {
		if r.page != nil {
			if p, ok := r.nextInPage(); ok {
				return p, true, nil
			}
			r.page = nil
		}
		ok, err := r.readPage()
		if err != nil || !ok {
			return Packet{}, false, err
		}
	}
}

// readPage parses the next page out of buf, when it is complete.
func (r *Reader) readPage() (bool, error) {
	// Compact before the page is referenced: buf is stable until the
	// next Write, which happens only once this page has been consumed.
	if r.off > 0 {
		n := copy(r.buf, r.buf[r.off:])
		r.buf, r.off = r.buf[:n], 0
	}
	b := r.buf
	if len(b) < HeaderSize {
		if len(b) > 0 && !isPrefix(b) {
			return false, fmt.Errorf("%w (starts with % x)", ErrSync, b[:min(len(b), 4)])
		}
		return false, nil
	}
	if string(b[:4]) != "OggS" {
		return false, fmt.Errorf("%w (starts with % x)", ErrSync, b[:4])
	}
	if b[4] != 0 {
		return false, fmt.Errorf("ogg: page version %d, want 0", b[4])
	}
	nseg := int(b[26])
	if len(b) < HeaderSize+nseg {
		return false, nil
	}
	size := HeaderSize + nseg
	for _, l := range b[HeaderSize : HeaderSize+nseg] {
		size += int(l)
	}
	if len(b) < size {
		return false, nil
	}
	page := b[:size]
	want := binary.LittleEndian.Uint32(page[22:])
	crc := CRC(0, page[:22])
	crc = CRC(crc, []byte{0, 0, 0, 0})
	crc = CRC(crc, page[26:])
	if crc != want {
		return false, fmt.Errorf("%w (page %d of stream %08x)", ErrChecksum, binary.LittleEndian.Uint32(page[18:]), binary.LittleEndian.Uint32(page[14:]))
	}
	r.off = size
	flags := page[5]
	serial := binary.LittleEndian.Uint32(page[14:])
	seq := binary.LittleEndian.Uint32(page[18:])
	switch {
	case flags&FlagBOS != 0:
		if r.inStream && serial == r.serial {
			return false, fmt.Errorf("%w: stream %08x begins twice", ErrStream, serial)
		}
		// A new logical stream: whatever the previous one left is dropped.
		r.inStream, r.serial, r.seq = true, serial, seq
		r.partial, r.dropping = r.partial[:0], false
	case !r.inStream:
		return false, fmt.Errorf("%w: stream %08x continues without its first page", ErrStream, serial)
	case serial != r.serial:
		return false, fmt.Errorf("%w: page of stream %08x inside stream %08x", ErrStream, serial, r.serial)
	case seq != r.seq+1:
		// Pages were lost: a packet continued across the gap is lost too.
		r.partial, r.dropping = r.partial[:0], flags&FlagContinued != 0
		r.seq = seq
	default:
		r.seq = seq
	}
	if flags&FlagContinued == 0 {
		if len(r.partial) > 0 {
			return false, fmt.Errorf("%w: page %d of stream %08x drops the end of a packet", ErrStream, seq, serial)
		}
		r.dropping = false
	} else if len(r.partial) == 0 && !r.dropping && flags&FlagBOS == 0 {
		r.dropping = true // continuation of a packet we never saw the start of
	}
	r.page, r.lacing, r.pos, r.bodyOff = page, page[HeaderSize:HeaderSize+nseg], 0, HeaderSize+nseg
	r.flags, r.pserial = flags, serial
	r.granule = int64(binary.LittleEndian.Uint64(page[6:]))
	r.lastSeg = -1
	for i, l := range r.lacing {
		if l < 255 {
			r.lastSeg = i
		}
	}
	if flags&FlagEOS != 0 {
		r.inStream = false
	}
	return true, nil
}

// nextInPage returns the next packet the current page completes.
func (r *Reader) nextInPage() (Packet, bool) {
	for r.pos < len(r.lacing) {
		start := r.bodyOff
		i := r.pos
		for i < len(r.lacing) && r.lacing[i] == 255 {
			r.bodyOff += 255
			i++
		}
		if i == len(r.lacing) {
			// The packet continues on the next page.
			if !r.dropping {
				r.partial = append(r.partial, r.page[start:r.bodyOff]...)
			}
			r.pos = i
			return Packet{}, false
		}
		r.bodyOff += int(r.lacing[i])
		r.pos = i + 1
		data := r.page[start:r.bodyOff]
		if r.dropping {
			r.dropping = false
			continue
		}
		if len(r.partial) > 0 {
			r.out = append(append(r.out[:0], r.partial...), data...)
			r.partial = r.partial[:0]
			data = r.out
		}
		p := Packet{Data: data, Serial: r.pserial, BOS: r.flags&FlagBOS != 0, Granule: -1}
		if i == r.lastSeg {
			p.Last, p.Granule, p.EOS = true, r.granule, r.flags&FlagEOS != 0
		}
		return p, true
	}
	return Packet{}, false
}

// isPrefix reports whether b could be the start of "OggS".
func isPrefix(b []byte) bool {
	n := min(len(b), 4)
	return string(b[:n]) == "OggS"[:n]
}

// Package ogg writes and reads the Ogg container (RFC 3533): pages with
// their CRC, segment tables, granule positions, serial numbers and
// beginning/end-of-stream flags, plus the OpusHead and OpusTags header
// packets of Ogg Opus (RFC 7845).
package ogg

import "encoding/binary"

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

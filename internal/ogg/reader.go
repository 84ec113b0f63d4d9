package ogg

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
)

// Bounds of the Reader: whatever the stream holds, a Reader keeps at most
// BufferSize bytes of input and two packets of its MaxPacket bytes.
const (
	// MaxPage is the largest page the format allows: a header and 255
	// lacing values of 255 (65,307 bytes).
	MaxPage = HeaderSize + MaxSegments + MaxSegments*255
	// BufferSize is the most input a Reader holds before it is read
	// (128 KiB): twice the largest page, so that a full buffer always
	// holds a complete page or bytes to skip, and Next always makes room.
	BufferSize = 128 << 10
	// crcBudget bounds the checksum work of a Reader: every byte written
	// allows crcPerByte bytes of pages checked, up to crcBudget, so that
	// bytes crafted with a capture pattern every few bytes, each claiming
	// a long page, cost a bounded multiple of their size to skip (without
	// it, a 1 MiB message of them costs about 2 GB of checksum). A page
	// beyond the budget is skipped unchecked, unless it is at most
	// crcFree bytes (a 20 ms Opus page up to 190 kbit/s): those are
	// always checked, so that the pages of a real stream come through
	// during an attack.
	crcBudget  = 4 * MaxPage
	crcPerByte = 8
	crcFree    = 512
	// DefaultMaxPacket is the longest packet a Reader returns unless its
	// MaxPacket says otherwise: 64 KiB. An Opus packet is at most 48
	// frames of 1,275 bytes (61,200) and a few bytes of framing; longer
	// is damage or an attack.
	DefaultMaxPacket = 64 << 10
)

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
	// ErrSync reports bytes that are not an Ogg page: they were skipped.
	ErrSync = errors.New("ogg: not an Ogg page")
	// ErrChecksum reports a damaged page: it was skipped.
	ErrChecksum = errors.New("ogg: page checksum mismatch")
	// ErrStream reports a page that does not fit its stream: it, or the
	// packet it breaks, was skipped.
	ErrStream = errors.New("ogg: page out of its stream")
	// ErrPacketSize reports a packet longer than the Reader's MaxPacket:
	// it was dropped.
	ErrPacketSize = errors.New("ogg: packet too long")
	// ErrFull is returned by Write when the Reader holds BufferSize bytes
	// not read yet: read the packets with Next, then write the rest.
	ErrFull = errors.New("ogg: reader buffer full")
)

// Reader splits an Ogg stream into packets. Bytes may arrive in pieces of
// any size: Write adds them, Next returns the packets completed so far.
// Chained streams (one logical stream after another) are followed;
// multiplexed streams are not (a page of another stream in the middle of
// one is skipped).
//
// Damage does not stop a Reader: bytes that are not a page (a bad
// checksum, a bad header, garbage) are skipped up to the next capture
// pattern "OggS", a page out of its stream is skipped, and a packet
// longer than MaxPacket is dropped with the rest of it on the following
// pages; Next reports each with an error and goes on with the next page
// at its following call. The memory a Reader holds is bounded: BufferSize
// bytes of input and two packets of MaxPacket bytes.
type Reader struct {
	// MaxPacket is the longest packet returned; 0 means DefaultMaxPacket.
	MaxPacket int

	buf     []byte // bytes not yet parsed into pages
	off     int    // start of unparsed bytes in buf
	probe   int    // where to look for a page inside an incomplete one; 0: from its start
	budget  int    // bytes of pages that may still be checksummed (crcBudget)
	checked int64  // bytes checksummed, for the tests
	skip    int    // bytes the last damage skipped

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
	r.Discard()
	r.inStream = false
}

// Discard drops the bytes held (a partial page, the start of a packet
// continued on a page still to come) but not the stream, as after a gap
// in the bytes: what follows is read as a new stream when it starts one,
// and as the rest of the current stream when its pages are, the pages
// lost in the gap (and a packet across it) known as such from their
// sequence numbers.
func (r *Reader) Discard() {
	r.buf, r.off, r.probe = r.buf[:0], 0, 0
	r.partial, r.dropping = r.partial[:0], false
	r.page, r.lacing, r.pos = nil, nil, 0
}

// Buffered returns the bytes the Reader holds for packets to come: input
// not yet read and the start of a packet that continues on a page still
// to come. It never exceeds BufferSize plus MaxPacket.
func (r *Reader) Buffered() int { return len(r.buf) - r.off + len(r.partial) }

// Write adds bytes of the stream: as many of p as fit in BufferSize bytes
// with those not read yet. When that is not all of p it returns ErrFull:
// read the packets with Next until it reports no more, then write the
// rest. A Reader read after every Write never fills up.
func (r *Reader) Write(p []byte) (int, error) {
	if r.page == nil {
		r.compact()
	}
	n := min(len(p), BufferSize-len(r.buf))
	if cap(r.buf)-len(r.buf) < n {
		// Grow within BufferSize. The page being split keeps the old
		// array, intact.
		grown := make([]byte, len(r.buf), min(BufferSize, max(2*cap(r.buf), len(r.buf)+n, 4096)))
		copy(grown, r.buf)
		r.buf = grown
	}
	r.buf = append(r.buf, p[:n]...)
	r.budget = min(crcBudget, r.budget+crcPerByte*n)
	if n < len(p) {
		return n, ErrFull
	}
	return n, nil
}

// Next returns the next complete packet. ok is false when the bytes
// written so far hold no further packet, or with an error that reports
// damage skipped: the Reader has recovered, and the next call goes on
// with what follows.
func (r *Reader) Next() (p Packet, ok bool, err error) {
	var damage error // the first damage skipped in this call
	runs, skipped := 0, 0
	for {
		if r.page != nil {
			if damage != nil {
				break // a page follows the damage: its packets come next
			}
			p, ok, err := r.nextInPage()
			if ok || err != nil {
				return p, ok, err
			}
			r.page = nil
		}
		ok, err := r.readPage()
		switch {
		case err != nil && r.page == nil:
			// Bytes skipped: go on, and report the damage once.
			runs++
			skipped += r.skip
			if damage == nil {
				damage = err
			}
			continue
		case err != nil && damage != nil:
			return Packet{}, false, fmt.Errorf("%w; %w", damage, err) // the page's packets come next
		case err != nil:
			return Packet{}, false, err // the page's packets come next
		case ok:
			continue
		}
		break
	}
	switch {
	case damage == nil:
		return Packet{}, false, nil
	case runs > 1:
		return Packet{}, false, fmt.Errorf("%w; %d damaged pages or runs of other bytes, %d bytes skipped in all", damage, runs, skipped)
	}
	return Packet{}, false, damage
}

// compact drops the bytes parsed already. It must not run while a page
// in buf is being split.
func (r *Reader) compact() {
	if r.off > 0 {
		n := copy(r.buf, r.buf[r.off:])
		r.buf, r.off, r.probe = r.buf[:n], 0, 0
	}
}

// readPage parses the next page out of buf, when it is complete. Bytes
// that are not a valid page are skipped, and reported with an error.
func (r *Reader) readPage() (bool, error) {
	// Compact before the page is referenced: buf is stable until the
	// page has been consumed (Write appends past it or copies it away).
	r.compact()
	b := r.buf
	if len(b) < 4 || string(b[:4]) != "OggS" {
		if isPrefix(b) {
			return false, nil
		}
		return false, r.resync(0, fmt.Errorf("%w (starts with % x)", ErrSync, b[:min(len(b), 4)]))
	}
	if len(b) < HeaderSize {
		return false, nil
	}
	if b[4] != 0 {
		return false, r.resync(1, fmt.Errorf("%w: page version %d, want 0", ErrSync, b[4]))
	}
	size := pageSize(b)
	if size < 0 || len(b) < size {
		return false, r.probeInside()
	}
	page := b[:size]
	switch ok, checked := r.check(page); {
	case !checked:
		return false, r.resync(1, fmt.Errorf("%w (page %d of stream %08x): not checked, too much damage in a row", ErrChecksum, binary.LittleEndian.Uint32(page[18:]), binary.LittleEndian.Uint32(page[14:])))
	case !ok:
		return false, r.resync(1, fmt.Errorf("%w (page %d of stream %08x)", ErrChecksum, binary.LittleEndian.Uint32(page[18:]), binary.LittleEndian.Uint32(page[14:])))
	}
	nseg := int(b[26])
	r.off = size
	flags := page[5]
	serial := binary.LittleEndian.Uint32(page[14:])
	seq := binary.LittleEndian.Uint32(page[18:])
	switch {
	case flags&FlagBOS != 0:
		// A new logical stream (even one with the serial number of the
		// last): whatever the previous one left is dropped.
		r.inStream, r.serial, r.seq = true, serial, seq
		r.partial, r.dropping = r.partial[:0], false
	case !r.inStream:
		r.skip = size
		return false, fmt.Errorf("%w: page %d of stream %08x continues a stream without its first page: skipped", ErrStream, seq, serial)
	case serial != r.serial:
		r.skip = size
		return false, fmt.Errorf("%w: page %d of stream %08x inside stream %08x: skipped", ErrStream, seq, serial, r.serial)
	case seq != r.seq+1:
		// Pages were lost: a packet continued across the gap is lost too.
		r.partial, r.dropping = r.partial[:0], flags&FlagContinued != 0
		r.seq = seq
	default:
		r.seq = seq
	}
	var broken error
	if flags&FlagContinued == 0 {
		if len(r.partial) > 0 {
			broken = fmt.Errorf("%w: page %d of stream %08x drops the end of a packet: its start (%d bytes) skipped", ErrStream, seq, serial, len(r.partial))
			r.partial = r.partial[:0]
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
	if broken != nil {
		return false, broken // the page's packets come with the next call
	}
	return true, nil
}

// pageSize returns the size of the page that b starts with, or -1 while
// its segment table is incomplete.
func pageSize(b []byte) int {
	if len(b) < HeaderSize || len(b) < HeaderSize+int(b[26]) {
		return -1
	}
	nseg := int(b[26])
	size := HeaderSize + nseg
	for _, l := range b[HeaderSize : HeaderSize+nseg] {
		size += int(l)
	}
	return size
}

// check reports whether the checksum of page matches; checked is false
// when the checksum budget did not allow the check.
func (r *Reader) check(page []byte) (ok, checked bool) {
	switch {
	case len(page) <= r.budget:
		r.budget -= len(page)
	case len(page) > crcFree:
		return false, false
	}
	r.checked += int64(len(page))
	crc := CRC(0, page[:22])
	crc = CRC(crc, []byte{0, 0, 0, 0})
	crc = CRC(crc, page[26:])
	return crc == binary.LittleEndian.Uint32(page[22:]), true
}

// probeInside looks, while the page at the start of buf is incomplete,
// for a complete page with a valid checksum that starts inside it: the
// claimed length is then damage (a page of a real stream never holds
// another), and the bytes up to that page are skipped at once rather
// than after the claimed length has arrived. A candidate still
// incomplete (or beyond the checksum budget) is looked at again at the
// next call; the bytes before the first of them are searched once.
func (r *Reader) probeInside() error {
	b := r.buf
	from := max(r.probe, 1)
	r.probe = -1
	for {
		i := bytes.Index(b[from:], []byte("OggS"))
		if i < 0 {
			break
		}
		j := from + i
		from = j + 1
		size := pageSize(b[j:])
		if size < 0 || j+size > len(b) {
			r.probe = cmp.Or(max(r.probe, 0), j) // incomplete: again later
			continue
		}
		ok, checked := r.check(b[j : j+size])
		switch {
		case !checked:
			r.probe = cmp.Or(max(r.probe, 0), j)
		case ok && b[j+4] == 0:
			return r.resync(j, fmt.Errorf("%w: the page header at the start claims %d bytes, but a page begins %d bytes in", ErrSync, pageSize(b), j))
		}
	}
	if r.probe < 0 {
		r.probe = max(1, len(b)-3)
	}
	return nil
}

// resync skips the unparsed bytes up to the next capture pattern "OggS"
// found from buf[from:], or all of them but a trailing start of one, and
// returns cause with the count.
func (r *Reader) resync(from int, cause error) error {
	b := r.buf
	skip := len(b)
	if i := bytes.Index(b[from:], []byte("OggS")); i >= 0 {
		skip = from + i
	} else {
		for keep := min(3, len(b)-from); keep > 0; keep-- {
			if isPrefix(b[len(b)-keep:]) {
				skip = len(b) - keep
				break
			}
		}
	}
	r.off, r.skip = skip, skip
	return fmt.Errorf("%w: %d bytes skipped", cause, skip)
}

// maxPacket returns the longest packet returned.
func (r *Reader) maxPacket() int {
	if r.MaxPacket > 0 {
		return r.MaxPacket
	}
	return DefaultMaxPacket
}

// nextInPage returns the next packet the current page completes, or an
// error for a packet dropped for its length.
func (r *Reader) nextInPage() (Packet, bool, error) {
	for r.pos < len(r.lacing) {
		start := r.bodyOff
		i := r.pos
		for i < len(r.lacing) && r.lacing[i] == 255 {
			r.bodyOff += 255
			i++
		}
		if i == len(r.lacing) {
			// The packet continues on the next page.
			r.pos = i
			if r.dropping {
				return Packet{}, false, nil
			}
			if n := len(r.partial) + r.bodyOff - start; n > r.maxPacket() {
				r.partial, r.dropping = r.partial[:0], true
				return Packet{}, false, r.tooLong(n, "and not ended")
			}
			r.partial = append(r.partial, r.page[start:r.bodyOff]...)
			return Packet{}, false, nil
		}
		r.bodyOff += int(r.lacing[i])
		r.pos = i + 1
		data := r.page[start:r.bodyOff]
		if r.dropping {
			r.dropping = false
			continue
		}
		if n := len(r.partial) + len(data); n > r.maxPacket() {
			r.partial = r.partial[:0]
			return Packet{}, false, r.tooLong(n, "")
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
		return p, true, nil
	}
	return Packet{}, false, nil
}

// tooLong reports a packet of at least n bytes dropped.
func (r *Reader) tooLong(n int, more string) error {
	if more != "" {
		more = " " + more
	}
	return fmt.Errorf("%w: %d bytes%s in stream %08x, over the %d-byte limit: dropped", ErrPacketSize, n, more, r.pserial, r.maxPacket())
}

// isPrefix reports whether b could be the start of "OggS".
func isPrefix(b []byte) bool {
	n := min(len(b), 4)
	return string(b[:n]) == "OggS"[:n]
}

package flac

import (
	"bufio"
	"fmt"
)

// mewkiz/flac logs a line ("The flac library test cases do not yet include
// any audio files with sample rate ...") through the standard logger for
// every frame whose header codes the rate 24 kHz or 176.4 kHz, several
// times a second. Those frames are rewritten before it reads them, in the
// buffer it reads from: the rate code becomes "see STREAMINFO" (0), which
// keeps the header's length, and the header's CRC-8 is recomputed. The
// frame's CRC-16, which covers the header, then no longer matches what
// mewkiz/flac computes, by an amount that depends only on the change and
// the frame's length: ratePatch checks the mismatch it reports against
// that amount, so a frame damaged elsewhere still fails.

// ratePatch records the change made to the header of the current frame.
type ratePatch struct {
	active bool
	pos    int  // offset of the CRC-8 byte in the frame
	d2, dh byte // the changes (XOR) of byte 2 and of the CRC-8 byte
}

// loggedRate reports whether mewkiz/flac logs on the header rate code c.
func loggedRate(c byte) bool { return c == 0x2 || c == 0x7 }

// patchRate rewrites the header of the frame at the start of br if its
// rate code is one mewkiz/flac logs on, and the header is intact.
func (p *ratePatch) patchRate(br *bufio.Reader) {
	p.active = false
	b, _ := br.Peek(16)
	if len(b) < 3 || b[0] != 0xFF || b[1]&0xFE != 0xF8 || !loggedRate(b[2]&0x0F) {
		return
	}
	if len(b) < 5 {
		b[2] &^= 0x0F // a cut header, which mewkiz/flac refuses; keep it from logging
		return
	}
	// Header: sync and flags (2), block size and rate (1), channels, sample
	// size and a reserved bit (1), the UTF-8 coded frame or sample number,
	// the block size if coded at the end (6: 1 byte, 7: 2), then the CRC-8.
	// The two rates patched have no bytes at the end.
	n := utf8Len(b[4])
	h := 4 + n
	switch b[2] >> 4 {
	case 6:
		h++
	case 7:
		h += 2
	}
	if h >= len(b) || crc8(b[:h]) != b[h] {
		// A damaged or cut header, which mewkiz/flac will refuse: keep
		// it from logging, and from decoding the frame (its CRC-8 still
		// fails but for a chance in 256, and then its CRC-16).
		b[2] &^= 0x0F
		return
	}
	old2, oldh := b[2], b[h]
	b[2] &^= 0x0F
	b[h] = crc8(b[:h])
	*p = ratePatch{active: true, pos: h, d2: old2 ^ b[2], dh: oldh ^ b[h]}
}

// explains reports whether err is the CRC-16 mismatch that the patch of a
// frame of size bytes causes, and nothing more.
func (p *ratePatch) explains(err error, size int64) bool {
	var want, got uint16
	if n, _ := fmt.Sscanf(err.Error(), "frame.Frame.Parse: CRC-16 checksum mismatch; expected 0x%04X, got 0x%04X", &want, &got); n != 2 {
		return false
	}
	// The CRC (zero start, no final XOR) is linear: the mismatch is the
	// CRC of the change alone, over the frame without its CRC-16.
	crc := crc16Byte(0, p.d2)
	for i := 3; i < p.pos; i++ {
		crc = crc16Byte(crc, 0)
	}
	crc = crc16Byte(crc, p.dh)
	for i := int64(p.pos + 1); i < size-2; i++ {
		crc = crc16Byte(crc, 0)
	}
	return want^got == crc
}

// utf8Len returns the length of the "UTF-8" coded number whose first byte
// is c (1 to 7 bytes), or 0 for a byte that cannot start one.
func utf8Len(c byte) int {
	switch {
	case c < 0x80:
		return 1
	case c < 0xC0:
		return 0
	case c < 0xE0:
		return 2
	case c < 0xF0:
		return 3
	case c < 0xF8:
		return 4
	case c < 0xFC:
		return 5
	case c < 0xFE:
		return 6
	case c == 0xFE:
		return 7
	}
	return 0
}

// crc8 is the CRC-8 of FLAC frame headers (polynomial x^8+x^2+x+1).
func crc8(b []byte) byte {
	var crc byte
	for _, v := range b {
		crc ^= v
		for range 8 {
			if crc&0x80 != 0 {
				crc = crc<<1 ^ 0x07
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// crc16Table is the table of FLAC's CRC-16 (polynomial
// x^16+x^15+x^2+1), most significant bit first.
var crc16Table = func() (t [256]uint16) {
	for i := range t {
		crc := uint16(i) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x8005
			} else {
				crc <<= 1
			}
		}
		t[i] = crc
	}
	return t
}()

// crc16Byte adds the byte v to crc.
func crc16Byte(crc uint16, v byte) uint16 {
	return crc<<8 ^ crc16Table[byte(crc>>8)^v]
}

package flac

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// ID3v2Size returns the length of the ID3v2 tag at the start of b, footer
// included, or 0 if b does not start with one. It needs 10 bytes.
func ID3v2Size(b []byte) int64 {
	if len(b) < 10 || string(b[:3]) != "ID3" || b[3] == 0xFF || b[4] == 0xFF || b[6]|b[7]|b[8]|b[9] >= 0x80 {
		return 0
	}
	n := int64(b[6])<<21 | int64(b[7])<<14 | int64(b[8])<<7 | int64(b[9]) + 10
	if b[5]&0x10 != 0 {
		n += 10
	}
	return n
}

// skipID3v2 discards the ID3v2 tags at the start of br, however many and
// however large. (mewkiz/flac skips one, and reads past the footer of a tag
// that has one.)
func skipID3v2(br *bufio.Reader) error {
	for {
		head, _ := br.Peek(10)
		n := ID3v2Size(head)
		if n == 0 {
			return nil
		}
		if _, err := br.Discard(int(n)); err == io.EOF {
			return errors.New("flac: the file ends inside its ID3v2 tag: it is truncated")
		} else if err != nil {
			return fmt.Errorf("flac: reading the ID3v2 tag: %w", err)
		}
	}
}

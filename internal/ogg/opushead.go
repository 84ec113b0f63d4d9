package ogg

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// OpusHead is the identification header of an Ogg Opus stream (RFC 7845
// section 5.1), for channel mapping family 0 (mono or stereo).
type OpusHead struct {
	// Channels is the number of output channels: 1 or 2.
	Channels int
	// PreSkip is the number of 48 kHz samples to drop from the start of
	// the decoded audio: the encoder's lookahead.
	PreSkip int
	// InputRate is the sample rate of the audio before encoding, for
	// information only (0: unspecified).
	InputRate int
	// Gain is the output gain in dB, in steps of 1/256 dB.
	Gain float64
}

// ErrOpusHead reports a malformed OpusHead or OpusTags packet.
var ErrOpusHead = errors.New("opus: bad header")

// Append appends the OpusHead packet to dst.
func (h OpusHead) Append(dst []byte) []byte {
	dst = append(dst, "OpusHead"...)
	dst = append(dst, 1, byte(h.Channels))
	dst = binary.LittleEndian.AppendUint16(dst, uint16(h.PreSkip))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(h.InputRate))
	dst = binary.LittleEndian.AppendUint16(dst, uint16(int16(h.Gain*256)))
	return append(dst, 0) // mapping family 0
}

// ParseOpusHead parses an OpusHead packet. Versions 0 to 15 are accepted
// (RFC 7845: same major version); only mapping family 0 is supported.
func ParseOpusHead(b []byte) (OpusHead, error) {
	if len(b) < 19 || string(b[:8]) != "OpusHead" {
		return OpusHead{}, fmt.Errorf("%w: not an OpusHead packet", ErrOpusHead)
	}
	if b[8] > 15 {
		return OpusHead{}, fmt.Errorf("%w: OpusHead version %d is not supported", ErrOpusHead, b[8])
	}
	h := OpusHead{
		Channels:  int(b[9]),
		PreSkip:   int(binary.LittleEndian.Uint16(b[10:])),
		InputRate: int(binary.LittleEndian.Uint32(b[12:])),
		Gain:      float64(int16(binary.LittleEndian.Uint16(b[16:]))) / 256,
	}
	switch {
	case b[18] != 0:
		return h, fmt.Errorf("%w: channel mapping family %d is not supported (only 0: mono or stereo)", ErrOpusHead, b[18])
	case h.Channels < 1 || h.Channels > 2:
		return h, fmt.Errorf("%w: %d channels with mapping family 0", ErrOpusHead, h.Channels)
	}
	return h, nil
}

// AppendOpusTags appends an OpusTags packet with this vendor string and
// no user comments to dst.
func AppendOpusTags(dst []byte, vendor string) []byte {
	dst = append(dst, "OpusTags"...)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(vendor)))
	dst = append(dst, vendor...)
	return binary.LittleEndian.AppendUint32(dst, 0)
}

// CheckOpusTags checks that b is an OpusTags packet whose lengths fit.
func CheckOpusTags(b []byte) error {
	if len(b) < 16 || string(b[:8]) != "OpusTags" {
		return fmt.Errorf("%w: not an OpusTags packet", ErrOpusHead)
	}
	rest := b[8:]
	field := func() bool {
		if len(rest) < 4 {
			return false
		}
		n := binary.LittleEndian.Uint32(rest)
		if uint64(n) > uint64(len(rest)-4) {
			return false
		}
		rest = rest[4+n:]
		return true
	}
	if !field() || len(rest) < 4 {
		return fmt.Errorf("%w: OpusTags vendor string overruns the packet", ErrOpusHead)
	}
	count := binary.LittleEndian.Uint32(rest)
	rest = rest[4:]
	for i := uint32(0); i < count; i++ {
		if !field() {
			return fmt.Errorf("%w: OpusTags comment %d overruns the packet", ErrOpusHead, i)
		}
	}
	return nil
}

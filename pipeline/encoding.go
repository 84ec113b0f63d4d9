package pipeline

import "fmt"

// Encoding is a headerless sample encoding, as raw files and streams, the
// raw source and sink and the 46elks wire formats use it. Multi-channel
// audio is interleaved. The zero value is S16LE.
type Encoding int

// The encodings.
const (
	// S16LE is signed 16-bit little-endian PCM (ffmpeg -f s16le). A 16-bit
	// sample s is s/32768, and x becomes round(x·32768) clamped to 16 bits.
	S16LE Encoding = iota
	// F32LE is 32-bit IEEE float little-endian (ffmpeg -f f32le), clamped
	// to [-1, 1] both ways; NaN reads and writes as 0.
	F32LE
	// ULaw is ITU-T G.711 µ-law, one byte per sample (ffmpeg -f mulaw).
	ULaw
	// ALaw is ITU-T G.711 A-law, one byte per sample (ffmpeg -f alaw).
	ALaw
)

var encodingNames = []string{S16LE: "s16le", F32LE: "f32le", ULaw: "ulaw", ALaw: "alaw"}

// String returns the encoding's name in pipe syntax, e.g. "s16le".
func (e Encoding) String() string {
	if e >= 0 && int(e) < len(encodingNames) {
		return encodingNames[e]
	}
	return fmt.Sprintf("Encoding(%d)", int(e))
}

// Size returns the number of bytes one sample takes, or 0 for an unknown
// encoding.
func (e Encoding) Size() int {
	switch e {
	case S16LE:
		return 2
	case F32LE:
		return 4
	case ULaw, ALaw:
		return 1
	}
	return 0
}

// ParseEncoding returns the encoding called name: s16le, f32le, ulaw or
// alaw (mulaw and ffmpeg's pcm_s16le, pcm_f32le, pcm_mulaw and pcm_alaw
// are accepted too).
func ParseEncoding(name string) (Encoding, error) {
	switch name {
	case "s16le", "pcm_s16le":
		return S16LE, nil
	case "f32le", "pcm_f32le":
		return F32LE, nil
	case "ulaw", "mulaw", "pcm_mulaw":
		return ULaw, nil
	case "alaw", "pcm_alaw":
		return ALaw, nil
	}
	return 0, fmt.Errorf("unknown encoding %q (use s16le, f32le, ulaw or alaw)", name)
}

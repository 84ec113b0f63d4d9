package elks

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/elkspipe/elkspipe/internal/pcm"
	"github.com/elkspipe/elkspipe/pipeline"
)

// Format names an audio format of the Realtime Voice API, as it appears in
// "sending" and "listening" messages.
type Format string

// The formats of the API.
const (
	PCM8000  Format = "pcm_8000"  // 16-bit signed little-endian PCM, mono, 8 kHz
	PCM16000 Format = "pcm_16000" // 16-bit signed little-endian PCM, mono, 16 kHz
	PCM24000 Format = "pcm_24000" // 16-bit signed little-endian PCM, mono, 24 kHz
	ULaw     Format = "ulaw"      // G.711 µ-law, 8 kHz, one byte per sample
	ALaw     Format = "alaw"      // G.711 A-law, 8 kHz, one byte per sample
	G722     Format = "g722"      // G.722 SB-ADPCM, 16 kHz audio at 64 kbit/s
	Ogg      Format = "ogg"       // Opus in an Ogg container
	WAV      Format = "wav"       // whole WAV files, sent as they are (sending only)
	MP3      Format = "mp3"       // whole MP3 files, sent as they are (sending only)
)

// FormatInfo describes a format: its sample rate and which directions the
// API accepts it in.
type FormatInfo struct {
	Format Format
	// Rate is the sample rate of the audio; 0 for file formats (wav, mp3),
	// whose files carry their own.
	Rate int
	// Send and Listen say whether the application may send audio in this
	// format, and receive the caller's audio in it.
	Send, Listen bool
	// File marks the formats that carry whole files, passed through
	// untouched rather than encoded.
	File bool
	// Summary describes the format in a few words, for `inspect`.
	Summary string
}

var formatTable = []FormatInfo{
	{Format: PCM8000, Rate: 8000, Send: true, Listen: true, Summary: "16-bit PCM, 8 kHz"},
	{Format: PCM16000, Rate: 16000, Send: true, Listen: true, Summary: "16-bit PCM, 16 kHz"},
	{Format: PCM24000, Rate: 24000, Send: true, Listen: true, Summary: "16-bit PCM, 24 kHz"},
	{Format: ULaw, Rate: 8000, Send: true, Listen: true, Summary: "G.711 µ-law, 8 kHz"},
	{Format: ALaw, Rate: 8000, Send: true, Listen: true, Summary: "G.711 A-law, 8 kHz"},
	{Format: G722, Rate: 16000, Send: true, Listen: true, Summary: "G.722, 16 kHz audio at 64 kbit/s"},
	{Format: Ogg, Rate: 48000, Send: true, Listen: true, Summary: "Opus in Ogg"},
	{Format: WAV, Send: true, File: true, Summary: "WAV files, passed through"},
	{Format: MP3, Send: true, File: true, Summary: "MP3 files, passed through"},
}

// Formats returns every format of the API, in the order of its documentation.
func Formats() []FormatInfo { return append([]FormatInfo(nil), formatTable...) }

// formatNames returns the names of every format.
func formatNames() []string {
	names := make([]string, len(formatTable))
	for i, f := range formatTable {
		names[i] = string(f.Format)
	}
	return names
}

// Info returns the description of f, or an error naming the known formats.
func (f Format) Info() (FormatInfo, error) {
	for _, i := range formatTable {
		if i.Format == f {
			return i, nil
		}
	}
	return FormatInfo{}, fmt.Errorf("unknown format %q (the API knows %s)", string(f), strings.Join(formatNames(), ", "))
}

// Encoder turns mono float32 samples into the bytes of a wire format.
// Encoders keep codec state across calls; Reset starts a fresh stream, as
// after an interrupt and a new "sending".
type Encoder interface {
	// Encode appends the encoding of samples to dst and returns it.
	Encode(dst []byte, samples []float32) []byte
	// Flush appends whatever the codec still holds (a partial frame,
	// end-of-stream marks) and returns dst; the stream ends there.
	Flush(dst []byte) []byte
	// Reset forgets all state: the next Encode starts a new stream.
	Reset()
}

// Decoder turns the bytes of a wire format into mono float32 samples.
type Decoder interface {
	// Decode appends the samples that data holds to dst and returns it.
	// An error reports data skipped or audio dropped; the samples
	// returned are good all the same, and the next Decode goes on with
	// the stream. A decoder whose output can be far larger than its
	// input (Ogg Opus) caps the samples one Decode appends.
	Decode(dst []float32, data []byte) ([]float32, error)
	// Reset forgets the stream so far, as after a gap: nothing before is
	// joined to the data of the next Decode, which starts a new stream
	// (Ogg Opus goes on with the current stream if the pages that follow
	// are its own: they say so).
	Reset()
}

// codec makes encoders and decoders for one format.
type codec struct {
	NewEncoder func() (Encoder, error)
	NewDecoder func() (Decoder, error)
	// NewEncoderOptions, when set, makes an encoder tuned by the options
	// (NewEncoderOptions then uses it instead of NewEncoder).
	NewEncoderOptions func(CodecOptions) (Encoder, error)
}

// CodecOptions tunes the encoders that have settings (Ogg Opus); the
// other formats ignore them. Every zero field takes the codec's default.
type CodecOptions struct {
	// Bitrate is the target bit rate in bits per second.
	Bitrate int
	// Complexity is the encoder's effort, 1 (fastest) to 10 (best).
	Complexity int
	// Frame is the audio per codec frame.
	Frame time.Duration
}

// opusMissing explains how to get Ogg Opus in a build without it.
const opusMissing = "format ogg needs elkspipe built with Opus: install libopus-dev and build with -tags opus,nolibopusfile"

var (
	codecsMu sync.RWMutex
	codecs   = map[Format]codec{}
)

// registerCodec makes a codec available for f. The PCM and G.711 codecs
// are built in; G.722 and Ogg Opus register themselves where they are
// built.
func registerCodec(f Format, c codec) {
	codecsMu.Lock()
	codecs[f] = c
	codecsMu.Unlock()
}

func codecFor(f Format) (codec, error) {
	info, err := f.Info()
	if err != nil {
		return codec{}, err
	}
	if info.File {
		return codec{}, fmt.Errorf("format %s carries whole files: it is passed through, not encoded", f)
	}
	codecsMu.RLock()
	c, ok := codecs[f]
	codecsMu.RUnlock()
	if !ok {
		var have []string
		codecsMu.RLock()
		for g := range codecs {
			have = append(have, string(g))
		}
		codecsMu.RUnlock()
		sort.Strings(have)
		if f == Ogg {
			return codec{}, fmt.Errorf("%s (this build has %s, wav, mp3)", opusMissing, strings.Join(have, ", "))
		}
		return codec{}, fmt.Errorf("format %s has no codec in this build of elkspipe (available: %s, wav, mp3)", f, strings.Join(have, ", "))
	}
	return c, nil
}

// NewEncoder returns an encoder for f.
func NewEncoder(f Format) (Encoder, error) {
	c, err := codecFor(f)
	if err != nil {
		return nil, err
	}
	return c.NewEncoder()
}

// NewEncoderOptions returns an encoder for f tuned by o.
func NewEncoderOptions(f Format, o CodecOptions) (Encoder, error) {
	c, err := codecFor(f)
	if err != nil {
		return nil, err
	}
	if c.NewEncoderOptions != nil {
		return c.NewEncoderOptions(o)
	}
	return c.NewEncoder()
}

// NewDecoder returns a decoder for f.
func NewDecoder(f Format) (Decoder, error) {
	c, err := codecFor(f)
	if err != nil {
		return nil, err
	}
	return c.NewDecoder()
}

// pcmCodec encodes and decodes the stateless sample formats: 16-bit PCM and
// G.711, one sample at a time.
type pcmCodec struct{ enc pipeline.Encoding }

func (c pcmCodec) Encode(dst []byte, samples []float32) []byte {
	return pcm.Append(dst, samples, c.enc)
}

func (c pcmCodec) Flush(dst []byte) []byte { return dst }

func (c pcmCodec) Reset() {}

func (c pcmCodec) Decode(dst []float32, data []byte) ([]float32, error) {
	size := c.enc.Size()
	if len(data)%size != 0 {
		return dst, fmt.Errorf("%d bytes of %s audio is not a whole number of %d-byte samples", len(data), c.enc, size)
	}
	n := len(data) / size
	start := len(dst)
	dst = slices.Grow(dst, n)[:start+n] // grows geometrically: appending stays linear
	pcm.Decode(dst[start:], data, c.enc)
	return dst, nil
}

func init() {
	for f, enc := range map[Format]pipeline.Encoding{PCM8000: pipeline.S16LE, PCM16000: pipeline.S16LE, PCM24000: pipeline.S16LE, ULaw: pipeline.ULaw, ALaw: pipeline.ALaw} {
		c := pcmCodec{enc}
		registerCodec(f, codec{
			NewEncoder: func() (Encoder, error) { return c, nil },
			NewDecoder: func() (Decoder, error) { return c, nil },
		})
	}
}

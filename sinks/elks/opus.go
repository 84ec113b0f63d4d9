//go:build opus

package elks

/*
#cgo pkg-config: opus
#include <opus.h>

// elks_opus_lookahead returns the lookahead of a fresh 48 kHz mono encoder
// for the application: the samples its output lags its input, which the
// OpusHead pre-skip must drop.
static int elks_opus_lookahead(int application) {
	int err;
	OpusEncoder *e = opus_encoder_create(48000, 1, application, &err);
	if (err != OPUS_OK || e == NULL) {
		return -1;
	}
	opus_int32 la = -1;
	if (opus_encoder_ctl(e, OPUS_GET_LOOKAHEAD(&la)) != OPUS_OK) {
		la = -1;
	}
	opus_encoder_destroy(e);
	return la;
}

static const char *elks_opus_version(void) { return opus_get_version_string(); }
*/
import "C"

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/elkspipe/elkspipe/internal/ogg"
	"github.com/hraban/opus"
)

// Ogg Opus encoder settings and their defaults: a voice-grade stream.
const (
	// DefaultOpusBitrate is the default bit rate: wideband voice and
	// music on hold stay clear at 24 kbit/s.
	DefaultOpusBitrate = 24000
	// DefaultOpusComplexity is the default encoder effort (1..10): about
	// half of libopus's maximum, to serve many calls per core.
	DefaultOpusComplexity = 5
	// DefaultOpusFrame is the default audio per Opus packet.
	DefaultOpusFrame = 20 * time.Millisecond
)

const (
	opusRate        = 48000
	opusApplication = opus.AppAudio
	opusMaxPacket   = 4000 // libopus's recommended output buffer
	opusMaxFrame    = opusRate * 120 / 1000
	// opusPageAudio is the most audio one page holds: a page goes out at
	// the end of every Encode, and at least this often within one.
	opusPageAudio = opusRate
)

// opusLookahead is the pre-skip of every stream: the encoder's lookahead
// as libopus reports it (312 samples for the audio application at 48 kHz).
var opusLookahead = func() int {
	if la := int(C.elks_opus_lookahead(C.int(opusApplication))); la >= 0 {
		return la
	}
	return 312
}()

// opusVendor is the vendor string of the OpusTags header.
var opusVendor = "elkspipe (" + C.GoString(C.elks_opus_version()) + ")"

func init() {
	registerCodec(Ogg, codec{
		NewEncoder:        func() (Encoder, error) { return newOpusEncoder(CodecOptions{}) },
		NewEncoderOptions: func(o CodecOptions) (Encoder, error) { return newOpusEncoder(o) },
		NewDecoder:        func() (Decoder, error) { return newOpusDecoder() },
	})
}

// opusFrames are the frame durations Opus allows.
var opusFrames = []time.Duration{2500 * time.Microsecond, 5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond, 60 * time.Millisecond}

// opusEncoder encodes mono 48 kHz samples to Ogg Opus: one logical stream
// from the first Encode to Flush, or until Reset.
type opusEncoder struct {
	enc   *opus.Encoder
	frame int // samples per packet
	w     *ogg.Writer

	started   bool
	pend      []float32 // samples of the next packet, fewer than frame
	pkt       []byte
	input     int64 // samples given since the stream started
	granule   int64 // samples in the packets written, pre-skip included
	pageAudio int   // samples in the packets of the page being built
}

func newOpusEncoder(o CodecOptions) (*opusEncoder, error) {
	if o.Bitrate == 0 {
		o.Bitrate = DefaultOpusBitrate
	}
	if o.Complexity == 0 {
		o.Complexity = DefaultOpusComplexity
	}
	if o.Frame == 0 {
		o.Frame = DefaultOpusFrame
	}
	switch {
	case o.Bitrate < 6000 || o.Bitrate > 510000:
		return nil, fmt.Errorf("opus: bitrate %d out of range 6000..510000 bits per second", o.Bitrate)
	case o.Complexity < 1 || o.Complexity > 10:
		return nil, fmt.Errorf("opus: complexity %d out of range 1..10", o.Complexity)
	}
	frameOK := false
	for _, f := range opusFrames {
		frameOK = frameOK || f == o.Frame
	}
	if !frameOK {
		return nil, fmt.Errorf("opus: frame %v is not one of 2.5ms, 5ms, 10ms, 20ms, 40ms, 60ms", o.Frame)
	}
	enc, err := opus.NewEncoder(opusRate, 1, opusApplication)
	if err != nil {
		return nil, fmt.Errorf("opus: %w", err)
	}
	if err := enc.SetBitrate(o.Bitrate); err != nil {
		return nil, fmt.Errorf("opus: bitrate %d: %w", o.Bitrate, err)
	}
	if err := enc.SetComplexity(o.Complexity); err != nil {
		return nil, fmt.Errorf("opus: complexity %d: %w", o.Complexity, err)
	}
	frame := int(o.Frame * opusRate / time.Second)
	return &opusEncoder{
		enc:   enc,
		frame: frame,
		w:     ogg.NewWriter(0),
		pend:  make([]float32, 0, frame),
		pkt:   make([]byte, opusMaxPacket),
	}, nil
}

// start begins a logical stream: a fresh serial number, the OpusHead page
// and the OpusTags page.
func (e *opusEncoder) start(dst []byte) []byte {
	e.w.Reset(rand.Uint32())
	e.started = true
	e.pkt = ogg.OpusHead{Channels: 1, PreSkip: opusLookahead, InputRate: opusRate}.Append(e.pkt[:0])
	dst = e.w.Flush(e.w.Packet(dst, e.pkt, 0))
	e.pkt = ogg.AppendOpusTags(e.pkt[:0], opusVendor)
	dst = e.w.Flush(e.w.Packet(dst, e.pkt, 0))
	e.pkt = e.pkt[:cap(e.pkt)]
	return dst
}

// packet encodes the full frame in pend as one packet whose granule
// position is capped at end.
func (e *opusEncoder) packet(dst []byte, end int64) []byte {
	n, err := e.enc.EncodeFloat32(e.pend, e.pkt[:cap(e.pkt)])
	e.pend = e.pend[:0]
	if err != nil {
		// libopus fails only on invalid arguments, which newOpusEncoder
		// rules out; the frame is dropped rather than the call.
		return dst
	}
	e.granule += int64(e.frame)
	dst = e.w.Packet(dst, e.pkt[:n], min(e.granule, end))
	if e.pageAudio += e.frame; e.pageAudio >= opusPageAudio {
		dst = e.w.Flush(dst)
		e.pageAudio = 0
	}
	return dst
}

// Encode appends the Ogg pages of samples to dst. The pages of every
// packet completed go out at once; samples short of a frame wait for the
// next Encode or Flush.
func (e *opusEncoder) Encode(dst []byte, samples []float32) []byte {
	if len(samples) == 0 {
		return dst
	}
	if !e.started {
		dst = e.start(dst)
	}
	e.input += int64(len(samples))
	for len(samples) > 0 {
		n := min(e.frame-len(e.pend), len(samples))
		e.pend = append(e.pend, samples[:n]...)
		samples = samples[n:]
		if len(e.pend) == e.frame {
			dst = e.packet(dst, math.MaxInt64)
		}
	}
	dst = e.w.Flush(dst)
	e.pageAudio = 0
	return dst
}

// Flush ends the stream: the samples waiting and the encoder's lookahead
// are encoded padded with silence, and the last page carries the EOS flag
// and the granule position of the last input sample, so that decoders
// drop the padding. The next Encode starts a new logical stream.
func (e *opusEncoder) Flush(dst []byte) []byte {
	if !e.started {
		return dst
	}
	end := int64(opusLookahead) + e.input
	for e.granule < end {
		for len(e.pend) < e.frame {
			e.pend = append(e.pend, 0)
		}
		dst = e.packet(dst, end)
	}
	dst = e.w.Close(dst, end)
	e.Reset()
	return dst
}

// Reset drops the stream without ending it, as after an interrupt: the
// next Encode starts a new logical stream (new serial number, headers,
// pre-skip) from a fresh encoder state.
func (e *opusEncoder) Reset() {
	e.enc.Reset()
	e.started = false
	e.pend = e.pend[:0]
	e.input, e.granule, e.pageAudio = 0, 0, 0
}

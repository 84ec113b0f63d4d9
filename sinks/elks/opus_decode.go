//go:build opus

package elks

/*
#cgo pkg-config: opus
#include <opus.h>

// elks_packet_samples returns the samples per channel of an Opus packet
// at 48 kHz, or a negative libopus error for a malformed packet.
static int elks_packet_samples(const unsigned char *data, int len) {
	return opus_packet_get_nb_samples(data, len, 48000);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"math"
	"time"
	"unsafe"

	"github.com/elkspipe/elkspipe/internal/ogg"
	"github.com/hraban/opus"
)

// Bounds of the Ogg Opus decoder, whatever the peer sends.
const (
	// opusMaxDecode is the most audio one Decode returns: 3 s at 48 kHz
	// (576 KB of samples). The API sends the caller's audio in real
	// time, about 20 ms per message, and a Session sends at most a chunk
	// (Config.Chunk, up to 2 s) per message, which the simulator decodes
	// with this decoder: a message that holds more is damage or an
	// attack. Opus compresses silence to almost nothing (a 3-byte packet
	// holds 120 ms), so without the cap a 106 KB message of such packets
	// made 68 minutes of samples (4.6 GB allocated), and a 1 MiB one ten
	// times that. Packets past the cap are counted, not decoded, and
	// dropped.
	opusMaxDecode = 3 * opusRate
	// opusMaxStreams is the most logical streams one Decode starts (each
	// a fresh libopus decoder): a new stream comes with an interrupt, a
	// few a second at the very most.
	opusMaxStreams = 4
)

// opusDecoder decodes Ogg Opus bytes, arriving in pieces of any size, to
// mono 48 kHz samples. It follows chained streams: every new logical
// stream starts with its headers and its own pre-skip.
//
// Damage does not stop it: the Ogg reader skips what is not a valid page
// and resynchronises at the next one, a packet libopus refuses is
// skipped, and each Decode reports what it skipped in one error (the
// session counts it as malformed and warns, rate-limited). The audio of
// a packet lost in damage is left out, not concealed: the decoder goes
// on with the next packet, as after any gap in the recording, and libopus
// smooths the join. Its memory is bounded: the Ogg reader's (128 KiB of
// input, two 64 KiB packets), one libopus decoder, and at most
// opusMaxDecode samples appended per Decode.
type opusDecoder struct {
	r        ogg.Reader
	dec      *opus.Decoder
	fresh    bool // dec has decoded nothing yet
	channels int
	state    int // opusWantHead, opusWantTags or opusAudio
	skip     int // pre-skip samples still to drop
	gain     float32
	pos      int64 // samples decoded in this stream, pre-skip included
	pcm      []float32
}

const (
	opusWantHead = iota
	opusWantTags
	opusAudio
)

func newOpusDecoder() (*opusDecoder, error) {
	return &opusDecoder{pcm: make([]float32, 2*opusMaxFrame)}, nil
}

// Reset drops the bytes held, a partial page or packet, so that nothing
// before a gap is joined to what follows it. What follows is decoded as
// a new stream when it is one (its first page starts it), and as the
// rest of the current stream when its pages are: Ogg pages carry their
// stream's serial number and sequence, so the pages lost in the gap are
// known as such, and a recording goes on after a gap rather than
// stopping until a new stream.
func (d *opusDecoder) Reset() {
	d.r.Discard()
}

// opusReport gathers what one Decode skipped and dropped.
type opusReport struct {
	first   error // the first problem
	more    int   // problems after it
	dropped int   // samples past opusMaxDecode
	streams int   // logical streams started
}

func (r *opusReport) add(err error) {
	if r.first == nil {
		r.first = err
	} else {
		r.more++
	}
}

// errOpusCap reports audio dropped past opusMaxDecode.
var errOpusCap = errors.New("opus: too much audio in one message")

func (r *opusReport) err() error {
	var capErr error
	if r.dropped > 0 {
		capErr = fmt.Errorf("%w: %d samples (%v) past the %v a message may hold dropped", errOpusCap, r.dropped,
			time.Duration(r.dropped)*time.Second/opusRate, time.Duration(opusMaxDecode)*time.Second/opusRate)
	}
	switch {
	case r.first == nil:
		return capErr
	case r.more > 0 && capErr != nil:
		return fmt.Errorf("%w (and %d more problems); %w", r.first, r.more, capErr)
	case r.more > 0:
		return fmt.Errorf("%w (and %d more problems)", r.first, r.more)
	case capErr != nil:
		return fmt.Errorf("%w; %w", r.first, capErr)
	}
	return r.first
}

// Decode appends the samples of the packets that data completes to dst,
// at most opusMaxDecode of them. The error reports what was skipped or
// dropped; the samples returned are good all the same, and the next
// Decode goes on with the stream.
func (d *opusDecoder) Decode(dst []float32, data []byte) ([]float32, error) {
	var rep opusReport
	start := len(dst)
	for {
		// The reader takes as much as it holds; every packet is read
		// before it takes more, so it always has room.
		n, _ := d.r.Write(data)
		data = data[n:]
		for {
			p, ok, err := d.r.Next()
			if err != nil {
				rep.add(err)
				continue
			}
			if !ok {
				break
			}
			dst = d.packet(dst, start, p, &rep)
		}
		if len(data) == 0 {
			return dst, rep.err()
		}
	}
}

// packet handles one Ogg packet: a header or audio.
func (d *opusDecoder) packet(dst []float32, start int, p ogg.Packet, rep *opusReport) []float32 {
	if p.BOS {
		switch {
		case d.state == opusWantTags:
			rep.add(fmt.Errorf("opus: a second packet on the OpusHead page"))
		case rep.streams == opusMaxStreams:
			d.state = opusWantHead
			rep.add(fmt.Errorf("opus: more than %d streams start in one message: skipped", opusMaxStreams))
		default:
			rep.streams++
			if err := d.head(p.Data); err != nil {
				d.state = opusWantHead
				rep.add(err)
			}
		}
		return dst
	}
	switch d.state {
	case opusWantHead:
		rep.add(fmt.Errorf("opus: the stream does not start with OpusHead"))
		return dst
	case opusWantTags:
		if err := ogg.CheckOpusTags(p.Data); err != nil {
			rep.add(err)
		}
		d.state = opusAudio
		return dst
	}
	return d.audio(dst, start, p, rep)
}

// head starts a logical stream from its OpusHead packet.
func (d *opusDecoder) head(b []byte) error {
	h, err := ogg.ParseOpusHead(b)
	if err != nil {
		return err
	}
	// A fresh decoder per logical stream (hraban/opus has no reset),
	// unless the last one has decoded nothing yet.
	if d.dec == nil || !d.fresh || d.channels != h.Channels {
		if d.dec, err = opus.NewDecoder(opusRate, h.Channels); err != nil {
			return fmt.Errorf("opus: %w", err)
		}
	}
	d.fresh, d.channels = true, h.Channels
	d.state, d.skip, d.pos = opusWantTags, h.PreSkip, 0
	d.gain = float32(math.Pow(10, h.Gain/20))
	return nil
}

// audio decodes one audio packet, dropping the pre-skip at the start of
// the stream and, on its last page, the samples past the end granule.
// Past opusMaxDecode samples appended since start, packets are counted,
// not decoded.
func (d *opusDecoder) audio(dst []float32, start int, p ogg.Packet, rep *opusReport) []float32 {
	if len(p.Data) == 0 {
		rep.add(fmt.Errorf("opus: empty audio packet"))
		return dst
	}
	room := opusMaxDecode - (len(dst) - start)
	if room <= 0 {
		n := int(C.elks_packet_samples((*C.uchar)(unsafe.Pointer(&p.Data[0])), C.int(len(p.Data))))
		if n < 0 {
			rep.add(fmt.Errorf("opus: packet %d bytes: %w", len(p.Data), opus.Error(n)))
			return dst
		}
		first, last := d.span(n, p)
		rep.dropped += last - first
		return dst
	}
	pcm := d.pcm[: d.channels*opusMaxFrame : d.channels*opusMaxFrame]
	n, err := d.dec.DecodeFloat32(p.Data, pcm)
	if err != nil {
		rep.add(fmt.Errorf("opus: packet %d bytes: %w", len(p.Data), err))
		return dst
	}
	d.fresh = false
	first, last := d.span(n, p)
	if last-first > room {
		rep.dropped += last - first - room
		last = first + room
	}
	if first >= last {
		return dst
	}
	if d.channels == 1 {
		for _, x := range pcm[first:last] {
			dst = append(dst, x*d.gain)
		}
		return dst
	}
	g := d.gain / 2
	for i := first; i < last; i++ {
		dst = append(dst, (pcm[2*i]+pcm[2*i+1])*g)
	}
	return dst
}

// span advances the stream past a packet of n samples and returns the
// part of them that is audio: the pre-skip at the start of the stream and,
// on its last page, the samples past the end granule are not. The
// position follows the granule positions of the pages, which count from
// the start of the stream.
func (d *opusDecoder) span(n int, p ogg.Packet) (first, last int) {
	first, last = 0, n
	if p.EOS && p.Last && p.Granule >= 0 {
		// The last page's granule position marks the end of the audio.
		last = int(max(0, min(int64(n), p.Granule-d.pos)))
	}
	d.pos += int64(n)
	if p.Last && p.Granule >= 0 && !p.EOS {
		// The page's granule position counts the samples so far: after
		// packets lost or dropped, the end of the stream is still found.
		d.pos = p.Granule
	}
	if d.skip > 0 {
		first = min(d.skip, n)
		d.skip -= first
	}
	return first, max(first, last)
}

//go:build opus

package elks

import (
	"bytes"
	"context"
	"math"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/internal/ogg"
)

// opusTinyPacket is a 2-byte Opus packet that decodes to 120 ms: a TOC
// byte (SILK narrowband 60 ms frames, code 3) and a frame count of 2
// frames of no bytes.
var opusTinyPacket = []byte{3<<3 | 3, 2}

// opusTinyAttack returns an Ogg Opus stream of about size bytes: the
// headers, then as many tiny packets as fit, 120 ms of audio in 3 bytes.
func opusTinyAttack(size int) []byte {
	w := ogg.NewWriter(77)
	s := w.Flush(w.Packet(nil, ogg.OpusHead{Channels: 1, PreSkip: 312, InputRate: 48000}.Append(nil), 0))
	s = w.Flush(w.Packet(s, ogg.AppendOpusTags(nil, "attack"), 0))
	g := int64(0)
	for len(s)+w.Pending()*3 < size {
		g += 5760
		s = w.Packet(s, opusTinyPacket, g)
	}
	return w.Flush(s)
}

// opusAlloc returns the bytes allocated while f runs.
func opusAlloc(f func()) uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	before := ms.TotalAlloc
	f()
	runtime.ReadMemStats(&ms)
	return ms.TotalAlloc - before
}

// One message of tiny packets, each 120 ms of audio in 3 bytes, decodes
// to at most opusMaxDecode samples, whatever its size: the rest is
// dropped and said so, and the bytes allocated stay bounded (the 106 KB
// message made 1.4 GB of samples before the cap). A message of good audio
// after it decodes as usual.
func TestOpusDecodeTinyPacketsCapped(t *testing.T) {
	tone := opusTone(997, 0.5, 9600)
	enc, _ := NewEncoder(Ogg)
	good := opusEncodeChunks(t, enc, tone, 960)
	for _, size := range []int{10600, 106000, 1 << 20} {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			dec, _ := NewDecoder(Ogg)
			msg := opusTinyAttack(size)
			var out []float32
			var err error
			alloc := opusAlloc(func() { out, err = dec.Decode(nil, msg) })
			t.Logf("%d-byte message: %d samples, %d bytes allocated, %v", len(msg), len(out), alloc, err)
			if len(out) > opusMaxDecode {
				t.Errorf("%d-byte message: %d samples, more than the cap %d", len(msg), len(out), opusMaxDecode)
			}
			if err == nil || !strings.Contains(err.Error(), "dropped") {
				t.Errorf("%d-byte message: error %v, want one that says samples were dropped", len(msg), err)
			}
			if limit := uint64(8 << 20); alloc > limit {
				t.Errorf("%d-byte message: %d bytes allocated, want under %d", len(msg), alloc, limit)
			}
			// The next message, a stream of its own, decodes whole.
			if got, err := dec.Decode(out[:0], good); err != nil || len(got) != len(tone) {
				t.Errorf("after the %d-byte message: %d samples, %v; want %d", len(msg), len(got), err, len(tone))
			}
		})
	}
}

// opusMessages encodes samples in 20 ms messages, as the API sends the
// caller's audio: every message whole pages.
func opusMessages(t *testing.T, samples []float32) [][]byte {
	t.Helper()
	enc, _ := NewEncoder(Ogg)
	var msgs [][]byte
	for i := 0; i < len(samples); i += 960 {
		msgs = append(msgs, enc.Encode(nil, samples[i:min(i+960, len(samples))]))
	}
	return append(msgs, enc.Flush(nil))
}

// opusDecodeMessages decodes msgs one Decode each and returns the samples
// and the errors.
func opusDecodeMessages(msgs [][]byte) (out []float32, errs []error) {
	dec, _ := NewDecoder(Ogg)
	for _, m := range msgs {
		var err error
		if out, err = dec.Decode(out, m); err != nil {
			errs = append(errs, err)
		}
	}
	return out, errs
}

// One damaged byte in the middle of the caller's audio loses the page it
// is in, not the rest of the call: the pages after it decode as in the
// clean stream. A stray byte between pages loses nothing.
func TestOpusDecodeSkipsDamage(t *testing.T) {
	tone := opusTone(997, 0.5, 3*48000)
	clean := opusMessages(t, tone)
	want, errs := opusDecodeMessages(clean)
	if len(errs) > 0 || len(want) != len(tone) {
		t.Fatalf("clean stream: %d samples, errors %v", len(want), errs)
	}
	mid := len(clean) / 2
	for _, c := range []struct {
		name string
		edit func([]byte) []byte
		lost int // samples lost, at most
	}{
		{"flipped byte", func(m []byte) []byte { m[len(m)-3] ^= 0x10; return m }, 960},
		{"stray byte", func(m []byte) []byte { return append([]byte{0x4f}, m...) }, 0},
		{"garbage message", func(m []byte) []byte { return append([]byte("this is no Ogg page at all"), m...) }, 0},
	} {
		msgs := make([][]byte, len(clean))
		for i, m := range clean {
			msgs[i] = bytes.Clone(m)
		}
		msgs[mid] = c.edit(msgs[mid])
		got, errs := opusDecodeMessages(msgs)
		if len(errs) != 1 {
			t.Errorf("%s: %d errors (first %v), want 1", c.name, len(errs), errs[0])
		}
		if len(got) < len(want)-c.lost || len(got) > len(want) {
			t.Errorf("%s: %d samples, want %d less at most %d", c.name, len(got), len(want), c.lost)
			continue
		}
		// The last second decodes as in the clean stream: same level,
		// and the same samples once the decoder has settled.
		tail, wantTail := got[len(got)-48000:], want[len(want)-48000:]
		lg, lw := audiotest.Level(audiotest.Channel(tail, 1, 0), 997, 48000), audiotest.Level(audiotest.Channel(wantTail, 1, 0), 997, 48000)
		if math.Abs(lg-lw) > 0.5 {
			t.Errorf("%s: the last second at %.2f dBFS, the clean stream's at %.2f", c.name, lg, lw)
		}
		if c.lost == 0 && !slicesEqual(got, want) {
			t.Errorf("%s: the samples differ from the clean stream's", c.name)
		}
	}
}

func slicesEqual(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// An Ogg packet that never ends (8 MB of lacing values of 255, in 20 KB
// messages) is dropped once past the packet limit instead of piling up,
// and the audio after it decodes.
func TestOpusDecodeEndlessPacket(t *testing.T) {
	w := ogg.NewWriter(9)
	s := w.Flush(w.Packet(nil, ogg.OpusHead{Channels: 1, PreSkip: 312, InputRate: 48000}.Append(nil), 0))
	s = w.Flush(w.Packet(s, ogg.AppendOpusTags(nil, "attack"), 0))
	s = w.Flush(w.Packet(s, bytes.Repeat([]byte{0x55}, 8<<20), 960))
	tone := opusTone(997, 0.5, 9600)
	enc, _ := NewEncoder(Ogg)
	var pkts [][]byte
	{
		var r ogg.Reader
		r.Write(opusEncodeChunks(t, enc, tone, 960))
		for {
			p, ok, _ := r.Next()
			if !ok {
				break
			}
			if !p.BOS && !bytes.HasPrefix(p.Data, []byte("OpusTags")) {
				pkts = append(pkts, bytes.Clone(p.Data))
			}
		}
	}
	for i, p := range pkts {
		s = w.Flush(w.Packet(s, p, int64(960*(i+2))))
	}
	dec, _ := NewDecoder(Ogg)
	var out []float32
	var errs []error
	alloc := opusAlloc(func() {
		for i := 0; i < len(s); i += 20000 {
			var err error
			if out, err = dec.Decode(out, s[i:min(i+20000, len(s))]); err != nil {
				errs = append(errs, err)
			}
		}
	})
	t.Logf("%d bytes: %d samples, %d bytes allocated, errors %v", len(s), len(out), alloc, errs)
	if alloc > 2<<20 {
		t.Errorf("%d bytes allocated for an %d-byte endless packet", alloc, len(s))
	}
	if len(errs) != 1 {
		t.Errorf("errors %v, want one: the packet dropped", errs)
	}
	if n := len(tone) + opusLookahead - 312; len(out) < n-960 {
		t.Errorf("%d samples after the endless packet, want about %d", len(out), n)
	}
}

// Through a session: the caller's Ogg Opus audio, with a garbage message
// and a message of tiny packets (a stream of its own) in the middle, then
// a new stream, is recorded whole but for the damage and the capped audio;
// the session counts and warns about both, and the rest of the call is
// recorded.
func TestOpusRecordSurvivesAttack(t *testing.T) {
	dir := t.TempDir()
	tone := opusTone(997, 0.5, 2*48000)
	half := len(tone) / 2
	msgs := append(opusMessages(t, tone[:half]), opusMessages(t, tone[half:])...)
	mid := len(msgs) / 2
	var log *sessLogBuf
	var st Stats
	synctest.Test(t, func(t *testing.T) {
		s, p, buf := sessCall(t, Config{Format: Ogg, Record: dir + "/{callid}.wav"}, nil)
		log = buf
		for i, m := range msgs {
			if i == mid {
				p.t.WriteMessage(context.Background(), AppendAudio(nil, []byte("garbage, not a page")))
				p.t.WriteMessage(context.Background(), AppendAudio(nil, opusTinyAttack(106000)))
			}
			p.t.WriteMessage(context.Background(), AppendAudio(nil, m))
			time.Sleep(20 * time.Millisecond)
		}
		p.hangup()
		<-s.Done()
		s.Close()
		st = s.Stats()
	})
	if st.Malformed != 2 {
		t.Errorf("%d malformed messages, want 2 (the garbage, the tiny packets)", st.Malformed)
	}
	if l := log.String(); !strings.Contains(l, "dropped") || !strings.Contains(l, "not an Ogg page") {
		t.Errorf("the log does not say what was skipped and dropped:\n%s", l)
	}
	f, got := recRead(t, filepath.Join(dir, "c1.wav"))
	if f.Rate != 48000 {
		t.Fatalf("recording at %v", f)
	}
	// The tone and at most opusMaxDecode samples from the tiny packets.
	if len(got) < len(tone) || len(got) > len(tone)+opusMaxDecode {
		t.Errorf("recording of %d samples, want %d plus at most %d", len(got), len(tone), opusMaxDecode)
	}
	tail := got[len(got)-24000:][:20000] // before the fade of the stream's end
	if lvl := audiotest.Level(audiotest.Channel(tail, 1, 0), 997, 48000); math.Abs(lvl-(-6.02)) > 1 {
		t.Errorf("the end of the recording at %.2f dBFS, want the tone's -6.02", lvl)
	}
}

// After a gap (the recorder resets the decoder when it left messages
// out), the pages of the same stream decode on: the messages in the gap
// are lost, not the rest of the call. A new stream after a Reset starts
// as ever.
func TestOpusDecodeAfterGap(t *testing.T) {
	tone := opusTone(997, 0.5, 3*48000)
	msgs := opusMessages(t, tone)
	dec, _ := NewDecoder(Ogg)
	var out []float32
	for i, m := range msgs {
		if i >= 40 && i < 50 {
			continue // left out
		}
		if i == 50 {
			dec.Reset()
		}
		var err error
		if out, err = dec.Decode(out, m); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	if want := len(tone) - 10*960; len(out) != want {
		t.Errorf("%d samples, want %d: all but the 10 messages left out", len(out), want)
	}
	tail := audiotest.Channel(out[len(out)-48000:][:40000], 1, 0)
	if lvl := audiotest.Level(tail, 997, 48000); math.Abs(lvl-(-6.02)) > 1 {
		t.Errorf("after the gap at %.2f dBFS, want the tone's -6.02", lvl)
	}
}

// A message that starts stream after stream (each a fresh libopus
// decoder) starts at most opusMaxStreams of them.
func TestOpusDecodeStreamFlood(t *testing.T) {
	var msg []byte
	for i := range 2000 {
		w := ogg.NewWriter(uint32(i))
		msg = w.Flush(w.Packet(msg, ogg.OpusHead{Channels: 1 + i%2, PreSkip: 312, InputRate: 48000}.Append(nil), 0))
		msg = w.Flush(w.Packet(msg, ogg.AppendOpusTags(nil, "x"), 0))
		msg = w.Flush(w.Packet(msg, opusTinyPacket, 5760))
	}
	dec, _ := NewDecoder(Ogg)
	var err error
	alloc := opusAlloc(func() { _, err = dec.Decode(nil, msg) })
	if err == nil || !strings.Contains(err.Error(), "streams") {
		t.Errorf("error %v, want one about too many streams", err)
	}
	if alloc > 2<<20 {
		t.Errorf("%d bytes allocated for a %d-byte message of 2000 streams", alloc, len(msg))
	}
}

// FuzzOpusDecode feeds any bytes to the Ogg Opus decoder in pieces: it
// never panics, and no Decode appends more than opusMaxDecode samples.
func FuzzOpusDecode(f *testing.F) {
	enc, _ := NewEncoder(Ogg)
	good := enc.Flush(enc.Encode(nil, opusTone(997, 0.5, 4800)))
	f.Add(good, uint16(100))
	f.Add(opusTinyAttack(2000), uint16(500))
	f.Add(append([]byte("OggS\x00junk"), good...), uint16(7))
	f.Fuzz(func(t *testing.T, data []byte, piece uint16) {
		dec, _ := NewDecoder(Ogg)
		size := max(1, int(piece))
		var out []float32
		for len(data) > 0 {
			n := min(size, len(data))
			out, _ = dec.Decode(out[:0], data[:n])
			if len(out) > opusMaxDecode {
				t.Fatalf("%d samples from one Decode, over the cap %d", len(out), opusMaxDecode)
			}
			data = data[n:]
		}
	})
}

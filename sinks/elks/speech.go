package elks

import (
	"math"
	"sync"
	"time"

	"github.com/elkspipe/elkspipe/internal/vad"
)

// Speech detection. With Config.Speech set, the session asks for the
// caller's audio and runs an energy-based voice activity detector on it
// (internal/vad), in the decoder goroutine: 20 ms frames whose RMS level
// in dBFS is 12 dB above an adaptive noise floor and at least −45 dBFS
// count as voiced; speech starts after 100 ms of voiced frames in a row
// and ends after 300 ms of frames that are not. While audio plays to the
// caller, a frame must also be no more than 14 dB below the loudest audio
// sent lately (the echo guard): the echo of a prompt on a real line comes
// back 20 dB or more weaker and does not count. Each change is logged at
// debug level, counted in Stats.Speech (starts) and handed to Speech; exec
// programs get "speech" and "speech-end" events.

// Speech is a change in the caller's talking.
type Speech struct {
	// Talking is true when the caller started talking, false when they
	// stopped.
	Talking bool
	// At is when it happened in the caller's audio, counted from the
	// first audio the API sent: the first voiced frame of the onset, or
	// the first frame of the silence that ended it.
	At time.Duration
	// Level is the level of the frame that decided it, in dBFS.
	Level float64
}

// speechQueue is how many changes Speech holds for a reader that does
// not take them; beyond, the oldest is dropped.
const speechQueue = 64

// Speech returns the channel of the caller's starts and stops of talking,
// when Config.Speech is set (else it is nil, and delivers nothing). It holds the last 64 for a reader that falls
// behind, dropping the oldest, and is never closed: wait on it together
// with Done.
func (s *Session) Speech() <-chan Speech { return s.speech }

// echoBucket is the span of one bucket of the echo reference.
const echoBucket = 100 * time.Millisecond

// echoRef is the level of the audio sent lately, for the echo guard: the
// loudest 20 ms chunk of each 100 ms, over a ring of 12.8 s.
type echoRef struct {
	mu      sync.Mutex
	horizon time.Duration // how far back audio sent may still be playing
	start   time.Time
	buckets [128]struct {
		n     int64 // the bucket's number since start
		level float64
	}
}

// newEchoRef returns a reference that remembers audio sent within
// horizon (the audio in flight can be that far ahead of what plays).
func newEchoRef(horizon time.Duration) *echoRef {
	e := &echoRef{horizon: min(horizon, echoBucket*120), start: time.Now()}
	e.reset()
	return e
}

// sent notes a chunk of audio sent at now.
func (e *echoRef) sent(pcm []float32, now time.Time) {
	lvl := vad.Level(pcm)
	n := int64(now.Sub(e.start) / echoBucket)
	e.mu.Lock()
	b := &e.buckets[n%int64(len(e.buckets))]
	if b.n != n {
		b.n, b.level = n, lvl
	} else {
		b.level = max(b.level, lvl)
	}
	e.mu.Unlock()
}

// level returns the loudest audio sent within the horizon before now;
// −Inf when none.
func (e *echoRef) level(now time.Time) float64 {
	n := int64(now.Sub(e.start) / echoBucket)
	k := int64(e.horizon/echoBucket) + 1
	lvl := math.Inf(-1)
	e.mu.Lock()
	for i := max(0, n-k); i <= n; i++ {
		if b := e.buckets[i%int64(len(e.buckets))]; b.n == i && b.level > lvl {
			lvl = b.level
		}
	}
	e.mu.Unlock()
	return lvl
}

// reset forgets the audio sent: an interrupt cleared what was queued.
func (e *echoRef) reset() {
	e.mu.Lock()
	for i := range e.buckets {
		e.buckets[i].n = -1
	}
	e.mu.Unlock()
}

// speechDetector is the decoder goroutine's speech detector.
type speechDetector struct {
	det  *vad.Detector
	rate int
}

// newSpeechDetector returns a detector of the caller's audio at rate.
func newSpeechDetector(rate int) (*speechDetector, error) {
	det, err := vad.New(rate)
	if err != nil {
		return nil, err
	}
	return &speechDetector{det: det, rate: rate}, nil
}

// detectSpeech runs the detector over decoded caller audio and reports
// each change to s.
func (s *Session) detectSpeech(d *speechDetector, pcm []float32) {
	for _, e := range d.det.Write(pcm, s.echo.level(time.Now())) {
		s.onSpeech(Speech{Talking: e.Start, At: frameDur(int(e.At), d.rate), Level: math.Round(e.Level*10) / 10})
	}
}

// onSpeech logs a change, counts it, tells the call's exec programs and
// hands it to Speech, dropping the oldest waiting there when it is full.
func (s *Session) onSpeech(sp Speech) {
	ev := "speech-end"
	if sp.Talking {
		ev = "speech"
		s.mu.Lock()
		s.stats.Speech++
		s.mu.Unlock()
	}
	s.Logger().Debug(ev, "at", sp.At, "level_dbfs", sp.Level)
	s.NotifyPrograms(ExecEvent{Event: ev})
	for s.speech != nil {
		select {
		case s.speech <- sp:
			return
		default:
		}
		select {
		case <-s.speech:
		default:
		}
	}
}

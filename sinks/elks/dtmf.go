package elks

import (
	"context"
	"errors"
	"time"

	"github.com/elkspipe/elkspipe/internal/dtmf"
)

// DTMF. 46elks sends no message for a key the caller presses: the digits
// arrive only as tones in the caller's audio. With Config.DTMF set, the
// session asks for the caller's audio and runs a detector (ITU-T Q.24
// limits, tested against talk-off on speech: see docs/dtmf.md) on it, in
// the decoder goroutine, whatever the listening format. Each digit is
// logged at info level, counted in Stats.Digits and handed to Digits.

// Digit is a key the caller pressed.
type Digit struct {
	// Key is '0'-'9', '*', '#' or 'A'-'D'.
	Key byte
	// At is when its tone began in the caller's audio, counted from the
	// first audio the API sent (within 5 ms); Len is how long the tone
	// had lasted when it was recognized (at least 35 ms).
	At, Len time.Duration
}

// String renders d as its key.
func (d Digit) String() string { return string(d.Key) }

// digitQueue is how many digits Digits holds for a reader that does not
// take them; beyond, the oldest is dropped.
const digitQueue = 64

// Digits returns the channel of the keys the caller presses, when
// Config.DTMF is set (else it is nil, and delivers nothing): each press
// once, in order. It holds the last 64
// for a reader that falls behind, dropping the oldest, and is never
// closed: wait on it together with Done, or use WaitDigit.
func (s *Session) Digits() <-chan Digit { return s.digits }

// WaitDigit waits up to timeout for the caller's next key press. It
// returns an error wrapping ErrCallOver when the call ends first,
// ErrDigitTimeout after timeout, and ctx.Err() when ctx is done.
func (s *Session) WaitDigit(ctx context.Context, timeout time.Duration) (Digit, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case d := <-s.digits:
		return d, nil
	case <-s.done:
		select {
		case d := <-s.digits:
			return d, nil
		default:
		}
		return Digit{}, s.endErr(s.End())
	case <-t.C:
		return Digit{}, ErrDigitTimeout
	case <-ctx.Done():
		return Digit{}, ctx.Err()
	}
}

// ErrDigitTimeout is returned by WaitDigit when no key is pressed in time.
var ErrDigitTimeout = errors.New("no key pressed in time")

// digitDetector is the decoder goroutine's DTMF detector.
type digitDetector struct {
	det  *dtmf.Detector
	rate int
}

// newDigitDetector returns a detector of the caller's audio at rate.
func newDigitDetector(rate int) (*digitDetector, error) {
	det, err := dtmf.New(rate)
	if err != nil {
		return nil, err
	}
	return &digitDetector{det: det, rate: rate}, nil
}

// detect runs the detector over decoded caller audio and reports each key
// press to s.
func (s *Session) detectDigits(d *digitDetector, pcm []float32) {
	for _, e := range d.det.Write(pcm) {
		if e.End {
			continue
		}
		s.onDigit(Digit{Key: e.Digit, At: frameDur(int(e.Start), d.rate), Len: frameDur(int(e.Len), d.rate)})
	}
}

// onDigit logs a key press, counts it, tells the call's exec programs
// and hands it to Digits, dropping the oldest digit waiting there when it
// is full.
func (s *Session) onDigit(d Digit) {
	s.mu.Lock()
	s.stats.Digits++
	s.mu.Unlock()
	s.Logger().Info("digit", "digit", d.String(), "at", d.At)
	s.NotifyPrograms(ExecEvent{Event: "digit", Digit: d.String()})
	for s.digits != nil {
		select {
		case s.digits <- d:
			return
		default:
		}
		select {
		case <-s.digits: // full: the oldest goes
		default:
		}
	}
}

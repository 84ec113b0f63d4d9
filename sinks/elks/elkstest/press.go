package elkstest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sources"
)

// The keys the simulated caller presses (Options.DTMF) are in-band tones,
// as on a real call: 46elks sends no message for them. Each sounds for
// PressTone at PressLevel, made by elkspipe's own DTMF generator
// (sources.DTMF), and is mixed into the caller's audio (Options.Say, or
// silence) at its call time, in the listening format.

// PressTone is how long each key's tone sounds.
const PressTone = 100 * time.Millisecond

// PressLevel is the peak level of each key's tone (the sum of its two
// frequencies), in dBFS.
const PressLevel = -12.0

// Press is a key the simulated caller presses.
type Press struct {
	// Key is '0'-'9', '*', '#' or 'A'-'D'.
	Key byte
	// At is when its tone starts, in call time (from the hello). A key
	// pressed before the application asked for the caller's audio
	// (listening) is not sent, as on a real call.
	At time.Duration
}

// ParsePresses parses keys and their call times, such as "1@2s,5@4s":
// KEY@DURATION, separated by commas, in any order (they are sorted).
func ParsePresses(text string) ([]Press, error) {
	var ps []Press
	for _, item := range strings.Split(text, ",") {
		item = strings.TrimSpace(item)
		key, at, ok := strings.Cut(item, "@")
		if !ok || len(key) != 1 {
			return nil, fmt.Errorf("%q: want KEY@TIME, such as 1@2s", item)
		}
		d, err := pipeline.ParseDuration(at)
		if err != nil {
			return nil, fmt.Errorf("%q: bad time: %v", item, err)
		}
		ps = append(ps, Press{Key: key[0], At: d})
	}
	if err := checkPresses(ps); err != nil {
		return nil, err
	}
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].At < ps[j].At })
	return ps, nil
}

// checkPresses reports whether every press is a DTMF key at a time that
// is not negative, and whether their tones overlap.
func checkPresses(ps []Press) error {
	sorted := append([]Press(nil), ps...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].At < sorted[j].At })
	for i, p := range sorted {
		if _, _, ok := sources.DTMFFrequencies(rune(p.Key)); !ok {
			return fmt.Errorf("key %q is not a DTMF key: use 0-9, *, #, A-D", p.Key)
		}
		if p.At < 0 {
			return fmt.Errorf("key %c at %v: negative time", p.Key, p.At)
		}
		// The detector needs a pause between tones (ITU-T Q.24: 40 ms).
		if i > 0 && p.At < sorted[i-1].At+PressTone+40*time.Millisecond {
			return fmt.Errorf("key %c at %v follows key %c at %v too closely: leave %v between presses",
				p.Key, p.At, sorted[i-1].Key, sorted[i-1].At, PressTone+40*time.Millisecond)
		}
	}
	return nil
}

// DigitReport is what happened after one key the caller pressed. Times
// are call time, in seconds.
type DigitReport struct {
	Key string  `json:"key"`
	At  float64 `json:"at"`
	// Sent is set when the key's tone went to the application; a key
	// pressed before the application asked for the caller's audio, or
	// after the call ended, is not sent.
	Sent bool `json:"sent"`
	// Interrupt is when the application's first interrupt after the press
	// (and before the next press) arrived; nil when none came.
	Interrupt *float64 `json:"interrupt,omitempty"`
	// Heard is when the caller started to hear the first audio the
	// application sent after the press, and Latency is Heard less At: a
	// barge-in's reaction time, or, without one, how long the audio
	// queued before the press kept playing. Nil when none was heard.
	Heard   *float64 `json:"heard,omitempty"`
	Latency *float64 `json:"latency,omitempty"`
}

// newDigitReports returns the reports of presses, nothing heard yet.
func newDigitReports(ps []Press) []DigitReport {
	if len(ps) == 0 {
		return nil
	}
	sorted := append([]Press(nil), ps...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].At < sorted[j].At })
	r := make([]DigitReport, len(sorted))
	for i, p := range sorted {
		r[i] = DigitReport{Key: string(p.Key), At: p.At.Seconds()}
	}
	return r
}

// onPressInterrupt records an interrupt at t for the last key pressed
// by then.
func (c *call) onPressInterrupt(t time.Duration) {
	ds := c.rep.Digits
	for i := len(ds) - 1; i >= 0; i-- {
		if at := secondsDur(ds[i].At); at <= t {
			if ds[i].Interrupt == nil {
				v := t.Seconds()
				ds[i].Interrupt = &v
			}
			return
		}
	}
}

// onPressHeard records that audio which arrived at arrived started to
// play at start, for the keys pressed by then that heard nothing yet.
func (c *call) onPressHeard(arrived, start time.Duration) {
	for i := range c.rep.Digits {
		d := &c.rep.Digits[i]
		if secondsDur(d.At) > arrived {
			return
		}
		if d.Heard == nil {
			h, l := start.Seconds(), (start - secondsDur(d.At)).Seconds()
			d.Heard, d.Latency = &h, &l
		}
	}
}

// secondsDur converts seconds back to a duration.
func secondsDur(s float64) time.Duration { return time.Duration(math.Round(s * float64(time.Second))) }

// pressTone is one key's tone in the caller's audio.
type pressTone struct {
	index int   // in Report.Digits
	pos   int64 // first frame, from the voice's start
	pcm   []float32
}

// pressTones renders the tones of the presses at or after from (the call
// time of the voice's first frame) at rate.
func pressTones(ps []DigitReport, from time.Duration, rate int) ([]pressTone, error) {
	var tones []pressTone
	for i, p := range ps {
		at := secondsDur(p.At)
		if at < from {
			continue
		}
		open, err := sources.DTMF(sources.DTMFOptions{Digits: p.Key, Tone: PressTone, Gap: -1,
			Amp: math.Pow(10, PressLevel/20), Rate: rate, Channels: 1})
		if err != nil {
			return nil, fmt.Errorf("key %s: %v", p.Key, err)
		}
		src, err := open(context.Background())
		if err != nil {
			return nil, fmt.Errorf("key %s: %v", p.Key, err)
		}
		pcm := make([]float32, pipeline.FramesIn(PressTone, rate))
		n, err := pipeline.ReadFull(src, pcm)
		pipeline.Close(src)
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("key %s: %v", p.Key, err)
		}
		tones = append(tones, pressTone{index: i, pos: pipeline.FramesIn(at-from, rate), pcm: pcm[:n]})
	}
	return tones, nil
}

// pressMixer is the caller's voice with the keys' tones mixed in: base
// (nil for silence) until it ends and the last tone has sounded.
type pressMixer struct {
	base  pipeline.Source
	rate  int
	tones []pressTone
	pos   int64 // frames read
	eof   bool  // base has ended
}

func (m *pressMixer) Format() pipeline.Format { return pipeline.Format{Rate: m.rate, Channels: 1} }

func (m *pressMixer) end() int64 {
	if len(m.tones) == 0 {
		return 0
	}
	last := m.tones[len(m.tones)-1]
	return last.pos + int64(len(last.pcm))
}

func (m *pressMixer) Read(p []float32) (int, error) {
	n := 0
	if !m.eof && m.base != nil {
		k, err := m.base.Read(p)
		n = k
		if err == io.EOF {
			m.eof = true
		} else if err != nil {
			return 0, err
		}
		if k == 0 && !m.eof {
			return 0, nil
		}
	} else {
		m.eof = true
	}
	if m.eof && n == 0 {
		// The voice is over: silence until the last tone has sounded.
		n = int(min(int64(len(p)), max(0, m.end()-m.pos)))
		clear(p[:n])
		if n == 0 {
			return 0, io.EOF
		}
	}
	for _, t := range m.tones {
		lo, hi := max(t.pos, m.pos), min(t.pos+int64(len(t.pcm)), m.pos+int64(n))
		for f := lo; f < hi; f++ {
			v := p[f-m.pos] + t.pcm[f-t.pos]
			p[f-m.pos] = max(-1, min(1, v))
		}
	}
	m.pos += int64(n)
	return n, nil
}

// Close closes the voice under the tones.
func (m *pressMixer) Close() error {
	if m.base == nil {
		return nil
	}
	return pipeline.Close(m.base)
}

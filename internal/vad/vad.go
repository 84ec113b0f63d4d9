// Package vad detects speech in audio by its energy, for voice barge-in:
// it tells when someone starts and stops talking, not what is said.
//
// The audio is cut into 20 ms frames. A frame is voiced when its level —
// the RMS of its samples in dBFS, 20·log10(rms), so that a full-scale
// sine reads −3 dBFS — is at least Margin (12 dB) above the noise floor,
// at least MinLevel (−45 dBFS), and no more than EchoGuard (14 dB) below
// the echo reference the caller gives with each write: the level of the
// audio played to the speaker lately. On a line whose echo comes back at
// least 20 dB weaker than what was played (ordinary echo return loss
// plus the echo cancelling of networks and handsets), the echo stays 6 dB
// under what counts as speech.
// The noise floor follows the quietest frames: it drops at once to a
// frame below it and rises by 1 dB per second otherwise, starting at the
// first frame's level. Speech starts after Onset (100 ms) of voiced
// frames in a row, dated from the first of them, and ends after Hangover
// (300 ms) of frames that are not voiced.
package vad

import (
	"errors"
	"math"
)

// Defaults of a Detector.
const (
	FrameMs    = 20    // the length of a frame, in milliseconds
	Margin     = 12.0  // dB above the noise floor
	MinLevel   = -45.0 // dBFS
	EchoGuard  = 14.0  // dB below the echo reference
	OnsetMs    = 100   // voiced frames in a row before speech starts
	HangoverMs = 300   // frames not voiced before it ends
	floorRise  = 1.0   // dB per second
	silenceDB  = -120.0
)

// Event is a change: speech started (Start) or ended, at frame At of the
// audio written (the first voiced frame of its onset, or the first frame
// of its hangover), with the level of the frame that decided it.
type Event struct {
	Start bool
	At    int64
	Level float64
}

// Detector finds speech in mono audio at one rate. It is not safe for
// concurrent use.
type Detector struct {
	frame    int       // samples per frame
	buf      []float32 // the frame being filled
	pos      int64     // frames written before buf
	floor    float64
	primed   bool
	run      int   // voiced frames in a row
	runStart int64 // where the run began
	quiet    int   // frames in a row not voiced while speaking
	quietAt  int64
	speaking bool
	onset    int
	hangover int
	events   []Event
}

// New returns a detector of audio at rate samples per second.
func New(rate int) (*Detector, error) {
	if rate < 1000 || rate > 384000 {
		return nil, errors.New("vad: rate out of range 1000..384000")
	}
	f := rate * FrameMs / 1000
	return &Detector{frame: f, buf: make([]float32, 0, f), onset: OnsetMs / FrameMs, hangover: HangoverMs / FrameMs}, nil
}

// Speaking reports whether speech is going on.
func (d *Detector) Speaking() bool { return d.speaking }

// Write analyses pcm and returns the changes it brought; echoRef is the
// level in dBFS of what was played lately (−Inf or below −120: nothing).
// The slice returned is valid until the next Write.
func (d *Detector) Write(pcm []float32, echoRef float64) []Event {
	d.events = d.events[:0]
	for len(pcm) > 0 {
		n := min(len(pcm), d.frame-len(d.buf))
		d.buf = append(d.buf, pcm[:n]...)
		pcm = pcm[n:]
		if len(d.buf) == d.frame {
			d.frameDone(Level(d.buf), echoRef)
			d.buf = d.buf[:0]
		}
	}
	return d.events
}

// Level returns the level of x in dBFS: 20·log10 of its RMS, −120 for
// silence.
func Level(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	if len(x) == 0 || s == 0 {
		return silenceDB
	}
	return max(silenceDB, 10*math.Log10(s/float64(len(x))))
}

// frameDone takes the level of the frame that begins at d.pos.
func (d *Detector) frameDone(lvl, echoRef float64) {
	at := d.pos * int64(d.frame)
	d.pos++
	if !d.primed {
		d.floor, d.primed = lvl, true
	}
	voiced := lvl >= d.floor+Margin && lvl >= MinLevel && lvl >= echoRef-EchoGuard
	if lvl < d.floor {
		d.floor = lvl
	} else {
		d.floor += floorRise * FrameMs / 1000
	}
	if voiced {
		if d.run == 0 {
			d.runStart = at
		}
		d.run++
		d.quiet = 0
		if !d.speaking && d.run >= d.onset {
			d.speaking = true
			d.events = append(d.events, Event{Start: true, At: d.runStart, Level: lvl})
		}
		return
	}
	d.run = 0
	if !d.speaking {
		return
	}
	if d.quiet == 0 {
		d.quietAt = at
	}
	if d.quiet++; d.quiet >= d.hangover {
		d.speaking, d.quiet = false, 0
		d.events = append(d.events, Event{At: d.quietAt, Level: lvl})
	}
}

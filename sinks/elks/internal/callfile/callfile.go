// Package callfile holds what the elks session and the elkstest simulator
// share about the files of a call: one rule for the names taken from a
// peer, and one recorder of mono audio into a WAV file.
package callfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sinks"
)

// maxName is the longest name SafeName returns, in bytes.
const maxName = 64

// SafeName reduces v, a value a peer chose (a call id, a phone number), to
// a name usable in a file name: letters, digits, '+', '-' and '_' stay,
// anything else becomes '_' (so no '/' or ".." can name a directory), at
// most 64 bytes; "" becomes "unknown".
func SafeName(v string) string {
	var b strings.Builder
	for _, r := range v {
		if b.Len() >= maxName {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '+', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "unknown"
	}
	return b.String()
}

// Recorder writes mono audio to a 16-bit WAV file that is valid at every
// moment (see sinks.WAVWriter). Its header, which fixes the rate, is
// written by Start; a Recorder is used from one goroutine at a time.
type Recorder struct {
	path  string
	file  *os.File
	w     *sinks.WAVWriter
	rate  int
	zeros []float32
}

// Create creates the recording at path, replacing a file already there.
func Create(path string) (*Recorder, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	return &Recorder{path: path, file: f}, nil
}

// CreateNew creates the recording at path, or when a file is there, at
// path with a -1, -2... suffix before its extension: it never overwrites
// a file. Path tells which.
func CreateNew(path string) (*Recorder, error) {
	ext := filepath.Ext(path)
	base := strings.TrimSuffix(path, ext)
	for i := 0; i < 1000; i++ {
		p := path
		if i > 0 {
			p = base + "-" + strconv.Itoa(i) + ext
		}
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			return &Recorder{path: p, file: f}, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("%s and 999 numbered variants exist already", path)
}

// Path returns the recording's path.
func (r *Recorder) Path() string { return r.path }

// Started reports whether Start has written the header.
func (r *Recorder) Started() bool { return r.w != nil }

// Rate returns the recording's sample rate, 0 before Start.
func (r *Recorder) Rate() int { return r.rate }

// Start writes the header of a mono recording at rate. Every sample
// written afterwards is at that rate.
func (r *Recorder) Start(rate int) error { return r.StartChannels(rate, 1) }

// StartChannels writes the header of a recording of channels channels
// at rate; Write then takes interleaved frames.
func (r *Recorder) StartChannels(rate, channels int) error {
	if r.w != nil {
		return errors.New("recording started twice")
	}
	w, err := sinks.NewWAVWriter(r.file, pipeline.Format{Rate: rate, Channels: channels}, sinks.WAVS16)
	if err != nil {
		return err
	}
	r.w, r.rate = w, rate
	return nil
}

// Write appends samples (interleaved frames), after Start.
func (r *Recorder) Write(samples []float32) error {
	if r.w == nil {
		return errors.New("recording not started")
	}
	return r.w.Write(samples)
}

// Silence appends n frames of silence, after Start.
func (r *Recorder) Silence(n int64) error {
	if r.zeros == nil {
		r.zeros = make([]float32, 4096)
	}
	for n > 0 {
		k := min(n, int64(len(r.zeros)))
		if err := r.Write(r.zeros[:k]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

// Frames returns how many frames have been written.
func (r *Recorder) Frames() int64 {
	if r.w == nil {
		return 0
	}
	return r.w.Frames()
}

// Close completes the header, if started, and closes the file.
func (r *Recorder) Close() error {
	var err error
	if r.w != nil {
		err = r.w.Close()
	}
	if cerr := r.file.Close(); err == nil {
		err = cerr
	}
	return err
}

// Discard closes and removes a recording that is not wanted.
func (r *Recorder) Discard() {
	r.file.Close()
	os.Remove(r.path)
}

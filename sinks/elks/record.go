package elks

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/elkspipe/elkspipe/sinks/elks/internal/callfile"
)

// listenFormat picks the format in which to ask for the caller's audio:
// the sending format when the API can send it and it can be decoded here,
// otherwise pcm_16000.
func listenFormat(send Format) Format {
	if info, err := send.Info(); err == nil && info.Listen {
		if _, err := NewDecoder(send); err == nil {
			return send
		}
	}
	return PCM16000
}

// recordPath expands a record= template for a call: {callid}, {from} and
// {to} become the hello's values reduced to letters, digits, '+', '-' and
// '_' (anything else becomes '_', so a peer cannot name a directory),
// and {time} becomes t in UTC as 20060102T150405Z.
func recordPath(template string, h Hello, t time.Time) string {
	return strings.NewReplacer(
		"{callid}", callfile.SafeName(h.CallID),
		"{from}", callfile.SafeName(h.From),
		"{to}", callfile.SafeName(h.To),
		"{time}", t.UTC().Format("20060102T150405Z"),
	).Replace(template)
}

// checkRecordTemplate refuses a record= template that cannot name a WAV
// file per call: an unknown {placeholder}, or a name that is a folder.
func checkRecordTemplate(template string) error {
	sample := recordPath(template, Hello{CallID: "c", From: "f", To: "t"}, time.Time{})
	if i := strings.IndexByte(sample, '{'); i >= 0 {
		if j := strings.IndexByte(sample[i:], '}'); j > 0 {
			return fmt.Errorf("record=%s: unknown placeholder %s (use {callid}, {from}, {to} or {time})", template, sample[i:i+j+1])
		}
	}
	if strings.HasSuffix(template, "/") || strings.HasSuffix(template, string(os.PathSeparator)) {
		return fmt.Errorf("record=%s names a folder: give a file name, such as %s{callid}.wav", template, template)
	}
	if st, err := os.Stat(sample); err == nil && st.IsDir() {
		return fmt.Errorf("record=%s is a folder: give a file name, such as %s/{callid}.wav", template, strings.TrimSuffix(template, "/"))
	}
	return nil
}

// prepareRecordFolder creates the folder of a record= template that
// every call shares — its path up to the first {placeholder} — and checks
// that a file can be created there, so that a folder that cannot be made
// or written fails the server at start, not each call. Folders named by
// placeholders are made per call.
func prepareRecordFolder(template string) error {
	static := template
	if i := strings.IndexByte(static, '{'); i >= 0 {
		static = static[:i]
	}
	dir := "."
	if i := strings.LastIndexAny(static, `/`+string(os.PathSeparator)); i >= 0 {
		dir = static[:i+1]
	}
	dir = filepath.Clean(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("record=%s: cannot create the folder %s: %w", template, dir, unwrapPath(err))
	}
	f, err := os.CreateTemp(dir, ".elkspipe-write-check-*")
	if err != nil {
		return fmt.Errorf("record=%s: cannot write in the folder %s: %w", template, dir, unwrapPath(err))
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// unwrapPath drops the operation and path of an *os.PathError, which the
// message around it already names.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// callRecorder writes the caller's audio, decoded, to a 16-bit mono WAV
// file that is valid at every moment (see sinks.WAVWriter), or with
// stereo set, both sides to a stereo one (record_both.go).
type callRecorder struct {
	path   string
	rec    *callfile.Recorder
	rate   int
	log    *slog.Logger
	err    error         // the first write error; recording stopped there
	stereo *stereoWriter // RecordBoth
}

func openRecorder(template string, h Hello, f Format, now time.Time, log *slog.Logger) (*callRecorder, error) {
	return openRecorderChannels(template, h, f, now, log, 1)
}

// openRecorderChannels opens a recording of channels channels.
func openRecorderChannels(template string, h Hello, f Format, now time.Time, log *slog.Logger, channels int) (*callRecorder, error) {
	info, err := f.Info()
	if err != nil {
		return nil, err
	}
	path := recordPath(template, h, now)
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	}
	rec, err := callfile.CreateNew(path)
	if err != nil {
		return nil, err
	}
	if err := rec.StartChannels(info.Rate, channels); err != nil {
		rec.Close()
		return nil, err
	}
	return &callRecorder{path: rec.Path(), rec: rec, rate: info.Rate, log: log}, nil
}

// startRecording opens the recording of the call of hello h and starts
// listening to the caller for it. A recording that cannot be opened is
// logged, and the call goes on unrecorded.
func (s *Session) startRecording(h Hello) {
	both := s.cfg.RecordMode == RecordBoth
	channels := 1
	if both {
		channels = 2
	}
	start := time.Now()
	r, err := openRecorderChannels(s.cfg.Record, h, s.cfg.ListenFormat, start, s.Logger(), channels)
	if err != nil {
		s.Logger().Error("cannot record the call", "err", err)
		return
	}
	s.mu.Lock()
	if both {
		s.heard = newHeardFeed(start, r.rate, s.info.Rate)
		r.stereo = &stereoWriter{rec: r.rec, heard: s.heard, rate: r.rate, max: durFrames(s.cfg.RecordMax, r.rate)}
	}
	err = s.startListeningLocked(r)
	if err != nil {
		s.heard = nil
	}
	s.mu.Unlock()
	if err != nil {
		r.rec.Discard()
		s.Logger().Error("cannot record the call", "err", err)
		return
	}
	if both {
		s.Logger().Info("recording the caller (left) and what the caller heard (right)", "path", r.path, "format", string(s.cfg.ListenFormat))
		return
	}
	s.Logger().Info("recording the caller", "path", r.path, "format", string(s.cfg.ListenFormat))
}

// write appends decoded samples that arrived at at and returns the
// caller's audio written. A write error is logged once and stops the
// recording.
func (r *callRecorder) write(pcm []float32, at time.Time) time.Duration {
	if r.err != nil {
		return 0
	}
	var err error
	if r.stereo != nil {
		err = r.stereo.caller(pcm, at)
	} else {
		err = r.rec.Write(pcm)
	}
	if err != nil {
		r.err = err
		r.log.Error("recording stopped", "path", r.path, "err", err)
		return 0
	}
	return frameDur(len(pcm), r.rate)
}

// tick lets a two-sided recording write the heard side while no caller
// audio comes.
func (r *callRecorder) tick(now time.Time) {
	if r.err != nil || r.stereo == nil {
		return
	}
	if err := r.stereo.tick(now); err != nil {
		r.err = err
		r.log.Error("recording stopped", "path", r.path, "err", err)
	}
}

// close completes the WAV header and closes the file; a two-sided
// recording first writes what the caller heard until now.
func (r *callRecorder) close() {
	if r.stereo != nil && r.err == nil {
		if err := r.stereo.flush(time.Now(), true); err != nil {
			r.err = err
			r.log.Error("recording stopped", "path", r.path, "err", err)
		}
	}
	if err := r.rec.Close(); err != nil && r.err == nil {
		r.log.Error("closing the recording", "path", r.path, "err", err)
	}
	r.log.Info("recording saved", "path", r.path, "duration", frameDur(int(r.rec.Frames()), r.rate))
}

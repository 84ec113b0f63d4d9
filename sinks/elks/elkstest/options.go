package elkstest

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sinks/elks/internal/callfile"
)

// DefaultBufferLimit is the API's documented limit on buffered audio, 30
// MB, counted as decimal megabytes of audio bytes as sent (before base64).
const DefaultBufferLimit = 30_000_000

// Defaults of Options.
const (
	DefaultFrom = "+46700000000"
	DefaultTo   = "+46766000000"
)

// Options configures a simulated call.
type Options struct {
	// URL is the application's WebSocket URL, such as
	// ws://127.0.0.1:8095/?token=s3cret (http and https work too). Run,
	// which is given its connection, only puts it in the report.
	URL string
	// TLS configures the connection to a wss:// URL (its RootCAs: the
	// certificates of an application whose CA the system does not
	// trust, see LoadCA); nil: the system's defaults.
	TLS *tls.Config
	// CallID, From and To go in the hello message. CallID defaults to 32
	// random hex digits, From to DefaultFrom, To to DefaultTo.
	CallID, From, To string
	// Speed is how many times faster than real time the call runs; 0
	// means 1.
	Speed float64
	// Duration is how long the caller stays on the line, in call time:
	// then the simulator hangs up with bye reason "hangup". 0 means until
	// the application ends the call.
	Duration time.Duration
	// RTT is the round-trip delay added to every sync answer, in call
	// time.
	RTT time.Duration
	// BufferLimit is the most audio the simulator buffers, in bytes as
	// sent; more ends the call with bye reason "error". 0 means
	// DefaultBufferLimit.
	BufferLimit int64
	// Record, if set, is the path of a WAV file (16-bit mono) that
	// receives what the caller heard: the audio as played, with silence
	// for gaps, from the call's start (silence until the first audio) to
	// the last played sample, so that it runs in call time. "{callid}" in
	// the path is replaced by the call id, reduced to letters, digits,
	// '+', '-' and '_' (anything else becomes '_'), as a Session's
	// recordings are named. A file already there is replaced.
	Record string
	// RecordRate is the sample rate of the recording; 0 means the rate of
	// the first audio played. Audio at other rates is resampled.
	RecordRate int
	// Say, if set, is the caller's voice: once the application sends
	// listening, the simulator opens it and sends its audio in the
	// listening format, in 20 ms messages paced at Speed.
	Say pipeline.Opener
	// DTMF are the keys the caller presses: each a DTMF tone (PressTone
	// at PressLevel) mixed into the caller's audio at its call time, in
	// the listening format; with no Say, into silence. Report.Digits
	// tells what the caller heard after each. ParsePresses reads them
	// from text such as "1@2s,5@4s".
	DTMF []Press
	// Logger receives the simulator's logs; nil means none.
	Logger *slog.Logger
}

// Check reports whether o is usable, without connecting: the URL's form
// and the ranges of the numbers.
func (o Options) Check() error {
	_, err := o.normalize(true)
	return err
}

// normalize checks o and fills in its defaults. The URL is checked when
// the call dials it (Call, Calls, Check); Run only reports it.
func (o Options) normalize(dialling bool) (Options, error) {
	if dialling {
		if err := checkURL(o.URL); err != nil {
			return o, err
		}
	}
	if o.Speed == 0 {
		o.Speed = 1
	}
	if o.Speed < 0 || o.Speed > 1e6 || o.Speed != o.Speed {
		return o, fmt.Errorf("speed %g out of range (0, 1000000]", o.Speed)
	}
	if o.Duration < 0 || o.RTT < 0 {
		return o, errors.New("negative duration or RTT")
	}
	if o.BufferLimit == 0 {
		o.BufferLimit = DefaultBufferLimit
	}
	if o.BufferLimit < 0 {
		return o, fmt.Errorf("negative buffer limit %d", o.BufferLimit)
	}
	if o.RecordRate != 0 {
		if err := (pipeline.Format{Rate: o.RecordRate, Channels: 1}).Validate(); err != nil {
			return o, fmt.Errorf("record rate: %v", err)
		}
	}
	if err := checkPresses(o.DTMF); err != nil {
		return o, fmt.Errorf("dtmf: %v", err)
	}
	if o.CallID == "" {
		o.CallID = randomID()
	}
	if o.From == "" {
		o.From = DefaultFrom
	}
	if o.To == "" {
		o.To = DefaultTo
	}
	o.Record = strings.ReplaceAll(o.Record, "{callid}", callfile.SafeName(o.CallID))
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o, nil
}

// randomID returns 32 random hex digits, like 46elks' call ids.
func randomID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// checkURL reports whether u is a URL the simulator can dial.
func checkURL(u string) error {
	if u == "" {
		return errors.New("no URL to call")
	}
	p, err := url.Parse(u)
	if err != nil {
		return fmt.Errorf("bad URL %q: %v", redact(u), err)
	}
	switch p.Scheme {
	case "ws", "wss", "http", "https":
	default:
		return fmt.Errorf("bad URL %q: want ws://HOST:PORT/PATH (or wss://)", redact(u))
	}
	if p.Host == "" {
		return fmt.Errorf("bad URL %q: no host", redact(u))
	}
	return nil
}

// redactRE finds the value of a token in a URL's query.
var redactRE = regexp.MustCompile(`([?&][Tt][Oo][Kk][Ee][Nn]=)[^&#]*`)

// redact returns u with the value of its token parameter hidden, for
// reports and logs: ws://h/p?token=s3cret becomes ws://h/p?token=xxx.
func redact(u string) string { return redactRE.ReplaceAllString(u, "${1}xxx") }

package sources

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"

	"github.com/elkspipe/elkspipe/internal/live"
	"github.com/elkspipe/elkspipe/internal/media"
	"github.com/elkspipe/elkspipe/internal/mp3"
	"github.com/elkspipe/elkspipe/pipeline"
)

func init() {
	pipeline.Register(pipeline.Element{
		Name:    "stream",
		Kind:    pipeline.KindSource,
		Summary: "a live HTTP audio stream (Icecast/Shoutcast MP3): endless, shared by every call, silence while it is down",
		Example: "stream http://radio.example:8000/hold.mp3 | elks format=ulaw",
		Details: streamDetails,
		Params: []pipeline.Param{
			{Name: "url", Type: pipeline.TypeString, Positional: true, Required: true,
				Doc: "the http or https URL of the stream"},
		},
		Extent: func(pipeline.Args, pipeline.Extent) pipeline.Extent { return pipeline.ExtentEndless },
		Live:   true,
		NewSource: func(a pipeline.Args) (pipeline.Opener, error) {
			u := a.String("url")
			if _, err := media.CheckURL(u); err != nil {
				return nil, err
			}
			return Stream(u), nil
		},
	})
}

var (
	streamsMu sync.Mutex
	streams   *live.Streams
)

// liveStreams returns the process's live streams, made at first use.
func liveStreams() *live.Streams {
	streamsMu.Lock()
	defer streamsMu.Unlock()
	if streams == nil {
		streams = live.New(live.Options{Decode: decodeLive})
	}
	return streams
}

// Stream returns an Opener of the live HTTP audio stream at the http or
// https URL u (Icecast, Shoutcast, or any server that sends MP3 or WAV
// without an end): an endless Source of the stream's audio from the
// moment it is opened. All the openings of u in the process share one
// connection, whose ICY metadata is stripped; it closes a few seconds
// after the last one is closed. When the connection drops, the Source
// plays silence, paced in real time, while the stream is reconnected with
// a backoff (0.5 s doubling to 10 s); a warning is logged on log/slog's
// default logger at the drop and an info line at the reconnection. A
// stream that is down when it is first opened (the connection fails or
// times out, an HTTP error status: an Icecast mount answers 404 until its
// source connects) plays silence at once, 44.1 kHz stereo, while it is
// retried the same way, with a warning (see live.Streams.OpenDown), so
// that a server starts and answers calls while its stream is away; only
// a stream whose content is no audio elkspipe plays (an HTML page, Ogg)
// fails the opening, with the error.
// The audio is not cached on disk, and it depends on the moment of
// opening: the Source implements pipeline.LiveSource, and the stream
// element is marked pipeline.Element.Live. See docs/urls.md.
//
// A URL of an M3U, M3U8 or PLS list (what radio sites link to, such as
// listen.pls) is fetched through the download cache, and its http(s)
// entries are tried in order: the first that plays is the stream.
func Stream(u string) pipeline.Opener {
	return func(ctx context.Context) (pipeline.Source, error) {
		if _, err := media.CheckURL(u); err != nil {
			return nil, err
		}
		if isPlaylistName(urlPath(u)) {
			return openStreamList(ctx, u)
		}
		l, err := liveStreams().Open(ctx, u)
		if err != nil {
			if ctx.Err() != nil || !live.Passing(err) {
				return nil, err
			}
			return liveStreams().OpenDown(ctx, u, streamDownFormat), nil
		}
		return l, nil
	}
}

// streamDownFormat is the format of the silence of a stream that is down
// when it is first opened (live.Streams.OpenDown): that of most MP3
// streams, which then play unconverted.
var streamDownFormat = pipeline.Format{Rate: 44100, Channels: 2}

// openStreamList plays the first entry of the playlist at u that plays.
func openStreamList(ctx context.Context, u string) (pipeline.Source, error) {
	items, err := readList(ctx, u)
	if err != nil {
		return nil, err
	}
	var errs []string
	down := "" // the first entry that failed with an error that may pass
	for _, it := range items {
		err := it.Err
		if err == nil && !isHTTP(it.Path) {
			err = errors.New("is not an http(s) URL")
		}
		if err == nil {
			var l *live.Listener
			if l, err = liveStreams().Open(ctx, it.Path); err == nil {
				return l, nil
			}
			if ctx.Err() != nil {
				return nil, err
			}
			if down == "" && live.Passing(err) {
				down = it.Path
			}
		}
		errs = append(errs, fmt.Sprintf("%q: %v", it.Path, err))
	}
	if len(errs) == 0 {
		return nil, errors.New("the playlist lists no streams")
	}
	if down != "" {
		// Down for now: the first entry that may come back is retried.
		slog.Warn("no entry of a live stream playlist plays: the calls hear silence while the first is retried",
			"playlist", u, "stream", down, "errors", strings.Join(errs, "; "))
		return liveStreams().OpenDown(ctx, down, streamDownFormat), nil
	}
	return nil, fmt.Errorf("no entry of the playlist plays: %s", strings.Join(errs, "; "))
}

// decodeLive decodes a live stream's body as Decode does, but finds an
// MP3 stream joined in the middle of a frame (a server's burst of recent
// audio starts anywhere) in the first frames that come, where Decode would
// wait for 64 KiB (seconds of a radio stream) to look for them.
func decodeLive(r io.Reader) (pipeline.Source, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(12)
	if len(head) < 12 {
		if err == nil || err == io.EOF {
			err = errors.New("the stream ended before its first bytes")
		}
		return nil, err
	}
	if media.Sniff(head) != "" {
		return Decode(br)
	}
	for size := 2 << 10; ; size *= 2 {
		more, err := br.Peek(min(size, br.Size()))
		if mp3.FindStream(more) {
			return DecodeMP3(br)
		}
		if err != nil || size >= br.Size() {
			return Decode(br) // not MP3: Decode says what it is
		}
	}
}

// StreamStats are the counters of a live stream (see StreamCounters).
type StreamStats = live.Stats

// StreamCounters returns the counters of the live stream at u: listeners
// now, connections that delivered audio, drops, and the frames listeners
// lost to lag or were given as silence.
func StreamCounters(u string) StreamStats { return liveStreams().Stats(u) }

func streamDetails() string {
	return `The URL is played live: every call hears the stream as it is now, starting with the last
second of it, not from the beginning. All the calls and loop iterations that play one URL
share one connection, opened by the first and closed 5 s after the last one leaves. MP3 (and
WAV) streams are decoded, Icecast and Shoutcast alike, chunked or not; the ICY metadata that
such servers put between the audio when asked (icy-metaint) is removed.

When the connection drops, or sends nothing for 10 s, the calls hear silence, paced in real
time, and the stream is reconnected: 0.5 s after the drop, then waiting twice as long after
each failed attempt, up to 10 s. A warning is logged at the drop ("live stream dropped") and
an info line when it is back ("live stream reconnected", with the outage's length). A call
never ends because its stream does.

A stream that is down when it is first opened (refused, timed out, an HTTP error such as the
404 of an Icecast mount whose source has not connected) does not fail: the calls hear silence
while it is retried the same way, and a warning says so ("live stream unreachable"), so that
a server starts while its stream is away. Only a stream that answers with something that is
not audio (an HTML page, Ogg) fails, with the error.

Calls read the stream at their own pace: a call more than 2 s behind the stream loses its
oldest audio, and one ahead of it with nothing to play gets silence; both are counted.
A URL of an M3U, M3U8 or PLS list (a radio's listen.pls) plays the first of its entries
that plays. Nothing is cached on disk. A plain http URL given to file that answers like a
live stream (no length, icy- headers) is refused with a pointer to stream. See docs/urls.md.
`
}

// StreamURLs returns the URLs of the live streams opened in this process,
// sorted, whose counters StreamCounters keeps.
func StreamURLs() []string { return liveStreams().URLs() }

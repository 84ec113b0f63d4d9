package elks

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sources"
)

func init() {
	pipeline.Register(pipeline.Element{
		Name: "elks",
		Kind: pipeline.KindSink,
		Summary: "serve the pipeline into phone calls of the 46elks Realtime Voice API: a WebSocket server " +
			"where every call plays a fresh instance, paced by sync checkpoints",
		Example: "file hold.mp3 | loop | elks format=ulaw listen=:8095",
		Details: formatsText,
		Params: append([]pipeline.Param{
			{Name: "format", Type: pipeline.TypeEnum, Positional: true, Choices: formatNames(), Default: string(DefaultFormat),
				Hints: formatHints,
				Doc:   "audio sent to the caller (the table below); wav or mp3 pass the files through untouched"},
			{Name: "listen", Type: pipeline.TypeString, Default: DefaultAddr,
				Doc: "address to listen on, host:port"},
			{Name: "path", Type: pipeline.TypeString, Default: DefaultPath,
				Doc: "URL path of calls (46elks connects to ws://host:port/path); GET /healthz reports the calls"},
			{Name: "token", Type: pipeline.TypeString, Secret: true,
				Doc: "shared secret the URL must carry as ?token=... (401 when missing, 403 when wrong); printed as xxx; " +
					"env:NAME reads it from an environment variable, file:PATH from a file (re-read on SIGHUP), so that it does not show in ps"},
			pipeline.Param{Name: "chunk", Type: pipeline.TypeDuration, Default: "100ms",
				Doc: "audio per message (wav, mp3: the shortest piece of a file; pieces grow with the room in the window, up to a checkpoint and 32 KiB)"}.Range(0.01, 0.5),
			pipeline.Param{Name: "window", Type: pipeline.TypeDuration, Default: "2s",
				Doc: "audio kept queued at the API beyond its last confirmed checkpoint; no gap while it exceeds the round trip"}.Range(0.1, 60),
			pipeline.Param{Name: "checkpoint", Type: pipeline.TypeDuration, Default: "500ms",
				Doc: "a sync at least this often (and at every loop iteration and playlist item end); wav, mp3: 5s unless given"}.Range(0.02, 30),
			{Name: "hangup", Type: pipeline.TypeBool, Default: "true",
				Doc: "hang up once the audio has played; false keeps the call open, silent, until the caller hangs up"},
			{Name: "record", Type: pipeline.TypePath,
				Doc: "write the caller's audio to this WAV file per call; {callid} {from} {to} {time} are replaced; " +
					"the folder up to the first {placeholder} is created (and checked writable) at start"},
			{Name: "record-mode", Type: pipeline.TypeEnum, Choices: recordModes, Default: string(RecordCaller),
				Doc: "caller: record= holds the caller, mono; both: a stereo WAV, the caller left and what the caller heard right, on the call's clock"},
			pipeline.Param{Name: "cushion", Type: pipeline.TypeDuration, Default: "10ms",
				Doc: "with caller or exec: silence live audio starts with, so that caller audio this late leaves no gap (adds as much to the echo's delay; 0: none)"}.Range(0, 1),
			pipeline.Param{Name: "cushion-max", Type: pipeline.TypeDuration, Default: "30ms",
				Doc: "with caller played back (an echo): the cushion grows by each gap late caller audio left, up to this, and shrinks back toward cushion= by 5ms per 5s that did not need it (0: fixed at cushion=)"}.Range(0, 1),
			pipeline.Param{Name: "max-lag", Type: pipeline.TypeDuration, Default: "0s",
				Doc: "with caller played back: the most the echo falls behind its cushion after late or starved caller audio; beyond it the oldest is dropped, counted as caller_dropped (0: no bound but 1s; the delay is won back in the caller's pauses)"}.Range(0, 1),
			{Name: "speech", Type: pipeline.TypeBool, Default: "false",
				Doc: "detect when the caller starts and stops talking (energy-based, docs/ivr.md) and tell exec programs (speech, speech-end events); barge-in=voice turns it on"},
			{Name: "dtmf", Type: pipeline.TypeBool, Default: "false",
				Doc: "detect the keys the caller presses (in-band tones: 46elks sends no message) and log each with digit="},
			pipeline.Param{Name: "record-max", Type: pipeline.TypeDuration, Default: "4h",
				Doc: "longest recording per call; caller audio arriving faster than real time is left out too"}.Range(1, 12*3600),
			pipeline.Param{Name: "max-calls", Type: pipeline.TypeInt, Default: "0",
				Doc: "calls served at once (0: no limit); more are refused with 503"}.Range(0, 1e6),
			pipeline.Param{Name: "overload-lag", Type: pipeline.TypeDuration, Default: "200ms",
				Doc: "refuse new calls (503, /readyz 503) while the server's scheduling lag reaches this, so that the calls it has keep playing without gaps; admit again once it stays below half for 1s (0: never refuse)"}.Range(0, 60),
			pipeline.Param{Name: "hello-timeout", Type: pipeline.TypeDuration, Default: "10s",
				Doc: "how long a new connection may wait before the API's hello"}.Range(0.1, 600),
			{Name: "tls-cert", Type: pipeline.TypePath,
				Doc: "PEM certificate (with its chain) to serve wss:// directly, with tls-key=; re-read on SIGHUP"},
			{Name: "tls-key", Type: pipeline.TypePath,
				Doc: "PEM private key of tls-cert="},
			{Name: "metrics-listen", Type: pipeline.TypeString,
				Doc: "address of its own for GET /metrics (Prometheus) and the probes /livez /readyz /healthz; default: beside the calls"},
			pipeline.Param{Name: "ping", Type: pipeline.TypeDuration, Default: "20s",
				Doc: "WebSocket ping this often, so that proxies keep idle calls; a call whose pong does not come back within it is dropped (0: no pings)"}.Range(0, 3600),
			pipeline.Param{Name: "shutdown-timeout", Type: pipeline.TypeDuration, Default: "1h",
				Doc: "on Ctrl-C or SIGTERM, how long calls may finish before a bye (long: a caller on hold is not cut by a deploy)"}.Range(0, 7*24*3600),
			pipeline.Param{Name: "drain-delay", Type: pipeline.TypeDuration, Default: "5s",
				Doc: "on SIGTERM, how long calls are still accepted while /readyz answers 503, so that balancers notice (Ctrl-C: none)"}.Range(0, 3600),
			// Ogg Opus encoder settings.
			pipeline.Param{Name: "bitrate", Type: pipeline.TypeRate, Default: "24k",
				Doc: "format=ogg: Opus bit rate in bits per second"}.Range(6000, 510000),
			pipeline.Param{Name: "complexity", Type: pipeline.TypeInt, Default: "5",
				Doc: "format=ogg: Opus encoder effort, 1 (fastest) to 10 (best)"}.Range(1, 10),
			pipeline.Param{Name: "frame", Type: pipeline.TypeDuration, Default: "20ms",
				Doc: "format=ogg: audio per Opus packet: 2.5ms, 5ms, 10ms, 20ms, 40ms or 60ms"}.Range(0.0025, 0.06),
		}, ivrParams()...),
		NewSink: func(a pipeline.Args) (pipeline.Sink, error) {
			if Format(a.String("format")) != Ogg && (a.Has("bitrate") || a.Has("complexity") || a.Has("frame")) {
				return nil, errors.New("bitrate, complexity and frame apply to format=ogg only")
			}
			token, err := ResolveToken(a.String("token"))
			if err != nil {
				return nil, err
			}
			srv := &Server{
				Addr:     a.String("listen"),
				Path:     a.String("path"),
				Token:    token,
				MaxCalls: a.Int("max-calls"),
				KeepOpen: !a.Bool("hangup"),
				Config: Config{
					Format:       Format(a.String("format")),
					Codec:        CodecOptions{Bitrate: a.Int("bitrate"), Complexity: a.Int("complexity"), Frame: a.Duration("frame")},
					Chunk:        a.Duration("chunk"),
					Window:       a.Duration("window"),
					Checkpoint:   a.Duration("checkpoint"),
					HelloTimeout: a.Duration("hello-timeout"),
					Record:       a.String("record"),
					RecordMax:    a.Duration("record-max"),
					RecordMode:   RecordMode(a.String("record-mode")),
					Cushion:      a.Duration("cushion"),
					CushionMax:   a.Duration("cushion-max"),
					MaxLag:       a.Duration("max-lag"),
					DTMF:         a.Bool("dtmf"),
					Speech:       a.Bool("speech"),
					Ping:         a.Duration("ping"),
					RenderCache:  DefaultRenderCache,
				},
				ShutdownTimeout: a.Duration("shutdown-timeout"),
				DrainDelay:      a.Duration("drain-delay"),
				TLSCert:         a.String("tls-cert"),
				TLSKey:          a.String("tls-key"),
				Metrics:         NewMetrics(),
				MetricsAddr:     a.String("metrics-listen"),
			}
			if !a.Has("checkpoint") {
				srv.Config.Checkpoint = 0 // the format's default (DefaultFileCheckpoint for wav, mp3)
			}
			if srv.Config.Cushion == 0 {
				srv.Config.Cushion = -1 // cushion=0: none
			}
			if srv.Config.CushionMax == 0 {
				srv.Config.CushionMax = -1 // cushion-max=0: fixed at cushion=
			}
			switch p := srv.Config.Ping; {
			case p == 0:
				srv.Config.Ping = -1 // ping=0: no pings
			case p < 10*time.Millisecond:
				return nil, fmt.Errorf("ping=%v: want 0 (no pings) or at least 10ms", p)
			}
			if srv.OverloadLag = a.Duration("overload-lag"); srv.OverloadLag == 0 {
				srv.OverloadLag = -1 // overload-lag=0: never refuse for lag
			}
			if srv.ShutdownTimeout == 0 {
				srv.ShutdownTimeout = -1 // shutdown-timeout=0: hang up at once
			}
			srv.TokenFile = TokenFile(a.String("token")) // token=file:PATH is read again on SIGHUP
			menu, err := newIVR(a, srv.Config.Format)
			if err != nil {
				return nil, err
			}
			if menu != nil {
				srv.Config.DTMF = true
				srv.Config.Speech = srv.Config.Speech || menu.voice
			}
			k, err := NewSink(srv)
			if err != nil {
				return nil, err
			}
			k.ivr = menu
			return k, nil
		},
	})
}

// formatHints answers the names users give formats that the API names
// otherwise.
var formatHints = map[string]string{
	"opus":  "Ogg Opus is format=ogg",
	"pcm":   "PCM is format=pcm_8000, pcm_16000 or pcm_24000 (16-bit, by sample rate)",
	"pcmu":  "G.711 µ-law is format=ulaw",
	"mulaw": "G.711 µ-law is format=ulaw",
	"pcma":  "G.711 A-law is format=alaw",
	"g711":  "G.711 is format=ulaw (µ-law) or format=alaw (A-law)",
}

// Sink is the elks sink: a pipeline ending in it serves phone calls, each
// with a fresh instance of the pipeline's source chain (it is a
// pipeline.Server, so pipeline.Build and Run hand it the Graph).
type Sink struct {
	srv *Server
	ivr *ivr // barge-in and menu (menu.go), nil for none
}

// NewSink returns a sink that serves calls with srv. It checks srv's
// Config (the format must have a codec, or be wav or mp3). When the sink
// serves a pipeline and srv.Handler is nil, it sets it to play the
// pipeline.
func NewSink(srv *Server) (*Sink, error) {
	cfg, err := srv.Config.withDefaults()
	if err != nil {
		return nil, err
	}
	if why := reservedPath(srv.path()); why != "" {
		return nil, errors.New("path=" + why)
	}
	if info, _ := cfg.Format.Info(); !info.File {
		if _, err := NewEncoderOptions(cfg.Format, cfg.Codec); err != nil {
			return nil, err
		}
	}
	return &Sink{srv: srv}, nil
}

// Server returns the server the sink runs, to set its Logger or OnListen
// before the pipeline runs.
func (k *Sink) Server() *Server { return k.srv }

// Want asks for the format's rate, mono. The file formats take what the
// pipeline offers: their files are not decoded.
func (k *Sink) Want(offered pipeline.Format) pipeline.Format {
	f := k.srv.Config.Format
	if f == "" {
		f = DefaultFormat
	}
	info, err := f.Info()
	if err != nil || info.File {
		return offered
	}
	return pipeline.Format{Rate: info.Rate, Channels: 1}
}

// ErrNeedsServe is returned by the sink's Run.
var ErrNeedsServe = errors.New("the elks sink serves phone calls and opens the pipeline anew for each, " +
	"so it cannot play a single source: run it in a pipeline (pipeline.Build and Run, which call its Serve), " +
	"or use elks.Server directly")

// Run returns ErrNeedsServe.
func (k *Sink) Run(context.Context, pipeline.Source) error { return ErrNeedsServe }

// Serve checks the pipeline (that it opens, or for wav and mp3 that it is
// plain files, playlists and a loop, of the right type), then serves calls
// until ctx is cancelled, each playing a fresh instance of g.
func (k *Sink) Serve(ctx context.Context, g *pipeline.Graph) error {
	srv := k.srv
	f := srv.Config.Format
	if f == "" {
		f = DefaultFormat
	}
	info, err := f.Info()
	if err != nil {
		return err
	}
	if st, ok := g.StdinStage(); ok {
		return pipeline.Misconfigured(pipeline.StageErr(st.Name, errors.New("the elks sink opens the pipeline anew for every call, so it cannot read standard input: give a file")))
	}
	var handler Handler
	if info.File {
		plan, err := passthroughPlan(g, f)
		if err != nil {
			return pipeline.Misconfigured(err)
		}
		if err := plan.check(); err != nil {
			return err
		}
		handler = func(ctx context.Context, s *Session) error { return s.playPlan(ctx, plan) }
	} else {
		start := time.Now()
		cfg, _ := srv.Config.withDefaults() // checked by NewSink
		octx, release := withoutObserver(ctx)
		src, chain, err := g.Open(sources.WithExecHook(context.WithValue(octx, checkKey{}, cfg.ListenFormat), checkExec(cfg.Format)))
		if err == nil {
			pipeline.Close(src)
		}
		release()
		if err != nil {
			return err
		}
		names := make([]string, len(chain))
		for i, st := range chain {
			names[i] = st.Name
			if st.Auto {
				names[i] += " (auto)"
			}
		}
		srv.logger().Debug("pipeline checked", "chain", names, "took", time.Since(start))
		if srv.Config.RenderCache != nil {
			if text, ok := g.ShareKey(); ok {
				srv.logger().Debug("calls of the pipeline share renderings (docs/sharing.md)")
			} else {
				srv.logger().Debug("every call renders the pipeline privately: a stage is not deterministic", "stage", text)
			}
		}
		handler = GraphHandler(g)
	}
	if k.ivr != nil {
		if handler, err = k.ivrHandler(ctx, g); err != nil {
			return err
		}
	}
	if srv.Handler == nil {
		srv.Handler = handler
	}
	return srv.ListenAndServe(ctx)
}

// withoutObserver returns a context cancelled with ctx that carries none
// of its values, so no event observer: the start-up check opens the
// pipeline only to see that it opens, and its first loop iteration or
// playlist item is no stream event (the calls' events are their own).
// release cancels it once it is no longer needed.
func withoutObserver(ctx context.Context) (octx context.Context, release func()) {
	octx, cancel := context.WithCancel(context.Background())
	stop := context.AfterFunc(ctx, cancel)
	return octx, func() { stop(); cancel() }
}

// formatsText renders every format with its rate, its directions and
// whether this build has its codec, for `elkspipe inspect elks`.
func formatsText() string {
	var b strings.Builder
	b.WriteString("Formats:\n")
	tw := tabwriter.NewWriter(&b, 0, 8, 2, ' ', 0)
	var missing []string // why a format's codec is not in this build
	for _, f := range Formats() {
		rate := "(file's)"
		if f.Rate > 0 {
			rate = strconv.Itoa(f.Rate) + " Hz"
		}
		dir := "send"
		if f.Listen {
			dir = "send, listen (record=, caller)"
		}
		summary := f.Summary
		if !f.File {
			if _, err := codecFor(f.Format); err != nil {
				summary += " (not in this build, see below)"
				missing = append(missing, err.Error())
			}
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", f.Format, rate, dir, summary)
	}
	tw.Flush()
	for _, m := range missing {
		b.WriteByte('\n')
		writeWrapped(&b, "  ", m, 100)
	}
	b.WriteString(elksNotes)
	return b.String()
}

// writeWrapped writes text to b in lines of at most width runes, each
// starting with indent, breaking at spaces.
func writeWrapped(b *strings.Builder, indent, text string, width int) {
	n := 0
	for _, word := range strings.Fields(text) {
		k := utf8.RuneCountInString(word)
		if n > 0 && n+1+k > width {
			b.WriteByte('\n')
			n = 0
		}
		if n == 0 {
			b.WriteString(indent)
			n = utf8.RuneCountInString(indent)
		} else {
			b.WriteByte(' ')
			n++
		}
		b.WriteString(word)
		n += k
	}
	if n > 0 {
		b.WriteByte('\n')
	}
}

// elksNotes follows the table of formats in `elkspipe inspect elks`.
const elksNotes = `
Every call plays a fresh instance of the pipeline, converted to the format's rate, mono. A sync
checkpoint goes out at every loop iteration and playlist item end and at least every
checkpoint= of audio, and sending pauses while more than window= + checkpoint= is unconfirmed:
the caller hears no gap while window= exceeds the round trip by a chunk, and the API's 30 MB
buffer never overflows. When the audio ends, the caller hears all of it before the bye
(hangup=false keeps the call open, silent, until the caller hangs up); a bye from the API stops
the pipeline at once. wav and mp3 pass the files of file or playlist pipelines, optionally
looped, through untouched; any other stage there is refused. Protocol and formats in detail:
go doc github.com/elkspipe/elkspipe/sinks/elks; serving in production:
https://github.com/elkspipe/elkspipe/blob/main/docs/operations.md
`

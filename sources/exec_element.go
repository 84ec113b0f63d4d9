package sources

import (
	"errors"

	"github.com/elkspipe/elkspipe/pipeline"
)

func init() {
	pipeline.Register(pipeline.Element{
		Name:    "exec",
		Kind:    pipeline.KindSource,
		Summary: "a program's standard output as audio (WAV/MP3 recognised, or raw); in a call it also hears the caller",
		Example: `exec "espeak-ng --stdout Hello" | resample 8k | wav hello.wav`,
		Details: execDetails,
		Params: []pipeline.Param{
			{Name: "command", Type: pipeline.TypeString, Positional: true, Required: true,
				Doc: "the program and its arguments, split like a shell word list (quotes, backslashes); no shell unless you write sh -c '...'"},
			{Name: "enc", Type: pipeline.TypeEnum, Choices: []string{"auto", "s16le", "f32le", "ulaw", "alaw"},
				Doc: "output encoding: auto recognises WAV or MP3; the others are raw (default: auto, or s16le in a call)"},
			{Name: "rate", Type: pipeline.TypeRate,
				Doc: "raw output's sample rate (default 16000, 8000 for ulaw/alaw; in a call the call format's rate, also for standard input)"},
			pipeline.Param{Name: "channels", Type: pipeline.TypeInt,
				Doc: "raw output's channel count (default 1)"}.Range(1, pipeline.MaxChannels),
			pipeline.Param{Name: "grace", Type: pipeline.TypeDuration, Default: "2s",
				Doc: "time between SIGTERM and SIGKILL when the program is stopped"}.Range(0, 60),
		},
		NewSource: newExecElement,
	})
}

// newExecElement builds the exec element's Opener from its arguments.
func newExecElement(a pipeline.Args) (pipeline.Opener, error) {
	args, err := SplitWords(a.String("command"))
	if err != nil {
		return nil, err
	}
	if len(args) == 0 {
		return nil, errors.New("the command is empty")
	}
	enc := a.String("enc")
	if enc == "auto" && (a.Has("rate") || a.Has("channels")) {
		return nil, errors.New("rate= and channels= describe raw output: with enc=auto the output's own header says them")
	}
	plain := ExecOptions{Grace: a.Duration("grace")}
	call := plain
	raw := func(def pipeline.Encoding) (*RawOptions, error) {
		e := def
		if enc != "" {
			if e, err = pipeline.ParseEncoding(enc); err != nil {
				return nil, err
			}
		}
		opt := &RawOptions{Encoding: e}
		if a.Has("rate") {
			opt.Rate = a.Int("rate")
		}
		if a.Has("channels") {
			opt.Channels = a.Int("channels")
		}
		return opt, nil
	}
	if enc != "auto" {
		if enc != "" || a.Has("rate") || a.Has("channels") {
			if plain.Raw, err = raw(pipeline.S16LE); err != nil {
				return nil, err
			}
		}
		if call.Raw, err = raw(pipeline.S16LE); err != nil {
			return nil, err
		}
	}
	return execOpener(args, plain, call)
}

func execDetails() string {
	return `The command runs anew at every open — every loop iteration, playlist round and call — like a
file opened again, in a process group of its own, with standard input /dev/null. Its standard
output is the audio: WAV or MP3 recognised by content (enc=auto, the default), or raw samples
when enc=, rate= or channels= is given. Its standard error goes to the log, line by line. The
source ends when the output ends and the program exits 0; a non-zero exit is an error quoting
the command and its last standard error line. When the pipeline stops, the program gets
SIGTERM, then SIGKILL after grace=. Its length is unknown: bound it (trim, or dur= of a sink)
if it may not end. Examples:
  exec "espeak-ng --stdout 'Welcome to elkspipe'" | resample 8k | wav hello.wav
  exec "ffmpeg -loglevel error -i music.flac -f wav -" | elks format=ulaw
  exec "sh -c 'sox song.ogg -t wav - | sox - -t wav - reverse'" | wav out.wav
In a pipeline served by elks, the command runs once per call and also hears the caller: standard
input gets the caller's audio as raw 16-bit little-endian mono at rate= (default: the call
format's rate), standard output is read as raw s16le at that rate unless enc= says otherwise,
ELKS_CALLID, ELKS_FROM, ELKS_TO, ELKS_RATE and ELKS_FORMAT are set, and JSON lines on file descriptors 3
(events: marks played, digits) and 4 (actions: interrupt, hangup, mark) make a control channel.
The program ending ends its side of the call; the call ending stops the program. Protocol and a
complete example: https://github.com/elkspipe/elkspipe/blob/main/docs/exec.md
`
}

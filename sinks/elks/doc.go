// Package elks serves elkspipe pipelines into live phone calls through the
// 46elks Realtime Voice API.
//
// 46elks connects every call to a WebSocket server that the application
// runs. A [Server] accepts those connections; each call gets a [Session],
// which its [Handler] uses to play audio into the call and, optionally, to
// hear the caller. The package is layered like pipecat's serializer and
// transport: the protocol (messages and their JSON, the audio formats and
// their codecs) is usable on its own; a Session runs one call over any
// [Transport] (a WebSocket, or [Pipe] in memory); the Server adds HTTP,
// tokens, limits and graceful shutdown. Importing the package registers the
// elks sink with pipeline.DefaultRegistry, so pipe syntax ending in elks
// serves calls:
//
//	elkspipe 'file hold.mp3 | loop | elks format=ulaw'
//
// `elkspipe inspect elks` lists the sink's parameters and the formats of the
// build at hand.
//
// # Serving calls from Go
//
// A Handler chooses the audio per call, e.g. by the number called
// (Session.Hello), and plays it with Session.PlayOpener (loop iterations and
// playlist items become checkpoints), PlayFile, PlayGraph or Play. A
// Session also offers Drain (wait until the caller has heard everything
// sent), Interrupt (clear what the caller has not heard yet: pending
// checkpoints become void and the next audio starts with a new sending),
// Hangup, End and Stats. [TextHandler] builds a Handler from pipe syntax,
// and Server is an http.Handler for your own mux; Server.ListenAndServe
// shuts down gracefully when its context is cancelled. The simulator of the
// API, for tests without a phone, is the command `elkspipe simulate` and
// the package [github.com/elkspipe/elkspipe/sinks/elks/elkstest].
//
// # Shared renderings
//
// With Config.RenderCache set (the elks sink sets [DefaultRenderCache]),
// calls whose PlayGraph plays the same deterministic pipeline
// ([pipeline.Graph.ShareKey]) in the same format share one rendering of it:
// decoded, converted, encoded and turned into the JSON of each audio
// message once, then replayed by every call from its own start through
// its own sync window, byte for byte what a private rendering sends. A
// file changed on the disk gives new calls a fresh rendering. See
// [RenderCache] and docs/sharing.md.
//
// # The protocol
//
// Every message is one JSON object in a WebSocket text message, its type
// in the "t" field ([Marshal], [Unmarshal]). The API opens every call with
// hello (callid, from, to). The application declares the format of the
// audio it sends with sending, then sends audio messages (base64 in
// "data"), and may ask for the caller's audio with listening. A sync from
// the application is a checkpoint: the API answers it with a sync once all
// audio sent before it has been played. interrupt drops the API's buffered
// audio; audio is ignored until the next sending. bye ends the call from
// either side; the API's bye carries a reason: hangup (the caller hung up),
// done or error. Malformed and unknown messages from the API are logged
// (rate-limited), counted and survived.
//
// On every call a Session waits for hello (Config.HelloTimeout, 10 s),
// sends listening when recording, then sending and audio messages of
// Config.Chunk (100 ms) each, well under 64 KiB of JSON.
//
// # Backpressure
//
// The API buffers what it is sent and plays it in real time; its buffer
// holds at most 30 MB and overflowing it ends the call. A Session therefore
// sends a sync checkpoint at every loop iteration and playlist item end and
// at least every Config.Checkpoint (500 ms; 5 s in wav and mp3) of audio, and stops sending
// while more than Config.Window (2 s) plus a checkpoint is queued beyond
// the last answered checkpoint. The caller hears no gap as long as the
// window exceeds the network round trip by a chunk; a byte guard
// ([MaxBytesInFlight], 8 MiB) bounds what is in flight whatever the
// settings. A looped file thus plays for hours with no gap and a bounded
// buffer, where a client that sends as fast as it can overflows the API and
// one that sends in real time leaves gaps.
//
// # Endings
//
// When the audio ends, the Session sends a final sync, waits until the
// caller has heard everything, then sends bye (the sink's hangup=false
// keeps the call open, silent, until the caller hangs up). The API's bye
// stops the pipeline at once and closes every stage; a dropped connection
// counts as a hangup. [End] says who ended the call and why.
//
// # Formats
//
// [Formats] lists them for the build at hand; pcm_16000 is the default
// (wideband and exact). Quality is the SNR of a 997 Hz tone at −6 dBFS
// through the format's encoder and decoder; bandwidth is per call and
// direction, as audio bytes and as the JSON that carries them with 100 ms
// chunks (go test -run FormatQuality -v ./sinks/elks, with
// -tags opus,nolibopusfile for ogg):
//
//	format                       rate      directions    SNR        audio B/s   JSON B/s
//	pcm_8000                     8 kHz     send, listen  92.1 dB    16000       21563
//	pcm_16000 (default)          16 kHz    send, listen  92.0 dB    32000       42897
//	pcm_24000                    24 kHz    send, listen  92.0 dB    48000       64230
//	ulaw (G.711 µ-law)           8 kHz     send, listen  37.7 dB     8000       10897
//	alaw (G.711 A-law)           8 kHz     send, listen  39.1 dB     8000       10897
//	g722 (G.722, 64 kbit/s)      16 kHz    send, listen  47.6 dB     8000       10897
//	ogg (Opus in Ogg, 24 kbit/s) 48 kHz    send, listen  34.8 dB     3502        4899
//	wav, mp3                     the file  send          the file's  the file's  ×4/3
//
// PCM is 16-bit little-endian mono, what every public integration uses.
// µ-law and A-law are bit-exact with ffmpeg's encoders.
//
// G.722 is elkspipe's own pure-Go encoder and decoder, bit-exact with
// ffmpeg's g722 on speech-like signals, tones, sweeps, silence and
// full-scale noise. The codec delays audio by 22 samples (1.4 ms). The
// encoder takes samples in pairs: a stream that ends on an odd sample has it
// paired with itself, as ffmpeg does. After an interrupt the next sending
// starts a new G.722 stream: the encoder is reset, and the simulator and
// recordings start a fresh decoder.
//
// Ogg Opus needs libopus through cgo, so it is in an optional build
// (go build -tags opus,nolibopusfile, with libopus-dev installed); without
// it, format ogg says exactly that. Its options ([CodecOptions]; the sink's
// bitrate=, complexity=, frame=) default to 24 kbit/s, complexity 5 and
// 20 ms frames; 12 kbit/s gives 20.5 dB at 2.1 kB/s and 64 kbit/s 42 dB at
// 8.4 kB/s. The Ogg stream is elkspipe's own: pre-skip from the encoder's
// lookahead, exact granule positions, OpusTags, and every chunk a Session
// sends ends on a page boundary so nothing is held back; after an interrupt
// a new logical stream (new serial number, new headers) starts.
//
// The wav and mp3 formats pass files through untouched, for pipelines of
// file or playlist sources, optionally looped (PlayFile, PlayGraph):
// pieces of at most 32 KiB (as in 46elks' example), each as long as the
// window has room for and at least a chunk, ending between frames, with a
// sending and a sync per file — 46elks' own looping example, done with
// the window rule. Their checkpoint interval defaults to
// DefaultFileCheckpoint (5 s): a short looped file goes out as in the
// example, in three pieces of a 5 s WAV of 8 kHz and one sync per
// iteration, but without its gap at every joint. The base64 of a kept
// file is made once and copied by every call that sends it. Any
// other stage in such a pipeline is refused with its name. A looped file
// is kept as sources.File keeps it: a call keeps a copy of the bytes it
// sent (shared by all calls per version of the file, at most 64 MiB per
// process) and sends it again when the file is later deleted, truncated
// or spoilt, logging that once; a file renamed over it is sent from the
// next iteration; a new call fails at its start, naming the file.
//
// # Recording the caller
//
// Config.Record writes each caller's audio (decoded, mono, 16-bit) to a WAV
// file that stays valid even if the call drops; the template fills in
// {callid}, {from}, {to} and {time}, reduced to safe file-name characters,
// and an existing file is never overwritten. The recording is written by
// a goroutine of its own, so a slow disk never delays the call's sync
// replies; a disk that falls about five seconds behind loses audio, which
// Stats.RecordDropped counts. With Config.RecordMode RecordBoth the file is
// stereo: the caller on the left, what the caller heard on the right,
// placed on the call's clock by the sync replies.
//
// # Hearing the caller
//
// Session.Caller is the caller's audio as a source (the caller element in
// pipe syntax); Config.DTMF and Session.Digits give the keys pressed;
// Config.Speech and Session.Speech say when the caller starts and stops
// talking (barge-in=voice interrupts on it). While a Caller source is
// open, live audio sent into the API's empty buffer starts with
// Config.Cushion of silence, so that late caller messages leave no gap;
// for an echo (the caller element played back) the cushion grows with
// the jitter seen, up to Config.CushionMax, and the delay that late audio
// added is won back in the caller's pauses (Config.MaxLag, when set,
// bounds it by dropping the oldest caller audio).
package elks

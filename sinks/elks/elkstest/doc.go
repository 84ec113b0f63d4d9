// Package elkstest plays the part of the 46elks Realtime Voice API against
// an application, for tests and load tests (as net/http/httptest plays a
// client or a server): elkspipe's elks sink, or any other application.
//
// Call connects to the application's WebSocket URL as the API does for
// every call, and Calls makes many calls at once; Drive makes them arrive
// at a rate and hands over each report as its call ends, for a
// Summarizer, and MeasureLag tells whether the simulator itself was short
// of CPU meanwhile. The simulator sends hello, plays the audio it receives
// on a simulated clock, answers each sync once the audio before it has
// been played, obeys sending and
// interrupt, enforces the buffer limit, can speak as the caller, hangs up
// when told, records what the caller heard and returns a Report of what it
// saw: gaps, sync latencies, buffer levels and protocol violations.
// Misbehaviour of the application is in the report, not in an error.
//
// # The protocol it enforces
//
// Every message is a JSON text frame with a string field "t". The
// simulator sends hello first ({"t":"hello","callid":...,"from":...,
// "to":...}), then the caller's audio in the application's listening
// format, an answer to each sync, and bye (reason "done", "hangup" or
// "error") as its last message. The application may send sending and
// listening (a format: pcm_8000, pcm_16000, pcm_24000, ulaw, alaw, g722,
// ogg; wav and mp3 for sending only), audio (base64 of bytes in the
// sending format; a sending must come first), sync, interrupt and bye.
// Anything else is a violation (see ViolationKind), counted and reported;
// the call goes on. Messages should stay within 64 KiB of JSON. The
// buffer of audio waiting to be played holds at most BufferLimit bytes
// (30 MB by default, counted as sent, before base64): more ends the call
// with bye reason "error".
//
// # Its rules where the API's behaviour is not documented
//
// Time. The call's clock runs Speed times faster than the wall clock from
// the moment hello is sent: call time = wall time since hello × Speed.
// Every duration in Options and Report is call time.
//
// Playback. The buffer is a queue of decoded audio. Audio that arrives
// while the buffer holds some is queued behind it; audio that arrives when
// it has run dry plays from its arrival. The moment the buffer runs dry is
// computed from the lengths of the queued audio (no polling), and each
// message is stamped by the goroutine that reads the connection as soon
// as it has been read. A gap is the time between the two, so its
// resolution is the wall-clock delay of reading a frame and taking the
// time (tens of microseconds, more on a loaded machine) times Speed: about
// 5 ms of call time at Speed 100. A sync is answered by a timer set for
// the moment the audio before it ends, plus RTT; it goes out late by the
// timer's latency times Speed. High speeds magnify the scheduling delays
// of the machine: to measure gaps, keep the wall-clock margin (window ÷
// Speed) well above a millisecond.
//
// Gaps. A gap is silence between two pieces of audio: the buffer ran dry
// after audio had started, and audio came again. The silence after the
// application's last audio is not a gap (it may be done, or keeping the
// call open), nor is the silence after an interrupt, which it asked for.
//
// Syncs. Answers carry no id: they go out first in, first out, each once
// all the audio sent before its request has played.
//
// RTT. The whole round trip is added to sync answers rather than split
// between the two directions: for an application that waits for a sync
// before it sends more, the silence is the same. hello and bye are not
// delayed.
//
// wav and mp3. The bytes after a sending are one file, decoded by
// sources.Decode as they arrive. Decoded audio counts as arrived when its
// bytes did, so the simulator's decoding time never shows as a gap, but
// decoding must outrun the speed (MP3 at Speed 20 under the race detector
// does not). A sync waits until every byte before it has been decoded and
// that audio has played: the decoder is not given the bytes after a sync
// until it has used those before it, so its read-ahead cannot make a sync
// wait for later audio. A sync inside a frame (an application that cuts
// its pieces mid-frame) is answered once the whole frames before it have
// played. Bytes after the end of a WAV file (its RIFF header gives its
// length) are ignored, and reported if they start another file; MP3 has no
// length, so a second MP3 file without a new sending plays as a
// continuation. Buffered bytes count the file's bytes not yet played,
// attributed to the audio as the decoder consumes them.
//
// Audio before any sending is ignored and reported.
//
// Interrupt. The buffer is emptied at once; pending syncs are answered
// right away (plus RTT): the audio before them is gone. Audio is ignored,
// and reported, until the next sending.
//
// Bye. When the application sends bye, the call ends at once (buffered
// audio is dropped) and the simulator answers with bye reason "done", the
// API's last message, then closes. When the caller hangs up (Duration, or
// ctx cancelled) it sends bye "hangup"; when the buffer overflows, bye
// "error". It then waits up to two seconds for the application to close
// its side, counting what still arrives, and closes the connection. A
// connection that closes without bye ends the call as well.
//
// Caller audio. Say is opened when the application sends listening,
// converted to the listening format's rate, mono, and sent in 20 ms
// messages, each when its 20 ms have passed on the call's clock. Without
// Say the caller is silent (no audio messages). An application that never
// sends listening never hears Say: the report says so
// (CallerAudio.NeverAsked).
//
// Recording. What the caller heard, in time order: silence from the
// call's start until the first audio (Report.FirstAudio), the audio as
// played, silence for gaps and after interrupts, up to the last played
// sample; the silence after the last audio is not recorded.
package elkstest

package sinks

// The texts below are what `elkspipe inspect NAME` prints after an
// element's parameters: the behaviour a user of the element needs to know
// beyond its summary.

func wavDetails() string {
	return `Writes the stream's own rate and channels. Floats become integers as round(x·2^(bits−1)),
clamped, no dither. Headers: plain PCM for 8/16-bit mono/stereo, IEEE float (tag 3) for float
mono/stereo, WAVE_FORMAT_EXTENSIBLE for 24/32-bit and for more than two channels. The header is
written first with sizes 0xFFFFFFFF ("until end of file"), so the file is readable by ffmpeg,
sox and elkspipe at every moment, even after a crash; at the end, after an error or on Ctrl-C,
the real sizes are filled in. 'wav -' writes a streaming header to stdout and never seeks.
A sink never writes onto a file that a stage reads (also through a link): such a pipeline is
refused before anything is written.
A stream that never ends (tone, noise or silence without dur=, loop without a count) into a
named file is refused too, before anything is written: bound it (dur=, trim dur=, loop N) or
give endless=true to write until interrupted. 'wav -' is never refused.
`
}

func rawDetails() string {
	return `With rate= or channels=, Build inserts the resample and channels stages that convert to
them (-v shows them). s16le is round(x·32768) clamped to 16 bits, f32le is clamped to ±1, and
µ-law and A-law are bit-exact with ffmpeg's encoders.
A stream that never ends (tone, noise or silence without dur=, loop without a count) into a
named file is refused before anything is written: bound it (dur=, trim dur=, loop N) or give
endless=true to write until interrupted. 'raw -' is never refused: a pipe may run forever.
`
}

func digitsDetails() string {
	return `Detects DTMF digits (0-9 * # A-D) to the limits of ITU-T Q.24: each tone within ±2.5% of its
frequency (Q.24: accept ±1.5%, reject beyond ±3.5%), twist from −8.2 dB (high tone weaker) to
+4.2 dB, each tone at least −34 dBm0 (0 dBm0 is a sine 3.14 dB below full scale), at least 33 ms
long (40 ms accepted, 23 ms rejected), the two tones steady and at least 90% of the energy (the
talk-off guard: 0 false digits in 5.85 h of speech and music). A digit is printed once per key
press, as soon as its tone is proved, with the time its tone started; a silence of ~25 ms or
more (40 ms certain) separates presses of one key, a shorter dropout (10 ms) is bridged.
Listens to one channel: stereo is mixed to mono; the stream's rate is kept from 8 kHz to
192 kHz. See docs/dtmf.md.`
}

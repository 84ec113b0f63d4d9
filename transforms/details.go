package transforms

// The texts below are what `elkspipe inspect NAME` prints after an
// element's parameters: the behaviour a user of the element needs to know
// beyond its summary.

func resampleDetails() string {
	return `Each channel is filtered with band-limited Kaiser-windowed-sinc filters: a polyphase stage
for the exact ratio (44.1k→8k is 80/441) and a sharp lowpass run as FFT convolution, in the
order that costs less (44.1k→16k and →24k filter sharply first, at the input rate). Output
frame k is the input at time k·in/out exactly — no delay, no drift over hours — and n input
frames give exactly round(n·out/in) output frames, whatever the read sizes; the filter tail is
flushed at the end. Integer ratios (48k→8k/16k/24k, 8k→16k) skip the polyphase stage.

Quality: flat band as a share of the lower Nyquist; ripple in it and stopband rejection,
each as the published bound / measured on 44.1k→8k:
  quick     70%  ±0.03 / ±0.0076 dB       60 / 67.5 dB
  low       80%  ±0.001 / ±0.0003 dB      90 / 96.2 dB
  medium    90%  ±0.001 / ±0.00007 dB    105 / 109.3 dB
  high      95%  ±0.001 / ±0.00001 dB    125 / 127.5 dB   (default; what Build inserts)
  veryhigh  95%  ±0.001 / <±0.00001 dB   150 / 153.5 dB
On 44.1k→16k and →24k every quality meets the same bounds (docs/performance.md has the
figures). high matches SoX's 'rate -h'. A 997 Hz tone at −6 dBFS taken from 48 kHz to 8 kHz
and written as 16-bit keeps 92 dB SNR (the 16-bit limit).
`
}

func monoDetails() string { return remixNotes }

func channelsDetails() string { return remixNotes }

const remixNotes = `Fewer channels: output channel j is the average of input channels j, j+N, j+2N... (so mono
is the plain average); six channels going to one or two are taken as 5.1 and folded per ITU-R
BS.775 (LFE dropped, scaled so nothing clips). More channels: channel j copies input channel
j mod in. Build inserts channels by itself when a sink needs another channel count: downmix
before resampling, upmix after, as SoX does.
`

func gainDetails() string {
	return `There is no limiter: samples may pass ±1, and the sinks clip them when they write integers.
`
}

func fadeDetails() string {
	return `The shapes are SoX's (hsin, the default, is an S-curve at −6 dB halfway); the first sample
of a fade-in and the last of a fade-out are exactly 0. A fade-out needs the stream's length: on
an endless stream (a tone without dur=, loop without a count) it stops with an error suggesting
'trim dur=' first. Fades longer than the stream print a warning: it never plays at full level.
`
}

func trimDetails() string {
	return `Exact to the frame: a duration d keeps or skips round(d × rate) frames. A start at or past
the end of the stream prints a warning: the output is empty. dur= bounds an endless stream, so
that it can go to a file.
`
}

func padDetails() string {
	return `Exact to the frame: a duration d adds round(d × rate) frames of digital silence.
`
}

func loopDetails() string {
	return `Every iteration re-opens everything upstream (it never seeks: 'file x.wav | gain -3 | loop 3'
repeats both), and the joints are sample-exact: a looped tone whose length is a whole number of
periods is identical to the longer tone, and a LAME-tagged MP3 loops with no gap. Standard input
cannot be re-opened, so 'file - | loop' is refused when the pipeline is built: save the input to
a file first.
`
}

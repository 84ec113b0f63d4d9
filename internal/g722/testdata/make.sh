#!/bin/sh
# Regenerates the G.722 reference streams with sox and ffmpeg (run from
# this directory). For each signal NAME:
#   NAME.raw       16 kHz mono s16le input (made by sox)
#   NAME.g722      ffmpeg's g722 encoding of NAME.raw (no trellis, the default)
#   NAME.dec.raw   ffmpeg's decoding of NAME.g722, s16le
# random.g722 is 4000 random bytes (every code word, in any order) and
# random.dec.raw ffmpeg's decoding of it.
# Made with ffmpeg 5.1 and sox 14.4 (Debian bookworm).
set -eu
S="-r 16000 -e signed -b 16 -c 1 -t raw"
# speech-like: a 130 Hz glottal sawtooth through a vowel-ish band pass,
# with a 4 Hz syllabic envelope and a glide in pitch
sox -R -r 16000 -n $S speech.raw synth 1 sawtooth 110:160 vol 0.6 bandpass 800 1.5q tremolo 4 90 gain -n -3
# the last sample of an odd-length input is encoded paired with itself
sox -R -r 16000 -n $S odd.raw synth 15999s sawtooth 130 vol 0.5 bandpass 1500 1q tremolo 3 70
sox -R -r 16000 -n $S tone997.raw synth 1 sine 997 vol 0.5
sox -R -r 16000 -n $S sweep.raw synth 1 sine 20:7990 vol 0.9
sox -R -r 16000 -n $S silence.raw trim 0 1
sox -R -r 16000 -n $S noise.raw synth 1 whitenoise vol 1
for n in speech odd tone997 sweep silence noise; do
	ffmpeg -nostdin -loglevel error -y -f s16le -ar 16000 -ac 1 -i $n.raw -c:a g722 -f g722 $n.g722
	ffmpeg -nostdin -loglevel error -y -f g722 -i $n.g722 -f s16le $n.dec.raw
done
head -c 4000 /dev/urandom > random.g722
ffmpeg -nostdin -loglevel error -y -f g722 -i random.g722 -f s16le random.dec.raw

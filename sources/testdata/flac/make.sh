#!/bin/sh
# Regenerates the FLAC fixtures of sources/flac_fixtures_test.go and
# internal/flac's tests: short tones written by sox through libFLAC, the
# reference encoder (ffmpeg would add an 8 KiB padding block), so that the
# default build tests the decoder without ffmpeg. Needs sox.
# Run from this directory: sh make.sh
set -eu
cd "$(dirname "$0")"

# 16-bit mono 8 kHz, 1.2 s (3 frames): 440 Hz at amplitude 0.5.
sox -D -n -r 8000 -c 1 -b 16 -C 8 s16-mono-8k.flac synth 1.2 sine 440 vol 0.5

# 24-bit stereo 96 kHz, 0.03 s: 1 kHz left, 1.5 kHz right at amplitude 0.5.
sox -D -n -r 96000 -c 2 -b 24 -C 8 s24-stereo-96k.flac synth 0.03 sine 1000 sine 1500 vol 0.5

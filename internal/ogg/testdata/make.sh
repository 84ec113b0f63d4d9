#!/bin/sh
# Regenerates the reference streams (ffmpeg 5.1 with libopus).
# tone.opus: 0.5 s of a 997 Hz sine, 48 kHz mono, 24 kbit/s, one page of
# 26 packets after the two header pages.
set -e
cd "$(dirname "$0")"
ffmpeg -hide_banner -loglevel error -bitexact -f lavfi -i "sine=f=997:d=0.5:r=48000" \
  -c:a libopus -b:a 24k -ac 1 -y tone.opus

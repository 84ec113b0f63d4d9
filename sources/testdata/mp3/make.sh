#!/bin/sh
# Makes the MP3 test fixtures of sources/mp3_test.go. Needs sox, lame and
# ffmpeg. The tones last a whole number of periods and are not a multiple
# of the frame length, so that a gapless decode played twice in a row is
# one continuous tone.
#
#   sine44m.mp3    441 Hz, -6 dBFS, 44100 Hz mono, 22100 samples (221 periods),
#                  LAME CBR 128 kbit/s with Info/LAME tag (delay, padding)
#   sine44s.mp3    stereo: 441 Hz -6 dBFS left, 882 Hz -12 dBFS right,
#                  joint stereo 160 kbit/s, LAME tag
#   sine44ff.mp3   the mono tone encoded by ffmpeg (libmp3lame): "Lavc" tag
#   sine44crc.mp3  the mono tone with CRC-protected frames (lame -p), LAME tag
#   sine44notag.mp3 the mono tone without Xing/LAME tag (lame -t)
#   sine22v.mp3    441 Hz, -6 dBFS, 22050 Hz mono, 11050 samples (221 periods),
#                  MPEG-2 LSF, LAME VBR with tag
#   sine22cbr32.mp3 the 22050 Hz tone, MPEG-2 CBR 32 kbit/s: padded frames
#                  whose length go-mp3 computes one byte short
#   dual22ms.mp3   1000 Hz, -3 dBFS, 22050 Hz, the same in both channels,
#                  2 s, LAME CBR 32 kbit/s (which resamples to 16000 Hz):
#                  mid/side with an empty side
#                  channel, and short blocks at the start and end
#   mpeg25.mp3     MPEG-2.5, 8000 Hz (unsupported by go-mp3)
#   layer2.mp3     MPEG-1 Layer II (unsupported by go-mp3)
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

sox -D -r 44100 -n -c 1 -b 16 "$tmp/m44.wav" synth 22100s sine 441 vol 0.5
sox -D -r 44100 -n -c 1 -b 16 "$tmp/r44.wav" synth 22100s sine 882 vol 0.25
sox -D -M "$tmp/m44.wav" "$tmp/r44.wav" "$tmp/s44.wav"
sox -D -r 22050 -n -c 1 -b 16 "$tmp/m22.wav" synth 11050s sine 441 vol 0.5
sox -D -r 22050 -n -c 2 -b 16 "$tmp/d22.wav" synth 2 sine 1000 gain -3
sox -D -r 8000 -n -c 1 -b 16 "$tmp/m8.wav" synth 4000s sine 441 vol 0.5

lame --quiet --noreplaygain -b 128 "$tmp/m44.wav" sine44m.mp3
lame --quiet --noreplaygain -m j -b 160 "$tmp/s44.wav" sine44s.mp3
ffmpeg -v error -y -i "$tmp/m44.wav" -c:a libmp3lame -b:a 64k -map_metadata -1 -fflags +bitexact -flags:a +bitexact sine44ff.mp3
lame --quiet --noreplaygain -p -b 96 "$tmp/m44.wav" sine44crc.mp3
lame --quiet -t -b 128 "$tmp/m44.wav" sine44notag.mp3
lame --quiet --noreplaygain --resample 22.05 -V 2 "$tmp/m22.wav" sine22v.mp3
lame --quiet -t --resample 22.05 -b 32 "$tmp/m22.wav" sine22cbr32.mp3
lame --quiet --noreplaygain -b 32 "$tmp/d22.wav" dual22ms.mp3
lame --quiet -t --resample 8 -b 16 "$tmp/m8.wav" mpeg25.mp3
ffmpeg -v error -y -i "$tmp/m44.wav" -c:a mp2 -b:a 128k -f mp2 layer2.mp3

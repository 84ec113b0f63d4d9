#!/usr/bin/env bash
# Times elkspipe's resampler against sox and ffmpeg (when installed) on the
# same jobs: a test file of 44.1 kHz stereo noise and tones, converted to
# 8 kHz and 16 kHz mono. Prints the best of several runs, as wall time and as
# CPU time (user+sys, steadier on a busy machine), and the ratio of each
# tool's CPU time to elkspipe's at the same quality. Usage:
#
#	bench/compare.sh            # 60 s of audio, best of 5
#	SECS=30 RUNS=3 bench/compare.sh
#
# elkspipe runs through bench/resamplebench, which reads and writes raw
# 16-bit PCM (sox converts the WAV for it; that conversion is not timed).
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${SECS:-60}
runs=${RUNS:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

have() { command -v "$1" >/dev/null 2>&1; }
if ! have sox; then
	echo "compare.sh: sox is needed to make the test file" >&2
	exit 1
fi

echo "building bench/resamplebench and elkspipe"
go build -o "$tmp/resamplebench" ./bench/resamplebench
go build -o "$tmp/elkspipe" ./cmd/elkspipe

# The test file: white noise at -20 dBFS plus a different tone per channel.
sox -n -r 44100 -c 2 -b 16 "$tmp/noise.wav" synth "$secs" whitenoise vol 0.1
sox -n -r 44100 -c 2 -b 16 "$tmp/tones.wav" synth "$secs" sine 997 sine 3001 vol 0.4
sox -m "$tmp/noise.wav" "$tmp/tones.wav" "$tmp/in.wav"
sox "$tmp/in.wav" -t s16 "$tmp/in.raw"
echo "test file: $secs s, 44100 Hz stereo, 16-bit"

# best CMD...: runs CMD $runs times, prints "wall cpu" of the fastest (by CPU).
best() {
	local b_wall="" b_cpu="" t wall cpu
	for ((i = 0; i < runs; i++)); do
		t=$( { /usr/bin/env TIMEFORMAT="%R %U %S" bash -c 'time "$@" >/dev/null 2>&1' _ "$@"; } 2>&1 | tail -1)
		read -r wall u s <<<"$t"
		cpu=$(echo "$u + $s" | bc -l)
		if [[ -z $b_cpu ]] || (($(echo "$cpu < $b_cpu" | bc -l))); then
			b_cpu=$cpu b_wall=$wall
		fi
	done
	echo "$b_wall $b_cpu"
}

row() { # name wall cpu ref_cpu
	local ratio
	ratio=$(echo "$3 / $4" | bc -l)
	printf "  %-52s %7.3f s %7.3f s %8.0f× %6.2f\n" "$1" "$2" "$3" "$(echo "$secs / $3" | bc -l)" "$ratio"
}

for rate in 8000 16000; do
	echo
	echo "44100 Hz stereo -> $rate Hz mono"
	printf "  %-52s %9s %9s %9s %6s\n" "job" "wall" "cpu" "realtime" "÷ours"
	read -r w_ours c_ours < <(best "$tmp/resamplebench" -in "$tmp/in.raw" -rate 44100 -channels 2 -mono -to "$rate" -quality high -o "$tmp/out.raw")
	for q in quick medium high veryhigh; do
		if [[ $q == high ]]; then
			w=$w_ours c=$c_ours
		else
			read -r w c < <(best "$tmp/resamplebench" -in "$tmp/in.raw" -rate 44100 -channels 2 -mono -to "$rate" -quality $q -o "$tmp/out.raw")
		fi
		row "elkspipe quality=$q (raw s16 in/out)" "$w" "$c" "$c_ours"
	done
	read -r w c < <(best "$tmp/resamplebench" -in "$tmp/in.raw" -rate 44100 -channels 2 -mono -to 44100 -o "$tmp/out.raw")
	row "elkspipe mono only (no resampling: I/O floor)" "$w" "$c" "$c_ours"
	read -r w c < <(best sox "$tmp/in.wav" -r "$rate" -c 1 "$tmp/out.wav")
	row "sox in.wav -r $rate -c 1 out.wav (rate -h, dither)" "$w" "$c" "$c_ours"
	read -r w c < <(best sox -D -t s16 -r 44100 -c 2 "$tmp/in.raw" -t s16 "$tmp/out.raw" channels 1 rate -h "$rate")
	row "sox raw->raw channels 1 rate -h (no dither)" "$w" "$c" "$c_ours"
	read -r w c < <(best sox -D -t s16 -r 44100 -c 2 "$tmp/in.raw" -t s16 "$tmp/out.raw" channels 1 rate -v "$rate")
	row "sox raw->raw channels 1 rate -v (no dither)" "$w" "$c" "$c_ours"
	read -r w c < <(best sox -D -t s16 -r 44100 -c 2 "$tmp/in.raw" -t s16 "$tmp/out.raw" channels 1)
	row "sox raw->raw channels 1 (no resampling: I/O floor)" "$w" "$c" "$c_ours"
	if have ffmpeg; then
		read -r w c < <(best ffmpeg -v error -y -i "$tmp/in.wav" -ar "$rate" -ac 1 "$tmp/out.wav")
		row "ffmpeg -ar $rate -ac 1 (swr default)" "$w" "$c" "$c_ours"
		if ffmpeg -hide_banner -buildconf 2>/dev/null | grep -q -- --enable-libsoxr; then
			read -r w c < <(best ffmpeg -v error -y -i "$tmp/in.wav" -af aresample=resampler=soxr -ar "$rate" -ac 1 "$tmp/out.wav")
			row "ffmpeg -af aresample=resampler=soxr -ar $rate -ac 1" "$w" "$c" "$c_ours"
		fi
	else
		echo "  (ffmpeg not installed)"
	fi
done
# Whole files, as users run them: decode, downmix, resample, write a WAV.
echo
echo "whole file: in.wav (44100 Hz stereo) -> out.wav (8000 Hz mono, 16-bit)"
printf "  %-52s %9s %9s %9s %6s\n" "job" "wall" "cpu" "realtime" "÷ours"
read -r w_ours c_ours < <(best "$tmp/elkspipe" "file $tmp/in.wav | mono | resample 8k | wav $tmp/out.wav")
row "elkspipe 'file in.wav | mono | resample 8k | wav out.wav'" "$w_ours" "$c_ours" "$c_ours"
read -r w c < <(best sox "$tmp/in.wav" -r 8000 -c 1 "$tmp/out.wav")
row "sox in.wav -r 8000 -c 1 out.wav" "$w" "$c" "$c_ours"
if have ffmpeg; then
	read -r w c < <(best ffmpeg -v error -y -i "$tmp/in.wav" -ar 8000 -ac 1 "$tmp/out.wav")
	row "ffmpeg -i in.wav -ar 8000 -ac 1 out.wav" "$w" "$c" "$c_ours"
fi
if have lame; then
	lame --quiet -b 128 "$tmp/in.wav" "$tmp/in.mp3"
	echo
	echo "whole file: in.mp3 (LAME 128 kbit/s, 44100 Hz stereo) -> out.wav (8000 Hz mono)"
	printf "  %-52s %9s %9s %9s %6s\n" "job" "wall" "cpu" "realtime" "÷ours"
	read -r w_ours c_ours < <(best "$tmp/elkspipe" "file $tmp/in.mp3 | mono | resample 8k | wav $tmp/out.wav")
	row "elkspipe 'file in.mp3 | mono | resample 8k | wav out.wav'" "$w_ours" "$c_ours" "$c_ours"
	if have ffmpeg; then
		read -r w c < <(best ffmpeg -v error -y -i "$tmp/in.mp3" -ar 8000 -ac 1 "$tmp/out.wav")
		row "ffmpeg -i in.mp3 -ar 8000 -ac 1 out.wav" "$w" "$c" "$c_ours"
	fi
	if have mpg123; then
		read -r w c < <(best mpg123 -q -m -r 8000 -w "$tmp/out.wav" "$tmp/in.mp3")
		row "mpg123 -m -r 8000 -w out.wav in.mp3" "$w" "$c" "$c_ours"
	fi
fi
echo
echo "÷ours: the job's CPU time divided by elkspipe's (above 1: elkspipe is faster)."

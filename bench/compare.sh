#!/usr/bin/env bash
# Times elkspipe's resampler against sox and ffmpeg (when installed) on the
# same jobs: a test file of 44.1 kHz stereo noise and tones, converted to
# 8 kHz, 16 kHz and 24 kHz mono (the rates of 46elks' formats). Prints the
# best of several runs, as wall time and as CPU time (user+sys, steadier on a
# busy machine), and the ratio of each tool's CPU time to elkspipe's at the
# same quality. The jobs of a table run in turn, round after round, so that
# a busy spell on a shared machine weighs on all of them alike. Usage:
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

# add NAME CMD...: adds a job to the table being built.
names=() cmds=()
add() {
	names+=("$1")
	shift
	cmds+=("$(printf '%q ' "$@")")
}

# table REF: runs the jobs added, $runs rounds of each in turn, and prints
# the best (by CPU time) of each, with its CPU time divided by that of job
# number REF (from 0). It empties the table.
table() {
	local ref=$1 n=${#names[@]} i r t wall u s cpu
	local -a b_wall=() b_cpu=()
	local TIMEFORMAT="%R %U %S"
	for ((r = 0; r < runs; r++)); do
		for ((i = 0; i < n; i++)); do
			t=$( { time eval "${cmds[i]}" >/dev/null 2>&1; } 2>&1 | tail -1)
			read -r wall u s <<<"$t"
			cpu=$(echo "$u + $s" | bc -l)
			if [[ -z ${b_cpu[i]:-} ]] || (($(echo "$cpu < ${b_cpu[i]}" | bc -l))); then
				b_cpu[i]=$cpu b_wall[i]=$wall
			fi
		done
	done
	printf "  %-52s %9s %9s %9s %6s\n" "job" "wall" "cpu" "realtime" "÷ours"
	for ((i = 0; i < n; i++)); do
		row "${names[i]}" "${b_wall[i]}" "${b_cpu[i]}" "${b_cpu[ref]}"
	done
	names=() cmds=()
}

row() { # name wall cpu ref_cpu
	local ratio
	ratio=$(echo "$3 / $4" | bc -l)
	printf "  %-52s %7.3f s %7.3f s %8.0f× %6.2f\n" "$1" "$2" "$3" "$(echo "$secs / $3" | bc -l)" "$ratio"
}

rb="$tmp/resamplebench"
for rate in 8000 16000 24000; do
	echo
	echo "44100 Hz stereo -> $rate Hz mono"
	for q in quick medium high veryhigh; do
		add "elkspipe quality=$q (raw s16 in/out)" "$rb" -in "$tmp/in.raw" -rate 44100 -channels 2 -mono -to "$rate" -quality $q -o "$tmp/out.raw"
	done
	add "elkspipe mono only (no resampling: I/O floor)" "$rb" -in "$tmp/in.raw" -rate 44100 -channels 2 -mono -to 44100 -o "$tmp/out.raw"
	add "sox in.wav -r $rate -c 1 out.wav (rate -h, dither)" sox "$tmp/in.wav" -r "$rate" -c 1 "$tmp/out.wav"
	add "sox raw->raw channels 1 rate -h (no dither)" sox -D -t s16 -r 44100 -c 2 "$tmp/in.raw" -t s16 "$tmp/out.raw" channels 1 rate -h "$rate"
	add "sox raw->raw channels 1 rate -v (no dither)" sox -D -t s16 -r 44100 -c 2 "$tmp/in.raw" -t s16 "$tmp/out.raw" channels 1 rate -v "$rate"
	add "sox raw->raw channels 1 (no resampling: I/O floor)" sox -D -t s16 -r 44100 -c 2 "$tmp/in.raw" -t s16 "$tmp/out.raw" channels 1
	if have ffmpeg; then
		add "ffmpeg -ar $rate -ac 1 (swr default)" ffmpeg -v error -y -i "$tmp/in.wav" -ar "$rate" -ac 1 "$tmp/out.wav"
		if ffmpeg -hide_banner -buildconf 2>/dev/null | grep -q -- --enable-libsoxr; then
			add "ffmpeg -af aresample=resampler=soxr -ar $rate -ac 1" ffmpeg -v error -y -i "$tmp/in.wav" -af aresample=resampler=soxr -ar "$rate" -ac 1 "$tmp/out.wav"
		fi
	fi
	table 2
	have ffmpeg || echo "  (ffmpeg not installed)"
done
# Whole files, as users run them: decode, downmix, resample, write a WAV.
echo
echo "whole file: in.wav (44100 Hz stereo) -> out.wav (8000 Hz mono, 16-bit)"
add "elkspipe 'file in.wav | mono | resample 8k | wav out.wav'" "$tmp/elkspipe" "file $tmp/in.wav | mono | resample 8k | wav $tmp/out.wav"
add "sox in.wav -r 8000 -c 1 out.wav" sox "$tmp/in.wav" -r 8000 -c 1 "$tmp/out.wav"
if have ffmpeg; then
	add "ffmpeg -i in.wav -ar 8000 -ac 1 out.wav" ffmpeg -v error -y -i "$tmp/in.wav" -ar 8000 -ac 1 "$tmp/out.wav"
fi
table 0
if have lame; then
	lame --quiet -b 128 "$tmp/in.wav" "$tmp/in.mp3"
	echo
	echo "whole file: in.mp3 (LAME 128 kbit/s, 44100 Hz stereo) -> out.wav (8000 Hz mono)"
	add "elkspipe 'file in.mp3 | mono | resample 8k | wav out.wav'" "$tmp/elkspipe" "file $tmp/in.mp3 | mono | resample 8k | wav $tmp/out.wav"
	if have ffmpeg; then
		add "ffmpeg -i in.mp3 -ar 8000 -ac 1 out.wav" ffmpeg -v error -y -i "$tmp/in.mp3" -ar 8000 -ac 1 "$tmp/out.wav"
	fi
	if have mpg123; then
		add "mpg123 -m -r 8000 -w out.wav in.mp3" mpg123 -q -m -r 8000 -w "$tmp/out.wav" "$tmp/in.mp3"
	fi
	table 0
fi
echo
echo "÷ours: the job's CPU time divided by elkspipe's (above 1: elkspipe is faster)."

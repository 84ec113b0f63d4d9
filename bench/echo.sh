#!/usr/bin/env bash
# Echo calls at scale: an elkspipe server runs the echo test
# `caller | elks format=pcm_16000 chunk=20ms` and `elkspipe simulate`
# makes CALLS concurrent calls to it over 127.0.0.1, each caller speaking
# (espeak-ng's speech, or a sox-made warble without espeak-ng) for
# DURATION. It prints the simulator's summary (gaps, echo latency) and
# what the server counted: caller audio dropped by its bounded queues,
# underruns, and its CPU time (user+sys, from /proc) and peak memory.
# Bounded: the calls end after DURATION, the whole run after a timeout.
# Linux only. Usage:
#
#	bench/echo.sh                          # 500 calls of 20 s
#	CALLS=100 DURATION=10s CHUNK=100ms bench/echo.sh
#	ELKS_ARGS=cushion=40ms CALLS=200 bench/echo.sh   # more elks parameters
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

calls=${CALLS:-500}
duration=${DURATION:-20s}
chunk=${CHUNK:-20ms}
rate=${RATE:-100} # calls started per second (Poisson)
port=${PORT:-18610}
tmp=$(mktemp -d)
server=""
cleanup() {
	[ -n "$server" ] && kill "$server" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

go build -o "$tmp/elkspipe" ./cmd/elkspipe
if command -v espeak-ng >/dev/null 2>&1; then
	espeak-ng -w "$tmp/espeak.wav" "Hello, this is an echo test. One, two, three, four, five. \
The quick brown fox jumps over the lazy dog. Can you hear me now? Six, seven, eight, nine, ten."
	# At the call's rate, so that the simulator need not resample it.
	sox "$tmp/espeak.wav" -r 16000 "$tmp/said.wav"
	voice="espeak-ng speech"
else
	sox -n -r 16000 "$tmp/said.wav" synth 8 sine 300-900 tremolo 3 90
	voice="a sox warble"
fi

"$tmp/elkspipe" "caller | elks format=pcm_16000 chunk=$chunk listen=127.0.0.1:$port hangup=false max-calls=0 ${ELKS_ARGS:-}" \
	2>"$tmp/server.log" &
server=$!
wait_for_calls "$tmp/elkspipe" "ws://127.0.0.1:$port/"
secs=$(awk -v d="${duration%s}" 'BEGIN { print d + 0 }')
limit=$(awk -v n="$calls" -v r="$rate" -v d="$secs" 'BEGIN { printf "%d", n / r + d + 60 }')
echo "$calls echo calls of $duration (chunk=$chunk), $voice, started at $rate/s; $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
before=$(cpu "$server")
start=$(date +%s.%N)
/usr/bin/time -f "%U %S" -o "$tmp/sim.time" timeout "$limit" "$tmp/elkspipe" simulate "ws://127.0.0.1:$port/" \
	--calls "$calls" --rate "$rate" --duration "$duration" --say-file "$tmp/said.wav" --summary \
	>"$tmp/sim.txt" 2>"$tmp/sim.err" || true
end=$(date +%s.%N)
after=$(cpu "$server")
rss=$(awk '/^VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$server/status")
kill -INT "$server"
wait "$server" 2>/dev/null || true
server=""

cat "$tmp/sim.txt"
sed -n 's/^elkspipe simulate: //p' "$tmp/sim.err" | sort | uniq -c | head -5
# What the server counted, from its "call closed" lines.
awk '/msg="call closed"/ {
	n++
	for (i = 1; i <= NF; i++) {
		split($i, kv, "=")
		if (kv[1] == "underruns") u += kv[2]
		if (kv[1] == "caller_dropped" && kv[2] != "0s") cd++
		if (kv[1] == "listen_dropped") ld += kv[2]
	}
}
/level=WARN/ { w++ }
END { printf "server: %d calls closed; calls with caller audio dropped: %d; listen queue drops: %d; underruns: %d; warnings: %d\n", n, cd, ld, u, w }' "$tmp/server.log"
awk -v a="$after" -v b="$before" -v s="$start" -v e="$end" -v rss="$rss" -v sim="$(tail -1 "$tmp/sim.time" | awk '{ print $1 + $2 }')" \
	'BEGIN { printf "server CPU: %.1f s over %.1f s of wall time (%.0f%% of one CPU), peak RSS %d MiB; simulator CPU %.1f s\n", a - b, e - s, 100 * (a - b) / (e - s), rss, sim }'

#!/usr/bin/env bash
# Echo calls at scale: an elkspipe server runs the echo test
# `caller | elks format=pcm_16000 chunk=20ms` and `elkspipe simulate`
# makes CALLS concurrent calls to it over 127.0.0.1, each caller speaking
# for the whole call (espeak-ng's speech, looped, with its pauses; a
# sox-made warble without espeak-ng) for DURATION. It prints the
# simulator's summary (gaps, echo latency, how much of the caller's
# audio the simulator itself sent late, and its own scheduling lag:
# whether it was short of CPU), what the server counted (caller
# audio dropped, underruns, how far the echo's adaptive cushion grew),
# the server's and the simulator's CPU time (user+sys) and the server's
# peak memory, and how busy the whole machine was meanwhile (other
# processes, and the CPU time the hypervisor took: steal), which says
# whether the figures are the programs' or the machine's.
# Bounded: the calls end after DURATION, the whole run after a timeout.
# Linux only. Usage:
#
#	bench/echo.sh                          # 500 calls of 20 s
#	CALLS=100 DURATION=10s CHUNK=100ms bench/echo.sh
#	ELKS_ARGS=cushion=40ms CALLS=200 bench/echo.sh   # more elks parameters
#	ELKSPIPE=/tmp/old-elkspipe bench/echo.sh         # a binary built elsewhere
#	SERVER_ELKSPIPE=/tmp/old-elkspipe bench/echo.sh  # only the server from it
#	SIM_ARGS="--cpuprofile /tmp/sim.pprof" bench/echo.sh
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

if [ -n "${ELKSPIPE:-}" ]; then
	cp "$ELKSPIPE" "$tmp/elkspipe"
else
	go build -o "$tmp/elkspipe" ./cmd/elkspipe
fi
cp "${SERVER_ELKSPIPE:-$tmp/elkspipe}" "$tmp/server-elkspipe"
if command -v espeak-ng >/dev/null 2>&1; then
	espeak-ng -w "$tmp/espeak.wav" "Hello, this is an echo test. One, two, three, four, five. \
The quick brown fox jumps over the lazy dog. Can you hear me now? Six, seven, eight, nine, ten."
	# At the call's rate, so that the simulator need not resample it.
	sox "$tmp/espeak.wav" -r 16000 "$tmp/said.wav"
	voice="espeak-ng speech, looped"
else
	sox -n -r 16000 "$tmp/said.wav" synth 8 sine 300-900 tremolo 3 90
	voice="a sox warble, looped"
fi

"$tmp/server-elkspipe" "caller | elks format=pcm_16000 chunk=$chunk listen=127.0.0.1:$port hangup=false max-calls=0 ${ELKS_ARGS:-}" \
	2>"$tmp/server.log" &
server=$!
wait_for_calls "$tmp/elkspipe" "ws://127.0.0.1:$port/"
secs=$(awk -v d="${duration%s}" 'BEGIN { print d + 0 }')
limit=$(awk -v n="$calls" -v r="$rate" -v d="$secs" 'BEGIN { printf "%d", n / r + d + 60 }')
echo "$calls echo calls of $duration (chunk=$chunk${ELKS_ARGS:+ $ELKS_ARGS}), $voice, started at $rate/s; $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
before=$(cpu "$server")
start=$(date +%s.%N)
head -1 /proc/stat >"$tmp/stat.before"
/usr/bin/time -f "%U %S" -o "$tmp/sim.time" timeout "$limit" "$tmp/elkspipe" simulate "ws://127.0.0.1:$port/" \
	--calls "$calls" --rate "$rate" --duration "$duration" --say "file $tmp/said.wav | loop" --summary ${SIM_ARGS:-} \
	>"$tmp/sim.txt" 2>"$tmp/sim.err" || true
end=$(date +%s.%N)
head -1 /proc/stat >"$tmp/stat.after"
after=$(cpu "$server")
rss=$(awk '/^VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$server/status")
kill -INT "$server"
wait "$server" 2>/dev/null || true
server=""

cat "$tmp/sim.txt"
sed -n 's/^elkspipe simulate: //p' "$tmp/sim.err" | sort | uniq -c | head -5
# What the server counted, from its "call closed" lines.
awk '
function secs(d, v, n, u) { # a Go duration (1m2.5s, 30ms, 860µs) in seconds
	v = 0
	while (match(d, /^[0-9.]+(h|ms|µs|us|ns|m|s)/)) {
		n = substr(d, 1, RLENGTH); d = substr(d, RLENGTH + 1)
		u = n; sub(/^[0-9.]+/, "", u); sub(/[a-zµ]+$/, "", n)
		v += n * (u == "h" ? 3600 : u == "m" ? 60 : u == "s" ? 1 : u == "ms" ? 1e-3 : u == "ns" ? 1e-9 : 1e-6)
	}
	return v
}
/msg="call closed"/ {
	n++
	for (i = 1; i <= NF; i++) {
		split($i, kv, "=")
		if (kv[1] == "underruns") u += kv[2]
		if (kv[1] == "caller_dropped" && secs(kv[2]) > 0) { cd++; cds += secs(kv[2]) }
		if (kv[1] == "listen_dropped") ld += kv[2]
		if (kv[1] == "cushion") { c = secs(kv[2]); if (c > 0.0105) grown++; if (c > cmax) cmax = c }
	}
}
/level=WARN/ { w++ }
END {
	printf "server: %d calls closed; caller audio dropped in %d calls, %.1f s in all; listen queue drops: %d; underruns: %d; warnings: %d\n", n, cd, cds, ld, u, w
	printf "server: the echo'"'"'s cushion grew beyond 10 ms in %d calls, to %.0f ms at most\n", grown, cmax * 1000
}' "$tmp/server.log"
awk -v a="$after" -v b="$before" -v s="$start" -v e="$end" -v rss="$rss" -v sim="$(tail -1 "$tmp/sim.time" | awk '{ print $1 + $2 }')" \
	'BEGIN { printf "server CPU: %.1f s over %.1f s of wall time (%.0f%% of one CPU), peak RSS %d MiB; simulator CPU %.1f s\n", a - b, e - s, 100 * (a - b) / (e - s), rss, sim }'
paste "$tmp/stat.before" "$tmp/stat.after" | awk -v hz="$(getconf CLK_TCK)" -v wall="$(awk -v s="$start" -v e="$end" 'BEGIN { print e - s }')" -v ours="$(awk -v a="$after" -v b="$before" -v sim="$(tail -1 "$tmp/sim.time" | awk '{ print $1 + $2 }')" 'BEGIN { print a - b + sim }')" '{
	# cpu user nice system idle iowait irq softirq steal, before and after
	busy = ($13 - $2) + ($14 - $3) + ($15 - $4) + ($18 - $7) + ($19 - $8)
	printf "machine: %.1f of %.1f CPU-seconds busy (server and simulator: %.1f), %.1f s stolen by the hypervisor\n", busy / hz, (busy + ($16 - $5) + ($17 - $6) + ($20 - $9)) / hz, ours, ($20 - $9) / hz
}'

#!/usr/bin/env bash
# elkspipe against 46elks' own looping example, on the example's own job:
# a 5 s 8 kHz mono WAV looped into CALLS (200) concurrent calls of
# DURATION (30s), passed through untouched (format=wav).
#
#   example   bench/example/46elks_loop.py: the loop of 46elks' documentation
#             (sending, the file in 32 KiB pieces, sync, wait for the sync's
#             reply, again), in Python with the websockets library
#   elkspipe  elkspipe 'file loop.wav | loop | elks format=wav listen=...'
#             (ELKS_ARGS adds settings to the elks stage, e.g.
#             ELKS_ARGS="window=3s"; SERVER_BIN=path serves with another
#             build of elkspipe, an older one to compare; the simulator is
#             always this checkout's)
#
# Each server runs pinned to SERVER_CPU (0) and `elkspipe simulate --calls
# CALLS --duration DURATION --summary --json` to SIM_CPU (1), all calls
# started at once. For each server the script prints its CPU as a share of
# one core over the simulator's run and in seconds (user+sys, from
# /proc/PID/stat), its CPU per call-second played, the gaps the callers
# heard (and in how many calls), failed calls (not connected: refused with
# 503 by an overloaded elkspipe, say), calls cut short (not ended by the
# caller's hangup at DURATION: refused at their hello, say), the audio
# messages and syncs it sent per call-second, the time from hello to first
# audio (p50, p99, max) and its peak RSS (VmHWM). RUNS (1) repeats both
# servers, in turn, that many times. The load average is printed before
# and after: on a busy machine the CPU figures carry the noise of the
# others.
#
# Linux only; needs sox, jq, taskset, Go and python3 with the websockets
# library (Debian: python3-websockets). Every process is bounded: the
# simulator by DURATION plus a minute, the servers killed after it. Usage:
#
#	bench/example.sh
#	CALLS=200 DURATION=30s RUNS=3 bench/example.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

calls=${CALLS:-200}
duration=${DURATION:-30s}
runs=${RUNS:-1}
server_cpu=${SERVER_CPU:-0}
sim_cpu=${SIM_CPU:-1}
elks_args=${ELKS_ARGS:-}

need sox jq taskset go
# A python3 with websockets: the one on PATH, or Debian's (a pyenv python
# on PATH does not see Debian's packages).
python=""
for p in ${PYTHON:-} python3 /usr/bin/python3; do
	if "$p" -c 'import websockets' >/dev/null 2>&1; then
		python=$p
		break
	fi
done
if [ -z "$python" ]; then
	echo "example.sh: python3 with the websockets library is needed (apt-get install python3-websockets)" >&2
	exit 1
fi

tmp=$(mktemp -d)
server=""
cleanup() {
	if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT

go build -o "$tmp/elkspipe" ./cmd/elkspipe
# 5 s of 16-bit mono at 8 kHz: 80,044 bytes, three 32 KiB pieces in the
# example.
sox -n -r 8000 -c 1 -b 16 "$tmp/loop.wav" synth 5 sine 300-900 vol 0.5

secs=$(case $duration in *ms) awk -v d="${duration%ms}" 'BEGIN { print d / 1000 }' ;; *m) awk -v d="${duration%m}" 'BEGIN { print d * 60 }' ;; *s) echo "${duration%s}" ;; *) echo "$duration" ;; esac)
limit=$(awk -v d="$secs" 'BEGIN { printf "%d", d + 60 }')

echo "load average: $(cat /proc/loadavg)"
echo "server on CPU $server_cpu, simulator on CPU $sim_cpu; $calls calls of $duration at once; a 5 s 8 kHz WAV looped, format=wav"
fmt='%-9s %6s %7s %10s %6s %9s %6s %6s %8s %8s %8s %8s %8s %7s\n'
printf "$fmt" server "CPU%" "CPU s" "ms/call-s" gaps "gap calls" failed "cut" "msg/c-s" "sync/c-s" "fa p50" "fa p99" "fa max" "RSS MiB"

# Ports of their own (bench/scale.sh and others count up from 18500).
port=$((27000 + RANDOM % 2000))
# run NAME LOG: one run of the simulator against the server $server (its
# stderr in LOG), a row.
run() {
	local name=$1 log=$2
	wait_for_calls "$tmp/elkspipe" "ws://127.0.0.1:$port/" "$sim_cpu"
	if ! kill -0 "$server" 2>/dev/null; then
		echo "$name: the server did not start:" >&2
		head -5 "$log" >&2
		server=""
		return
	fi
	local before after start end rss
	before=$(cpu "$server")
	start=$(date +%s.%N)
	taskset -c "$sim_cpu" timeout "$limit" "$tmp/elkspipe" simulate "ws://127.0.0.1:$port/" \
		--calls "$calls" --duration "$duration" --summary --json >"$tmp/sim.json" 2>"$tmp/sim.err" || true
	end=$(date +%s.%N)
	after=$(cpu "$server")
	rss=$(awk '/^VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$server/status")
	kill "$server"
	wait "$server" 2>/dev/null || true
	server=""
	sed -n 's/^elkspipe simulate: call [0-9]*: //p' "$tmp/sim.err" | sort | uniq -c | sed "s/^/    $name: /" >&2
	if ! jq -e .summary "$tmp/sim.json" >/dev/null 2>&1; then
		echo "$name: the simulator gave no summary:" >&2
		head -5 "$tmp/sim.err" >&2
		return
	fi
	jq -r --arg name "$name" --argjson cpu "$(awk -v a="$after" -v b="$before" 'BEGIN { print a - b }')" \
		--argjson wall "$(awk -v a="$end" -v b="$start" 'BEGIN { print a - b }')" --argjson rss "$rss" '
		.summary as $s
		| ($s.first_audio) as $f
		| def ms: (. * 1000 * 10 | round / 10 | tostring) + "ms";
		  def per: if $s.played > 0 and . != null then . / $s.played * 100 | round / 100 | tostring else "-" end;
		[$name,
		 (100 * $cpu / $wall * 10 | round / 10 | tostring),
		 ($cpu | tostring),
		 (if $s.played > 0 then 1000 * $cpu / $s.played * 1000 | round / 1000 | tostring else "-" end),
		 ($s.gaps | tostring), ($s.calls_with_gaps | tostring), ($s.failed | tostring),
		 ($s.calls - $s.failed - ($s.ended_by.api // 0) | tostring),
		 ($s.messages | per), ($s.sync_requests | per),
		 ($f.p50 | ms), ($f.p99 | ms), ($f.max | ms),
		 ($rss | tostring)]
		| @tsv' "$tmp/sim.json" |
		awk -F'\t' -v fmt="$fmt" '{ printf fmt, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14 }'
}

for _ in $(seq "$runs"); do
	port=$((port + 1))
	taskset -c "$server_cpu" "$python" bench/example/46elks_loop.py "$port" "$tmp/loop.wav" 2>"$tmp/example.log" &
	server=$!
	run example "$tmp/example.log"
	port=$((port + 1))
	# shellcheck disable=SC2086 # ELKS_ARGS is a list of settings
	taskset -c "$server_cpu" "${SERVER_BIN:-$tmp/elkspipe}" -q \
		"file $tmp/loop.wav | loop | elks format=wav listen=127.0.0.1:$port $elks_args" 2>"$tmp/elkspipe.log" &
	server=$!
	run elkspipe "$tmp/elkspipe.log"
done
echo "load average: $(cat /proc/loadavg)"

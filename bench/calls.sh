#!/usr/bin/env bash
# Measures what serving calls costs the server: an elkspipe server plays a
# looped MP3 (made with sox and lame) to simultaneous simulated calls in
# real time, once with the shared MP3 decoding turned off and once with
# it on (shared renderings off in both, so that every call renders on
# its own and only the decoding is shared), and prints the server's CPU time (user+sys, from /proc) for each,
# with the simulator's summary (gaps, buffer). Linux only. Usage:
#
#	bench/calls.sh                       # 20 calls of 15 s, a 30 s MP3
#	CALLS=50 DURATION=30s SECS=60 FORMAT=pcm_16000 bench/calls.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

calls=${CALLS:-20}
duration=${DURATION:-15s}
secs=${SECS:-30}
format=${FORMAT:-ulaw}
tmp=$(mktemp -d)
server=""
cleanup() {
	[ -n "$server" ] && kill "$server" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

need sox lame

go build -o "$tmp/elkspipe" ./cmd/elkspipe
sox -n -r 44100 -c 2 "$tmp/hold.wav" synth "$secs" sine 300-900 vol 0.5
lame --quiet -b 128 "$tmp/hold.wav" "$tmp/hold.mp3"
echo "$calls calls of $duration, format $format, a $secs s 44.1 kHz stereo MP3 in a loop"

port=18400
for cache in 0 64; do
	port=$((port + 1))
	"$tmp/elkspipe" -q -mp3-cache "$cache" -render-cache 0 \
		"file $tmp/hold.mp3 | loop | elks format=$format listen=127.0.0.1:$port" 2>"$tmp/server.log" &
	server=$!
	wait_for_calls "$tmp/elkspipe" "ws://127.0.0.1:$port/"
	before=$(cpu "$server")
	"$tmp/elkspipe" simulate "ws://127.0.0.1:$port/" --calls "$calls" --duration "$duration" >"$tmp/sim.txt" 2>&1
	after=$(cpu "$server")
	kill -INT "$server"
	wait "$server" || true
	server=""
	label="shared decoding off"
	[ "$cache" != 0 ] && label="shared decoding on "
	echo "$label: server CPU $(awk -v a="$after" -v b="$before" 'BEGIN { printf "%.2f", a - b }') s"
	grep -E '^(played: .* in all|max buffered: .*syncs)' "$tmp/sim.txt" | sed 's/^/    /'
done

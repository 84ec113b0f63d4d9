#!/usr/bin/env bash
# Compares what a looped URL costs a server with the same file on disk:
# an elkspipe server plays a short looped MP3 (made with sox and lame) to
# simultaneous simulated calls in real time, once as a file on disk and
# once as an http URL served by python3 -m http.server (the cache folder
# starts empty), and prints side by side the server's CPU time (user+sys,
# from /proc, while the calls play), the calls played, and the requests
# the web server got for the MP3: the target is 1 download and no
# revalidation (the file is two days old, so its cached copy stays fresh
# for a day), and the same CPU within noise (both play one shared
# rendering: docs/sharing.md). PRIVATE=1 adds both with -render-cache 0
# (every call decodes, resamples and encodes on its own). Linux only.
# Usage:
#
#	bench/urls.sh                          # 100 calls of 20 s, a 5 s MP3
#	CALLS=1000 DURATION=30s bench/urls.sh  # the target of issue 9
#
# Calls arrive at RATE per second (200, Poisson); the server runs on CPU
# SERVER_CPU (0) and the simulator, summary only, on SIM_CPU (1).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

calls=${CALLS:-100}
duration=${DURATION:-20s}
secs=${SECS:-5}
format=${FORMAT:-ulaw}
rate=${RATE:-200}
server_cpu=${SERVER_CPU:-0}
sim_cpu=${SIM_CPU:-1}
tmp=$(mktemp -d)
server=""
web=""
cleanup() {
	[ -n "$server" ] && kill "$server" 2>/dev/null || true
	[ -n "$web" ] && kill "$web" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

need sox lame python3 taskset

# freeport: a TCP port free on 127.0.0.1 now.
freeport() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

go build -o "$tmp/elkspipe" ./cmd/elkspipe
mkdir "$tmp/www"
sox -n -r 44100 -c 2 "$tmp/hold.wav" synth "$secs" sine 300-900 vol 0.5
lame --quiet -b 128 "$tmp/hold.wav" "$tmp/www/hold.mp3"
touch -d '2 days ago' "$tmp/www/hold.mp3"
webport=$(freeport)
python3 -m http.server "$webport" --bind 127.0.0.1 --directory "$tmp/www" >/dev/null 2>>"$tmp/web.log" &
web=$!
for _ in $(seq 50); do
	# A HEAD request, which the counts below leave out.
	python3 -c "import urllib.request; urllib.request.urlopen(urllib.request.Request('http://127.0.0.1:$webport/hold.mp3', method='HEAD'))" 2>/dev/null && break
	sleep 0.1
done
url="http://127.0.0.1:$webport/hold.mp3"
echo "$calls calls of $duration arriving at $rate/s, server on CPU $server_cpu, simulator on CPU $sim_cpu, format $format, a $secs s 44.1 kHz stereo MP3 in a loop; load average $(cut -d' ' -f1-3 /proc/loadavg)"

# requests CODE: the GETs of the MP3 the web server answered with CODE.
requests() { grep -c "\"GET /hold.mp3 HTTP/1.1\" $1" "$tmp/web.log" || true; }

rows=()
runs=("file on disk|$tmp/www/hold.mp3|" "http URL|$url|")
if [ "${PRIVATE:-0}" = 1 ]; then
	runs+=("file, private|$tmp/www/hold.mp3|-render-cache 0" "URL, private|$url|-render-cache 0")
fi
for run in "${runs[@]}"; do
	IFS='|' read -r label source flags <<<"$run"
	port=$(freeport)
	got0=$(requests 200)
	not0=$(requests 304)
	# shellcheck disable=SC2086 # flags is a list of words
	taskset -c "$server_cpu" "$tmp/elkspipe" -q -cache-dir "$tmp/cache" $flags \
		"file $source | loop | elks format=$format listen=127.0.0.1:$port" 2>"$tmp/server.log" &
	server=$!
	wait_for_calls "$tmp/elkspipe" "ws://127.0.0.1:$port/" "$sim_cpu"
	before=$(cpu "$server")
	taskset -c "$sim_cpu" timeout 600 "$tmp/elkspipe" simulate "ws://127.0.0.1:$port/" --calls "$calls" \
		--rate "$rate" --duration "$duration" --summary >"$tmp/sim.txt" 2>&1 || true
	after=$(cpu "$server")
	kill -INT "$server"
	wait "$server" || true
	server=""
	downloads="-"
	revalidations="-"
	case "$source" in http*)
		downloads=$(($(requests 200) - got0))
		revalidations=$(($(requests 304) - not0))
		;;
	esac
	played=$(grep -E '^played: .* in all' "$tmp/sim.txt" | head -1 || true)
	echo "$label:"
	grep -E '^(summary: |played: .* in all|max buffered: .*syncs|first audio: )' "$tmp/sim.txt" | sed 's/^/    /' || sed 's/^/    /' "$tmp/sim.txt"
	rows+=("$(printf '%-14s %10s s %10s %14s   %s' "$label" \
		"$(awk -v a="$after" -v b="$before" 'BEGIN { printf "%.2f", a - b }')" "$downloads" "$revalidations" "${played#played: }")")
done
echo
printf '%-14s %12s %10s %14s   %s\n' "source" "server CPU" "downloads" "revalidations" "calls"
printf '%s\n' "${rows[@]}"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

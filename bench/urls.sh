#!/usr/bin/env bash
# Compares what a looped URL costs a server with the same file on disk:
# an elkspipe server plays a short looped MP3 (made with sox and lame) to
# simultaneous simulated calls in real time, once as a file on disk and
# once as an http URL served by python3 -m http.server, and prints the
# server's CPU time (user+sys, from /proc), the simulator's summary, and
# the requests the web server got (one download is the target: the file
# is two days old, so its cached copy stays fresh for a day). Linux only.
# Usage:
#
#	bench/urls.sh                          # 100 calls of 20 s, a 5 s MP3
#	CALLS=1000 DURATION=30s bench/urls.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

calls=${CALLS:-100}
duration=${DURATION:-20s}
secs=${SECS:-5}
format=${FORMAT:-ulaw}
tmp=$(mktemp -d)
server=""
web=""
cleanup() {
	[ -n "$server" ] && kill "$server" 2>/dev/null || true
	[ -n "$web" ] && kill "$web" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

for tool in sox lame python3; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "urls.sh: $tool is needed" >&2
		exit 1
	fi
done

go build -o "$tmp/elkspipe" ./cmd/elkspipe
mkdir "$tmp/www"
sox -n -r 44100 -c 2 "$tmp/hold.wav" synth "$secs" sine 300-900 vol 0.5
lame --quiet -b 128 "$tmp/hold.wav" "$tmp/www/hold.mp3"
touch -d '2 days ago' "$tmp/www/hold.mp3"
webport=18480
python3 -m http.server "$webport" --bind 127.0.0.1 --directory "$tmp/www" >/dev/null 2>"$tmp/web.log" &
web=$!
for _ in $(seq 50); do
	python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$webport/hold.mp3')" 2>/dev/null && break
	sleep 0.1
done
: >"$tmp/web.log"
echo "$calls calls of $duration, format $format, a $secs s 44.1 kHz stereo MP3 in a loop"

port=18490
for source in "$tmp/www/hold.mp3" "http://127.0.0.1:$webport/hold.mp3"; do
	port=$((port + 1))
	"$tmp/elkspipe" -q -cache-dir "$tmp/cache" \
		"file $source | loop | elks format=$format listen=127.0.0.1:$port" 2>"$tmp/server.log" &
	server=$!
	wait_for_calls "$tmp/elkspipe" "ws://127.0.0.1:$port/"
	before=$(cpu "$server")
	"$tmp/elkspipe" simulate "ws://127.0.0.1:$port/" --calls "$calls" --duration "$duration" >"$tmp/sim.txt" 2>&1
	after=$(cpu "$server")
	kill -INT "$server"
	wait "$server" || true
	server=""
	label="file on disk"
	case "$source" in http*) label="http URL    " ;; esac
	echo "$label: server CPU $(awk -v a="$after" -v b="$before" 'BEGIN { printf "%.2f", a - b }') s"
	grep -E '^(played: .* in all|max buffered: .*syncs)' "$tmp/sim.txt" | sed 's/^/    /'
done
echo "web server: $(grep -c '"GET /hold.mp3 HTTP/1.1" 200' "$tmp/web.log") downloads, $(grep -c '"GET /hold.mp3 HTTP/1.1" 304' "$tmp/web.log") revalidations"

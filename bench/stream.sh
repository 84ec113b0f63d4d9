#!/usr/bin/env bash
# Measures what a live stream costs a server that plays it to many calls:
# icecast2 (started here on 127.0.0.1 with a config of its own) is fed a
# 128 kb/s 44.1 kHz stereo MP3 by ffmpeg in real time; an elkspipe server
# plays `stream URL` to simultaneous simulated calls, then, for
# comparison, a looped MP3 file of the same kind. It prints the server's
# CPU time (user+sys, from /proc), the simulator's summary and how many
# listeners icecast saw (one: the calls share the connection), and the
# server's stream series of /metrics after the calls. Linux only.
# Usage:
#
#	bench/stream.sh                        # 100 calls of 20 s
#	CALLS=500 DURATION=30s bench/stream.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

calls=${CALLS:-100}
duration=${DURATION:-20s}
format=${FORMAT:-ulaw}
tmp=$(mktemp -d)
chmod 755 "$tmp"
pids=()
cleanup() {
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[i]}" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

need icecast2 ffmpeg python3

go build -o "$tmp/elkspipe" ./cmd/elkspipe
icport=18470
mkdir -m 777 "$tmp/log"
owner=""
[ "$(id -u)" = 0 ] && owner="<changeowner><user>nobody</user><group>nogroup</group></changeowner>"
cat >"$tmp/icecast.xml" <<XML
<icecast>
  <location>bench</location><admin>bench@localhost</admin>
  <limits><clients>100</clients><sources>2</sources><burst-size>65536</burst-size><source-timeout>5</source-timeout></limits>
  <authentication><source-password>benchpw</source-password><admin-user>admin</admin-user><admin-password>adminpw</admin-password></authentication>
  <hostname>127.0.0.1</hostname>
  <listen-socket><port>$icport</port><bind-address>127.0.0.1</bind-address></listen-socket>
  <paths><basedir>/usr/share/icecast2</basedir><logdir>$tmp/log</logdir><webroot>/usr/share/icecast2/web</webroot><adminroot>/usr/share/icecast2/admin</adminroot></paths>
  <logging><accesslog>access.log</accesslog><errorlog>error.log</errorlog><loglevel>2</loglevel></logging>
  <security><chroot>0</chroot>$owner</security>
</icecast>
XML
icecast2 -c "$tmp/icecast.xml" >/dev/null 2>&1 &
pids+=($!)
sleep 1
ffmpeg -nostdin -loglevel error -re -f lavfi -i "sine=frequency=440:sample_rate=44100" -ac 2 \
	-c:a libmp3lame -b:a 128k -content_type audio/mpeg -f mp3 "icecast://source:benchpw@127.0.0.1:$icport/hold.mp3" 2>/dev/null &
pids+=($!)
url="http://127.0.0.1:$icport/hold.mp3"
for _ in $(seq 100); do
	python3 -c "import urllib.request; urllib.request.urlopen('$url').read(1)" 2>/dev/null && break
	sleep 0.1
done
ffmpeg -nostdin -loglevel error -f lavfi -i "sine=frequency=440:sample_rate=44100:duration=30" -ac 2 \
	-c:a libmp3lame -b:a 128k "$tmp/hold.mp3"
echo "$calls calls of $duration, format $format, a 128 kb/s 44.1 kHz stereo MP3"

port=18475
for source in "stream $url" "file $tmp/hold.mp3 | loop"; do
	port=$((port + 1))
	"$tmp/elkspipe" -q "$source | elks format=$format listen=127.0.0.1:$port" 2>"$tmp/server.log" &
	server=$!
	pids+=($server)
	wait_for_calls "$tmp/elkspipe" "ws://127.0.0.1:$port/"
	before=$(cpu "$server")
	"$tmp/elkspipe" simulate "ws://127.0.0.1:$port/" --calls "$calls" --duration "$duration" >"$tmp/sim.txt" 2>&1 &
	sim=$!
	sleep 5
	listeners=$(python3 -c "import json,urllib.request; s=json.load(urllib.request.urlopen('http://127.0.0.1:$icport/status-json.xsl'))['icestats']['source']; print(s['listeners'] if isinstance(s, dict) else s[0]['listeners'])")
	wait "$sim" || true
	after=$(cpu "$server")
	# The server's own account of its streams (/metrics, beside the calls).
	metrics=$(python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:$port/metrics').read().decode())" 2>/dev/null |
		grep -E '^elkspipe_stream_(listeners|up|connections_total|drops_total|failed_attempts_total|outage_seconds_total|silence_seconds_total|dropped_seconds_total)' || true)
	kill -INT "$server"
	wait "$server" || true
	label="stream       "
	case "$source" in file*) label="looped file  " ;; esac
	echo "$label: server CPU $(awk -v a="$after" -v b="$before" 'BEGIN { printf "%.2f", a - b }') s; icecast listeners during the calls: $listeners"
	grep -E '^(played: .* in all|max buffered: .*syncs)' "$tmp/sim.txt" | sed 's/^/    /'
	if [ -n "$metrics" ]; then echo "$metrics" | sed 's/{stream="[^"]*"}//; s/^/    \/metrics: /'; fi
done

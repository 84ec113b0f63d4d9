#!/usr/bin/env bash
# Measures what a hostile peer can make an elkspipe server spend (issue 12's
# attacks): idle keep-alive connections, connections that never say hello,
# one 1 MiB message per call, a 1 MB hello, 6,000 wrong tokens and caller
# audio at wire speed into a recording. Every server runs on 127.0.0.1 and
# is killed by its PID; every attack is bounded in count and time. Takes
# about four minutes. Usage: bench/hardening.sh [FIRST_PORT]
set -euo pipefail
cd "$(dirname "$0")/.."
port=${1:-28400}
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT
go build -o "$tmp/elkspipe" ./cmd/elkspipe
go build -o "$tmp/attack" ./bench/attack
cd "$tmp"

serve() { # serve PIPELINE LOG: starts a server, sets $srv
  ./elkspipe "$1" 2>"$2" &
  srv=$!
  for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/livez" && return; sleep 0.1; done
  echo "the server did not start:"; cat "$2"; exit 1
}
stop() { kill "$srv"; wait "$srv" 2>/dev/null || true; port=$((port+1)); }
rss() { awk '/VmRSS/ {printf "%d MB", $2/1024}' "/proc/$srv/status"; }
fds() { ls "/proc/$srv/fd" | wc -l; }

echo "== idle keep-alive connections: 1,000 after GET /healthz (closed after 30 s idle)"
serve "tone 440 | elks format=pcm_16000 hangup=false listen=127.0.0.1:$port" idle.log
echo "server fds before: $(fds)"
./attack -mode idle -addr 127.0.0.1:$port -n 1000 -pid "$srv" -hold 36s | tail -3
echo "server fds after: $(fds)"
stop

echo "== 100 connections that never say hello, max-calls=5"
serve "tone 440 | elks format=pcm_16000 hangup=false max-calls=5 listen=127.0.0.1:$port" silent.log
./attack -mode silentraw -addr 127.0.0.1:$port -n 100 > silent.out &
atk=$!
sleep 2
./elkspipe simulate --duration 1s "ws://127.0.0.1:$port/" >/dev/null && echo "a real call during the attack: served" || echo "a real call during the attack: FAILED"
wait $atk; tail -1 silent.out
echo "log lines for 100 silent connections: $(wc -l < silent.log)"
stop

echo "== 300 calls, one 1 MiB message each, then silence"
serve "tone 440 | elks format=pcm_16000 hangup=false listen=127.0.0.1:$port" big.log
echo "server RSS idle: $(rss)"
./attack -mode big -addr 127.0.0.1:$port -n 300 -size 1048576 -pid "$srv" -hold 40s | grep -E "hello only|calls still open" | tail -3
stop

echo "== one hello of 990 kB (callid, from, to of 330 kB each), a 3 s call"
serve "tone 440 | elks format=pcm_16000 hangup=false listen=127.0.0.1:$port" hello.log
b0=$(stat -c %s hello.log)
./attack -mode longhello -addr 127.0.0.1:$port -size 330000 -hold 3s >/dev/null
sleep 1
echo "log bytes of that call: $(( $(stat -c %s hello.log) - b0 ))"
stop

echo "== 6,000 requests with a wrong token"
serve "tone 440 | elks token=s3cretTOKEN listen=127.0.0.1:$port" token.log
l0=$(wc -l < token.log)
./attack -mode wrongtoken -addr 127.0.0.1:$port -n 6000 -conc 20
echo "log lines for them: $(( $(wc -l < token.log) - l0 )); the token in the log: $(grep -c s3cretTOKEN token.log || true) times"
stop

echo "== caller audio at wire speed for 8 s into record="
serve "tone 440 | elks format=pcm_16000 hangup=false listen=127.0.0.1:$port record=$tmp/rec/{callid}.wav" flood.log
./attack -mode flood -addr 127.0.0.1:$port -hold 8s
sleep 1
stop
echo "recording: $(stat -c %s rec/flood.wav) bytes; $(grep -o 'recording saved.*' flood.log)"

#!/usr/bin/env bash
# Offers an elkspipe server more calls than it can play and shows what its
# overload protection (overload-lag=) does: the server and a CPU hog
# share one core (taskset), the simulator runs on another and offers
# CALLS calls of DURATION at RATE per second (Poisson), at FORMAT. For
# each overload-lag= in LAGS (0: the protection off) it prints the calls
# admitted and refused, the gaps and the calls with gaps among the
# admitted ones, the first-audio percentiles, the server's peak lag
# (elkspipe_scheduling_lag_seconds, scraped every 0.5 s), how long the
# 503 refusals took (a curl of the calls' path every 0.5 s while
# overloaded), the simulator's own lag (its most, and how long it stayed
# at or above 100 ms: when it did, some gaps may be the simulator's), and
# the overload and recovery lines of the log. Linux
# only; needs jq, curl and taskset, and at least 2 cores. Usage:
#
#	bench/overload.sh                           # 5000 calls at 500/s, overload-lag=500ms and 0
#	CALLS=2000 RATE=200 LAGS="250ms 500ms 0" bench/overload.sh
#	HOG=0 bench/overload.sh                     # no CPU hog: the calls alone overload the core
#
# Every run is bounded: the hog and the simulator by timeouts (the
# arrivals plus DURATION plus a minute), the server killed after them.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

calls=${CALLS:-5000}
rate=${RATE:-500}
duration=${DURATION:-30s}
format=${FORMAT:-pcm_24000}
lags=(${LAGS:-500ms 0})
hog=${HOG:-1}
server_cpu=${SERVER_CPU:-0}
sim_cpu=${SIM_CPU:-1}
pipe=${PIPE:-tone 440}

need jq curl taskset

tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT

go build -o "$tmp/elkspipe" ./cmd/elkspipe
secs=$(case $duration in *ms) echo 1 ;; *m) echo $((${duration%m} * 60)) ;; *s) echo "${duration%s}" ;; *) echo "$duration" ;; esac)
limit=$(awk -v n="$calls" -v r="$rate" -v d="$secs" 'BEGIN { printf "%d", n / r + d + 60 }')

echo "server and $([ "$hog" = 1 ] && echo "a CPU hog" || echo "no hog") on CPU $server_cpu, simulator on CPU $sim_cpu;" \
	"$calls calls of $duration at $format arriving at $rate/s (Poisson), playing '$pipe'"
printf '%-13s %8s %8s %6s %10s %9s %9s %9s %9s %12s %8s %8s\n' \
	overload-lag admitted refused gaps "gap calls" "fa p50" "fa p99" "fa max" "peak lag" "503 took" "sim lag" "lag>100"
port=18700
for lag in "${lags[@]}"; do
	port=$((port + 1))
	url=127.0.0.1:$port
	taskset -c "$server_cpu" "$tmp/elkspipe" -log-level warn \
		"$pipe | elks format=$format listen=$url overload-lag=$lag" 2>"$tmp/server.log" &
	server=$!
	pids+=("$server")
	for _ in $(seq 50); do
		curl -fs "http://$url/livez" >/dev/null 2>&1 && break
		sleep 0.1
	done
	if [ "$hog" = 1 ]; then
		taskset -c "$server_cpu" timeout "$limit" sh -c 'while :; do :; done' &
		pids+=("$!")
		hogpid=$!
	fi
	# The lag, and how long a refusal takes while overloaded, twice a second.
	(
		while kill -0 "$server" 2>/dev/null; do
			curl -s -m 5 "http://$url/metrics" | awk '/^elkspipe_scheduling_lag_seconds / { print "lag", $2 }'
			curl -s -m 5 -o /dev/null -w '%{http_code} %{time_total}\n' "http://$url/" | awk '$1 == 503 { print "refusal", $2 }'
			sleep 0.5
		done
	) >"$tmp/probe.log" 2>/dev/null &
	probe=$!
	pids+=("$probe")
	taskset -c "$sim_cpu" timeout "$limit" "$tmp/elkspipe" simulate "ws://$url/" \
		--calls "$calls" --rate "$rate" --duration "$duration" --summary --json \
		>"$tmp/sim.json" 2>"$tmp/sim.err" || true
	[ "$hog" = 1 ] && kill "$hogpid" 2>/dev/null || true
	kill "$server" "$probe" 2>/dev/null || true
	wait "$server" "$probe" 2>/dev/null || true
	if ! jq -e .summary "$tmp/sim.json" >/dev/null 2>&1; then
		echo "overload-lag=$lag: the simulator gave no summary:" >&2
		head -5 "$tmp/sim.err" >&2
		continue
	fi
	refused=$(grep -c '503 Service Unavailable' "$tmp/sim.err" || true)
	peak=$(awk '$1 == "lag" && $2 > m { m = $2 } END { printf "%.0fms", m * 1000 }' "$tmp/probe.log")
	took=$(awk '$1 == "refusal" { n++; if ($2 > m) m = $2 } END { if (n) printf "max %.0fms", m * 1000; else print "-" }' "$tmp/probe.log")
	jq -r --arg lag "$lag" --argjson refused "$refused" --arg peak "$peak" --arg took "$took" '
		.summary as $s | ($s.first_audio) as $f
		| [$lag, ($s.calls - $s.failed | tostring), ($refused | tostring), ($s.gaps | tostring), ($s.calls_with_gaps | tostring),
		   (($f.p50 * 1000 | round | tostring) + "ms"), (($f.p99 * 1000 | round | tostring) + "ms"),
		   (($f.max * 1000 | round | tostring) + "ms"), $peak, $took,
		   ((($s.simulator_lag.max // 0) * 1000 | round | tostring) + "ms"),
		   ((($s.simulator_lag.above // 0) * 10 | round / 10 | tostring) + "s")] | @tsv' "$tmp/sim.json" |
		awk -F'\t' '{ printf "%-13s %8s %8s %6s %10s %9s %9s %9s %9s %12s %8s %8s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 }'
	# Other failures than refusals, once per reason.
	sed -n 's/^elkspipe simulate: call [0-9]*: //p' "$tmp/sim.err" | grep -v '503 Service Unavailable' | sort | uniq -c |
		sed "s/^/    overload-lag=$lag: /" >&2 || true
	grep -E 'overloaded: refusing|recovered from overload' "$tmp/server.log" | head -4 | cut -c1-200 | sed 's/^/    log: /' || true
done

#!/usr/bin/env bash
# Measures how an elkspipe server scales with concurrent calls: the server
# and the simulator (`elkspipe simulate --summary`) run pinned to separate
# cores (taskset), calls arrive at RATE per second (Poisson), every call
# lasts DURATION, and for each case the script prints the server's CPU as
# a percentage of one core (over the simulator's run), its CPU per
# call-second of audio played, its peak RSS (VmHWM), the gaps and failed
# calls the simulator saw, and the first-audio percentiles (hello to first
# audio), the simulator's CPU as a percentage of one core (near 100%
# per simulator process, the simulator is the bottleneck and its gaps are
# its own), and the simulator's own scheduling lag: its highest, and how
# long it stayed at or above 100 ms (the simulator was then short of CPU,
# and answered syncs and stamped audio late: the gaps and first-audio
# times of such a run may be its own), and the steal on the server's and
# the simulators' cores (the CPU time a shared host gave to other
# machines: the same work costs more CPU during steal, so compare runs at
# a like steal). Cases: a looped 30 s 44.1 kHz stereo MP3 and a looped playlist
# of two 15 s MP3s, at ulaw and pcm_16000. Linux only; needs sox, lame,
# jq and taskset, and at least 2 cores. Usage:
#
#	bench/scale.sh                  # 100 and 1000 calls
#	bench/scale.sh 100 1000 10000   # the call counts to run
#	DURATION=60s RATE=500 SERVER_CPU=0 SIM_CPU=1,2 bench/scale.sh 10000
#	SERVER_ARGS='-render-cache 0' bench/scale.sh 1000   # flags for the server
#	SERVER_ENV='GOGC=off GOMEMLIMIT=900MiB' bench/scale.sh 10000   # its environment
#	FORMATS=ulaw bench/scale.sh 10000   # the formats to run (ulaw pcm_16000)
#
# SIM_CPU is a comma-separated list of CPUs: one simulator process runs on
# each (a CPU may be listed twice), with an equal share of the calls and
# of the rate; their summaries are added up (calls, failed, gaps, played),
# and the first-audio percentiles are taken from all the calls' times
# together (--first-audio-times), by nearest rank as the simulator does.
# One simulator core drives 8,000-10,000 calls at ulaw, fewer at
# pcm_16000 (docs/performance.md).
#
# Every run is bounded: the simulators by a timeout of the ramp-up plus
# DURATION plus a minute, the server killed after it.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

duration=${DURATION:-20s}
rate=${RATE:-200}
server_cpu=${SERVER_CPU:-0}
sim_cpu=${SIM_CPU:-1}
IFS=, read -r -a sim_cpus <<<"$sim_cpu"
nsim=${#sim_cpus[@]}
read -r -a server_args <<<"${SERVER_ARGS:-}"
read -r -a server_env <<<"${SERVER_ENV:-}"
read -r -a formats <<<"${FORMATS:-ulaw pcm_16000}"
counts=("$@")
[ ${#counts[@]} -eq 0 ] && counts=(100 1000)

need sox lame jq taskset

tmp=$(mktemp -d)
server=""
cleanup() {
	if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT

go build -o "$tmp/elkspipe" ./cmd/elkspipe
sox -n -r 44100 -c 2 "$tmp/hold.wav" synth 30 sine 300-900 vol 0.5
lame --quiet -b 128 "$tmp/hold.wav" "$tmp/hold.mp3"
sox -n -r 44100 -c 2 "$tmp/a.wav" synth 15 sine 440 vol 0.5
sox -n -r 44100 -c 2 "$tmp/b.wav" synth 15 sine 660 vol 0.5
lame --quiet -b 128 "$tmp/a.wav" "$tmp/a.mp3"
lame --quiet -b 128 "$tmp/b.wav" "$tmp/b.mp3"

# seconds DUR: a duration like 20s, 1m or 500ms in seconds.
seconds() {
	case $1 in
	*ms) awk -v d="${1%ms}" 'BEGIN { print d / 1000 }' ;;
	*m) awk -v d="${1%m}" 'BEGIN { print d * 60 }' ;;
	*s) echo "${1%s}" ;;
	*) echo "$1" ;;
	esac
}

echo "server on CPU $server_cpu, $nsim simulator process(es) on CPU $sim_cpu; calls of $duration arriving at $rate/s (Poisson); load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-9s %-10s %6s %8s %12s %9s %6s %7s %9s %9s %9s %8s %8s %8s %7s\n' \
	source format calls "CPU%" "ms/call-s" "RSS MiB" gaps failed "fa p50" "fa p99" "fa max" "sim CPU%" "sim lag" "lag>100" "steal%"
port=18500
for calls in "${counts[@]}"; do
	for src in mp3 playlist; do
		case $src in
		mp3) pipe="file $tmp/hold.mp3 | loop" ;;
		playlist) pipe="playlist $tmp/a.mp3 $tmp/b.mp3 | loop" ;;
		esac
		for format in "${formats[@]}"; do
			port=$((port + 1))
			env "${server_env[@]}" taskset -c "$server_cpu" "$tmp/elkspipe" -q "${server_args[@]}" \
				"$pipe | elks format=$format listen=127.0.0.1:$port" 2>"$tmp/server.log" &
			server=$!
			wait_for_calls "$tmp/elkspipe" "ws://127.0.0.1:$port/" "${sim_cpus[0]}"
			limit=$(awk -v n="$calls" -v r="$rate" -v d="$(seconds "$duration")" 'BEGIN { printf "%d", n / r + d + 60 }')
			before=$(cpu "$server")
			steal_before=$(steal "$server_cpu,$sim_cpu")
			start=$(date +%s.%N)
			sims=()
			for i in "${!sim_cpus[@]}"; do
				# An equal share of the calls (the first take the rest) and of the rate.
				share=$((calls / nsim + (i < calls % nsim ? 1 : 0)))
				simrate=$(awk -v r="$rate" -v n="$nsim" 'BEGIN { print r / n }')
				taskset -c "${sim_cpus[$i]}" /usr/bin/time -f "%U %S" -o "$tmp/sim$i.time" timeout "$limit" "$tmp/elkspipe" simulate "ws://127.0.0.1:$port/" \
					--calls "$share" --rate "$simrate" --duration "$duration" --summary --json --first-audio-times \
					>"$tmp/sim$i.json" 2>"$tmp/sim$i.err" &
				sims+=($!)
			done
			for p in "${sims[@]}"; do wait "$p" || true; done
			end=$(date +%s.%N)
			after=$(cpu "$server")
			stolen=$(steal_percent "$steal_before" "$(steal "$server_cpu,$sim_cpu")")
			rss=$(awk '/^VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$server/status")
			kill "$server"
			wait "$server" 2>/dev/null || true
			server=""
			# time(1) writes "Command exited with non-zero status N" first when
			# a simulator failed: the figures are the last line of each.
			simcpu=$(cat "$tmp"/sim*.time | awk 'NF == 2 && $1 ~ /^[0-9.]+$/ { c += $1 + $2 } END { print c + 0 }')
			# Why calls failed, once per reason.
			cat "$tmp"/sim*.err | sed -n 's/^elkspipe simulate: call [0-9]*: //p' | sort | uniq -c | sed "s/^/    $src $format $calls: /" >&2
			ok=1
			for i in "${!sim_cpus[@]}"; do
				if ! jq -e .summary "$tmp/sim$i.json" >/dev/null 2>&1; then
					echo "$src $format $calls: simulator $i gave no summary:" >&2
					head -5 "$tmp/sim$i.err" >&2
					ok=0
				fi
			done
			[ "$ok" = 1 ] || continue
			# The simulators' summaries added up; the percentiles of all the
			# calls' times to first audio by nearest rank.
			jq -s '{summary: {
				calls: (map(.summary.calls) | add), failed: (map(.summary.failed) | add),
				played: (map(.summary.played) | add), gaps: (map(.summary.gaps) | add),
				simulator_lag: {max: (map(.summary.simulator_lag.max // 0) | max),
					above: (map(.summary.simulator_lag.above // 0) | max)},
				first_audio: ([.[].first_audio_seconds // [] | .[]] | sort as $v | ($v | length) as $n
					| if $n == 0 then {p50: 0, p99: 0, max: 0} else
					  {p50: $v[([((50 * $n / 100) | ceil) - 1, 0] | max)],
					   p99: $v[([((99 * $n / 100) | ceil) - 1, 0] | max)], max: $v[$n - 1]} end)}}' \
				"$tmp"/sim[0-9]*.json >"$tmp/sim.json"
			rm -f "$tmp"/sim[0-9]*.json "$tmp"/sim*.time "$tmp"/sim*.err
			jq -r --arg src "$src" --arg format "$format" --argjson cpu "$(awk -v a="$after" -v b="$before" 'BEGIN { print a - b }')" \
				--argjson wall "$(awk -v a="$end" -v b="$start" 'BEGIN { print a - b }')" --argjson rss "$rss" --argjson simcpu "$simcpu" --arg stolen "$stolen" '
				.summary as $s
				| ($s.first_audio) as $f
				| [$src, $format, ($s.calls | tostring),
				   (100 * $cpu / $wall | floor | tostring),
				   (if $s.played > 0 then 1000 * $cpu / $s.played * 1000 | round / 1000 | tostring else "-" end),
				   ($rss | tostring), ($s.gaps | tostring), ($s.failed | tostring),
				   (($f.p50 * 1000 * 10 | round / 10 | tostring) + "ms"),
				   (($f.p99 * 1000 * 10 | round / 10 | tostring) + "ms"),
				   (($f.max * 1000 * 10 | round / 10 | tostring) + "ms"),
				   (100 * $simcpu / $wall | floor | tostring),
				   (($s.simulator_lag.max * 1000 | round | tostring) + "ms"),
				   (($s.simulator_lag.above * 10 | round / 10 | tostring) + "s"), $stolen]
				| @tsv' "$tmp/sim.json" |
				awk -F'\t' '{ printf "%-9s %-10s %6s %8s %12s %9s %6s %7s %9s %9s %9s %8s %8s %8s %7s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15 }'
		done
	done
done

# Helpers shared by the bench scripts (sourced, not run).

# cpu PID: the CPU time (user+sys) of process PID so far, in seconds.
cpu() {
	awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"
}

# steal CPUS: the CPU time the hypervisor gave to others (steal) and all
# the CPU time so far, in clock ticks, of the comma-separated CPUS
# together ("STEAL TOTAL", from /proc/stat). On a shared virtual machine
# the same work takes more CPU while others take the host's cores: a
# run's figures are comparable with another's only at a like steal.
steal() {
	awk -v cpus="$1" 'BEGIN { n = split(cpus, c, ","); for (i = 1; i <= n; i++) want["cpu" c[i]] = 1 }
		$1 in want { for (i = 2; i <= NF; i++) total += $i; st += $9 }
		END { print st + 0, total + 0 }' /proc/stat
}

# steal_percent "STEAL TOTAL" "STEAL TOTAL": the steal between two
# readings of steal, as a percentage of the CPU time between them.
steal_percent() {
	awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " ")
		t = y[2] - x[2]; if (t <= 0) { print 0; exit } printf "%.1f", 100 * (y[1] - x[1]) / t }'
}

# wait_for_calls ELKSPIPE URL [TASKSET-CPU]: waits up to 5 s until the
# elkspipe server at URL answers a call (a 1 ms simulated one).
wait_for_calls() {
	local pin=()
	[ -n "${3:-}" ] && pin=(taskset -c "$3")
	for _ in $(seq 50); do
		"${pin[@]}" "$1" simulate "$2" --duration 1ms >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 0
}

# need TOOL...: exits, naming the script and the tool, unless every TOOL
# is on PATH.
need() {
	local tool
	for tool in "$@"; do
		if ! command -v "$tool" >/dev/null 2>&1; then
			echo "$(basename "$0"): $tool is needed" >&2
			exit 1
		fi
	done
}

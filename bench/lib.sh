# Helpers shared by the bench scripts (sourced, not run).

# cpu PID: the CPU time (user+sys) of process PID so far, in seconds.
cpu() {
	awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"
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

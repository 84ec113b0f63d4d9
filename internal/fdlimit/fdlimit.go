// Package fdlimit tells how many files (and so connections) the process
// may have open. Go raises the soft limit of RLIMIT_NOFILE to the hard
// limit at start on Unix (Go 1.19 and later), so the soft limit read here
// is all the process can get: beyond it, accept and dial fail with "too
// many open files". Raising the hard limit is the system's business
// (ulimit -Hn, LimitNOFILE= in a systemd unit, nofile in limits.conf).
package fdlimit

// Headroom is the file descriptors a process keeps for its own files,
// listeners and standard streams beside its connections.
const Headroom = 64

// Check says, for a process about to hold conns connections at once,
// why the limit will stop it ("" when it will not, or the limit is not
// known): the connections past Open() - Headroom fail.
func Check(conns int) string {
	n, ok := Open()
	if !ok || uint64(conns)+Headroom <= n {
		return ""
	}
	return limitText(conns, n)
}

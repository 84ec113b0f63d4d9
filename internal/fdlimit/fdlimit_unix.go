//go:build unix

package fdlimit

import (
	"fmt"
	"syscall"
)

// Open returns the most files the process may have open (RLIMIT_NOFILE's
// soft limit), and false when it cannot be read.
func Open() (uint64, bool) {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0, false
	}
	return uint64(r.Cur), true
}

func limitText(conns int, n uint64) string {
	return fmt.Sprintf("%d connections need about %d file descriptors, and this process may open %d "+
		"(RLIMIT_NOFILE, already raised to the hard limit): the connections past about %d will fail with "+
		"\"too many open files\"; raise the hard limit (ulimit -Hn, systemd LimitNOFILE=)", conns, conns+Headroom, n, max(int(n)-Headroom, 0))
}

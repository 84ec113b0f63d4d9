//go:build linux

// Package proctest checks, for tests of code that runs programs, that
// nothing is left behind: processes of a process group, file descriptors
// and goroutines. It reads /proc, so it is for Linux.
package proctest

import (
	"errors"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// OpenFDs returns the number of file descriptors the process has open.
func OpenFDs() int {
	ents, _ := os.ReadDir("/proc/self/fd")
	return len(ents)
}

// CheckNoLeak fails t, when it ends, if file descriptors or goroutines
// stay above what they are now (allowing 10 s for goroutines to end).
func CheckNoLeak(t testing.TB) {
	t.Helper()
	fds, gs := OpenFDs(), runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(10 * time.Second)
		for {
			f, g := OpenFDs(), runtime.NumGoroutine()
			if f <= fds && g <= gs {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("leak: %d file descriptors (was %d), %d goroutines (was %d)", f, fds, g, gs)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// GroupGone reports whether no live process of the group pgid is left
// (zombies that init has yet to reap are dead), waiting up to 5 s.
func GroupGone(pgid int) bool {
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if len(LiveInGroup(pgid)) == 0 {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// LiveInGroup lists the pids of the processes of group pgid that are not
// zombies.
func LiveInGroup(pgid int) []string {
	if errors.Is(syscall.Kill(-pgid, 0), syscall.ESRCH) {
		return nil
	}
	ents, _ := os.ReadDir("/proc")
	var live []string
	for _, e := range ents {
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) > 2 && f[2] == strconv.Itoa(pgid) && f[0] != "Z" {
			live = append(live, e.Name())
		}
	}
	return live
}

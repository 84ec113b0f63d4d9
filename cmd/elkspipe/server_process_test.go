package main

import (
	"bufio"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// startServerProcess runs the built elkspipe (bin) with args, collecting
// its log lines, and kills it when the test ends. done receives the
// process's exit; a test that takes it itself sends nil back for the
// cleanup.
func startServerProcess(t *testing.T, bin string, args ...string) (cmd *exec.Cmd, logs *lockedLines, done chan error) {
	t.Helper()
	cmd = exec.Command(bin, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logs = &lockedLines{}
	done = make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logs.add(sc.Text())
		}
		done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
	})
	return cmd, logs, done
}

// lockedLines collects a process's log lines and tells when one
// matches.
type lockedLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *lockedLines) add(s string) { l.mu.Lock(); l.lines = append(l.lines, s); l.mu.Unlock() }

func (l *lockedLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func (l *lockedLines) wait(t *testing.T, what string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(l.String(), what) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the log after a minute:\n%s", what, l.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

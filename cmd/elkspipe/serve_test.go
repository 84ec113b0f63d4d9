package main

import (
	"bufio"
	"errors"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A server stopped with SIGTERM (as systemd and Kubernetes stop it)
// after a clean shutdown exits with 0. Its output is one log, in one
// format, from the -v chain to the shutdown, and the start-up check's
// opening of the pipeline prints no loop or playlist events: those
// belong to calls.
func TestServerSIGTERMExitsZero(t *testing.T) {
	bin := buildElkspipe(t)
	cmd := exec.Command(bin, "-v", "tone 440 dur=1 + tone 300 dur=1 | loop | elks listen=127.0.0.1:0 token=s3cret")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	var lines []string
	serving := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines = append(lines, sc.Text())
			if strings.Contains(sc.Text(), "serving calls") {
				close(serving)
			}
		}
		done <- cmd.Wait()
	}()
	select {
	case <-serving:
	case err := <-done:
		t.Fatalf("exited before serving: %v\n%s", err, strings.Join(lines, "\n"))
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("not serving after a minute:\n%s", strings.Join(lines, "\n"))
	}
	cmd.Process.Signal(syscall.SIGTERM)
	var werr error
	select {
	case werr = <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatal("still running a minute after SIGTERM")
	}
	out := strings.Join(lines, "\n")
	var exit *exec.ExitError
	if errors.As(werr, &exit) || werr != nil {
		t.Errorf("after SIGTERM: %v, want exit status 0\n%s", werr, out)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "time=") {
			t.Errorf("a line not in the log's format: %q", l)
		}
	}
	for _, bad := range []string{"iteration started", "item started", "s3cret"} {
		if strings.Contains(out, bad) {
			t.Errorf("the output shows %q:\n%s", bad, out)
		}
	}
	for _, want := range []string{`msg=pipeline chain=`, `url="ws://127.0.0.1:`, `/?token=xxx"`, `msg="shutting down"`} {
		if !strings.Contains(out, want) {
			t.Errorf("the output lacks %s:\n%s", want, out)
		}
	}
}

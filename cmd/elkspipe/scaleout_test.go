package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/elkspipe/elkspipe/internal/proxytest"
	"github.com/elkspipe/elkspipe/sinks/elks"
	"github.com/elkspipe/elkspipe/sinks/elks/elkstest"
)

// scaleoutTone is how long every call of the rolling deploy plays: long
// enough that calls run through each phase.
const scaleoutTone = 6 * time.Second

// A rolling deploy behind Debian's nginx, and behind HAProxy, loses no
// call: two replicas, A and B, serve calls through one upstream; A gets
// SIGTERM while calls run, and a new A' starts on its address once A has
// stopped accepting. Every call that A was playing plays to its end
// without a gap (the draining replica keeps it), calls that arrive during
// the drain delay and after it are served (by A while it still accepts,
// then by B, the proxy retrying the refused connection), A exits with 0
// once its calls have ended, and A' takes calls again.
func TestRollingDeployBehindNginx(t *testing.T) {
	// max_fails=0: nginx never marks a replica down but retries a refused
	// connection on the other one (proxy_next_upstream error), so calls
	// after the drain delay test that retry, and A' gets its share of
	// calls (round robin) as soon as it listens.
	testRollingDeploy(t, func(a, b string) string {
		return proxytest.NginxUpstreams(t, []string{a + " max_fails=0", b + " max_fails=0"}, "proxy_read_timeout 1h;")
	})
}

// The same behind HAProxy (balance leastconn, a refused connection
// retried on the other server).
func TestRollingDeployBehindHAProxy(t *testing.T) {
	testRollingDeploy(t, func(a, b string) string {
		return proxytest.HAProxyBackends(t, []string{a, b}, "timeout tunnel 1h")
	})
}

// testRollingDeploy runs the rolling deploy through the proxy that front
// starts in front of replicas a and b (host:port), returning its address.
func testRollingDeploy(t *testing.T, front func(a, b string) string) {
	if testing.Short() {
		t.Skip("runs replicas for about 15 s")
	}
	bin := buildElkspipe(t)
	pipe := fmt.Sprintf("tone 440 dur=%s | elks listen=127.0.0.1:0 drain-delay=2s", scaleoutTone)
	a := startReplica(t, bin, pipe)
	b := startReplica(t, bin, pipe)
	url := "ws://" + front(a.addr, b.addr) + "/"

	var calls callSet
	calls.start(t, url, "running", 6)
	waitFor(t, "the 6 first calls on both replicas", func() bool {
		ha, hb := health(a.addr), health(b.addr)
		return ha.Calls+hb.Calls == 6 && ha.Calls > 0 && hb.Calls > 0
	})

	a.cmd.Process.Signal(syscall.SIGTERM)
	a.logs.wait(t, "draining")
	calls.start(t, url, "in the drain delay", 2)
	a.logs.wait(t, "shutting down")
	waitFor(t, "A to refuse connections", func() bool {
		c, err := net.DialTimeout("tcp", a.addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	calls.start(t, url, "after the drain delay", 3)

	a2 := startReplica(t, bin, fmt.Sprintf("tone 440 dur=%s | elks listen=%s drain-delay=2s", scaleoutTone, a.addr))
	calls.start(t, url, "after A' started", 4)

	calls.wait()
	for _, c := range calls.all {
		if c.err != nil {
			t.Errorf("call %s: %v", c.phase, c.err)
			continue
		}
		r := c.report
		if r.End.By != elks.ByApp || r.Played < scaleoutTone.Seconds()-0.1 || r.Gaps.Count != 0 || len(r.Violations) != 0 {
			t.Errorf("call %s: ended by %s (%s %s), played %.2f s of %s, %d gaps (%.3f s), violations %v",
				c.phase, r.End.By, r.End.Reason, r.End.Error, r.Played, scaleoutTone, r.Gaps.Count, r.Gaps.Seconds, r.Violations)
		}
	}
	select {
	case err := <-a.done:
		if err != nil {
			t.Errorf("A after SIGTERM: %v\n%s", err, a.logs.String())
		}
		a.done <- nil // for the cleanup
	case <-time.After(60 * time.Second):
		t.Errorf("A still runs a minute after SIGTERM, its calls ended:\n%s", a.logs.String())
	}
	if h := health(a2.addr); h.Total < 2 {
		t.Errorf("A' took %d calls through the proxy, not 2 or more:\n%s", h.Total, a2.logs.String())
	}
	if t.Failed() {
		t.Logf("A:\n%s\nB:\n%s", a.logs.String(), b.logs.String())
	}
}

// replica is an elkspipe server process of the scale-out test.
type replica struct {
	addr string
	cmd  *exec.Cmd
	logs *lockedLines
	done chan error
}

// startReplica runs the built elkspipe serving pipe and returns it once
// it listens.
func startReplica(t *testing.T, bin, pipe string) *replica {
	t.Helper()
	cmd, logs, done := startServerProcess(t, bin, pipe)
	logs.wait(t, "serving calls")
	m := regexp.MustCompile(`addr=(127\.0\.0\.1:\d+)`).FindStringSubmatch(logs.String())
	if m == nil {
		t.Fatalf("no address in the log:\n%s", logs.String())
	}
	return &replica{addr: m[1], cmd: cmd, logs: logs, done: done}
}

// callSet runs simulated calls and keeps their reports.
type callSet struct {
	wg  sync.WaitGroup
	mu  sync.Mutex
	all []*scaleoutCall
}

// scaleoutCall is one call of the scale-out test: the phase it started
// in, and how it went.
type scaleoutCall struct {
	phase  string
	report *elkstest.Report
	err    error
}

// start places n calls to url, in real time, each until the application
// hangs up (at most a minute).
func (s *callSet) start(t *testing.T, url, phase string, n int) {
	t.Helper()
	for i := range n {
		c := &scaleoutCall{phase: fmt.Sprintf("%d %s", i+1, phase)}
		s.mu.Lock()
		s.all = append(s.all, c)
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			c.report, c.err = elkstest.Call(ctx, elkstest.Options{URL: url})
		}()
	}
}

// wait waits for every call to end.
func (s *callSet) wait() { s.wg.Wait() }

// replicaHealth is what a replica's /healthz says; zero when it does
// not answer.
type replicaHealth struct {
	Calls int   `json:"calls"`
	Total int64 `json:"total_calls"`
}

// health asks the replica at addr for its /healthz.
func health(addr string) replicaHealth {
	var h replicaHealth
	r, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		return h
	}
	defer r.Body.Close()
	json.NewDecoder(r.Body).Decode(&h)
	return h
}

// waitFor polls cond until it holds, for up to a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s after a minute", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

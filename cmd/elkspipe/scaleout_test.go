package main

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/elkspipe/elkspipe/internal/promtest"
	"github.com/elkspipe/elkspipe/internal/proxytest"
	"github.com/elkspipe/elkspipe/sinks/elks"
	"github.com/elkspipe/elkspipe/sinks/elks/elkstest"
)

// The scale-out test's timings. Every call plays a tone of scaleoutTone
// and stays open, silent (hangup=false), until the simulated caller hangs
// up at scaleoutCallLength; the silent call stays scaleoutSilent. The
// proxy cuts a connection idle for scaleoutIdle; the replicas ping every
// scaleoutPing. (Without the pings, the proxy cuts the silent call after
// scaleoutIdle: sinks/elks's TestKeepaliveThroughProxies shows it.)
//
// A pong must come back within scaleoutPing, or the replica drops the
// call: on a loaded machine the simulator (this test's process) may
// stall for some hundreds of milliseconds, so the ping is not shorter.
const (
	scaleoutTone       = 3 * time.Second
	scaleoutCallLength = 5 * time.Second
	scaleoutSilent     = 17 * time.Second
	scaleoutIdle       = 4 * time.Second
	scaleoutPing       = 1500 * time.Millisecond
)

// Three replicas behind one nginx upstream serve 60 calls with no call
// lost, through a rolling deploy of one of them and a proxy idle timeout
// (proxy_read_timeout) that a silent call outlives thanks to pings.
// max_fails=0: nginx never marks a replica down, but retries a refused
// connection on the next one (proxy_next_upstream error), which is what
// sends calls away from a replica that drained; round robin spreads the
// others.
func TestScaleOutBehindNginx(t *testing.T) {
	testScaleOut(t, func(addrs []string) string {
		var ups []string
		for _, a := range addrs {
			ups = append(ups, a+" max_fails=0")
		}
		return proxytest.NginxUpstreams(t, ups, fmt.Sprintf("proxy_read_timeout %ds; proxy_send_timeout %ds;",
			int(scaleoutIdle.Seconds()), int(scaleoutIdle.Seconds())))
	})
}

// The same behind HAProxy, as deploy/haproxy/elkspipe.cfg runs it: balance
// leastconn, /readyz health checks (so that a draining replica gets no new
// call even during its drain delay), retries on another server, and a
// tunnel timeout the silent call outlives.
func TestScaleOutBehindHAProxy(t *testing.T) {
	testScaleOut(t, func(addrs []string) string {
		var ups []string
		for _, a := range addrs {
			ups = append(ups, a+" check")
		}
		return proxytest.HAProxyBackends(t, ups, fmt.Sprintf("timeout tunnel %ds\n"+
			"\toption httpchk GET /readyz\n\thttp-check expect status 200\n"+
			"\ttimeout check 2s\n\tdefault-server inter 500ms fall 2 rise 1", int(scaleoutIdle.Seconds())))
	})
}

// testScaleOut runs three replicas behind the proxy that front starts in
// front of them (host:port each), returning its address, and through it:
//
//  1. a silent call S: a tone, then nothing but the replica's pings for
//     more than three of the proxy's idle timeouts; its replica is V,
//     the one the deploy replaces;
//  2. 36 calls, spread over all three replicas (each replica's /metrics
//     says how many it took);
//  3. SIGTERM to V while its calls play: 6 calls during its drain delay
//     (served by V or, once the proxy sees /readyz 503, by the others),
//     then 12 once it stopped accepting, which all land on the others;
//  4. V' started on V's address, while V still plays its calls, and 6
//     more calls, of which V' takes its share.
//
// No call fails: each plays its whole tone without a gap and ends when
// its caller hangs up, S included; V exits with 0 once its calls have
// ended; no replica dropped a call for a missing pong.
func testScaleOut(t *testing.T, front func(addrs []string) string) {
	if testing.Short() {
		t.Skip("runs three replicas and 61 calls for about 20 s")
	}
	bin := buildElkspipe(t)
	pipe := func(listen string) string {
		return fmt.Sprintf("tone 440 dur=%s | elks listen=%s metrics-listen=127.0.0.1:0 hangup=false ping=%s drain-delay=2s",
			scaleoutTone, listen, scaleoutPing)
	}
	replicas := []*replica{startReplica(t, bin, pipe("127.0.0.1:0")), startReplica(t, bin, pipe("127.0.0.1:0")), startReplica(t, bin, pipe("127.0.0.1:0"))}
	url := "ws://" + front([]string{replicas[0].addr, replicas[1].addr, replicas[2].addr}) + "/"
	var calls callSet
	defer func() {
		if t.Failed() {
			for i, r := range replicas {
				t.Logf("replica %d (%s):\n%s", i+1, r.addr, r.logs.String())
			}
		}
	}()

	// 1. The silent call, and its replica V.
	calls.start(t, url, "silent", 1, scaleoutSilent, 0)
	var v *replica
	waitFor(t, "the silent call on a replica", func() bool {
		for _, r := range replicas {
			if r.accepted(t) == 1 {
				v = r
				return true
			}
		}
		return false
	})
	others := []*replica{}
	for _, r := range replicas {
		if r != v {
			others = append(others, r)
		}
	}

	// 2. Calls spread over the replicas.
	calls.start(t, url, "running", 36, scaleoutCallLength, 30*time.Millisecond)
	waitFor(t, "37 calls accepted", func() bool { return sumAccepted(t, replicas) == 37 })
	for i, r := range replicas {
		if n := r.accepted(t); n < 6 {
			t.Errorf("replica %d took %v of 37 calls: the proxy does not spread them", i+1, n)
		}
	}

	// 3. A rolling deploy replaces V: calls during its drain delay, then
	// after it stopped accepting.
	v.cmd.Process.Signal(syscall.SIGTERM)
	v.logs.wait(t, "draining")
	calls.start(t, url, "in V's drain delay", 6, scaleoutCallLength, 30*time.Millisecond)
	v.logs.wait(t, "shutting down")
	waitFor(t, "V to refuse connections", func() bool {
		c, err := net.DialTimeout("tcp", v.addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	waitFor(t, "the calls of the drain delay accepted", func() bool { return sumAccepted(t, replicas) == 43 })
	atClose := v.accepted(t)
	calls.start(t, url, "after V stopped accepting", 12, scaleoutCallLength, 30*time.Millisecond)
	waitFor(t, "the calls after V's close accepted", func() bool { return atClose+sumAccepted(t, others) == 55 })
	if n := v.accepted(t); n != atClose {
		t.Errorf("V, draining with its listener closed, took %v calls", n-atClose)
	}

	// 4. V' on V's address takes calls while V still plays its own.
	v2 := startReplica(t, bin, pipe(v.addr))
	calls.start(t, url, "after V' started", 6, scaleoutCallLength, 300*time.Millisecond)

	calls.wait()
	for _, c := range calls.all {
		if c.err != nil {
			t.Errorf("call %s: %v", c.phase, c.err)
			continue
		}
		r := c.report
		if r.End.By != elks.ByAPI || r.End.Reason != "hangup" || r.Played < scaleoutTone.Seconds()-0.1 || r.Gaps.Count != 0 || len(r.Violations) != 0 {
			t.Errorf("call %s: ended by %s (%s %s), played %.2f s of %s, %d gaps (%.3f s), violations %v",
				c.phase, r.End.By, r.End.Reason, r.End.Error, r.Played, scaleoutTone, r.Gaps.Count, r.Gaps.Seconds, r.Violations)
		}
	}
	if s := calls.all[0].report; s != nil && s.Duration-s.Played < 3*scaleoutIdle.Seconds() {
		t.Errorf("the silent call was silent for %.1f s, not 3 proxy idle timeouts (%s)", s.Duration-s.Played, 3*scaleoutIdle)
	}
	select {
	case err := <-v.done:
		if err != nil {
			t.Errorf("V after SIGTERM: %v\n%s", err, v.logs.String())
		}
		v.done <- nil // for the cleanup
	case <-time.After(60 * time.Second):
		t.Errorf("V still runs a minute after its calls ended:\n%s", v.logs.String())
	}
	if n := v2.accepted(t); n < 1 {
		t.Errorf("V' took no call through the proxy:\n%s", v2.logs.String())
	}
	for i, r := range append(others, v2) {
		waitFor(t, "the replica's calls to close", func() bool {
			n, _ := r.scrape(t).Value("elkspipe_calls_active")
			return n == 0
		})
		sc := r.scrape(t)
		pongs, _ := sc.Value("elkspipe_protocol_errors_total", "kind", "no_pong")
		ended := sc.Labels("elkspipe_calls_ended_total")
		if pongs != 0 || strings.Join(ended, " ") != "by=api,reason=hangup" {
			t.Errorf("replica %d: %v calls dropped for a missing pong, calls ended %v; want none, and all by the caller", i+1, pongs, ended)
		}
	}
}

// replica is an elkspipe server process of the scale-out test.
type replica struct {
	addr        string // the calls'
	metricsAddr string // metrics-listen=, or "" when the calls' listener serves them
	cmd         *exec.Cmd
	logs        *lockedLines
	done        chan error
}

var (
	servingRE = regexp.MustCompile(`msg="serving calls".* addr=(127\.0\.0\.1:\d+)`)
	metricsRE = regexp.MustCompile(`msg="serving metrics and probes" addr=(127\.0\.0\.1:\d+)`)
)

// startReplica runs the built elkspipe with args (a pipeline that ends
// in elks, or serve ROUTES-FILE) and returns it once it listens.
func startReplica(t *testing.T, bin string, args ...string) *replica {
	t.Helper()
	cmd, logs, done := startServerProcess(t, bin, args...)
	logs.wait(t, "serving calls")
	m := servingRE.FindStringSubmatch(logs.String())
	if m == nil {
		t.Fatalf("no address in the log:\n%s", logs.String())
	}
	r := &replica{addr: m[1], cmd: cmd, logs: logs, done: done}
	if m := metricsRE.FindStringSubmatch(logs.String()); m != nil {
		r.metricsAddr = m[1]
	}
	return r
}

// scrape reads the replica's /metrics with Prometheus's parser.
func (r *replica) scrape(t *testing.T) promtest.Scrape {
	t.Helper()
	addr := r.metricsAddr
	if addr == "" {
		addr = r.addr
	}
	sc, err := promtest.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("replica %s: %v\n%s", r.addr, err, r.logs.String())
	}
	return sc
}

// accepted is the number of calls the replica has accepted, from its
// /metrics.
func (r *replica) accepted(t *testing.T) float64 {
	t.Helper()
	v, ok := r.scrape(t).Value("elkspipe_calls_total", "result", "accepted")
	if !ok {
		t.Fatalf("replica %s: no elkspipe_calls_total{result=accepted}", r.addr)
	}
	return v
}

// sumAccepted is the number of calls the replicas have accepted.
func sumAccepted(t *testing.T, rs []*replica) float64 {
	t.Helper()
	var n float64
	for _, r := range rs {
		n += r.accepted(t)
	}
	return n
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

// start places n calls to url in real time, one every gap, each until
// the caller hangs up at length (0: until the application hangs up), at
// most a minute.
func (s *callSet) start(t *testing.T, url, phase string, n int, length, gap time.Duration) {
	t.Helper()
	for i := range n {
		if i > 0 {
			time.Sleep(gap)
		}
		c := &scaleoutCall{phase: fmt.Sprintf("%d %s", i+1, phase)}
		s.mu.Lock()
		s.all = append(s.all, c)
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			c.report, c.err = elkstest.Call(ctx, elkstest.Options{URL: url, Duration: length})
		}()
	}
}

// wait waits for every call to end.
func (s *callSet) wait() { s.wg.Wait() }

// waitFor polls cond until it holds, for up to a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s after a minute", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

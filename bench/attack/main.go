// Command attack runs bounded attacks on a local elkspipe server, to
// measure what a hostile peer can make it spend: idle keep-alive
// connections (-mode idle), WebSocket connections that never say hello
// (silent, silentraw), one large message per call (big), huge hello
// fields (longhello), wrong tokens (wrongtoken) and caller audio sent at
// wire speed (flood). bench/hardening.sh runs each against a server and
// prints the figures of docs/operations.md's limits. Only ever point it
// at a server of your own on 127.0.0.1.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

var (
	mode   = flag.String("mode", "", "idle|silent|silentraw|big|longhello|wrongtoken|flood")
	addr   = flag.String("addr", "127.0.0.1:28001", "server host:port")
	n      = flag.Int("n", 100, "connections / requests")
	pid    = flag.Int("pid", 0, "server pid (for fds/RSS)")
	hold   = flag.Duration("hold", 35*time.Second, "how long to keep connections")
	size   = flag.Int("size", 1<<20, "message size / field size")
	conc   = flag.Int("conc", 20, "concurrency for wrongtoken")
	follow = flag.Bool("follow", false, "big: 5 s after the big message, each call sends one small message")
	start  = time.Now()
)

func ts() string { return fmt.Sprintf("t=%6.2fs", time.Since(start).Seconds()) }

func fds() int {
	if *pid == 0 {
		return -1
	}
	e, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", *pid))
	if err != nil {
		return -1
	}
	return len(e)
}

func rss() string {
	if *pid == 0 {
		return "?"
	}
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", *pid))
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS") {
			return strings.Join(strings.Fields(l)[1:], " ")
		}
	}
	return "?"
}

// heap returns the server's Go heap figures from its /metrics.
func heap() string {
	resp, err := http.Get("http://" + *addr + "/metrics")
	if err != nil {
		return "?"
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		for _, k := range []string{"go_memstats_heap_inuse_bytes ", "go_memstats_heap_released_bytes ", "go_goroutines "} {
			if strings.HasPrefix(l, k) {
				var v float64
				fmt.Sscan(strings.TrimPrefix(l, k), &v)
				if strings.Contains(k, "bytes") {
					out = append(out, fmt.Sprintf("%s=%.0fMB", strings.TrimSuffix(strings.TrimPrefix(k, "go_memstats_"), "_bytes "), v/1e6))
				} else {
					out = append(out, fmt.Sprintf("%s=%.0f", strings.TrimSpace(k), v))
				}
			}
		}
	}
	return strings.Join(out, " ")
}

func stats(d []time.Duration) string {
	if len(d) == 0 {
		return "none"
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return fmt.Sprintf("n=%d min=%.2fs median=%.2fs max=%.2fs", len(d), d[0].Seconds(), d[len(d)/2].Seconds(), d[len(d)-1].Seconds())
}

func main() {
	flag.Parse()
	switch *mode {
	case "idle":
		idle()
	case "silent":
		silent()
	case "silentraw":
		silentRaw()
	case "big":
		big()
	case "longhello":
		longHello()
	case "wrongtoken":
		wrongToken()
	case "flood":
		flood()
	default:
		fmt.Fprintln(os.Stderr, "unknown mode")
		os.Exit(2)
	}
}

// idle: n keep-alive connections, each does GET /healthz then stays idle;
// reports when the server closes them.
func idle() {
	fmt.Println(ts(), "server fds before:", fds())
	var mu sync.Mutex
	var closed []time.Duration
	var ok, fail atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < *n; i++ {
		c, err := net.DialTimeout("tcp", *addr, 5*time.Second)
		if err != nil {
			fail.Add(1)
			continue
		}
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: %s\r\nConnection: keep-alive\r\n\r\n", *addr)
		br := bufio.NewReader(c)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != 200 {
			fail.Add(1)
			c.Close()
			continue
		}
		buf := make([]byte, 4096)
		for {
			if _, err := resp.Body.Read(buf); err != nil {
				break
			}
		}
		ok.Add(1)
		c.SetReadDeadline(time.Time{})
		t0 := time.Now()
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := br.ReadByte() // blocks until the server closes
			_ = err
			mu.Lock()
			closed = append(closed, time.Since(t0))
			mu.Unlock()
			c.Close()
		}()
	}
	fmt.Println(ts(), "opened:", ok.Load(), "failed:", fail.Load(), "server fds right after:", fds())
	deadline := time.Now().Add(*hold)
	for time.Now().Before(deadline) {
		time.Sleep(5 * time.Second)
		mu.Lock()
		k := len(closed)
		mu.Unlock()
		fmt.Println(ts(), "closed by server so far:", k, "server fds:", fds())
	}
	mu.Lock()
	fmt.Println(ts(), "idle time until the server closed them:", stats(closed))
	mu.Unlock()
}

// silent: n WebSocket connections that never send hello (coder/websocket
// client, which answers the close handshake); time until closed.
func silent() {
	var mu sync.Mutex
	var closed []time.Duration
	var wg sync.WaitGroup
	ctx := context.Background()
	okN := 0
	for i := 0; i < *n; i++ {
		c, resp, err := websocket.Dial(ctx, "ws://"+*addr+"/", nil)
		if err != nil {
			st := 0
			if resp != nil {
				st = resp.StatusCode
			}
			fmt.Println(ts(), "dial", i, "failed:", st, err)
			continue
		}
		okN++
		t0 := time.Now()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if _, _, err := c.Read(ctx); err != nil {
					break
				}
			}
			mu.Lock()
			closed = append(closed, time.Since(t0))
			mu.Unlock()
		}()
	}
	fmt.Println(ts(), "silent connections open:", okN)
	wg.Wait()
	fmt.Println(ts(), "time from upgrade to close by the server:", stats(closed))
}

// silentRaw: n raw TCP connections that do the upgrade and then never send
// a byte, not even the reply to a close; time until the server closes TCP.
func silentRaw() {
	var mu sync.Mutex
	var closed []time.Duration
	var wg sync.WaitGroup
	okN := 0
	for i := 0; i < *n; i++ {
		c, err := net.DialTimeout("tcp", *addr, 5*time.Second)
		if err != nil {
			continue
		}
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", *addr)
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != 101 {
			st := 0
			if resp != nil {
				st = resp.StatusCode
			}
			fmt.Println(ts(), "upgrade", i, "failed:", st, err)
			c.Close()
			continue
		}
		okN++
		t0 := time.Now()
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 4096)
			for {
				if _, err := br.Read(buf); err != nil {
					break
				}
			}
			mu.Lock()
			closed = append(closed, time.Since(t0))
			mu.Unlock()
			c.Close()
		}()
	}
	fmt.Println(ts(), "raw silent connections upgraded:", okN)
	wg.Wait()
	fmt.Println(ts(), "time from upgrade to TCP close by the server:", stats(closed))
}

func hello(callid, from, to string) []byte {
	return []byte(fmt.Sprintf(`{"t":"hello","callid":%q,"from":%q,"to":%q}`, callid, from, to))
}

// drain reads and discards what the server sends (so pings are answered).
func drain(ctx context.Context, c *websocket.Conn) {
	for {
		if _, _, err := c.Read(ctx); err != nil {
			return
		}
	}
}

// big: n calls, each sends hello then one text message of exactly -size
// bytes (an "audio" message of random base64), then stays connected.
func big() {
	ctx := context.Background()
	prefix, suffix := `{"t":"audio", "data":"`, `"}`
	b64 := (*size - len(prefix) - len(suffix)) / 4 * 4
	raw := make([]byte, b64/4*3)
	rand.Read(raw)
	msg := prefix + base64.StdEncoding.EncodeToString(raw) + suffix
	for len(msg) < *size {
		msg = msg[:len(msg)-1] + " }"
	}
	fmt.Println(ts(), "message bytes:", len(msg), "server RSS before:", rss())
	var conns []*websocket.Conn
	var dead atomic.Int64
	for i := 0; i < *n; i++ {
		c, resp, err := websocket.Dial(ctx, "ws://"+*addr+"/", nil)
		if err != nil {
			st := 0
			if resp != nil {
				st = resp.StatusCode
			}
			fmt.Println("dial failed", st, err)
			continue
		}
		c.SetReadLimit(-1)
		c.Write(ctx, websocket.MessageText, hello(fmt.Sprintf("big-%d", i), "+46700000000", "+46766000000"))
		go func() { drain(ctx, c); dead.Add(1) }()
		conns = append(conns, c)
	}
	time.Sleep(3 * time.Second)
	fmt.Println(ts(), "calls open:", len(conns)-int(dead.Load()), "(hello only) server RSS:", rss(), heap())
	for _, c := range conns {
		if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			fmt.Println("write:", err)
		}
	}
	fmt.Println(ts(), "sent", len(conns), "messages of", len(msg), "bytes")
	for _, w := range []time.Duration{2, 3, 5, 10, 20} {
		time.Sleep(w * time.Second)
		fmt.Println(ts(), "calls still open:", len(conns)-int(dead.Load()), "server RSS:", rss(), heap())
		if w == 3 && *follow {
			for _, c := range conns {
				c.Write(ctx, websocket.MessageText, []byte(`{"t":"noop"}`))
			}
			fmt.Println(ts(), "each call sent one small message {\"t\":\"noop\"}")
		}
	}
	if *hold > 0 {
		end := time.Now().Add(*hold)
		for time.Now().Before(end) {
			time.Sleep(20 * time.Second)
			fmt.Println(ts(), "calls still open:", len(conns)-int(dead.Load()), "server RSS:", rss(), heap())
		}
	}
	for _, c := range conns {
		c.Write(ctx, websocket.MessageText, []byte(`{"t":"bye","reason":"hangup"}`))
		c.Close(websocket.StatusNormalClosure, "")
	}
	time.Sleep(3 * time.Second)
	fmt.Println(ts(), "after hang-up: server RSS:", rss(), heap())
}

// longHello: one call whose callid, from and to are -size bytes each; the
// call runs *hold, answering syncs, then hangs up.
func longHello() {
	ctx := context.Background()
	f := func(c byte) string { return strings.Repeat(string(c), *size) }
	h := hello("C"+f('c')[1:], "+"+f('4')[1:], "+"+f('7')[1:])
	fmt.Println(ts(), "hello bytes:", len(h))
	c, resp, err := websocket.Dial(ctx, "ws://"+*addr+"/", nil)
	if err != nil {
		st := 0
		if resp != nil {
			st = resp.StatusCode
		}
		fmt.Println("dial failed", st, err)
		os.Exit(1)
	}
	c.SetReadLimit(-1)
	if err := c.Write(ctx, websocket.MessageText, h); err != nil {
		fmt.Println("write hello:", err)
	}
	var msgs atomic.Int64
	go func() {
		for {
			_, b, err := c.Read(ctx)
			if err != nil {
				return
			}
			msgs.Add(1)
			if strings.Contains(string(b), `"sync"`) {
				go func() {
					time.Sleep(500 * time.Millisecond)
					c.Write(ctx, websocket.MessageText, []byte(`{"t":"sync"}`))
				}()
			}
		}
	}()
	time.Sleep(*hold)
	c.Write(ctx, websocket.MessageText, []byte(`{"t":"bye","reason":"hangup"}`))
	c.Close(websocket.StatusNormalClosure, "")
	fmt.Println(ts(), "hung up; messages received:", msgs.Load())
}

// wrongToken: n plain HTTP GETs with upgrade headers and ?token=wrong.
func wrongToken() {
	tr := &http.Transport{MaxIdleConnsPerHost: *conc}
	cl := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	var mu sync.Mutex
	codes := map[string]int{}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < *conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				req, _ := http.NewRequest("GET", "http://"+*addr+"/?token=wrong", nil)
				req.Header.Set("Upgrade", "websocket")
				req.Header.Set("Connection", "Upgrade")
				req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
				req.Header.Set("Sec-WebSocket-Version", "13")
				k := "error"
				if resp, err := cl.Do(req); err == nil {
					k = resp.Status
					resp.Body.Close()
				}
				mu.Lock()
				codes[k]++
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < *n; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	fmt.Println(ts(), "responses:", codes)
}

// flood: one call that sends the caller's audio (1 s pcm_16000 messages)
// as fast as the connection takes them for *hold, as a peer at wire speed
// would; a recording must keep no more than the call's clock allows.
func flood() {
	ctx := context.Background()
	c, resp, err := websocket.Dial(ctx, "ws://"+*addr+"/", nil)
	if err != nil {
		st := 0
		if resp != nil {
			st = resp.StatusCode
		}
		fmt.Println("dial failed", st, err)
		os.Exit(1)
	}
	c.Write(ctx, websocket.MessageText, hello("flood", "+46700000000", "+46766000000"))
	go drain(ctx, c)
	pcm := make([]byte, 32000)
	for i := range pcm {
		pcm[i] = byte(i * 7)
	}
	msg := []byte(`{"t":"audio","data":"` + base64.StdEncoding.EncodeToString(pcm) + `"}`)
	sent := 0
	for end := time.Now().Add(*hold); time.Now().Before(end); sent++ {
		if err := c.Write(ctx, websocket.MessageText, msg); err != nil {
			break
		}
	}
	fmt.Println(ts(), "sent", sent, "s of caller audio")
	c.Close(websocket.StatusNormalClosure, "")
}

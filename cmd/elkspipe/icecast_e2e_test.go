package main

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/sinks/elks/elkstest"
)

// icecast is Debian's icecast2 started by a test on 127.0.0.1 with a
// config and folders of its own.
type icecast struct {
	port     string
	password string
	cmd      *exec.Cmd
	dir      string
}

// startIcecast starts icecast2, or skips the test when it is not
// installed. It is stopped when the test ends.
func startIcecast(t *testing.T) *icecast {
	t.Helper()
	bin, err := exec.LookPath("icecast2")
	if err != nil {
		t.Skip("icecast2 is not installed")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	dir := t.TempDir()
	logs := filepath.Join(dir, "log")
	if err := os.Mkdir(logs, 0o777); err != nil {
		t.Fatal(err)
	}
	// Started by root, icecast writes its logs as nobody.
	os.Chmod(logs, 0o777)
	os.Chmod(dir, 0o755)
	os.Chmod(filepath.Dir(dir), 0o755)
	security := "<chroot>0</chroot>"
	if os.Geteuid() == 0 {
		// icecast refuses to run as root: it drops to nobody.
		security += "<changeowner><user>nobody</user><group>nogroup</group></changeowner>"
	}
	share := "/usr/share/icecast2"
	cfg := fmt.Sprintf(`<icecast>
  <location>test</location><admin>test@localhost</admin>
  <limits><clients>50</clients><sources>2</sources><queue-size>524288</queue-size>
    <client-timeout>30</client-timeout><header-timeout>15</header-timeout><source-timeout>5</source-timeout>
    <burst-on-connect>1</burst-on-connect><burst-size>16000</burst-size></limits>
  <authentication><source-password>elkspw</source-password><admin-user>admin</admin-user><admin-password>adminpw</admin-password></authentication>
  <hostname>127.0.0.1</hostname>
  <listen-socket><port>%s</port><bind-address>127.0.0.1</bind-address></listen-socket>
  <paths><basedir>%s</basedir><logdir>%s</logdir><webroot>%s/web</webroot><adminroot>%s/admin</adminroot></paths>
  <logging><accesslog>access.log</accesslog><errorlog>error.log</errorlog><loglevel>3</loglevel></logging>
  <security>%s</security>
</icecast>
`, port, share, logs, share, share, security)
	conf := filepath.Join(dir, "icecast.xml")
	if err := os.WriteFile(conf, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	ic := &icecast{port: port, password: "elkspw", dir: dir, cmd: exec.Command(bin, "-c", conf)}
	var out syncBuffer
	ic.cmd.Stdout, ic.cmd.Stderr = &out, &out
	if err := ic.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ic.cmd.Process.Kill()
		ic.cmd.Wait()
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		if r, err := http.Get("http://127.0.0.1:" + port + "/status-json.xsl"); err == nil {
			r.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			elog, _ := os.ReadFile(filepath.Join(logs, "error.log"))
			t.Fatalf("icecast2 did not start: %s\n%s", out.String(), elog)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return ic
}

// feed starts ffmpeg sending a 440 Hz tone in real time to the mount, as
// an MP3 source, and waits until listeners can get it. Kill stops it.
func (ic *icecast) feed(t *testing.T, mount string) *exec.Cmd {
	t.Helper()
	ffmpeg := audiotest.NeedTool(t, "ffmpeg")
	cmd := exec.Command(ffmpeg, "-nostdin", "-loglevel", "error", "-re", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=22050",
		"-ac", "1", "-c:a", "libmp3lame", "-b:a", "64k", "-content_type", "audio/mpeg", "-f", "mp3",
		"icecast://source:"+ic.password+"@127.0.0.1:"+ic.port+mount)
	var out syncBuffer
	cmd.Stderr = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		r, err := http.Get("http://127.0.0.1:" + ic.port + mount)
		if err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				return cmd
			}
		}
		select {
		case <-done:
			t.Fatalf("the ffmpeg source ended: %s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the mount %s did not come up: %s", mount, out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// A call plays a live stream from a real Icecast server; the source is
// killed in the middle of the call and started again: the call goes on,
// the caller hears the tone, silence for the outage, and the tone again,
// and the server logs the drop and the reconnection.
func TestStreamFromIcecastSurvivesSourceRestart(t *testing.T) {
	audiotest.NeedTool(t, "ffmpeg")
	ic := startIcecast(t)
	feeder := ic.feed(t, "/hold.mp3")
	bin := buildElkspipe(t)
	u := "http://127.0.0.1:" + ic.port + "/hold.mp3"
	srv := startReplica(t, bin, "stream "+u+" | elks listen=127.0.0.1:0")
	logs := srv.logs
	heard := filepath.Join(t.TempDir(), "heard.wav")
	type result struct {
		rep *elkstest.Report
		err error
	}
	called := make(chan result, 1)
	start := time.Now()
	go func() {
		rep, err := elkstest.Call(context.Background(), elkstest.Options{URL: "ws://" + srv.addr + "/", Duration: 20 * time.Second, Record: heard, RecordRate: 16000})
		called <- result{rep, err}
	}()
	time.Sleep(5 * time.Second)
	feeder.Process.Kill()
	killed := time.Since(start)
	logs.wait(t, "live stream dropped")
	time.Sleep(3 * time.Second)
	ic.feed(t, "/hold.mp3")
	restarted := time.Since(start)
	logs.wait(t, "live stream reconnected")
	res := <-called
	if res.err != nil {
		t.Fatalf("call: %v\n%s", res.err, logs.String())
	}
	rep := res.rep
	if rep.End.By == "app" || rep.Duration < 19 {
		t.Fatalf("the call ended by %q after %.1f s, want the caller's hangup at 20 s\n%s", rep.End.By, rep.Duration, logs.String())
	}
	x, _ := decodeFile(t, heard)
	x = x[min(len(x), int(rep.FirstAudio*16000)):]
	sec := func(a, b float64) []float64 {
		i, j := int(a*16000), min(int(b*16000), len(x))
		if i >= j {
			t.Fatalf("the recording is %.1f s long, want past %.1f s", float64(len(x))/16000, b)
		}
		return audiotest.Channel(x[i:j], 1, 0)
	}
	if f := audiotest.Frequency(sec(1, 3), 16000, 200, 2000); math.Abs(f-440) > 3 {
		t.Errorf("before the outage the call hears %.1f Hz, want 440", f)
	}
	// The outage: silence, in one stretch of a second or more (the source
	// was away 3 s), between the tone before and after.
	quiet, longest, at := 0, 0, 0
	for i := 0; (i+1)*1600 <= len(x); i++ {
		if audiotest.RMS(audiotest.Channel(x[i*1600:(i+1)*1600], 1, 0)) < 0.005 {
			quiet++
			if quiet > longest {
				longest, at = quiet, i+1-quiet
			}
		} else {
			quiet = 0
		}
	}
	if longest < 10 || at < 20 {
		t.Errorf("the longest silence is %.1f s at %.1f s of the call: want the outage, a second or more after 2 s", float64(longest)/10, float64(at)/10)
	}
	end := float64(len(x)) / 16000
	if f := audiotest.Frequency(sec(end-3, end-1), 16000, 200, 2000); math.Abs(f-440) > 3 {
		t.Errorf("after the reconnection the call hears %.1f Hz, want 440\n%s", f, logs.String())
	}
	l := logs.String()
	for _, want := range []string{"level=WARN msg=\"live stream dropped", "level=INFO msg=\"live stream reconnected\""} {
		if !strings.Contains(l, want) {
			t.Errorf("the log lacks %q:\n%s", want, l)
		}
	}
	t.Logf("gaps %+v", rep.Gaps)
	if t.Failed() {
		t.Logf("server log:\n%s", logs.String())
	}
	t.Logf("killed at %.1f s, restarted at %.1f s; silence of %.1f s at %.1f s of the call; gaps %d",
		killed.Seconds(), restarted.Seconds(), float64(longest)/10, float64(at)/10, rep.Gaps.Count)
}

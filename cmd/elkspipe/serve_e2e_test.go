package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sources"
)

// startServe writes text to a routes file, runs the built elkspipe serve
// on it and returns the file, the calls' URL and the process's log.
func startServe(t *testing.T, text string) (file, url string, logs *lockedLines, signal func(os.Signal)) {
	t.Helper()
	file = filepath.Join(t.TempDir(), "routes.conf")
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd, logs, _ := startServerProcess(t, buildElkspipe(t), "serve", file)
	logs.wait(t, "serving calls")
	m := regexp.MustCompile(`url=(ws://127\.0\.0\.1:\d+/)`).FindStringSubmatch(logs.String())
	if m == nil {
		t.Fatalf("no URL in the log:\n%s", logs.String())
	}
	return file, m[1], logs, func(s os.Signal) { cmd.Process.Signal(s) }
}

// heardTone is callTone, failing the test on an error.
func heardTone(t *testing.T, url, to string, duration string, offset, span float64) float64 {
	t.Helper()
	fr, err := callTone(t, url, to, duration, offset, span)
	if err != nil {
		t.Fatal(err)
	}
	return fr
}

// callTone calls url with the simulator as a call to the number to,
// recording what the caller heard, and returns the frequency of the
// audio heard from its start (the silence before it left out) over span
// seconds at offset seconds.
func callTone(t *testing.T, url, to string, duration string, offset, span float64) (float64, error) {
	heard := filepath.Join(t.TempDir(), "heard-"+strings.TrimPrefix(to, "+")+".wav")
	code, out, errOut := runCLI(t, context.Background(), "simulate", url, "--to", to, "--duration", duration, "--speed", "4", "--record", heard)
	if code != exitOK {
		return 0, fmt.Errorf("call to %s: exit %d\n%s%s", to, code, out, errOut)
	}
	got, f, err := decodeFileErr(heard)
	if err != nil {
		return 0, err
	}
	x := audiotest.Channel(got, f.Channels, 0)
	lead := 0
	for lead < len(x) && x[lead] == 0 {
		lead++
	}
	from, n := lead+int(offset*float64(f.Rate)), int(span*float64(f.Rate))
	if from+n > len(x) {
		return 0, fmt.Errorf("call to %s: heard %.2f s of audio after %.2f s of silence, want %.2f s", to, float64(len(x)-lead)/float64(f.Rate), float64(lead)/float64(f.Rate), offset+span)
	}
	return audiotest.Frequency(x[from:from+n], f.Rate, 200, 2000), nil
}

// decodeFileErr decodes the audio file at path, as decodeFile does, for
// a goroutine of a test (which must not call Fatal).
func decodeFileErr(path string) ([]float32, pipeline.Format, error) {
	src, err := sources.File(path)(context.Background())
	if err != nil {
		return nil, pipeline.Format{}, err
	}
	defer pipeline.Close(src)
	var all []float32
	buf := make([]float32, 4096)
	for {
		n, err := src.Read(buf)
		all = append(all, buf[:n]...)
		if err == io.EOF {
			return all, src.Format(), nil
		}
		if err != nil {
			return nil, pipeline.Format{}, fmt.Errorf("decoding %s: %w", path, err)
		}
	}
}

// Two calls to different numbers hear their routes' tones; a call that
// no route matches, with no default, is hung up with a log line.
func TestServeRoutesByNumber(t *testing.T) {
	_, url, logs, _ := startServe(t, `server listen=127.0.0.1:0 format=pcm_8000
route to=+4610* tone 440 dur=1s
route from=+4670* to=+4620* tone 660 dur=1s
`)
	if fr := heardTone(t, url, "+46101234", "2s", 0.1, 0.5); math.Abs(fr-440) > 1 {
		t.Errorf("call to +46101234 heard %.1f Hz, want 440", fr)
	}
	// elkspipe simulate calls from elkstest.DefaultFrom, a +4670 number.
	if fr := heardTone(t, url, "+46201234", "2s", 0.1, 0.5); math.Abs(fr-660) > 1 {
		t.Errorf("call to +46201234 heard %.1f Hz, want 660", fr)
	}
	code, out, errOut := runCLI(t, context.Background(), "simulate", url, "--to", "+46301234", "--duration", "2s", "--speed", "4")
	if code != exitOK || !strings.Contains(out, "the application sent bye") {
		t.Errorf("call to +46301234: exit %d\n%s%s", code, out, errOut)
	}
	logs.wait(t, "no route for the call; hanging up")
	if !strings.Contains(logs.String(), "to=+46301234") {
		t.Errorf("the no-route line lacks the number:\n%s", logs.String())
	}
}

// SIGHUP reloads the routes: a call going on keeps its audio, the next
// call gets the new route; a file with an error keeps the routes in use
// and logs the error with its line.
func TestServeReloadOnSIGHUP(t *testing.T) {
	file, url, logs, signal := startServe(t, "server listen=127.0.0.1:0 format=pcm_8000\nroute to=* tone 440 dur=6s\n")
	var (
		wg       sync.WaitGroup
		first    float64
		firstErr error
	)
	defer wg.Wait() // a test that fails early waits for the call too
	wg.Add(1)
	go func() {
		defer wg.Done()
		// The end of a 6 s tone, heard after the reload.
		first, firstErr = callTone(t, url, "+46100000", "8s", 5, 0.5)
	}()
	logs.wait(t, "call routed")
	if err := os.WriteFile(file, []byte("server listen=127.0.0.1:0 format=pcm_8000\nroute to=* tone 660 dur=1s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	signal(syscall.SIGHUP)
	logs.wait(t, "routes reloaded")
	if fr := heardTone(t, url, "+46200000", "2s", 0.1, 0.5); math.Abs(fr-660) > 1 {
		t.Errorf("the call after the reload heard %.1f Hz, want 660", fr)
	}
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
	if math.Abs(first-440) > 1 {
		t.Errorf("the call going on during the reload heard %.1f Hz at its end, want 440", first)
	}
	// A bad file: logged with its line, the routes stay.
	if err := os.WriteFile(file, []byte("server listen=127.0.0.1:0 format=pcm_8000\n\nroute to=* tnoe 880\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	signal(syscall.SIGHUP)
	logs.wait(t, "routes not reloaded")
	if !strings.Contains(logs.String(), `routes.conf:3: stage 1 (tnoe): unknown element \"tnoe\"`) {
		t.Errorf("the failed reload does not name the line:\n%s", logs.String())
	}
	if fr := heardTone(t, url, "+46300000", "2s", 0.1, 0.5); math.Abs(fr-660) > 1 {
		t.Errorf("the call after a failed reload heard %.1f Hz, want 660", fr)
	}
}

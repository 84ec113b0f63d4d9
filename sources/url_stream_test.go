package sources

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/internal/media"
	"github.com/elkspipe/elkspipe/pipeline"
)

// toneWAV is a 16 kHz mono 16-bit WAV of a 440 Hz tone lasting secs.
func toneWAV(secs int) []byte {
	n := 16000 * secs
	var b bytes.Buffer
	le := binary.LittleEndian
	b.WriteString("RIFF")
	binary.Write(&b, le, uint32(36+2*n))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(16000), uint32(32000), uint16(2), uint16(16)} {
		binary.Write(&b, le, v)
	}
	b.WriteString("data")
	binary.Write(&b, le, uint32(2*n))
	for i := range n {
		binary.Write(&b, le, int16(10000*math.Sin(2*math.Pi*440*float64(i)/16000)))
	}
	return b.Bytes()
}

// stallingOrigin serves body, sending its first 64 KiB and then nothing
// until release is closed (or 30 s pass); rest is set when it sends the
// rest.
func stallingOrigin(t *testing.T, body []byte) (srv *httptest.Server, release chan struct{}, rest *atomic.Bool) {
	release = make(chan struct{})
	rest = new(atomic.Bool)
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		w.Write(body[:64<<10])
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-time.After(30 * time.Second):
		}
		rest.Store(true)
		w.Write(body[64<<10:])
	}))
	t.Cleanup(srv.Close)
	return srv, release, rest
}

// The first audio of a URL comes once its first bytes are in, not once
// the whole file is: a server that sends 64 KiB and stalls has them
// played during the stall; the rest plays once it sends it.
func TestFileURLPlaysWhileDownloading(t *testing.T) {
	SetCacheDir(t.TempDir())
	defer SetCacheDir(media.DefaultCacheDir())
	body := toneWAV(5)
	srv, release, sentRest := stallingOrigin(t, body)
	src, err := File(srv.URL + "/tone.wav")(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer pipeline.Close(src)
	if n := pipeline.FramesOf(src); n != 5*16000 {
		t.Errorf("Frames = %d, want %d (the WAV header's)", n, 5*16000)
	}
	first := make([]float32, 16000) // 1 s = 32000 bytes, within the first 64 KiB
	n, err := pipeline.ReadFull(src, first)
	if err != nil || n != len(first) {
		t.Fatalf("first second: %d frames, %v", n, err)
	}
	if sentRest.Load() {
		t.Fatal("the first audio came after the server sent the rest of the file")
	}
	close(release)
	if f := audiotest.Frequency(audiotest.Channel(first, 1, 0), 16000, 100, 2000); math.Abs(f-440) > 1 {
		t.Errorf("the first second is %.1f Hz, want 440", f)
	}
	rest, err := audiotest.ReadAll(src, 1024)
	if err != nil || len(rest) != 4*16000 {
		t.Errorf("the rest: %d frames, %v; want %d", len(rest), err, 4*16000)
	}
}

// An MP3 without a Xing header, played while it downloads, tells its
// length (for fade out=) once the download is done, as the file would.
func TestFileURLStreamedMP3Length(t *testing.T) {
	ffmpeg := audiotest.NeedTool(t, "ffmpeg")
	out := filepath.Join(t.TempDir(), "noxing.mp3")
	audiotest.Run(t, ffmpeg, "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=12",
		"-c:a", "libmp3lame", "-b:a", "64k", "-write_xing", "0", out)
	body, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	fromDisk, err := File(out)(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := pipeline.FramesOf(fromDisk)
	pipeline.Close(fromDisk)
	SetCacheDir(t.TempDir())
	defer SetCacheDir(media.DefaultCacheDir())
	srv, release, _ := stallingOrigin(t, body)
	src, err := File(srv.URL + "/noxing.mp3")(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer pipeline.Close(src)
	p := make([]float32, 2048)
	if _, err := src.Read(p); err != nil {
		t.Fatal(err)
	}
	close(release)
	if got := pipeline.FramesOf(src); got != want || want <= 0 {
		t.Errorf("Frames = %d, want %d as from the file on disk", got, want)
	}
}

package live_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/internal/live"
	"github.com/elkspipe/elkspipe/internal/testlog"
	"github.com/elkspipe/elkspipe/sources"
)

// mp3Bytes encodes 6 s of a 440 Hz tone at 16 kHz mono, 32 kb/s CBR
// (4000 bytes a second) with ffmpeg, as an MP3 stream without a Xing
// header, like a radio's.
func mp3Bytes(t *testing.T) []byte {
	ffmpeg := audiotest.NeedTool(t, "ffmpeg")
	out := filepath.Join(t.TempDir(), "tone.mp3")
	audiotest.Run(t, ffmpeg, "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=16000:duration=6",
		"-ac", "1", "-c:a", "libmp3lame", "-b:a", "32k", "-write_xing", "0", "-id3v2_version", "0", "-f", "mp3", out)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// icyBody interleaves ICY metadata every metaint bytes of audio.
func icyBody(audio []byte, metaint int) []byte {
	var out bytes.Buffer
	for i := 0; len(audio) >= metaint; i++ {
		out.Write(audio[:metaint])
		audio = audio[metaint:]
		meta := fmt.Sprintf("StreamTitle='Song %d';", i)
		meta += strings.Repeat("\x00", (16-len(meta)%16)%16)
		out.WriteByte(byte(len(meta) / 16))
		out.WriteString(meta)
	}
	out.Write(audio)
	return out.Bytes()
}

// paced writes b at 1.25 times the stream's real rate (5000 bytes a second),
// flushing each piece, until b ends or the write fails.
func paced(w io.Writer, flush func(), b []byte) {
	for len(b) > 0 {
		n := min(800, len(b))
		if _, err := w.Write(b[:n]); err != nil {
			return
		}
		flush()
		b = b[n:]
		time.Sleep(160 * time.Millisecond)
	}
}

func TestStreamStripsICYMetadata(t *testing.T) {
	audio := mp3Bytes(t)
	const metaint = 1000
	body := icyBody(audio, metaint)
	ref, err := sources.Decode(io.MultiReader(bytes.NewReader(audio)))
	if err != nil {
		t.Fatal(err)
	}
	want := audiotest.MustReadAll(t, ref)

	mux := http.NewServeMux()
	// Icecast style: HTTP/1.1, chunked, icy-metaint when asked.
	mux.HandleFunc("/chunked", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "audio/mpeg")
		if r.Header.Get("Icy-MetaData") != "1" {
			t.Error("no Icy-MetaData: 1 in the request")
		}
		w.Header().Set("icy-metaint", fmt.Sprint(metaint))
		paced(w, w.(http.Flusher).Flush, body)
	})
	// Shoutcast v1 style: "ICY 200 OK", no length, no chunks, the end of
	// the connection ends the body.
	mux.HandleFunc("/icy", func(w http.ResponseWriter, r *http.Request) {
		c, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		fmt.Fprintf(buf, "ICY 200 OK\r\ncontent-type: audio/mpeg\r\nicy-name: Test FM\r\nicy-metaint: %d\r\n\r\n", metaint)
		buf.Flush()
		paced(c, func() {}, body)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for _, path := range []string{"/chunked", "/icy"} {
		t.Run(path[1:], func(t *testing.T) {
			var log testlog.Buffer
			s := live.New(testOptions(&log))
			defer s.Close()
			l, err := s.Open(context.Background(), srv.URL+path)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if f := l.Format(); f.Rate != 16000 || f.Channels != 1 {
				t.Fatalf("format %v", f)
			}
			got := readFor(t, l, 2*time.Second)
			// The first listener starts with a little silence (the
			// stream's audio comes in real time, and the listener is kept
			// Lead ahead): cut the runs of silence.
			got = cutSilence(got)
			w := trimZeros(want)
			if len(got) < 16000 {
				t.Fatalf("only %d samples of audio in 2 s", len(got))
			}
			for i := range got {
				if got[i] != w[i] {
					t.Fatalf("sample %d is %v, want %v: the metadata was not stripped cleanly", i, got[i], w[i])
				}
			}
			if !strings.Contains(log.String(), "title=\"Song 1\"") {
				t.Errorf("the stream title was not logged:\n%s", log.String())
			}
		})
	}
}

func trimZeros(s []float32) []float32 {
	for len(s) > 0 && s[0] == 0 {
		s = s[1:]
	}
	return s
}

// cutSilence removes the runs of more than 100 zeros.
func cutSilence(s []float32) []float32 {
	var out []float32
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && s[j] == 0 {
			j++
		}
		if j-i <= 100 {
			out = append(out, s[i:j]...)
		}
		if j < len(s) {
			out = append(out, s[j])
		}
		i = j + 1
	}
	return out
}

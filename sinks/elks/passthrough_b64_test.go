package elks

import (
	"bytes"
	"context"
	"encoding/base64"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/elkspipe/elkspipe/internal/media"
)

// A piece built from the file's shared base64 is byte for byte the
// message AppendAudio makes of the piece's bytes, whatever its length.
func TestAppendPassAudio(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 1000)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	text := []byte(base64.StdEncoding.EncodeToString(data))
	for off := 0; off < len(data); off += 3 {
		for _, n := range []int{0, 1, 2, 3, 4, 5, 97, len(data) - off} {
			if off+n > len(data) {
				continue
			}
			raw := data[off : off+n]
			got := appendPassAudio([]byte("x"), text, int64(off), raw)
			want := AppendAudio([]byte("x"), raw)
			if !bytes.Equal(got, want) {
				t.Fatalf("off %d, %d bytes: %s, want %s", off, n, got, want)
			}
		}
	}
}

// passAlign moves a cut (at a frame boundary) back to a frame boundary at a multiple of 3
// bytes: in a 16-bit WAV one is always within 3 samples; it never goes
// below half the shortest piece, and the file's end stays.
func TestPassAlign(t *testing.T) {
	path, file := passWAV(t, t.TempDir(), "a.wav", 8000, 1, time.Second)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fm, err := media.MapFramesOf(f, int64(len(file)))
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range []int64{100, 101, 3001, 3002, 8000, 8044, 15999} {
		cut := fm.Cut(0, x) // a frame boundary, as passAlign expects
		c := passAlign(fm, 0, cut, 100)
		if c%3 != 0 || c > cut || cut-c > 6 || (c-44)%2 != 0 {
			t.Errorf("cut %d aligned to %d", cut, c)
		}
	}
	if c := passAlign(fm, 300, 700, 800); c != 700 {
		t.Errorf("a cut that would make the piece shorter than half the shortest: %d, want 700", c)
	}
	if c := passAlign(fm, 0, fm.Size, 800); c != fm.Size {
		t.Errorf("the file's end moved to %d", c)
	}
}

// A call of a file format that waits for its window holds no message
// buffer: the writer wrote its pieces, and their buffers went back to the
// pool shared by the calls that are sending.
func TestPassthroughWaitHoldsNoBuffer(t *testing.T) {
	path, _ := passWAV(t, t.TempDir(), "loop.wav", 8000, 1, 5*time.Second)
	synctest.Test(t, func(t *testing.T) {
		s, p, _ := sessCall(t, Config{Format: WAV}, func(p *wirePeer) { p.replies = replyNever })
		go s.PlayGraph(context.Background(), sessGraph(t, "file "+path+" | loop"))
		synctest.Wait()
		r := p.snapshot()
		var audio int
		for _, m := range r.msgs {
			if strings.HasPrefix(m, `{"t":"audio"`) {
				audio++
			}
		}
		// The window and a checkpoint, 7 s, in pieces of 32 KiB at most.
		if st := s.Stats(); audio < 4 || st.AudioSent < 6900*time.Millisecond {
			t.Fatalf("%d audio messages, %v sent: the window was not filled", audio, st.AudioSent)
		}
		if s.nbufs != 0 || len(s.free) != 0 {
			t.Errorf("waiting for the window with %d message buffers (%d free)", s.nbufs, len(s.free))
		}
		s.Hangup()
	})
}

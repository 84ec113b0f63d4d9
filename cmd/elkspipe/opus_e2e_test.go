//go:build opus

package main

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sinks/elks/elkstest"
)

// opusCheck checks that x holds a 997 Hz tone at -6 dBFS and returns the
// SNR of the sine fit.
func opusCheck(t *testing.T, who string, got []float32, rate int) float64 {
	t.Helper()
	x := audiotest.Channel(got[rate/10:len(got)-rate/10], 1, 0)
	if f := audiotest.Frequency(x, rate, 900, 1100); math.Abs(f-997) > 1 {
		t.Errorf("%s: frequency %.2f Hz, want 997 within 1 Hz", who, f)
	}
	amp, _, snr := audiotest.SineFit(x, 997, rate)
	if lvl := 20 * math.Log10(amp); math.Abs(lvl+6.02) > 1 {
		t.Errorf("%s: level %.2f dBFS, want -6.02 within 1 dB", who, lvl)
	}
	t.Logf("%s: %d samples, level %.2f dBFS, SNR %.1f dB", who, len(got), 20*math.Log10(amp), snr)
	return snr
}

// `file X | elks format=ogg` through the simulator: the caller hears the
// whole file, at its frequency and level, with no gap, and the session's
// bytes are those of a 24 kbit/s stream.
func TestElksOggEndToEnd(t *testing.T) {
	src := filepath.Join(t.TempDir(), "tone.wav")
	mustRun(t, "tone 997 dur=3s rate=16k | wav "+src)
	for _, c := range []struct {
		params  string
		minSNR  float64
		bitrate float64
	}{{"", 25, 24000}, {"bitrate=12k frame=60ms complexity=2", 15, 12000}} {
		t.Run(c.params, func(t *testing.T) {
			url := serveElks(t, "file "+src+" | elks format=ogg "+c.params+" chunk=500ms window=30s listen=127.0.0.1:0")
			heard := filepath.Join(t.TempDir(), "heard.wav")
			rep, err := elkstest.Call(context.Background(), elkstest.Options{URL: url, Speed: 10, Record: heard, RecordRate: 48000})
			if err != nil {
				t.Fatal(err)
			}
			if rep.End.By != "app" || len(rep.Violations) != 0 || len(rep.Problems) != 0 {
				t.Fatalf("ended by %q, violations %v, problems %v", rep.End.By, rep.Violations, rep.Problems)
			}
			got, f := decodeFile(t, heard)
			if f.Rate == 48000 {
				got = heardWithoutGaps(t, got, f.Rate, rep) // a loaded machine may run the call dry
			}
			if f.Rate != 48000 || len(got) != 3*48000 {
				t.Errorf("heard %d samples at %d Hz, want %d at 48000", len(got), f.Rate, 3*48000)
			}
			if snr := opusCheck(t, "heard", got, 48000); snr < c.minSNR {
				t.Errorf("SNR %.1f dB, want at least %.0f", snr, c.minSNR)
			}
			// Bytes as sent, per second of audio: the bit rate plus the
			// Ogg overhead (about 10 % at 20 ms packets), headers included.
			bps := float64(rep.Audio.Bytes) / 3
			t.Logf("%d bytes for 3 s: %.0f bytes/s", rep.Audio.Bytes, bps)
			if bps*8 < c.bitrate*0.8 || bps*8 > c.bitrate*1.4 {
				t.Errorf("%.0f bytes/s for a %.0f bit/s target", bps, c.bitrate)
			}
		})
	}
}

// The caller's voice in Ogg Opus: record= asks for "listening" in ogg, the
// simulator sends the caller's tone in it, and the recording keeps the
// tone's frequency and level.
func TestElksOggRecord(t *testing.T) {
	dir := t.TempDir()
	url := serveElks(t, "tone 440 dur=3s | elks format=ogg record="+filepath.Join(dir, "{callid}.wav")+" listen=127.0.0.1:0")
	say, err := pipeline.OpenerText("tone 997 dur=2s rate=48k")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := elkstest.Call(context.Background(), elkstest.Options{URL: url, Speed: 10, Say: say, CallID: "oggcall"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Listenings["ogg"] != 1 {
		t.Fatalf("listening formats %v, want ogg", rep.Listenings)
	}
	path := filepath.Join(dir, "oggcall.wav")
	deadline := time.Now().Add(5 * time.Second)
	for {
		if st, err := os.Stat(path); err == nil && st.Size() > 44+2*48000 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	got, f := decodeFile(t, path)
	// The caller's 2 s, within one 20 ms frame (the simulator's caller
	// does not flush its encoder's lookahead when the voice ends).
	if f.Rate != 48000 || math.Abs(float64(len(got)-2*48000)) > 960 {
		t.Fatalf("recorded %d samples at %d Hz, want %d at 48000 within one frame", len(got), f.Rate, 2*48000)
	}
	opusCheck(t, "recorded", got, 48000)
}

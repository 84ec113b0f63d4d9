package elks

import (
	"math"
	"testing"

	"github.com/elkspipe/elkspipe/internal/audiotest"
)

// The quality of every format with a codec in this build, measured on a
// 997 Hz tone at -6 dBFS through encode and decode, against a floor per
// format; `go test -run FormatQuality -v ./sinks/elks` prints the table
// the README quotes.
func TestFormatQuality(t *testing.T) {
	floor := map[Format]float64{PCM8000: 85, PCM16000: 85, PCM24000: 85, ULaw: 35, ALaw: 35, G722: 45, Ogg: 30}
	for _, info := range Formats() {
		if info.File {
			continue
		}
		enc, err := NewEncoder(info.Format)
		if err != nil {
			t.Logf("%-9s no codec in this build", info.Format)
			continue
		}
		dec, err := NewDecoder(info.Format)
		if err != nil {
			t.Fatal(err)
		}
		n := 2 * info.Rate
		in := make([]float32, n)
		for i := range in {
			in[i] = float32(0.5 * math.Sin(2*math.Pi*997*float64(i)/float64(info.Rate)))
		}
		var wire []byte
		for off := 0; off < n; off += info.Rate / 10 { // 100 ms chunks, as the session sends
			wire = enc.Encode(wire, in[off:min(n, off+info.Rate/10)])
		}
		wire = enc.Flush(wire)
		out, err := dec.Decode(nil, wire)
		if err != nil {
			t.Fatal(err)
		}
		x := make([]float64, 0, len(out))
		for _, v := range out[len(out)/4 : len(out)*3/4] { // steady state, past any codec delay
			x = append(x, float64(v))
		}
		amp, _, snr := audiotest.SineFit(x, 997, info.Rate)
		bytesPerSec := float64(len(wire)) / 2
		t.Logf("%-9s %6d Hz  SNR %5.1f dB  level %+5.2f dB  %6.0f bytes/s of audio, %6.0f bytes/s as JSON",
			info.Format, info.Rate, snr, 20*math.Log10(amp/0.5), bytesPerSec, bytesPerSec*4/3+float64(len(`{"t":"audio","data":""}`))*10)
		if snr < floor[info.Format] {
			t.Errorf("%s: SNR %.1f dB, below %v dB", info.Format, snr, floor[info.Format])
		}
		if math.Abs(20*math.Log10(amp/0.5)) > 0.5 {
			t.Errorf("%s: level off by %.2f dB", info.Format, 20*math.Log10(amp/0.5))
		}
	}
}

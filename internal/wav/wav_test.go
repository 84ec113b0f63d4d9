package wav

import (
	"bytes"
	"strings"
	"testing"

	"github.com/elkspipe/elkspipe/pipeline"
)

// TestHeaderRoundTrip writes headers with HeaderBytes, reads them back with
// ReadHeader and decodes samples written by Encode with Decoder.
func TestHeaderRoundTrip(t *testing.T) {
	in := []float32{0, 0.5, -0.5, 0.25, -1, 0.75}
	for _, sf := range []SampleFormat{{Bits: 8}, {Bits: 16}, {Bits: 24}, {Bits: 32}, {Bits: 32, Float: true}, {Bits: 64, Float: true}} {
		for _, ch := range []int{1, 2, 3} {
			f := pipeline.Format{Rate: 22050, Channels: ch}
			hdr, layout := HeaderBytes(f, sf)
			if len(hdr) != layout.Length {
				t.Fatalf("%+v: header %d bytes, layout says %d", sf, len(hdr), layout.Length)
			}
			data := make([]byte, len(in)*sf.Bits/8)
			Encode(data, in, sf)
			file := append(hdr, data...)

			// A streaming header: the data runs to the end of the input.
			h, err := ReadHeader(bytes.NewReader(file), -1)
			if err != nil {
				t.Fatalf("%+v, %d ch: %v", sf, ch, err)
			}
			kind := KindInt
			if sf.Float {
				kind = KindFloat
			}
			want := Header{Format: f, Encoding: Encoding{Kind: kind, Container: sf.Bits / 8, Valid: sf.Bits}, DataSize: -1, DataStart: int64(layout.Length)}
			if h != want {
				t.Errorf("%+v, %d ch: header %+v, want %+v", sf, ch, h, want)
			}
			// With the input's size known, the data size is capped to it.
			h, _ = ReadHeader(bytes.NewReader(file), int64(len(file)))
			if h.DataSize != int64(len(data)) {
				t.Errorf("%+v, %d ch: data size %d, want %d", sf, ch, h.DataSize, len(data))
			}
			got := make([]float32, len(in))
			Decoder(h.Encoding)(got, data)
			for i := range in {
				if got[i] != in[i] {
					t.Errorf("%+v: sample %d = %v, want %v", sf, i, got[i], in[i])
				}
			}
		}
	}
}

func TestReadHeaderErrors(t *testing.T) {
	good, _ := HeaderBytes(pipeline.Format{Rate: 8000, Channels: 1}, SampleFormat{Bits: 16})
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "wav: empty input"},
		{"short", []byte("RIFF"), "too short"},
		{"not RIFF", []byte("OggS\x00\x00\x00\x00WAVEfmt "), "not a WAV file"},
		{"big-endian", []byte("RIFX\x00\x00\x00\x00WAVE"), "RIFX"},
		{"no fmt", []byte("RIFF\x04\x00\x00\x00WAVE"), "no fmt chunk"},
		{"truncated fmt", good[:30], "truncated"},
		{"no data", good[:36], "no data chunk"},
	} {
		_, err := ReadHeader(bytes.NewReader(c.data), -1)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "wav: ") {
			t.Errorf("%s: %v, want an error about %q", c.name, err, c.want)
		}
	}
}

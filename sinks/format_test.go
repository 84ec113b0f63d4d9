package sinks

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/elkspipe/elkspipe/pipeline"
)

// badFormat claims an invalid format and returns samples for ever, as a
// careless custom source would.
type badFormat struct{ f pipeline.Format }

func (b badFormat) Format() pipeline.Format { return b.f }
func (b badFormat) Read(p []float32) (int, error) {
	clear(p)
	return max(len(p)/max(b.f.Channels, 1), 1), nil
}

func TestSinksRefuseInvalidFormats(t *testing.T) {
	dir := t.TempDir()
	type sinkCase struct {
		name string
		make func() (pipeline.Sink, string)
	}
	sinkCases := []sinkCase{
		{"WAVTo", func() (pipeline.Sink, string) { s, _ := WAVTo(&bytes.Buffer{}, WAVOptions{}); return s, "" }},
		{"WAV", func() (pipeline.Sink, string) {
			p := filepath.Join(dir, "out.wav")
			s, _ := WAV(p, WAVOptions{})
			return s, p
		}},
		{"RawTo", func() (pipeline.Sink, string) { s, _ := RawTo(&bytes.Buffer{}, RawOptions{}); return s, "" }},
		{"RawTo rate", func() (pipeline.Sink, string) {
			s, _ := RawTo(&bytes.Buffer{}, RawOptions{Rate: 8000, Channels: 1})
			return s, ""
		}},
		{"Raw", func() (pipeline.Sink, string) {
			p := filepath.Join(dir, "out.raw")
			s, _ := Raw(p, RawOptions{})
			return s, p
		}},
		{"Null", func() (pipeline.Sink, string) { return Null(), "" }},
	}
	formats := []struct {
		f    pipeline.Format
		want string
	}{
		{pipeline.Format{}, "the source's format: sample rate 0 Hz out of range 1..768000"},
		{pipeline.Format{Rate: 8000}, "the source's format: channel count 0 out of range 1..64"},
		{pipeline.Format{Rate: 8000, Channels: -2}, "the source's format: channel count -2 out of range 1..64"},
		{pipeline.Format{Rate: -1, Channels: 1}, "the source's format: sample rate -1 Hz out of range 1..768000"},
	}
	for _, sc := range sinkCases {
		for _, fc := range formats {
			for _, src := range []pipeline.Source{badFormat{fc.f}, pipeline.FromSlice(fc.f, make([]float32, 64))} {
				sink, path := sc.make()
				var err error
				func() {
					defer func() {
						if r := recover(); r != nil {
							t.Fatalf("%s %v: Run panicked: %v", sc.name, fc.f, r)
						}
					}()
					err = sink.Run(context.Background(), src)
				}()
				if err == nil || err.Error() != fc.want {
					t.Errorf("%s %v: Run = %v; want %q", sc.name, fc.f, err, fc.want)
				}
				if path != "" {
					if _, err := os.Stat(path); !os.IsNotExist(err) {
						t.Errorf("%s %v: output created (%v)", sc.name, fc.f, err)
					}
				}
			}
		}
		sink, _ := sc.make()
		if err := sink.Run(context.Background(), nil); err == nil || err.Error() != "nil source" {
			t.Errorf("%s: Run(nil) = %v", sc.name, err)
		}
	}
}

package pipeline

import "testing"

func TestEncodingNames(t *testing.T) {
	for _, c := range []struct {
		enc  Encoding
		size int
	}{{S16LE, 2}, {F32LE, 4}, {ULaw, 1}, {ALaw, 1}} {
		name := c.enc.String()
		if back, err := ParseEncoding(name); err != nil || back != c.enc {
			t.Errorf("ParseEncoding(%q) = %v, %v", name, back, err)
		}
		if got := c.enc.Size(); got != c.size {
			t.Errorf("%v.Size() = %d, want %d", c.enc, got, c.size)
		}
	}
	for name, want := range map[string]Encoding{"mulaw": ULaw, "pcm_mulaw": ULaw, "pcm_alaw": ALaw, "pcm_s16le": S16LE, "pcm_f32le": F32LE} {
		if got, err := ParseEncoding(name); err != nil || got != want {
			t.Errorf("ParseEncoding(%q) = %v, %v; want %v", name, got, err, want)
		}
	}
	if _, err := ParseEncoding("s24le"); err == nil {
		t.Error("ParseEncoding accepted s24le")
	}
	if e := Encoding(9); e.Size() != 0 || e.String() != "Encoding(9)" {
		t.Errorf("Encoding(9): size %d, name %q", e.Size(), e.String())
	}
}

package transforms

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/pipeline"
)

// unknownLength hides the length of a source, as standard input does.
type unknownLength struct{ pipeline.Source }

// warnings applies tr in a context with an observer and returns the
// warnings reported when the stream is opened and after it has been read
// to its end.
func warnings(t *testing.T, tr pipeline.Transform, src pipeline.Source) (atOpen, atEnd []string) {
	t.Helper()
	var got []string
	ctx := pipeline.WithObserver(context.Background(), func(e pipeline.Event) {
		if e.Kind == pipeline.Warning {
			got = append(got, e.String())
		}
	})
	ct, ok := tr.(pipeline.ContextTransform)
	if !ok {
		t.Fatalf("%T is not a pipeline.ContextTransform", tr)
	}
	out, err := ct.ApplyContext(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	atOpen = append([]string(nil), got...)
	audiotest.MustReadAll(t, out)
	pipeline.Close(out)
	return atOpen, got
}

func second(t *testing.T, known bool) pipeline.Source {
	t.Helper()
	src := pipeline.FromSlice(pipeline.Format{Rate: 8000, Channels: 1}, make([]float32, 8000))
	if !known {
		return unknownLength{src}
	}
	return src
}

func TestTrimPastTheEndWarns(t *testing.T) {
	const want = "trim: start=%s is at or past the end of the stream (1s long): the output is empty"
	cases := []struct {
		start, dur time.Duration
		known      bool
		atOpen     bool   // warned when opened, not only at the end
		warning    string // "" for none
	}{
		{2 * time.Second, ToEnd, true, true, strings.Replace(want, "%s", "2s", 1)},
		{time.Second, ToEnd, true, true, strings.Replace(want, "%s", "1s", 1)},
		{2 * time.Second, ToEnd, false, false, strings.Replace(want, "%s", "2s", 1)},
		{time.Second, 5 * time.Second, false, false, strings.Replace(want, "%s", "1s", 1)},
		{500 * time.Millisecond, ToEnd, true, false, ""},
		{500 * time.Millisecond, ToEnd, false, false, ""},
		{0, 0, true, false, ""}, // dur=0 asks for nothing
	}
	for _, c := range cases {
		tr, err := Trim(c.start, c.dur)
		if err != nil {
			t.Fatal(err)
		}
		atOpen, all := warnings(t, tr, second(t, c.known))
		name := "trim start=" + c.start.String()
		if c.warning == "" {
			if len(all) != 0 {
				t.Errorf("%s: warned %q", name, all)
			}
			continue
		}
		if len(all) != 1 || all[0] != c.warning {
			t.Errorf("%s (length known: %v): warnings %q, want once %q", name, c.known, all, c.warning)
		}
		if c.atOpen && len(atOpen) != 1 {
			t.Errorf("%s: warned only at the end, want when opened: the length is known", name)
		}
	}
}

func TestFadeLongerThanTheStreamWarns(t *testing.T) {
	cases := []struct {
		in, out time.Duration
		known   bool
		atOpen  bool
		warning string
	}{
		{2 * time.Second, 0, false, false, "fade: in=2s is longer than the stream (1s): it never plays at full level"},
		{2 * time.Second, 0, true, false, "fade: in=2s is longer than the stream (1s): it never plays at full level"},
		{0, 3 * time.Second, true, true, "fade: out=3s is longer than the stream (1s): it never plays at full level"},
		{600 * time.Millisecond, 600 * time.Millisecond, true, true,
			"fade: in=600ms + out=600ms are longer than the stream (1s): it never plays at full level"},
		{500 * time.Millisecond, 500 * time.Millisecond, true, false, ""},
		{time.Second, 0, false, false, ""},
	}
	for _, c := range cases {
		tr, err := Fade(c.in, c.out, FadeLinear)
		if err != nil {
			t.Fatal(err)
		}
		atOpen, all := warnings(t, tr, second(t, c.known))
		name := "fade in=" + c.in.String() + " out=" + c.out.String()
		if c.warning == "" {
			if len(all) != 0 {
				t.Errorf("%s: warned %q", name, all)
			}
			continue
		}
		if len(all) != 1 || all[0] != c.warning {
			t.Errorf("%s: warnings %q, want once %q", name, all, c.warning)
		}
		if c.atOpen && len(atOpen) != 1 {
			t.Errorf("%s: warned only at the end, want when opened: the length is known", name)
		}
	}
}

// Apply, without a context, works as before and warns nowhere.
func TestTrimAndFadeApplyWithoutContext(t *testing.T) {
	tr, err := Trim(2*time.Second, ToEnd)
	if err != nil {
		t.Fatal(err)
	}
	out, err := tr.Apply(second(t, false))
	if err != nil {
		t.Fatal(err)
	}
	if got := audiotest.MustReadAll(t, out); len(got) != 0 {
		t.Errorf("%d samples, want none", len(got))
	}
	fd, err := Fade(2*time.Second, 0, FadeLinear)
	if err != nil {
		t.Fatal(err)
	}
	out, err = fd.Apply(second(t, true))
	if err != nil {
		t.Fatal(err)
	}
	if got := audiotest.MustReadAll(t, out); len(got) != 8000 {
		t.Errorf("%d samples, want 8000", len(got))
	}
}

package elks

import (
	"testing"

	"github.com/elkspipe/elkspipe/pipeline"
)

// The keys * and # name their menu parameters as the issue writes them:
// on-#=hangup sets on-hash, on-*=... on-star, and the spec reads back.
func TestMenuKeyAliases(t *testing.T) {
	spec, err := pipeline.Parse(`tone 440 | loop | elks on-#=hangup on-*="tone 880 dur=1s"`)
	if err != nil {
		t.Fatal(err)
	}
	g, err := spec.Graph()
	if err != nil {
		t.Fatal(err)
	}
	k := g.Sink.Sink.(*Sink)
	if k.ivr == nil || k.ivr.options['#'] == nil || !k.ivr.options['#'].hangup || k.ivr.options['*'] == nil || k.ivr.options['*'].g == nil {
		t.Fatalf("menu %+v", k.ivr)
	}
	again, err := pipeline.Parse(spec.String())
	if err != nil || again.String() != spec.String() {
		t.Errorf("%q reads back as %q, %v", spec.String(), again, err)
	}
	if _, err := pipeline.Parse(`tone 440 | elks on-#=hangup on-hash=hangup`); err == nil {
		t.Error("on-# and on-hash together were accepted")
	}
}

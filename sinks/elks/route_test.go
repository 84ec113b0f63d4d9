package elks

import (
	"testing"

	"github.com/elkspipe/elkspipe/pipeline"
)

func TestMatchNumber(t *testing.T) {
	for _, c := range []struct {
		pattern, number string
		want            bool
	}{
		{"+46766861234", "+46766861234", true},
		{"+46766861234", "+467668612345", false},
		{"+46766861234", "+4676686123", false},
		{"+4676686*", "+46766861234", true},
		{"+4676686*", "+4676686", true},
		{"+4676686*", "+4676687000", false},
		{"*", "+46700000000", true},
		{"*", "", true},
		{"", "+46700000000", true},
	} {
		if got := MatchNumber(c.pattern, c.number); got != c.want {
			t.Errorf("MatchNumber(%q, %q) = %v, want %v", c.pattern, c.number, got, c.want)
		}
	}
}

func TestCheckPattern(t *testing.T) {
	for _, p := range []string{"+46766861234", "+4676686*", "*", ""} {
		if err := CheckPattern(p); err != nil {
			t.Errorf("CheckPattern(%q): %v", p, err)
		}
	}
	for _, p := range []string{"+46*6", "**", "*1", "+46 70"} {
		if err := CheckPattern(p); err == nil {
			t.Errorf("CheckPattern(%q): no error", p)
		}
	}
}

func TestRouterMatch(t *testing.T) {
	g := &pipeline.Graph{}
	routes := []Route{
		{Name: "exact", To: "+46766861234", Graph: g},
		{Name: "prefix", To: "+4676686*", Graph: g},
		{Name: "from+to", From: "+4670*", To: "+4618*", Graph: g},
		{Name: "from", From: "+4670*", Graph: g},
	}
	r := NewRouter(routes)
	for _, c := range []struct {
		from, to, want string // want "" : no route
	}{
		{"+46701111111", "+46766861234", "exact"}, // first match wins over prefix and from
		{"+46701111111", "+46766869999", "prefix"},
		{"+46701111111", "+46181111111", "from+to"},
		{"+46701111111", "+46190000000", "from"},
		{"+46731111111", "+46181111111", ""},
	} {
		rt, ok := r.Match(Hello{From: c.from, To: c.to})
		if got := map[bool]string{true: rt.Name}[ok]; got != c.want {
			t.Errorf("from %s to %s: route %q (%v), want %q", c.from, c.to, rt.Name, ok, c.want)
		}
	}
	// A default: a route with no patterns, last.
	r.SetRoutes(append(routes, Route{Name: "default", Graph: g}))
	if rt, ok := r.Match(Hello{From: "+46731111111", To: "+46181111111"}); !ok || rt.Name != "default" {
		t.Errorf("with a default: %q %v", rt.Name, ok)
	}
	if got := len(r.Routes()); got != 5 {
		t.Errorf("Routes: %d, want 5", got)
	}
	// SetRoutes copies: changing the caller's slice changes nothing.
	mine := []Route{{Name: "a", To: "1", Graph: g}}
	r.SetRoutes(mine)
	mine[0].Name = "b"
	if rt, _ := r.Match(Hello{To: "1"}); rt.Name != "a" {
		t.Errorf("SetRoutes kept the caller's slice: %q", rt.Name)
	}
	var empty Router
	if _, ok := empty.Match(Hello{To: "1"}); ok {
		t.Error("a Router without routes matched")
	}
}

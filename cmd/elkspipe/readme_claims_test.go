package main

import (
	"bytes"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/elkspipe/elkspipe/pipeline"
)

// The README states the Go release go.mod asks for, and the toolchain it
// names, as they are.
func TestREADMEGoVersion(t *testing.T) {
	mod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	goLine := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(mod)
	toolchain := regexp.MustCompile(`(?m)^toolchain (\S+)$`).FindSubmatch(mod)
	if goLine == nil {
		t.Fatal("go.mod has no go line")
	}
	want := []string{"Go " + string(goLine[1]) + ".0 or later", "`go " + string(goLine[1]) + "`"}
	if strings.Count(string(goLine[1]), ".") > 1 {
		want[0] = "Go " + string(goLine[1]) + " or later"
	}
	if toolchain != nil {
		want = append(want, "`toolchain "+string(toolchain[1])+"`")
	}
	for _, w := range want {
		if !bytes.Contains(readme, []byte(w)) {
			t.Errorf("the README does not say %s (go.mod: go %s, toolchain %s)", w, goLine[1], toolchain)
		}
	}
}

// The quick start gives the command that works from a fresh clone, with
// nothing but Go (TestREADMECommands runs it).
func TestREADMEQuickStartFromClone(t *testing.T) {
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	_, quick, _ := strings.Cut(string(readme), "## Quick start")
	quick, _, _ = strings.Cut(quick, "\n## ")
	if !strings.Contains(quick, "\ngo run ./cmd/elkspipe demo\n") {
		t.Errorf("the quick start does not give go run ./cmd/elkspipe demo:\n%s", quick)
	}
}

// docs/performance.md and `elkspipe inspect resample` give the same
// resampler figures, each a published bound beside what was measured,
// and no measured figure exceeds its bound.
func TestResampleFiguresAgree(t *testing.T) {
	perf, err := os.ReadFile("../../docs/performance.md")
	if err != nil {
		t.Fatal(err)
	}
	var inspect bytes.Buffer
	if err := pipeline.DefaultRegistry.WriteInspect(&inspect, "resample"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(perf), "ripple (bound / measured)") || !strings.Contains(inspect.String(), "published bound / measured") {
		t.Errorf("the ripple figures are not labelled as bound / measured")
	}
	num := regexp.MustCompile(`[0-9]+(\.[0-9]+)?`)
	figures := func(text, quality string) []string {
		for _, line := range strings.Split(text, "\n") {
			f := strings.Fields(strings.NewReplacer("|", " ", "*", " ").Replace(line))
			if len(f) > 1 && f[0] == quality && strings.Contains(line, "%") && strings.Contains(line, " / ") {
				return num.FindAllString(strings.Join(f[1:], " "), 7)
			}
		}
		return nil
	}
	for _, q := range []string{"quick", "low", "medium", "high", "veryhigh"} {
		a, b := figures(string(perf), q), figures(inspect.String(), q)
		if len(a) < 5 || strings.Join(a[:5], " ") != strings.Join(b[:min(len(b), 5)], " ") {
			t.Errorf("%s: docs/performance.md says %v, inspect resample %v", q, a, b)
			continue
		}
		// flat band, ripple bound, ripple measured, rejection bound, measured.
		v := make([]float64, 5)
		for i := range v {
			v[i], _ = strconv.ParseFloat(a[i], 64)
		}
		if v[2] > v[1] || v[4] < v[3] {
			t.Errorf("%s: a measured figure beyond its bound: %v", q, a)
		}
	}
}

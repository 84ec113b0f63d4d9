package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/elkspipe/elkspipe/sinks/elks/elkstest"
)

// --summary prints the summary alone, with the first-audio percentiles;
// --rate spreads the calls out and still reports each without it.
func TestSimulateSummaryAndRate(t *testing.T) {
	url, _ := serveToneApp(t)
	code, out, errOut := simulate(t, url, "--speed", "10", "--calls", "4", "--rate", "40", "--summary", "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var v map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatal(err)
	}
	if _, ok := v["calls"]; ok || len(v) != 1 {
		t.Fatalf("--summary --json printed more than the summary:\n%s", out)
	}
	var s elkstest.Summary
	if err := json.Unmarshal(v["summary"], &s); err != nil {
		t.Fatal(err)
	}
	if s.Calls != 4 || s.Failed != 0 || s.EndedBy["app"] != 4 || s.FirstAudio.Count != 4 || s.FirstAudio.Max < s.FirstAudio.P50 {
		t.Errorf("summary %+v", s)
	}

	code, out, errOut = simulate(t, url, "--speed", "20", "--calls", "3", "--summary")
	if code != exitOK || strings.Contains(out, "call 1:") || !strings.HasPrefix(out, "summary: 3 calls, 0 could not be made") ||
		!strings.Contains(out, "first audio: p50 ") {
		t.Errorf("exit %d, text:\n%s%s", code, out, errOut)
	}

	code, out, errOut = simulate(t, url, "--speed", "20", "--calls", "2", "--rate", "100")
	if code != exitOK || !strings.Contains(out, "call 2: call ") || !strings.Contains(out, "summary: 2 calls") {
		t.Errorf("exit %d, text:\n%s%s", code, out, errOut)
	}

	if code, _, errOut := simulate(t, url, "--rate", "-3"); code != exitUsage || !strings.Contains(errOut, "--rate -3") {
		t.Errorf("--rate -3: exit %d, %s", code, errOut)
	}
}

// --first-audio-times adds every call's time to first audio to the JSON
// summary: the values its percentiles come from.
func TestSimulateFirstAudioTimes(t *testing.T) {
	url, _ := serveToneApp(t)
	code, out, errOut := simulate(t, url, "--speed", "10", "--calls", "3", "--rate", "60", "--summary", "--json", "--first-audio-times")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var v struct {
		Summary elkstest.Summary `json:"summary"`
		Times   []float64        `json:"first_audio_seconds"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Times) != 3 || v.Summary.FirstAudio.Count != 3 {
		t.Fatalf("%d times for %d calls with audio:\n%s", len(v.Times), v.Summary.FirstAudio.Count, out)
	}
	hi := 0.0
	for _, x := range v.Times {
		if x <= 0 {
			t.Errorf("a time to first audio of %g s", x)
		}
		hi = max(hi, x)
	}
	if hi != v.Summary.FirstAudio.Max {
		t.Errorf("largest time %g, the summary's max %g", hi, v.Summary.FirstAudio.Max)
	}

	if code, _, errOut := simulate(t, url, "--calls", "2", "--summary", "--first-audio-times"); code != exitUsage || !strings.Contains(errOut, "--summary --json") {
		t.Errorf("without --json: exit %d, %s", code, errOut)
	}
}

package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// routingDoc is the page whose example routes file TestRoutingDocExample
// checks.
const routingDoc = "../../docs/routing.md"

// docRoutesFile returns the fenced block of md that starts with the line
// "# routes.conf".
func docRoutesFile(md string) string {
	var b strings.Builder
	in, found := false, false
	for _, line := range strings.Split(md, "\n") {
		switch {
		case strings.HasPrefix(line, "```"):
			if found {
				return b.String()
			}
			in = !in
		case in && !found && line == "# routes.conf":
			found = true
			fallthrough
		case found:
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// The example routes file of docs/routing.md passes elkspipe serve
// -check, with its WAV files made and its token's variable set, and has
// the routes the page describes.
func TestRoutingDocExample(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	md, err := os.ReadFile(routingDoc)
	if err != nil {
		t.Fatal(err)
	}
	text := docRoutesFile(string(md))
	if !strings.Contains(text, "\nroute ") || !strings.Contains(text, "\ndefault ") {
		t.Fatalf("no example routes file (a block starting with # routes.conf) in %s:\n%s", routingDoc, text)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "routes.conf"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, name := range regexp.MustCompile(`[\w-]+\.wav`).FindAllString(text, -1) {
		if code, _, errOut := runCLI(t, context.Background(), "tone 440 dur=1 | wav "+filepath.Join(dir, name)); code != exitOK {
			t.Fatalf("making %s: %s", name, errOut)
		}
	}
	cmd := exec.Command(buildElkspipe(t), "serve", "-check", "routes.conf")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "ELKS_TOKEN=doc-test-token")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("elkspipe serve -check routes.conf: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "3 routes and a default") || strings.Contains(string(out), "doc-test-token") {
		t.Errorf("the example has 3 routes and a default, and -check never prints the token; it says:\n%s", out)
	}
}

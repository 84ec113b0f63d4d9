package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sinks/elks"
)

// readmePath is the README whose commands TestREADMECommands runs.
const readmePath = "../../README.md"

// readmeCommand is one command line of a code block of the README, with
// the output the README shows for it (the lines after a "$ " line).
type readmeCommand struct {
	line string // as written, without a leading "$ "
	want string // expected output, or ""
}

// readmeCommands returns the elkspipe command lines of the fenced code
// blocks of a Markdown text (not those of Go blocks), in order.
func readmeCommands(md string) []readmeCommand {
	var cmds []readmeCommand
	inBlock, goBlock := false, false
	// After a "$ " line comes its output, up to the next "$ " line or the
	// end of the block: shown is the index in cmds of the elkspipe command
	// it belongs to, or -1 for the output of another command.
	output, shown := false, -1
	for _, line := range strings.Split(md, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "```") {
			inBlock = !inBlock
			goBlock = inBlock && strings.HasPrefix(trimmed, "```go")
			output = false
			continue
		}
		if !inBlock || goBlock {
			continue
		}
		prompt := strings.HasPrefix(trimmed, "$ ")
		cmd := strings.TrimPrefix(trimmed, "$ ")
		// go run ./cmd/elkspipe builds this checkout's elkspipe and runs
		// it: the test runs the binary it built from the same checkout.
		if rest, ok := strings.CutPrefix(cmd, "go run ./cmd/elkspipe"); ok && (rest == "" || rest[0] == ' ') {
			cmd = "elkspipe" + rest
		}
		elkspipe := strings.HasPrefix(cmd, "elkspipe ") || cmd == "elkspipe"
		switch {
		case prompt:
			output, shown = true, -1
			if elkspipe {
				cmds = append(cmds, readmeCommand{line: cmd})
				shown = len(cmds) - 1
			}
		case output:
			if shown >= 0 {
				cmds[shown].want += trimmed + "\n"
			}
		case elkspipe:
			cmds = append(cmds, readmeCommand{line: cmd})
		}
	}
	return cmds
}

// shellWords splits a command line as sh does for the simple lines of the
// README: words separated by blanks, '...' and "..." quoting, \ escapes, a
// # at the start of a word begins a comment. A redirection "> FILE" is
// returned apart from the words.
func shellWords(line string) (words []string, redirect string, err error) {
	var (
		cur     strings.Builder
		inWord  bool
		pending bool // the next word is the redirection's target
	)
	flush := func() {
		if !inWord {
			return
		}
		if pending {
			redirect, pending = cur.String(), false
		} else {
			words = append(words, cur.String())
		}
		cur.Reset()
		inWord = false
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == ' ' || c == '\t':
			flush()
		case c == '#' && !inWord:
			flush()
			return words, redirect, nil
		case c == '>' && !inWord:
			pending = true
		case c == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				return nil, "", fmt.Errorf("unclosed ' in %q", line)
			}
			cur.WriteString(line[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(line) && line[i] != '"'; i++ {
				if line[i] == '\\' && i+1 < len(line) && strings.IndexByte("\"\\$`", line[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(line[i])
			}
			if i == len(line) {
				return nil, "", fmt.Errorf("unclosed \" in %q", line)
			}
			inWord = true
		case c == '\\' && i+1 < len(line):
			i++
			cur.WriteByte(line[i])
			inWord = true
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	flush()
	if pending {
		return nil, "", fmt.Errorf("redirection without a file in %q", line)
	}
	return words, redirect, nil
}

func TestReadmeCommandsExtracted(t *testing.T) {
	md := "text\n```\nelkspipe 'tone 440 | wav a.wav'   # comment\n$ elkspipe -v 'x'\nshown output\n```\n```\ngo test ./...\n```\n```go\nelkspipe in go\n```\n```\n$ bench.sh\n  elkspipe output line\n```\n```\ngo run ./cmd/elkspipe demo\ngo run ./cmd/elkspipex\n```\n"
	got := readmeCommands(md)
	want := []readmeCommand{
		{line: "elkspipe 'tone 440 | wav a.wav'   # comment"},
		{line: "elkspipe -v 'x'", want: "shown output\n"},
		{line: "elkspipe demo"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("readmeCommands = %q, want %q", got, want)
	}
	words, redirect, err := shellWords(`elkspipe 'tone 1k | raw - enc=ulaw' x\ y "a \"b\"" > tone.ul  # c`)
	if err != nil || fmt.Sprint(words) != `[elkspipe tone 1k | raw - enc=ulaw x y a "b"]` || redirect != "tone.ul" {
		t.Errorf("shellWords = %q, %q, %v", words, redirect, err)
	}
}

// TestREADMECommands runs every elkspipe command of README.md as written,
// with the binary built from this checkout, in a temporary folder, in the
// README's order (later commands read what earlier ones wrote). It checks
// the exit status, the output files the command names, and the output the
// README shows after a "$ " line. Commands that serve calls until stopped
// are parsed and their stages made, not run; a README command this test
// does not know how to check fails it.
func TestREADMECommands(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	md, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	cmds := readmeCommands(string(md))
	if len(cmds) < 8 {
		t.Fatalf("found %d elkspipe commands in %s: the extractor no longer sees the README's code blocks", len(cmds), readmePath)
	}
	runDocCommands(t, buildElkspipe(t), cmds)
}

// TestDocsCommands does for the pages in docs/ what TestREADMECommands
// does for the README.
func TestDocsCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	pages, err := filepath.Glob("../../docs/*.md")
	if err != nil || len(pages) == 0 {
		t.Fatalf("no pages in docs/: %v", err)
	}
	bin := buildElkspipe(t)
	for _, page := range pages {
		md, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		if cmds := readmeCommands(string(md)); len(cmds) > 0 {
			t.Run(filepath.Base(page), func(t *testing.T) { runDocCommands(t, bin, cmds) })
		}
	}
}

// runDocCommands runs cmds, in order, in a fresh temporary folder that
// holds a hold.mp3, each as a subtest.
func runDocCommands(t *testing.T, bin string, cmds []readmeCommand) {
	dir := t.TempDir()
	holdReason := makeHoldMP3(t, bin, dir)

	for i, c := range cmds {
		t.Run(fmt.Sprintf("%d", i+1), func(t *testing.T) {
			t.Log(c.line)
			words, redirect, err := shellWords(c.line)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(c.line, " [") {
				t.Skip("a synopsis ([optional] parts), not a command")
			}
			args := words[1:]
			for len(args) > 0 && strings.HasPrefix(args[0], "-") {
				args = args[1:]
			}
			if len(args) == 0 {
				t.Fatalf("no subcommand or pipeline in %q", c.line)
			}
			var spec *pipeline.Spec
			switch args[0] {
			case "list", "inspect", "demo", "help":
			case "simulate":
				t.Skip("needs a server to call (the simulate tests cover it)")
			default:
				if len(args) == 1 {
					spec, err = pipeline.Parse(args[0])
				} else {
					spec, err = pipeline.ParseWords(args)
				}
				if err != nil {
					t.Fatalf("the pipeline does not parse: %v", err)
				}
				if spec.Sink == nil {
					t.Fatalf("the pipeline has no sink")
				}
				if spec.Sink.Element.Name == "elks" {
					// It serves calls until stopped: check that its
					// stages can be made, without listening.
					if _, err := spec.Graph(); err != nil {
						if _, noOpus := elks.NewEncoder(elks.Ogg); noOpus != nil && spec.Sink.Args.String("format") == string(elks.Ogg) {
							t.Skip("needs the Opus build (-tags opus,nolibopusfile)")
						}
						t.Fatalf("the server pipeline is invalid: %v", err)
					}
					t.Skip("serves calls until stopped: parsed and its stages made, not run")
				}
				if holdReason != "" && strings.Contains(c.line, "hold.mp3") {
					t.Skip(holdReason)
				}
			}

			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "sh", "-c", c.line)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"))
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("%s: %v\nstderr: %s", c.line, err, stderr.String())
			}

			if strings.TrimSpace(c.want) != "" {
				got := stdout.String() + stderr.String()
				if strings.TrimSpace(got) != strings.TrimSpace(c.want) {
					t.Errorf("output:\n%s\nthe README shows:\n%s", got, c.want)
				}
			}
			switch {
			case args[0] == "list" || args[0] == "inspect" || args[0] == "help":
				if stdout.Len() == 0 {
					t.Errorf("printed nothing")
				}
			case args[0] == "demo":
				nonEmpty(t, filepath.Join(dir, "heard.wav"))
				if !strings.HasPrefix(stdout.String(), "call ") || !strings.Contains(stdout.String(), "\nplayed: ") {
					t.Errorf("the demo printed no report:\n%s", stdout.String())
				}
			default:
				path := spec.Sink.Args.String("path")
				switch {
				case spec.Sink.Element.Name == "null":
				case path == "-" && redirect != "":
					nonEmpty(t, filepath.Join(dir, redirect))
				case path == "-":
					if stdout.Len() == 0 {
						t.Errorf("wrote nothing to standard output")
					}
				default:
					out := nonEmpty(t, filepath.Join(dir, path))
					if spec.Sink.Element.Name == "wav" {
						if _, f := decodeFile(t, out); f.Validate() != nil {
							t.Errorf("%s: format %v", path, f)
						}
					}
				}
			}
		})
	}
}

// nonEmpty fails t unless path is a file with content, and returns path.
func nonEmpty(t *testing.T, path string) string {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Errorf("expected output: %v", err)
		return path
	}
	if st.Size() == 0 {
		t.Errorf("%s is empty", path)
	}
	return path
}

// buildElkspipe builds this checkout's elkspipe into a temporary folder
// and returns its path.
func buildElkspipe(t *testing.T) string {
	t.Helper()
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		goTool = "go"
	}
	bin := filepath.Join(t.TempDir(), "elkspipe")
	cmd := exec.Command(goTool, "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// makeHoldMP3 writes dir/hold.mp3, the file the README's commands play: a
// 2-second tone encoded by lame when it is installed, otherwise the MP3
// fixture of the tests. It returns why the commands that need it must be
// skipped, or "".
func makeHoldMP3(t *testing.T, bin, dir string) string {
	t.Helper()
	hold := filepath.Join(dir, "hold.mp3")
	if lame, err := exec.LookPath("lame"); err == nil {
		wav := filepath.Join(t.TempDir(), "hold.wav")
		if out, err := exec.Command(bin, "tone 440 dur=2s rate=44.1k channels=2 | wav "+wav).CombinedOutput(); err != nil {
			t.Fatalf("making hold.wav: %v\n%s", err, out)
		}
		if out, err := exec.Command(lame, "--quiet", wav, hold).CombinedOutput(); err != nil {
			t.Fatalf("lame: %v\n%s", err, out)
		}
		return ""
	}
	in, err := os.Open(mp3Fixture)
	if err != nil {
		return "no lame to make hold.mp3, and no fixture: " + err.Error()
	}
	defer in.Close()
	out, err := os.Create(hold)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return ""
}

// readmeGoBlocks returns the contents of the ```go blocks of a Markdown
// text.
func readmeGoBlocks(md string) []string {
	var blocks []string
	var cur *strings.Builder
	for _, line := range strings.Split(md, "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case cur == nil && strings.HasPrefix(trimmed, "```go"):
			cur = new(strings.Builder)
		case cur != nil && strings.HasPrefix(trimmed, "```"):
			blocks = append(blocks, cur.String())
			cur = nil
		case cur != nil:
			cur.WriteString(line + "\n")
		}
	}
	return blocks
}

// TestREADMEGoProgram compiles the README's Go snippet, a whole program,
// as a command of this module (through a build overlay, so nothing is
// written into the checkout), runs it in a temporary folder and checks what
// it prints and writes.
func TestREADMEGoProgram(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a program")
	}
	md, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	blocks := readmeGoBlocks(string(md))
	if len(blocks) != 1 || !strings.HasPrefix(blocks[0], "package main\n") {
		t.Fatalf("the README should hold one Go block, a whole program (package main); found %d blocks", len(blocks))
	}
	tmp := t.TempDir()
	src := filepath.Join(tmp, "main.go")
	if err := os.WriteFile(src, []byte(blocks[0]), 0o644); err != nil {
		t.Fatal(err)
	}
	here, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	overlay := filepath.Join(tmp, "overlay.json")
	virtual := filepath.Join(here, "readme_go_program_", "main.go")
	if err := os.WriteFile(overlay, []byte(fmt.Sprintf(`{"Replace":{%q:%q}}`, virtual, src)), 0o644); err != nil {
		t.Fatal(err)
	}
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		goTool = "go"
	}
	bin := filepath.Join(tmp, "readme-program")
	if out, err := exec.Command(goTool, "build", "-overlay", overlay, "-o", bin, "./readme_go_program_").CombinedOutput(); err != nil {
		t.Fatalf("the README's Go program does not build: %v\n%s", err, out)
	}
	run := exec.Command(bin)
	run.Dir = tmp
	out, err := run.CombinedOutput()
	if err != nil {
		t.Fatalf("the README's Go program failed: %v\n%s", err, out)
	}
	const chain = "tone 440 dur=2s [48000 Hz mono] | fade in=100ms out=300ms [48000 Hz mono] | resample 8000 (auto) [8000 Hz mono] | raw \"out.pcm\" rate=8k\n"
	if string(out) != chain {
		t.Errorf("it printed %q, want %q", out, chain)
	}
	st, err := os.Stat(filepath.Join(tmp, "out.pcm"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() != 2*8000*2 { // 2 s at 8 kHz, 16-bit mono
		t.Errorf("out.pcm holds %d bytes, want %d", st.Size(), 2*8000*2)
	}
}

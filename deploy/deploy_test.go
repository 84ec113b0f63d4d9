// Package deploy_test checks the deployment files of this folder with the
// tools that read them, where they are installed: nginx -t, haproxy -c,
// systemd-analyze verify, the Dockerfile's build command; and that every
// file gives a stopping replica as long as its calls may take.
package deploy_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// tool finds a program in PATH or at its Debian path, or skips t.
func tool(t *testing.T, name, debian string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if _, err := os.Stat(debian); err == nil {
		return debian
	}
	t.Skipf("%s is not installed", name)
	return ""
}

// read returns the deploy file at path.
func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// write writes data to path.
func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// The nginx snippets are valid in an http block: nginx -t, with the
// replicas' names resolved to 127.0.0.1.
func TestNginxSnippets(t *testing.T) {
	bin := tool(t, "nginx", "/usr/sbin/nginx")
	for _, name := range []string{"nginx/elkspipe.conf", "nginx/compose.conf"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			snippet := regexp.MustCompile(`elkspipe-[ab]:`).ReplaceAllString(read(t, name), "127.0.0.1:")
			conf := fmt.Sprintf(`pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events {}
http {
	access_log off;
	client_body_temp_path %[1]s/body;
	proxy_temp_path %[1]s/proxy;
	fastcgi_temp_path %[1]s/fastcgi;
	uwsgi_temp_path %[1]s/uwsgi;
	scgi_temp_path %[1]s/scgi;
	include %[1]s/snippet.conf;
}
`, dir)
			write(t, filepath.Join(dir, "snippet.conf"), []byte(snippet))
			write(t, filepath.Join(dir, "nginx.conf"), []byte(conf))
			out, err := exec.Command(bin, "-t", "-q", "-p", dir, "-c", filepath.Join(dir, "nginx.conf")).CombinedOutput()
			if err != nil {
				t.Errorf("nginx -t %s: %v\n%s", name, err, out)
			}
		})
	}
}

// The HAProxy snippet is valid after a global section: haproxy -c.
func TestHAProxySnippet(t *testing.T) {
	bin := tool(t, "haproxy", "/usr/sbin/haproxy")
	dir := t.TempDir()
	conf := "global\n    log stderr format raw local0\n" + read(t, "haproxy/elkspipe.cfg")
	path := filepath.Join(dir, "haproxy.cfg")
	write(t, path, []byte(conf))
	out, err := exec.Command(bin, "-c", "-f", path).CombinedOutput()
	if err != nil {
		t.Errorf("haproxy -c haproxy/elkspipe.cfg: %v\n%s", err, out)
	}
}

// The systemd unit passes systemd-analyze verify (its ExecStart pointed
// at an executable that exists here).
func TestSystemdUnit(t *testing.T) {
	bin := tool(t, "systemd-analyze", "/usr/bin/systemd-analyze")
	unit := strings.ReplaceAll(read(t, "systemd/elkspipe.service"), "/usr/local/bin/elkspipe", "/bin/true")
	path := filepath.Join(t.TempDir(), "elkspipe.service")
	write(t, path, []byte(unit))
	out, err := exec.Command(bin, "verify", path).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify systemd/elkspipe.service: %v\n%s", err, out)
	}
}

// Every file that stops a replica gives it as long as shutdown-timeout=
// plus drain-delay=, as its own pipeline sets them, so that a deploy does
// not cut a caller on hold.
func TestGracePeriodsFitLongCalls(t *testing.T) {
	for _, c := range []struct{ file, grace string }{
		{"kubernetes/deployment.yaml", `terminationGracePeriodSeconds: (\d+)`},
		{"systemd/elkspipe.service", `TimeoutStopSec=(\d+)`},
		{"compose.yaml", `stop_grace_period: (\d+)s`},
	} {
		text := read(t, c.file)
		m := regexp.MustCompile(c.grace).FindStringSubmatch(text)
		if m == nil {
			t.Errorf("%s: no %s", c.file, c.grace)
			continue
		}
		secs, _ := strconv.Atoi(m[1])
		grace := time.Duration(secs) * time.Second
		need := param(t, c.file, text, "shutdown-timeout") + param(t, c.file, text, "drain-delay")
		// Kubernetes counts the grace period from the start of the
		// preStop hook, which holds SIGTERM back.
		if m := regexp.MustCompile(`preStop:\s*exec: \{command: \["sleep", "(\d+)"\]\}`).FindStringSubmatch(text); m != nil {
			secs, _ := strconv.Atoi(m[1])
			need += time.Duration(secs) * time.Second
		}
		if grace <= need {
			t.Errorf("%s: a grace period of %s, calls may take %s to end", c.file, grace, need)
		}
	}
}

// param returns the duration parameter name= of the pipeline in text.
func param(t *testing.T, file, text, name string) time.Duration {
	t.Helper()
	m := regexp.MustCompile(` ` + name + `=(\w+)`).FindStringSubmatch(text)
	if m == nil {
		t.Errorf("%s: the pipeline sets no %s=", file, name)
		return 0
	}
	d, err := time.ParseDuration(m[1])
	if err != nil {
		t.Errorf("%s: %s=%s: %v", file, name, m[1], err)
	}
	return d
}

// The binary the Dockerfile builds, built the same way (its RUN line),
// runs: it reports its version.
func TestDockerfileBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds elkspipe")
	}
	bin := buildLikeDockerfile(t, "Dockerfile", "0")
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "elkspipe") {
		t.Errorf("elkspipe version: %v\n%s", err, out)
	}
}

// The binary Dockerfile.opus builds (cgo, libopus), built the same way,
// serves a call in Ogg Opus, which the static build refuses: its
// simulator hears the whole tone.
func TestDockerfileOpusBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds elkspipe with cgo")
	}
	if exec.Command("pkg-config", "--exists", "opus").Run() != nil {
		t.Skip("libopus is not installed (apt-get install libopus-dev pkg-config)")
	}
	bin := buildLikeDockerfile(t, "Dockerfile.opus", "1")
	server := exec.Command(bin, "tone 440 dur=1s | elks format=ogg listen=127.0.0.1:0 drain-delay=0")
	stderr, err := server.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		server.Process.Kill()
		server.Wait()
	}()
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		re := regexp.MustCompile(`msg="serving calls".* addr=(127\.0\.0\.1:\d+)`)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	select {
	case a := <-addr:
		out, err := exec.Command(bin, "simulate", "ws://"+a+"/", "--json").Output()
		var rep struct {
			Played   float64        `json:"played"`
			Sendings map[string]int `json:"sendings"`
		}
		if err != nil || json.Unmarshal(out, &rep) != nil || rep.Sendings["ogg"] == 0 || rep.Played < 0.9 {
			t.Errorf("a call to the Opus build: %v\n%s", err, out)
		}
	case <-time.After(time.Minute):
		t.Fatal("the Opus build does not serve after a minute")
	}
}

// buildLikeDockerfile builds elkspipe with the go build command of the
// Dockerfile named (its RUN CGO_ENABLED=cgo go build ... line) and
// returns the binary.
func buildLikeDockerfile(t *testing.T, dockerfile, cgo string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^RUN (CGO_ENABLED=` + cgo + ` go build .*) -o /out/elkspipe (\./cmd/elkspipe)$`).FindStringSubmatch(read(t, dockerfile))
	if m == nil {
		t.Fatalf("%s: no RUN CGO_ENABLED=%s go build ... -o /out/elkspipe ./cmd/elkspipe line", dockerfile, cgo)
	}
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	bin := filepath.Join(t.TempDir(), "elkspipe")
	args := append(strings.Fields(m[1])[2:], "-o", bin, m[2])
	cmd := exec.Command(goTool, args...)
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "CGO_ENABLED="+cgo)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: go %s: %v\n%s", dockerfile, strings.Join(args, " "), err, out)
	}
	return bin
}

// Package proxytest starts the proxies users put in front of elkspipe —
// Debian's nginx and HAProxy — on 127.0.0.1 for a test, each with a config
// of its own in the test's temporary directory, and stops them when the
// test ends. A test that needs one is skipped when it is not installed
// (.ci/run installs both).
package proxytest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Nginx starts nginx as a WebSocket reverse proxy in front of upstream
// (host:port) and returns its address. extra is added to the proxying
// location block (proxy_read_timeout 2s, say). It skips the test when
// nginx is not installed.
func Nginx(t testing.TB, upstream, extra string) string {
	t.Helper()
	return NginxUpstreams(t, []string{upstream}, extra)
}

// NginxUpstreams starts nginx as a WebSocket reverse proxy in front of
// several replicas (host:port each), balanced round robin in one
// upstream block, and returns its address. A replica that refuses the
// connection or fails before answering is retried on the next one
// (proxy_next_upstream error timeout, nginx's default, said outright).
// extra is added to the proxying location block. It skips the test when
// nginx is not installed.
func NginxUpstreams(t testing.TB, upstreams []string, extra string) string {
	t.Helper()
	if len(upstreams) == 0 {
		t.Fatal("proxytest.NginxUpstreams: no upstream")
	}
	bin := lookPath(t, "nginx", "/usr/sbin/nginx")
	dir := t.TempDir()
	addr := freeAddr(t)
	conf := fmt.Sprintf(`daemon off;
master_process off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path %[1]s/body;
	proxy_temp_path %[1]s/proxy;
	fastcgi_temp_path %[1]s/fastcgi;
	uwsgi_temp_path %[1]s/uwsgi;
	scgi_temp_path %[1]s/scgi;
	upstream elkspipe {
%[3]s	}
	server {
		listen %[2]s;
		location / {
			proxy_pass http://elkspipe;
			proxy_next_upstream error timeout;
			proxy_connect_timeout 5s;
			proxy_http_version 1.1;
			proxy_set_header Upgrade $http_upgrade;
			proxy_set_header Connection "upgrade";
			proxy_set_header Host $host;
			%[4]s
		}
	}
}
`, dir, addr, servers(upstreams, func(_ int, u string) string { return "\t\tserver " + u + ";\n" }), extra)
	start(t, dir, "nginx", conf, bin, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"))
	waitListening(t, "nginx", addr, dir, "error.log", "nginx.out")
	return addr
}

// HAProxy starts HAProxy in front of upstream (host:port) and returns its
// address. extra is added to the defaults section (timeout tunnel 2s,
// say). It skips the test when HAProxy is not installed.
func HAProxy(t testing.TB, upstream, extra string) string {
	t.Helper()
	return HAProxyBackends(t, []string{upstream}, extra)
}

// HAProxyBackends starts HAProxy in front of several replicas (host:port
// each), balanced by least connections, and returns its address. A
// connection a replica refuses is retried, on another replica after the
// first retry (retries 3, option redispatch). extra is added to the
// defaults section. It skips the test when HAProxy is not installed.
func HAProxyBackends(t testing.TB, upstreams []string, extra string) string {
	t.Helper()
	if len(upstreams) == 0 {
		t.Fatal("proxytest.HAProxyBackends: no upstream")
	}
	bin := lookPath(t, "haproxy", "/usr/sbin/haproxy")
	dir := t.TempDir()
	addr := freeAddr(t)
	conf := fmt.Sprintf(`global
	log stderr format raw local0 warning
defaults
	mode http
	log global
	timeout connect 5s
	timeout client 30s
	timeout server 30s
	retries 3
	option redispatch 1
	%[3]s
frontend calls
	bind %[1]s
	default_backend elkspipe
backend elkspipe
	balance leastconn
%[2]s`, addr, servers(upstreams, func(i int, u string) string { return fmt.Sprintf("\tserver app%d %s\n", i, u) }), extra)
	start(t, dir, "haproxy", conf, bin, "-db", "-f", filepath.Join(dir, "haproxy.conf"))
	waitListening(t, "haproxy", addr, dir, "haproxy.out")
	return addr
}

// servers writes one line per upstream, made by line from its index
// (from 1) and address.
func servers(upstreams []string, line func(i int, addr string) string) string {
	var b strings.Builder
	for i, u := range upstreams {
		b.WriteString(line(i+1, u))
	}
	return b.String()
}

// lookPath finds a program in PATH or at its Debian path, or skips t.
func lookPath(t testing.TB, name, debian string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if _, err := os.Stat(debian); err == nil {
		return debian
	}
	t.Skipf("%s is not installed (apt-get install %s)", name, name)
	return ""
}

// freeAddr returns a 127.0.0.1 address with a port that was free a
// moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// start writes conf as name.conf in dir and runs bin with args until the
// test ends, its output in dir/name.out.
func start(t testing.TB, dir, name, conf, bin string, args ...string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name+".conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(filepath.Join(dir, name+".out"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		out.Close()
		t.Fatalf("starting %s: %v", name, err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		out.Close()
		close(exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
}

// waitListening waits until addr accepts connections, up to 10 s; on
// failure it reports the program's logs (files in dir).
func waitListening(t testing.TB, name, addr, dir string, logFiles ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			var logs []string
			for _, f := range logFiles {
				if b, err := os.ReadFile(filepath.Join(dir, f)); err == nil {
					logs = append(logs, string(b))
				}
			}
			t.Fatalf("%s does not listen on %s: %v\n%s", name, addr, err, strings.Join(logs, "\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

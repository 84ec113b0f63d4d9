package deploy_test

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// yamlToJSON is a Python program that prints the YAML documents of the
// file it is given as one JSON array (PyYAML's safe loader).
const yamlToJSON = `import sys, json, yaml
json.dump([d for d in yaml.safe_load_all(open(sys.argv[1])) if d is not None], sys.stdout)`

// loadYAML returns the YAML documents of file, read by PyYAML (skipping
// t when python3 or PyYAML is absent).
func loadYAML(t *testing.T, file string) []map[string]any {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed")
	}
	if exec.Command(py, "-c", "import yaml").Run() != nil {
		t.Skip("PyYAML is not installed (apt-get install python3-yaml)")
	}
	out, err := exec.Command(py, "-c", yamlToJSON, file).Output()
	if err != nil {
		t.Fatalf("%s is not YAML: %v", file, err)
	}
	var docs []map[string]any
	if err := json.Unmarshal(out, &docs); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return docs
}

// manifests returns the Kubernetes objects of the YAML files of
// kubernetes/, by kind.
func manifests(t *testing.T) map[string]map[string]any {
	t.Helper()
	files, _ := filepath.Glob("kubernetes/*.yaml")
	objs := map[string]map[string]any{}
	for _, f := range files {
		for _, d := range loadYAML(t, f) {
			kind, _ := d["kind"].(string)
			if kind == "" || d["apiVersion"] == nil || path(d, "metadata", "name") == nil {
				t.Errorf("%s: an object without kind, apiVersion or metadata.name: %v", f, d)
				continue
			}
			if objs[kind] != nil {
				t.Errorf("%s: a second %s", f, kind)
			}
			objs[kind] = d
		}
	}
	return objs
}

// path returns the value at the keys (or list indexes, as ints) in v, or
// nil.
func path(v any, keys ...any) any {
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

// The Kubernetes manifests hold what issue 10 asks of them, as a
// cluster would read them: a Deployment whose pods are probed on /readyz
// and /livez, hold SIGTERM back with a preStop hook while the endpoints
// update, and get a grace period longer than preStop + drain-delay= +
// shutdown-timeout=; a rolling update that never lowers capacity; a
// Service; a PodDisruptionBudget; an Ingress with WebSocket timeouts
// above the pings; and a HorizontalPodAutoscaler on active calls or CPU.
func TestKubernetesManifests(t *testing.T) {
	objs := manifests(t)
	for _, kind := range []string{"Deployment", "Service", "PodDisruptionBudget", "Ingress", "HorizontalPodAutoscaler"} {
		if objs[kind] == nil {
			t.Errorf("no %s in kubernetes/", kind)
		}
	}
	d := objs["Deployment"]
	if d == nil {
		return
	}
	pod := path(d, "spec", "template", "spec")
	c := path(pod, "containers", 0)
	if got := path(c, "readinessProbe", "httpGet", "path"); got != "/readyz" {
		t.Errorf("readiness probe on %v, want /readyz", got)
	}
	if got := path(c, "livenessProbe", "httpGet", "path"); got != "/livez" {
		t.Errorf("liveness probe on %v, want /livez", got)
	}
	if got := path(d, "spec", "strategy", "rollingUpdate", "maxUnavailable"); got != 0.0 {
		t.Errorf("rollingUpdate.maxUnavailable %v, want 0", got)
	}
	cmd, _ := path(c, "lifecycle", "preStop", "exec", "command").([]any)
	if len(cmd) != 2 || cmd[0] != "sleep" {
		t.Fatalf("preStop %v, want exec sleep SECONDS", path(c, "lifecycle", "preStop"))
	}
	preStopSecs, err := strconv.Atoi(cmd[1].(string))
	if err != nil || preStopSecs < 2 {
		t.Errorf("preStop sleeps %v: give the endpoints a few seconds", cmd[1])
	}
	args, _ := path(c, "args", 0).(string)
	dur := func(name string) time.Duration {
		m := regexp.MustCompile(` ` + name + `=(\w+)`).FindStringSubmatch(args)
		if m == nil {
			t.Fatalf("the container's pipeline sets no %s=: %q", name, args)
		}
		d, err := time.ParseDuration(m[1])
		if err != nil {
			t.Fatalf("%s=%s: %v", name, m[1], err)
		}
		return d
	}
	need := time.Duration(preStopSecs)*time.Second + dur("drain-delay") + dur("shutdown-timeout")
	grace, _ := path(pod, "terminationGracePeriodSeconds").(float64)
	if time.Duration(grace)*time.Second <= need {
		t.Errorf("terminationGracePeriodSeconds %v: preStop, drain-delay= and shutdown-timeout= take %s", grace, need)
	}
	if !strings.Contains(args, "token=file:") && !strings.Contains(args, "token=env:") {
		t.Errorf("the token is on the command line: %q", args)
	}

	if h := objs["HorizontalPodAutoscaler"]; h != nil {
		metric := path(h, "spec", "metrics", 0, "pods", "metric", "name")
		cpu := path(h, "spec", "metrics", 1, "resource", "name")
		if metric != "elkspipe_calls_active" || cpu != "cpu" {
			t.Errorf("the autoscaler scales on %v and %v, want elkspipe_calls_active and cpu", metric, cpu)
		}
	}
	if i := objs["Ingress"]; i != nil {
		for _, a := range []string{"proxy-read-timeout", "proxy-send-timeout"} {
			v, _ := path(i, "metadata", "annotations", "nginx.ingress.kubernetes.io/"+a).(string)
			if secs, err := strconv.Atoi(v); err != nil || secs < 60 {
				t.Errorf("Ingress %s %q: want well above ping= (20s)", a, v)
			}
		}
	}
}

// The compose file, as Docker Compose reads it (its YAML anchors
// resolved): nginx in front of two replicas built from the Dockerfile,
// each with the token as a secret file, a restart policy, and a stop
// grace period that fits long calls (TestGracePeriodsFitLongCalls).
func TestComposeFile(t *testing.T) {
	docs := loadYAML(t, "compose.yaml")
	if len(docs) != 1 {
		t.Fatalf("compose.yaml: %d documents", len(docs))
	}
	services, _ := docs[0]["services"].(map[string]any)
	replicas := 0
	for name, s := range services {
		if name == "nginx" {
			if v, _ := path(s, "volumes", 0).(string); !strings.HasPrefix(v, "./nginx/compose.conf:") {
				t.Errorf("nginx does not mount nginx/compose.conf: %v", path(s, "volumes"))
			}
			continue
		}
		replicas++
		args, _ := path(s, "command", 0).(string)
		if path(s, "build", "dockerfile") != "deploy/Dockerfile" || path(s, "secrets", 0) != "elks_token" ||
			!strings.Contains(args, "token=file:/run/secrets/elks_token") || path(s, "stop_grace_period") == nil || path(s, "restart") == nil {
			t.Errorf("service %s: %v", name, s)
		}
		if !strings.Contains(read(t, "nginx/compose.conf"), name+":8095") {
			t.Errorf("nginx/compose.conf does not send calls to %s:8095", name)
		}
	}
	if replicas < 2 || services["nginx"] == nil {
		t.Errorf("compose.yaml: %d replicas and nginx %v; want two or more behind nginx", replicas, services["nginx"] != nil)
	}
}

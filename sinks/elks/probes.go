package elks

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// The endpoints a Server answers beside its calls' path, for load
// balancers, Kubernetes and Prometheus:
//
//   - GET /livez: 200 while the process serves (a liveness probe);
//   - GET /readyz: 200 while the server takes calls, 503 while it drains
//     (shutting down), is at MaxCalls or is overloaded (OverloadLag) (a
//     readiness probe: a balancer sends new calls elsewhere);
//   - GET /healthz: 200 and {"status":"ok","calls":N,...}, 503 while
//     shutting down;
//   - GET /metrics: the Prometheus metrics, when Server.Metrics is set
//     and Server.MetricsAddr does not put them on a listener of their own.
var probePaths = []string{"/healthz", "/livez", "/readyz", "/metrics"}

// reservedPath says why path cannot be the calls' path, or "".
func reservedPath(path string) string {
	for _, p := range probePaths {
		if path == p {
			return fmt.Sprintf("%s is a probe endpoint (%v): serve calls on another path", p, probePaths)
		}
	}
	return ""
}

// serveProbe answers r if it asks for a probe endpoint, and reports
// whether it did. withMetrics says whether /metrics is served here.
func (srv *Server) serveProbe(w http.ResponseWriter, r *http.Request, withMetrics bool) bool {
	switch r.URL.Path {
	case "/healthz":
		srv.healthz(w)
	case "/livez":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	case "/readyz":
		srv.readyz(w)
	case "/metrics":
		if !withMetrics || srv.Metrics == nil {
			return false
		}
		srv.Metrics.Handler().ServeHTTP(w, r)
	default:
		return false
	}
	return true
}

func (srv *Server) healthz(w http.ResponseWriter) {
	srv.mu.Lock()
	body := struct {
		Status   string  `json:"status"`
		Calls    int     `json:"calls"`
		MaxCalls int     `json:"max_calls"`
		Total    int64   `json:"total_calls"`
		Over     bool    `json:"overloaded"`
		Lag      float64 `json:"lag_seconds"`
	}{"ok", srv.active, srv.MaxCalls, srv.total, srv.lagState.overloaded, srv.lag.Seconds()}
	closing := srv.closing || srv.draining
	srv.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if closing {
		body.Status = "shutting down"
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	json.NewEncoder(w).Encode(body)
}

// readyz answers 200 "ready" while the server takes calls, and 503 with
// the reason while it drains, is full or is overloaded.
func (srv *Server) readyz(w http.ResponseWriter) {
	srv.mu.Lock()
	why := ""
	switch {
	case srv.closing || srv.draining:
		why = "draining"
	case srv.MaxCalls > 0 && srv.active >= srv.MaxCalls:
		why = fmt.Sprintf("full (max-calls=%d)", srv.MaxCalls)
	case srv.lagState.overloaded:
		why = fmt.Sprintf("overloaded (scheduling lag %v, overload-lag=%v)", srv.lag.Round(time.Millisecond), srv.lagState.threshold)
	case srv.lagState.limit > 0 && srv.active+srv.waiting >= srv.lagState.limit:
		why = fmt.Sprintf("full (%d calls since an overload, more as the lag stays low)", srv.lagState.limit)
	}
	srv.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if why != "" {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, why)
		return
	}
	fmt.Fprintln(w, "ready")
}

// probeHandler serves the probe endpoints and the metrics alone, on the
// listener of MetricsAddr.
type probeHandler struct{ srv *Server }

func (h probeHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.srv.init()
	if !h.srv.serveProbe(w, r, true) {
		http.NotFound(w, r)
	}
}

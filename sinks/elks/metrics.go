package elks

import (
	"net/http"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/elkspipe/elkspipe/sources"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the Prometheus metrics of a server and its calls, with
// labels of low cardinality only (never a call id or a phone number). A
// Server with Metrics set counts its calls and serves them at GET
// /metrics; a Session with Config.Metrics set counts its audio, syncs,
// stalls and protocol errors. One Metrics serves any number of servers
// and sessions.
type Metrics struct {
	reg *prometheus.Registry

	active         prometheus.Gauge
	calls          *prometheus.CounterVec // result
	ended          *prometheus.CounterVec // by, reason
	duration       prometheus.Histogram
	audioSent      *prometheus.CounterVec // format
	syncLatency    prometheus.Histogram
	stalls         prometheus.Counter
	underruns      prometheus.Counter
	protocolErrors *prometheus.CounterVec // kind
	panics         *prometheus.CounterVec // where
	renderPlays    *prometheus.CounterVec // mode
	overloaded     prometheus.Gauge
	schedLag       prometheus.Gauge
}

// The results of elkspipe_calls_total.
const (
	resultAccepted   = "accepted"
	resultToken      = "token"      // refused: missing or wrong token
	resultFull       = "full"       // refused: at max-calls, or too many waiting for their hello
	resultDraining   = "draining"   // refused: shutting down
	resultOverloaded = "overloaded" // refused: the scheduling lag reached Server.OverloadLag
)

// The kinds of elkspipe_protocol_errors_total.
const (
	protoMalformed  = "malformed"  // a message that could not be read
	protoUnexpected = "unexpected" // a message of an unknown or unexpected type
	protoNoHello    = "no_hello"   // a connection that sent no hello in time
	protoNoPong     = "no_pong"    // a peer that stopped answering pings
)

// The places of elkspipe_panics_total: each panic ended one call, and
// the process went on.
const (
	panicHandler = "handler" // the call's handler (runHandler)
	panicSession = "session" // a goroutine the session runs for the call (survive)
	panicServer  = "server"  // the server's own code as a call started or ended (recoverCall)
)

// NewMetrics returns the metrics of elkspipe, registered in a registry of
// their own with Go's runtime and process collectors and
// elkspipe_build_info; Handler serves them.
func NewMetrics() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		reg: reg,
		active: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "elkspipe_calls_active", Help: "Calls being served: from their hello to their end."}),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "elkspipe_calls_total", Help: "Call requests by result: accepted, or refused for a token, a full server (max-calls), draining or overloaded (overload-lag)."},
			[]string{"result"}),
		ended: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "elkspipe_calls_ended_total", Help: "Calls ended, by who ended them (api, app, dropped, closed) and the API's reason."},
			[]string{"by", "reason"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "elkspipe_call_duration_seconds", Help: "Duration of calls, from hello to end.",
			Buckets: []float64{1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400}}),
		audioSent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "elkspipe_audio_sent_seconds_total", Help: "Audio sent to callers, in seconds of audio, by format."},
			[]string{"format"}),
		syncLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "elkspipe_sync_latency_seconds", Help: "Checkpoint round trips: from a sync sent to its reply, which the API sends once the audio before it has played.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 2.5, 3, 5, 10, 30}}),
		stalls: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "elkspipe_send_stalls_total", Help: "Times the sync window made a call wait for the API to play what it had."}),
		underruns: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "elkspipe_source_underruns_total", Help: "Times a call's source fell behind real time, so that the API had played everything sent: the caller heard a gap."}),
		protocolErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "elkspipe_protocol_errors_total", Help: "Protocol errors by kind: malformed, unexpected, no_hello, no_pong."},
			[]string{"kind"}),
		panics: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "elkspipe_panics_total", Help: "Panics that ended one call, not the process, by where: handler, session (a goroutine of the call's session) or server (starting or ending a call). Each is logged at error level with its stack."},
			[]string{"where"}),
		overloaded: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "elkspipe_overloaded", Help: "1 while the server refuses new calls because its scheduling lag reached overload-lag, else 0."}),
		schedLag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "elkspipe_scheduling_lag_seconds", Help: "The server's last measured scheduling lag: the 99th percentile of how long its goroutines waited for a CPU over the last 100 ms."}),
	}
	m.renderPlays = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "elkspipe_render_plays_total", Help: "Pipelines played into calls (PlayGraph), by mode: shared (a rendering replayed by many calls) or private (rendered by the call alone)."},
		[]string{"mode"})
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "elkspipe_build_info", Help: "Always 1; the labels say which elkspipe and Go built the program."},
		[]string{"version", "goversion"})
	buildInfo.WithLabelValues(moduleVersion(), runtime.Version()).Set(1)
	reg.MustRegister(m.active, m.calls, m.ended, m.duration, m.audioSent, m.syncLatency,
		m.stalls, m.underruns, m.protocolErrors, m.panics, m.overloaded, m.schedLag, buildInfo,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(mp3CacheCollectors()...)
	reg.MustRegister(m.renderPlays)
	reg.MustRegister(renderCacheCollectors()...)
	reg.MustRegister(streamCollector{})
	m.renderPlays.WithLabelValues("shared")
	m.renderPlays.WithLabelValues("private")
	// The series users alert on exist from the start, at 0.
	for _, r := range []string{resultAccepted, resultToken, resultFull, resultDraining, resultOverloaded} {
		m.calls.WithLabelValues(r)
	}
	for _, k := range []string{protoMalformed, protoUnexpected, protoNoHello, protoNoPong} {
		m.protocolErrors.WithLabelValues(k)
	}
	for _, w := range []string{panicHandler, panicSession, panicServer} {
		m.panics.WithLabelValues(w)
	}
	return m
}

// mp3CacheCollectors read the process's decoded-MP3 cache, which every
// call that plays the same MP3 file shares (sources.SetMP3CacheSize).
func mp3CacheCollectors() []prometheus.Collector {
	stat := func(f func(sources.MP3CacheStats) float64) func() float64 {
		return func() float64 { return f(sources.MP3Cache()) }
	}
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "elkspipe_mp3_cache_bytes",
			Help: "Memory the shared decodings of MP3 files take."},
			stat(func(s sources.MP3CacheStats) float64 { return float64(s.Bytes) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "elkspipe_mp3_cache_limit_bytes",
			Help: "The most memory the shared decodings of MP3 files may take (-mp3-cache)."},
			stat(func(s sources.MP3CacheStats) float64 { return float64(s.Limit) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "elkspipe_mp3_cache_files",
			Help: "MP3 files decoded in the shared cache."},
			stat(func(s sources.MP3CacheStats) float64 { return float64(s.Files) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "elkspipe_mp3_cache_hits_total",
			Help: "Openings of MP3 files that found the file decoded in the cache."},
			stat(func(s sources.MP3CacheStats) float64 { return float64(s.Hits) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "elkspipe_mp3_cache_misses_total",
			Help: "Openings of MP3 files that decoded the file (into the cache, or alone when it does not fit)."},
			stat(func(s sources.MP3CacheStats) float64 { return float64(s.Misses) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "elkspipe_mp3_cache_evictions_total",
			Help: "Decodings removed from the cache to make room for others."},
			stat(func(s sources.MP3CacheStats) float64 { return float64(s.Evictions) })),
	}
}

// renderCacheCollectors read DefaultRenderCache, the shared renderings
// of the process.
func renderCacheCollectors() []prometheus.Collector {
	stat := func(f func(RenderCacheStats) float64) func() float64 {
		return func() float64 { return f(DefaultRenderCache.Stats()) }
	}
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "elkspipe_renderings_active",
			Help: "Shared renderings in memory: played by calls, or kept for the next."},
			stat(func(s RenderCacheStats) float64 { return float64(s.Renderings) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "elkspipe_render_bytes",
			Help: "Memory the shared renderings take."},
			stat(func(s RenderCacheStats) float64 { return float64(s.Bytes) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "elkspipe_render_limit_bytes",
			Help: "The most memory the shared renderings that take new calls may take (-render-cache)."},
			stat(func(s RenderCacheStats) float64 { return float64(s.Limit) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "elkspipe_render_evictions_total",
			Help: "Shared renderings nobody played freed to make room for others."},
			stat(func(s RenderCacheStats) float64 { return float64(s.Evictions) })),
	}
}

// Register adds more collectors (the decoded-MP3 cache's, say) to the
// registry that Handler serves.
func (m *Metrics) Register(c ...prometheus.Collector) error {
	for _, x := range c {
		if err := m.reg.Register(x); err != nil {
			return err
		}
	}
	return nil
}

// Handler serves the metrics in Prometheus's text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// moduleVersion is elkspipe's module version from the build information
// ("(devel)" in a checkout), with the VCS revision when the build has it.
func moduleVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := info.Main.Version
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += "+" + s.Value[:12]
		}
	}
	return v
}

// The hooks below are safe on a nil *Metrics: sessions and servers without
// metrics call them all the same.

func (m *Metrics) callRequest(result string) {
	if m != nil {
		m.calls.WithLabelValues(result).Inc()
	}
}

func (m *Metrics) callStarted() {
	if m != nil {
		m.active.Inc()
	}
}

func (m *Metrics) callEnded(e End, d time.Duration) {
	if m != nil {
		m.active.Dec()
		m.ended.WithLabelValues(string(e.By), endReasonLabel(e)).Inc()
		m.duration.Observe(d.Seconds())
	}
}

// endReasonLabel is the reason label of an ended call: the API's reason
// when it is one of the three it documents, else "none", so that a peer
// cannot make up label values.
func endReasonLabel(e End) string {
	switch e.Reason {
	case ReasonDone, ReasonHangup, ReasonError:
		return e.Reason
	}
	return "none"
}

func (m *Metrics) protocolError(kind string) {
	if m != nil {
		m.protocolErrors.WithLabelValues(kind).Inc()
	}
}

func (m *Metrics) panicked(where string) {
	if m != nil {
		m.panics.WithLabelValues(where).Inc()
	}
}

// sessionMetrics are a session's handles on the metrics, resolved once.
type sessionMetrics struct {
	m         *Metrics
	audioSent prometheus.Counter
}

func newSessionMetrics(m *Metrics, f Format) sessionMetrics {
	if m == nil {
		return sessionMetrics{}
	}
	return sessionMetrics{m: m, audioSent: m.audioSent.WithLabelValues(string(f))}
}

func (sm sessionMetrics) sent(d time.Duration) {
	if sm.m != nil {
		sm.audioSent.Add(d.Seconds())
	}
}

func (sm sessionMetrics) syncReply(latency time.Duration) {
	if sm.m != nil {
		sm.m.syncLatency.Observe(latency.Seconds())
	}
}

func (sm sessionMetrics) stall() {
	if sm.m != nil {
		sm.m.stalls.Inc()
	}
}

func (sm sessionMetrics) underrun() {
	if sm.m != nil {
		sm.m.underruns.Inc()
	}
}

func (sm sessionMetrics) renderPlay(shared bool) {
	if sm.m != nil {
		mode := "private"
		if shared {
			mode = "shared"
		}
		sm.m.renderPlays.WithLabelValues(mode).Inc()
	}
}

// lagMeasured records a measurement of the scheduling lag and whether
// the server is overloaded.
func (m *Metrics) lagMeasured(lag time.Duration, overloaded bool) {
	if m != nil {
		m.schedLag.Set(lag.Seconds())
		v := 0.0
		if overloaded {
			v = 1
		}
		m.overloaded.Set(v)
	}
}

package elks

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	stdlog "log"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/elkspipe/elkspipe/pipeline"
	_ "github.com/elkspipe/elkspipe/sources"    // the elements TextHandler parses
	_ "github.com/elkspipe/elkspipe/transforms" // loop, and the converters sessions insert
)

// Handler plays audio into one call. The server calls it once the API's
// hello has arrived (s.Hello() says who calls whom), with the call's
// context. When it returns, the server waits until the audio sent has
// been played (Session.Drain) and hangs up, unless the call is already
// over or Server.KeepOpen is set; an error is logged first. A handler may
// hang up itself, from any goroutine (Session.Hangup): the server then
// waits for that hangup to finish, and logs the handler's error (a Play
// the hangup stopped) only at debug level. A panic of the handler, or of
// a goroutine the session runs for the call, ends that call alone, logged
// with its stack; a goroutine the handler starts is its own to recover.
type Handler func(ctx context.Context, s *Session) error

// GraphHandler returns a Handler that plays a fresh instance of g's
// source chain in every call (Session.PlayGraph).
func GraphHandler(g *pipeline.Graph) Handler {
	return func(ctx context.Context, s *Session) error { return s.PlayGraph(ctx, g) }
}

// TextHandler returns a Handler that plays the pipeline text, in pipe
// syntax and without a sink (for example "file hold.mp3 | loop"), anew in
// every call.
func TextHandler(text string) (Handler, error) {
	g, err := pipeline.SourceGraph(text)
	if err != nil {
		return nil, err
	}
	return GraphHandler(g), nil
}

// ErrDrain, as the cause of the cancellation of Serve's context
// (context.WithCancelCause), asks for a drain: the server keeps accepting
// calls for DrainDelay while its probes answer 503, then stops. The CLI
// cancels with it on SIGTERM, what Kubernetes and systemd send to stop a
// replica.
var ErrDrain = errors.New("elks: draining (SIGTERM)")

// Defaults of a Server.
const (
	DefaultAddr            = ":8095"
	DefaultPath            = "/"
	DefaultShutdownTimeout = 5 * time.Second
)

// Server accepts the API's WebSocket connections, one per call, and runs a
// Session and the Handler for each. Set its fields, then use it through
// ListenAndServe or Serve, or mount it in your own mux (it is an
// http.Handler) and call Shutdown yourself. Do not copy a Server after
// first use.
type Server struct {
	// Addr is the address ListenAndServe listens on; default ":8095".
	Addr string
	// Path is the URL path of calls; default "/". GET /healthz (that
	// path, wherever the Server is mounted) answers 200 and
	// {"status":"ok","calls":N,...}; it cannot be the calls' path.
	Path string
	// Token, when set, must be given as ?token=... in the URL: missing
	// is refused with 401, wrong with 403 (compared in constant time),
	// before the WebSocket upgrade.
	Token string
	// TokenFile, when set, is a file that holds the token (white space
	// around it removed), read when Serve starts, which fails naming it
	// if it cannot be read or is empty, and again by ReloadToken, so that
	// a token can be changed without a restart. It takes Token's place.
	TokenFile string
	// MaxCalls limits the calls served at once (0: no limit); one more is
	// refused with 503 before the upgrade. A connection counts as a call
	// from its hello on: connections still waiting for theirs are bounded
	// apart (maxWaitingForHello), so silent connections cannot take the
	// places of calls.
	MaxCalls int
	// Config configures every call's Session. Its Logger defaults to the
	// server's.
	Config Config
	// Handler plays audio into each call.
	Handler Handler
	// KeepOpen keeps a call open, silent, when its Handler returns nil,
	// until the caller hangs up, instead of hanging up once the audio
	// has played.
	KeepOpen bool
	// ShutdownTimeout is how long ListenAndServe and Serve, when their
	// context is cancelled, let calls finish before hanging up on them
	// (a bye each); default 5s, negative: hang up at once. A caller on
	// hold may stay for long: a server behind a rolling deploy sets it
	// to the longest call it lets finish (the elks sink's default is 1h).
	ShutdownTimeout time.Duration
	// DrainDelay is how long Serve keeps accepting calls once its context
	// is cancelled with the cause ErrDrain (context.WithCancelCause; the
	// CLI does so on SIGTERM), while /readyz and /healthz already answer
	// 503: the time a load balancer or Kubernetes takes to notice and
	// send new calls elsewhere. Then the listener closes (new
	// connections are refused) and the calls going on get
	// ShutdownTimeout. Zero or negative, or another cause: no delay.
	DrainDelay time.Duration
	// Logger receives the server's logs; default slog.Default().
	Logger *slog.Logger
	// Metrics, when set, counts the server's calls and what they do
	// (see Metrics), and GET /metrics serves them.
	Metrics *Metrics
	// MetricsAddr, when set, is an address of its own for /metrics and
	// the probes (/livez, /readyz, /healthz), apart from the calls';
	// Serve and ListenAndServe listen on it too.
	MetricsAddr string
	// TLSCert and TLSKey, when set, are the PEM files of a certificate
	// (with its chain) and its key: Serve and ListenAndServe then serve
	// wss:// (the probes and metrics beside the calls too). They are read
	// at start, which fails naming them if they cannot be, and again by
	// ReloadCertificate.
	TLSCert, TLSKey string
	// OnListen, if set, is called with the listening address once Serve
	// listens (useful with port 0).
	OnListen func(addr net.Addr)
	// OverloadLag is the scheduling lag at which the server refuses new
	// calls, to keep the calls it has free of gaps: while the process's
	// goroutines wait this long for a CPU (see MeasureLag), a new call
	// is refused with 503 before the upgrade (elkspipe_calls_total
	// result "overloaded"), and /readyz answers 503, until the lag has
	// stayed below half of it for 1 s. Then new calls are admitted at 10
	// a second, a rate that doubles every second the lag stays low until
	// the limit goes, and up to 80% of the calls the overload began with,
	// a limit that grows by a tenth every second the lag stays low while
	// calls press against it. 0: DefaultOverloadLag; negative: never
	// refuse for lag (the lag is still measured).
	OverloadLag time.Duration

	mu       sync.Mutex
	inited   bool
	active   int // calls: from their hello to their end
	waiting  int // upgraded connections still waiting for their hello
	total    int64
	closing  bool // calls are refused
	draining bool // the probes say so; calls may still be accepted (DrainDelay)
	sessions map[*Session]struct{}
	certs    *certHolder     // the TLS certificate, while Serve serves TLS
	base     context.Context // cancelled to hang up on every call
	stop     context.CancelFunc
	changed  chan struct{} // closed and replaced when active changes
	refusals logLimiter    // rate-limits the warnings about refused requests
	httpErrs logLimiter    // rate-limits net/http's own error lines
	noStart  logLimiter    // rate-limits the warnings about calls that did not start

	// The token read from TokenFile, in force once tokenLoaded.
	tokenNow        string
	tokenLoaded     bool
	lagState        lagDetector   // overload protection (overload.go)
	lag             time.Duration // the last lag measured
	overloadRefused int           // calls refused in the current overload
}

func (srv *Server) init() {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.inited {
		return
	}
	srv.inited = true
	srv.sessions = map[*Session]struct{}{}
	srv.base, srv.stop = context.WithCancel(context.Background())
	srv.changed = make(chan struct{})
}

// refused logs a refused request at warn level: the first few, then one
// every ten seconds with the number left out, so that a flood of bad
// requests (wrong tokens, say) cannot flood the log.
func (srv *Server) refused(why string, args ...any) {
	srv.warnLimited(&srv.refusals, "call refused: "+why, args...)
}

// warnLimited logs msg at warn level as lim allows, with the number of
// lines lim left out since the last.
func (srv *Server) warnLimited(lim *logLimiter, msg string, args ...any) {
	srv.mu.Lock()
	ok, skipped := lim.allow(time.Now())
	srv.mu.Unlock()
	if ok {
		srv.logger().Warn(msg, append(args, "suppressed", skipped)...)
	}
}

// logSuppressed says how many warnings the limiters left out since their
// last line, so that a flood that stopped is still counted in the log.
func (srv *Server) logSuppressed() {
	srv.mu.Lock()
	counts := []any{"refused", srv.refusals.skipped, "http_errors", srv.httpErrs.skipped, "not_started", srv.noStart.skipped}
	any := srv.refusals.skipped+srv.httpErrs.skipped+srv.noStart.skipped > 0
	srv.refusals.skipped, srv.httpErrs.skipped, srv.noStart.skipped = 0, 0, 0
	srv.mu.Unlock()
	if any {
		srv.logger().Warn("warnings left out of the log since their last line", counts...)
	}
}

// httpErrorLog takes net/http's own error lines (an accept that fails
// with "too many open files", a malformed request) to the log at warn
// level, rate-limited: an operator must see them, a flood must not
// drown the log.
type httpErrorLog struct{ srv *Server }

func (w httpErrorLog) Write(p []byte) (int, error) {
	w.srv.warnLimited(&w.srv.httpErrs, "http server: "+strings.TrimSpace(string(p)))
	return len(p), nil
}

func (srv *Server) logger() *slog.Logger {
	if srv.Logger != nil {
		return srv.Logger
	}
	return slog.Default()
}

func (srv *Server) path() string {
	switch {
	case srv.Path == "":
		return DefaultPath
	case !strings.HasPrefix(srv.Path, "/"):
		return "/" + srv.Path
	}
	return srv.Path
}

// ActiveCalls returns the number of calls being served: connections
// whose hello has come, until their end.
func (srv *Server) ActiveCalls() int {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return srv.active
}

// ServeHTTP serves /healthz and, at Path, accepts a call: it checks the
// token and the call limit, upgrades to a WebSocket and runs the call
// until it ends.
func (srv *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	srv.init()
	log := srv.logger()
	path := srv.path()
	if r.URL.Path != path {
		if srv.serveProbe(w, r, srv.MetricsAddr == "") {
			return
		}
		if r.Header.Get("Upgrade") != "" {
			srv.refused("wrong path", "path", r.URL.Path, "serving", path, "remote", r.RemoteAddr)
		}
		http.NotFound(w, r)
		return
	}
	if token := srv.token(); token != "" {
		got := r.URL.Query().Get("token")
		if got == "" {
			srv.Metrics.callRequest(resultToken)
			srv.refused("no token", "remote", r.RemoteAddr)
			http.Error(w, "missing token", http.StatusUnauthorized)
			return
		}
		a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(token))
		if subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
			srv.Metrics.callRequest(resultToken)
			srv.refused("wrong token", "remote", r.RemoteAddr)
			http.Error(w, "wrong token", http.StatusForbidden)
			return
		}
	}
	if srv.Handler == nil {
		http.Error(w, "no handler", http.StatusInternalServerError)
		return
	}
	if why, result := srv.reserve(); why != "" {
		srv.Metrics.callRequest(result)
		srv.refused(why, "remote", r.RemoteAddr)
		w.Header().Set("Retry-After", "1")
		http.Error(w, why, http.StatusServiceUnavailable)
		return
	}
	t, err := acceptWebSocket(w, r)
	if err != nil {
		srv.settle(false)
		log.Debug("not a WebSocket request", "remote", r.RemoteAddr, "err", err)
		return
	}
	// The call goes on in a goroutine of its own and the handler returns:
	// net/http keeps a connection's 4 kB reader and writer, its request
	// and its response for as long as the handler runs, a third of the
	// heap of a server of thousands of calls (docs/performance.md).
	go srv.serveCall(t, r.RemoteAddr)
}

// maxWaitingForHello bounds the upgraded connections that have not sent
// their hello yet. 46elks sends hello at once, so real calls wait for it
// a round trip, and more than this many waiting are silent connections
// (each holds tens of kB until its hello timeout). It is two seconds of
// calls arriving at 500 a second: at 256, half a second in which the
// server read no hello (a garbage collection of a server with 10,000
// calls on one core) refused real calls as silent ones.
var maxWaitingForHello = 1024

// reserve admits a connection to wait for its hello, or says why not
// (shutting down, the calls at MaxCalls, overloaded, or too many
// connections waiting)
// with the result for elkspipe_calls_total.
func (srv *Server) reserve() (why, result string) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	switch {
	case srv.closing:
		return "shutting down", resultDraining
	case srv.MaxCalls > 0 && srv.active >= srv.MaxCalls:
		return srv.busyMaxCalls(), resultFull
	case srv.waiting >= maxWaitingForHello:
		return fmt.Sprintf("busy (%d connections waiting for their hello)", srv.waiting), resultFull
	case !srv.lagState.admit(time.Now(), srv.active+srv.waiting):
		srv.overloadRefused++
		return srv.overloadedLocked(), resultOverloaded
	}
	srv.waiting++
	srv.broadcastLocked()
	return "", ""
}

// busyMaxCalls says why a call is refused at MaxCalls, and how to allow
// more: it is the log line's reason and the 503's body.
func (srv *Server) busyMaxCalls() string {
	return fmt.Sprintf("busy: max-calls=%d is reached (%d calls going on); "+
		"raise max-calls= (Server.MaxCalls; 0: no limit) or add a replica", srv.MaxCalls, srv.MaxCalls)
}

// settle ends a connection's wait for its hello. With hello, the
// connection becomes a call if there is room (MaxCalls) and the server is
// not overloaded, and settle reports whether it did (else why not, with
// the result for elkspipe_calls_total); the caller then releases it at
// its end.
func (srv *Server) settle(hello bool) (call bool, why, result string) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	srv.waiting--
	switch {
	case !hello:
	case srv.MaxCalls > 0 && srv.active >= srv.MaxCalls:
		// Calls that said hello while this one waited for its own took
		// the last places.
		why, result = srv.busyMaxCalls(), resultFull
	case srv.lagState.overloaded || srv.lagState.limit > 0 && srv.active >= srv.lagState.limit:
		// The overload began while this one waited for its hello, or
		// its calls are the server's limit since.
		srv.overloadRefused++
		why, result = srv.overloadedLocked(), resultOverloaded
	default:
		srv.active++
		srv.total++
		call = true
	}
	srv.broadcastLocked()
	return call, why, result
}

// release ends a call.
func (srv *Server) release() {
	srv.mu.Lock()
	srv.active--
	srv.broadcastLocked()
	srv.mu.Unlock()
}

func (srv *Server) broadcastLocked() {
	close(srv.changed)
	srv.changed = make(chan struct{})
}

// serveCall runs one call over t: it starts the call (startCall), then
// plays it in a goroutine of its own (playCall), and returns. Starting a
// call (a copy of the Config, the session, the log line) takes more stack
// than playing it, and a goroutine keeps the stack it grew to: played on
// this goroutine, every call held 8 kB of stack where it needs 4
// (docs/performance.md).
//
// A panic in either ends that call, not the server: it is logged with its
// stack, as net/http logs a handler's, and the connection dropped.
func (srv *Server) serveCall(t Transport, remote string) {
	defer srv.recoverCall(t, remote)
	s, base, start, ok := srv.startCall(t, remote)
	if ok {
		go srv.playCall(t, remote, s, base, start)
	}
}

// recoverCall, deferred, turns a panic of a call's goroutine into the end
// of that call.
func (srv *Server) recoverCall(t Transport, remote string) {
	if p := recover(); p != nil {
		srv.Metrics.panicked(panicServer)
		srv.logger().Error("call panicked: the call is dropped, the server goes on",
			"remote", remote, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		abort(t)
		t.Close()
	}
}

// playCall runs the handler of a call started at start, and ends the
// call.
func (srv *Server) playCall(t Transport, remote string, s *Session, base context.Context, start time.Time) {
	defer srv.recoverCall(t, remote)
	defer srv.release()
	defer func() { srv.Metrics.callEnded(s.End(), time.Since(start)) }()
	defer srv.forget(s)
	srvRunCall(base, s, srv.Handler, srv.KeepOpen)
}

// startCall starts the session of a connection that waited for its hello
// and admits it as a call. It reports false when the connection is not a
// call: it had no hello, or the server refused it (at MaxCalls, or
// overloaded) and hung up. A call it admits holds its place until
// playCall ends it; start is when it began.
func (srv *Server) startCall(t Transport, remote string) (s *Session, base context.Context, start time.Time, ok bool) {
	log := srv.logger()
	cfg := srv.Config
	if cfg.Logger == nil {
		cfg.Logger = log
	}
	if cfg.Metrics == nil {
		cfg.Metrics = srv.Metrics
	}
	srv.mu.Lock()
	base = srv.base
	srv.mu.Unlock()
	settled := false
	defer func() {
		if !settled { // StartSession panicked: the wait for the hello is over
			srv.settle(false)
		}
	}()
	s, err := StartSession(base, t, cfg)
	call, why, result := srv.settle(err == nil)
	settled = true
	if err != nil {
		srv.warnLimited(&srv.noStart, "call not started", "remote", remote, "err", err)
		return nil, nil, time.Time{}, false
	}
	if !call {
		srv.Metrics.callRequest(result)
		srv.refused(why+" (at its hello)", "remote", remote)
		s.Hangup()
		return nil, nil, time.Time{}, false
	}
	// The call holds a place (settle) from here. Until playCall takes it
	// over, a panic (of a Logger, say) gives back what playCall's defers
	// would: the place, the gauge of calls, the session's entry.
	started, handedOver := false, false
	defer func() {
		if handedOver {
			return
		}
		srv.forget(s)
		if started {
			srv.Metrics.callEnded(s.End(), time.Since(start))
		}
		srv.release()
	}()
	srv.Metrics.callRequest(resultAccepted)
	srv.Metrics.callStarted()
	started, start = true, time.Now()
	srv.mu.Lock()
	srv.sessions[s] = struct{}{}
	srv.mu.Unlock()
	s.Logger().Info("call started", "remote", remote, "format", string(s.Format()))
	handedOver = true
	return s, base, start, true
}

// forget removes an ended call from the server's sessions.
func (srv *Server) forget(s *Session) {
	srv.mu.Lock()
	delete(srv.sessions, s)
	srv.mu.Unlock()
}

// srvRunCall runs h in the call s and ends the call: once the audio has
// played (Drain) it hangs up, unless the call is over or being hung up,
// base is cancelled (the server hangs up at once) or keepOpen is set and
// h succeeded (then it waits for the caller to hang up). It closes s.
func srvRunCall(base context.Context, s *Session, h Handler, keepOpen bool) {
	srvCallHandled(base, s, runHandler(h, s), keepOpen)
}

// srvCallHandled ends the call s once its handler has returned err: see
// srvRunCall.
func srvCallHandled(base context.Context, s *Session, err error, keepOpen bool) {
	sl := s.Logger()
	// over: the call ended, the server is hanging up on it, or the
	// handler (or a goroutine of it) hung up. A handler's error is then
	// most likely that end (a Play that stopped), not a failure.
	over := func() bool { return s.ending() || base.Err() != nil }
	if err != nil {
		if over() {
			sl.Debug("the handler returned after the call ended", "err", err)
		} else {
			sl.Error("playing failed; hanging up", "err", err)
		}
	}
	if !over() {
		if err == nil && keepOpen {
			sl.Info("audio ended; keeping the call open until the caller hangs up")
			select {
			case <-s.Done():
			case <-base.Done():
			}
		} else if derr := s.Drain(s.Context()); derr != nil && !over() {
			sl.Warn("waiting for the audio to play", "err", derr)
		}
	}
	s.Hangup() // waits for a Hangup of the handler's still going on
	st := s.Stats()
	end := s.End()
	sl.Info("call closed", "by", end.By, "reason", end.Reason, "audio_sent", st.AudioSent,
		"syncs", st.Syncs, "max_in_flight", st.MaxInFlight, "max_bytes_in_flight", st.MaxBytesInFlight,
		"malformed", st.Malformed, "unknown", st.Unknown,
		"underruns", st.Underruns, "caller_dropped", st.CallerDropped, "listen_dropped", st.RecordDropped,
		"cushion", st.Cushion)
}

// runHandler runs h in the call s, and turns a panic of h into an error
// that says so, its stack logged: one call's handler must not end the
// server.
func runHandler(h Handler, s *Session) (err error) {
	defer func() {
		if p := recover(); p != nil {
			s.metrics.m.panicked(panicHandler)
			s.Logger().Error("the call's handler panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			err = fmt.Errorf("the handler panicked: %v", p)
		}
	}()
	return h(s.Context(), s)
}

// Shutdown stops accepting calls (refused with 503), waits for the calls
// going on to end until ctx is done, then hangs up on the rest (a bye
// each) and waits for them to close. It returns ctx's error if it had to
// hang up.
func (srv *Server) Shutdown(ctx context.Context) error {
	srv.init()
	srv.mu.Lock()
	srv.closing, srv.draining = true, true
	srv.mu.Unlock()
	if srv.waitIdle(ctx) {
		return nil
	}
	srv.mu.Lock()
	n := len(srv.sessions)
	srv.stop()
	srv.mu.Unlock()
	srv.logger().Info("hanging up on the calls still going on", "calls", n)
	wait := srv.Config.ByeTimeout
	if wait <= 0 {
		wait = DefaultByeTimeout
	}
	hard, cancel := context.WithTimeout(context.Background(), 2*wait+10*time.Second)
	defer cancel()
	srv.waitIdle(hard)
	return ctx.Err()
}

// waitIdle waits until no call is active or ctx is done.
func (srv *Server) waitIdle(ctx context.Context) bool {
	for {
		srv.mu.Lock()
		busy, ch := srv.active+srv.waiting, srv.changed
		srv.mu.Unlock()
		if busy == 0 {
			return true
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		}
	}
}

// ListenAndServe listens on Addr and serves calls until ctx is cancelled,
// then shuts down gracefully (see Serve).
func (srv *Server) ListenAndServe(ctx context.Context) error {
	addr := srv.Addr
	if addr == "" {
		addr = DefaultAddr
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("%w: another elkspipe or program listens on %s; pick another address with listen= (Server.Addr)", err, addr)
		}
		return err
	}
	return srv.Serve(ctx, ln)
}

// httpIdleTimeout closes a keep-alive HTTP connection (a health check's,
// say) that sends no new request for this long, so that idle clients
// cannot hold the process's file descriptors. Calls are not affected:
// their connections become WebSockets, which keep no HTTP timeouts.
var httpIdleTimeout = 30 * time.Second

// drain marks the server draining (its probes answer 503) and, when
// ctx was cancelled with ErrDrain, keeps accepting calls for DrainDelay
// so that balancers notice first. It returns the listener's error if it
// failed meanwhile.
func (srv *Server) drain(ctx context.Context, errc <-chan error) error {
	srv.mu.Lock()
	srv.draining = true
	srv.mu.Unlock()
	if srv.DrainDelay <= 0 || !errors.Is(context.Cause(ctx), ErrDrain) {
		return nil
	}
	srv.logger().Info("draining: /readyz answers 503; still accepting calls until the balancers notice",
		"drain_delay", srv.DrainDelay, "calls", srv.ActiveCalls())
	t := time.NewTimer(srv.DrainDelay)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case err := <-errc:
		return err
	}
}

// Serve serves calls on ln until ctx is cancelled or ln fails. Then its
// probes answer 503 and, after DrainDelay when ctx's cause is ErrDrain,
// it stops accepting, lets the calls going on finish for up to
// ShutdownTimeout, hangs up on the rest and returns once every call has
// closed: nil after a cancellation, the listener's error otherwise.
// Before it serves, it creates the folder that Config.Record's calls
// share (up to its first {placeholder}) and checks that it can write
// there: a recording folder that cannot be made fails at start.
func (srv *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv.init()
	if srv.Handler == nil {
		ln.Close()
		return errors.New("elks: Server has no Handler")
	}
	if why := reservedPath(srv.path()); why != "" {
		ln.Close()
		return errors.New("elks: Server.Path " + why)
	}
	if _, err := srv.Config.withDefaults(); err != nil {
		ln.Close()
		return err
	}
	if srv.Config.Record != "" {
		if err := prepareRecordFolder(srv.Config.Record); err != nil {
			ln.Close()
			return err
		}
	}
	if srv.TokenFile != "" {
		if _, err := srv.loadTokenFile(); err != nil {
			ln.Close()
			return err
		}
	}
	tln, err := srv.tlsListener(ln)
	if err != nil {
		ln.Close()
		return err
	}
	ln = tln
	log := srv.logger()
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       httpIdleTimeout,
		ErrorLog:          stdlog.New(httpErrorLog{srv}, "", 0),
	}
	errc := make(chan error, 2)
	go func() { errc <- hs.Serve(ln) }()
	lagCtx, stopLag := context.WithCancel(context.Background())
	lagDone := make(chan struct{})
	go func() {
		defer close(lagDone)
		srv.MeasureLag(lagCtx)
	}()
	defer func() { stopLag(); <-lagDone }()
	var ms *http.Server
	if srv.MetricsAddr != "" {
		mln, err := net.Listen("tcp", srv.MetricsAddr)
		if err != nil {
			hs.Close()
			<-errc
			return fmt.Errorf("metrics-listen=%s (Server.MetricsAddr): %w", srv.MetricsAddr, err)
		}
		ms = &http.Server{Handler: probeHandler{srv}, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: httpIdleTimeout,
			ErrorLog: stdlog.New(httpErrorLog{srv}, "", 0)}
		go ms.Serve(mln)
		log.Info("serving metrics and probes", "addr", mln.Addr().String())
	}
	format := srv.Config.Format
	if format == "" {
		format = DefaultFormat
	}
	log.Info("serving calls", "url", srv.callURL(ln.Addr()), "addr", ln.Addr().String(), "path", srv.path(), "format", string(format))
	srv.checkFDLimit()
	if srv.OnListen != nil {
		srv.OnListen(ln.Addr())
	}
	var serveErr error
	select {
	case serveErr = <-errc:
	case <-ctx.Done():
		serveErr = srv.drain(ctx, errc)
	}
	log.Info("shutting down", "calls", srv.ActiveCalls())
	srv.logSuppressed()
	hctx, cancel := context.WithTimeout(context.Background(), time.Second)
	if hs.Shutdown(hctx) != nil {
		hs.Close()
	}
	cancel()
	if ms != nil {
		defer ms.Close() // the probes answer until every call has closed
	}
	timeout := srv.ShutdownTimeout
	if timeout == 0 {
		timeout = DefaultShutdownTimeout
	}
	sctx, cancel := context.WithTimeout(context.Background(), max(timeout, 0))
	srv.Shutdown(sctx)
	cancel()
	if serveErr == nil {
		<-errc
	} else if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	return serveErr
}

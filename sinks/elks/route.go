package elks

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"

	"github.com/elkspipe/elkspipe/pipeline"
)

// Route sends the calls whose numbers match its patterns to a pipeline.
// A pattern is an exact number (+46766861234), a prefix ending in *
// (+4676686*), or * (or empty) for any number.
type Route struct {
	// From and To are the patterns of the caller's and the called
	// number (Hello.From and Hello.To).
	From, To string
	// Graph is the audio the matching calls play, a fresh instance each
	// (a pipeline without a sink, see pipeline.SourceGraph).
	Graph *pipeline.Graph
	// Name names the route in the log, for example "routes.conf:4".
	Name string
}

// CheckPattern returns an error when p is not a number pattern: a * may
// only end it. The error does not repeat p.
func CheckPattern(p string) error {
	if i := strings.IndexByte(p, '*'); i >= 0 && i != len(p)-1 {
		return errors.New("a * may only end a pattern (a prefix) or stand alone (any number)")
	}
	if strings.ContainsAny(p, " \t") {
		return errors.New("a number has no spaces")
	}
	return nil
}

// MatchNumber reports whether number matches the pattern p: equal to it,
// starting with its prefix when it ends in *, or any number for * and "".
func MatchNumber(p, number string) bool {
	if prefix, ok := strings.CutSuffix(p, "*"); ok {
		return strings.HasPrefix(number, prefix)
	}
	return p == "" || p == number
}

// Matches reports whether the call of hello h matches both patterns of r.
func (r Route) Matches(h Hello) bool {
	return MatchNumber(r.From, h.From) && MatchNumber(r.To, h.To)
}

// Router routes every call to the first of its routes that matches the
// call's numbers. Its routes can be replaced while it serves calls
// (SetRoutes): calls going on keep the pipeline they started with, new
// calls use the new routes.
type Router struct {
	routes atomic.Pointer[[]Route]
}

// NewRouter returns a Router of routes, tried in order.
func NewRouter(routes []Route) *Router {
	r := &Router{}
	r.SetRoutes(routes)
	return r
}

// SetRoutes replaces the routes for the calls that start from now on.
func (r *Router) SetRoutes(routes []Route) {
	routes = append([]Route(nil), routes...)
	r.routes.Store(&routes)
}

// Routes returns the routes in use, in order.
func (r *Router) Routes() []Route {
	if p := r.routes.Load(); p != nil {
		return append([]Route(nil), (*p)...)
	}
	return nil
}

// Match returns the first route that matches h, and false when none does.
func (r *Router) Match(h Hello) (Route, bool) {
	if p := r.routes.Load(); p != nil {
		for _, rt := range *p {
			if rt.Matches(h) {
				return rt, true
			}
		}
	}
	return Route{}, false
}

// Handle is the Router's Handler: it plays the graph of the first route
// that matches the call, or, when none does, logs "no route for the
// call" with the numbers and hangs up.
func (r *Router) Handle(ctx context.Context, s *Session) error {
	h := s.Hello()
	rt, ok := r.Match(h)
	if !ok {
		s.Logger().Warn("no route for the call; hanging up", "from", h.From, "to", h.To)
		return s.Hangup()
	}
	s.Logger().Info("call routed", "route", rt.Name, "from", h.From, "to", h.To)
	return s.PlayGraph(ctx, rt.Graph)
}

package elkstest

import (
	"math"
	"slices"

	"github.com/elkspipe/elkspipe/sinks/elks"
)

// Summary sums up the reports of concurrent calls.
type Summary struct {
	// Calls is the number of calls attempted; Failed those that could not
	// be made.
	Calls  int `json:"calls"`
	Failed int `json:"failed"`
	// EndedBy counts the calls by who ended them (End.By).
	EndedBy map[elks.Party]int `json:"ended_by"`
	// Played is the audio heard in all calls, in seconds.
	Played float64 `json:"played"`
	// Gaps and GapSeconds total the gaps of every call; CallsWithGaps
	// counts the calls that had any.
	Gaps          int     `json:"gaps"`
	GapSeconds    float64 `json:"gap_seconds"`
	CallsWithGaps int     `json:"calls_with_gaps"`
	// MaxBuffered is the largest buffer of any call.
	MaxBuffered Amount `json:"max_buffered"`
	// Syncs answered in all calls and the largest latency of any.
	Syncs      int     `json:"syncs"`
	MaxLatency float64 `json:"max_latency"`
	// Messages and SyncRequests total the audio messages and the syncs
	// the application sent in every call (what its traffic costs: see
	// bench/example.sh).
	Messages     int64 `json:"messages"`
	SyncRequests int   `json:"sync_requests"`
	// FirstAudio is the distribution of the time to first audio
	// (Report.FirstAudio: from hello to the first audio) over the calls
	// in which audio played.
	FirstAudio Percentiles `json:"first_audio"`
	// Echo is the distribution of the echo latency (Report.Echo) over
	// the calls that heard the caller back.
	Echo Percentiles `json:"echo"`
	// CallerLate totals the messages of caller audio the simulator sent
	// late (CallerAudio.Late), CallerMaxLate is the latest of any call,
	// in seconds.
	CallerLate    int     `json:"caller_late,omitempty"`
	CallerMaxLate float64 `json:"caller_max_late,omitempty"`
	// Violations totals the protocol violations of every call.
	Violations map[ViolationKind]int `json:"violations"`
	// SimulatorLag, when the driver measured it (MeasureLag), is how
	// short of CPU the simulator itself was while the calls ran.
	SimulatorLag *Lag `json:"simulator_lag,omitempty"`
}

// Percentiles describes a distribution of times, in seconds, by
// nearest rank: P50 is the smallest value at least half the values are
// less than or equal to, P99 the same for 99%. Count is the number of
// values; all are 0 when it is.
type Percentiles struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}

// percentiles computes the Percentiles of v, which it sorts.
func percentiles(v []float64) Percentiles {
	if len(v) == 0 {
		return Percentiles{}
	}
	slices.Sort(v)
	rank := func(p float64) float64 {
		i := int(math.Ceil(p/100*float64(len(v)))) - 1
		return v[max(i, 0)]
	}
	return Percentiles{Count: len(v), P50: rank(50), P99: rank(99), Max: v[len(v)-1]}
}

// Summarizer sums up reports one at a time, keeping of each only what
// the summary needs (8 bytes for its time to first audio), so that a
// driver of thousands of calls can let every report go as soon as its
// call ends. The zero Summarizer is ready; it is not safe for concurrent
// use.
type Summarizer struct {
	s     Summary
	first []float64
	echo  []float64
}

// Add counts one call: r is its report, or nil if it could not be made.
func (z *Summarizer) Add(r *Report) {
	s := &z.s
	s.Calls++
	if r == nil {
		s.Failed++
		return
	}
	if s.EndedBy == nil {
		s.EndedBy = map[elks.Party]int{}
	}
	s.EndedBy[r.End.By]++
	s.Played += r.Played
	s.Gaps += r.Gaps.Count
	s.GapSeconds += r.Gaps.Seconds
	if r.Gaps.Count > 0 {
		s.CallsWithGaps++
	}
	s.MaxBuffered.Seconds = max(s.MaxBuffered.Seconds, r.MaxBuffered.Seconds)
	s.MaxBuffered.Bytes = max(s.MaxBuffered.Bytes, r.MaxBuffered.Bytes)
	s.Syncs += r.Syncs.Answered
	s.MaxLatency = max(s.MaxLatency, r.Syncs.MaxLatency)
	s.Messages += int64(r.Audio.Messages)
	s.SyncRequests += r.Syncs.Requests
	if r.Played > 0 || r.Dropped > 0 {
		z.first = append(z.first, r.FirstAudio)
	}
	if r.Echo != nil {
		z.echo = append(z.echo, r.Echo.Latency)
	}
	s.CallerLate += r.CallerAudio.Late
	s.CallerMaxLate = max(s.CallerMaxLate, r.CallerAudio.MaxLate)
	for k, n := range r.Violations {
		if s.Violations == nil {
			s.Violations = map[ViolationKind]int{}
		}
		s.Violations[k] += n
	}
}

// FirstAudioTimes returns the time to first audio, in seconds, of every
// call added so far in which audio played, in the order they were added:
// the values FirstAudio's percentiles are taken from, so that the
// summaries of several simulators can be merged exactly.
func (z *Summarizer) FirstAudioTimes() []float64 { return slices.Clone(z.first) }

// Summary returns the summary of the calls added so far.
func (z *Summarizer) Summary() Summary {
	s := z.s
	s.EndedBy = cloneOrEmpty(s.EndedBy)
	s.Violations = cloneOrEmpty(s.Violations)
	s.FirstAudio = percentiles(slices.Clone(z.first))
	s.Echo = percentiles(slices.Clone(z.echo))
	return s
}

// cloneOrEmpty returns a copy of m, never nil.
func cloneOrEmpty[K comparable](m map[K]int) map[K]int {
	c := make(map[K]int, len(m))
	for k, n := range m {
		c[k] = n
	}
	return c
}

// Summarize sums up reports (nil entries are calls that could
// not be made).
func Summarize(reports []*Report) Summary {
	var z Summarizer
	for _, r := range reports {
		z.Add(r)
	}
	return z.Summary()
}

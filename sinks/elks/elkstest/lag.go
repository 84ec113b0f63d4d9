package elkstest

import (
	"context"
	"sync"
	"time"

	"github.com/elkspipe/elkspipe/internal/schedlag"
)

// A simulator short of CPU measures badly: it reads the application's
// audio late and stamps it late, answers syncs late (and so holds back
// the application's next audio), and reports the gaps and first-audio
// times of its own lateness as the application's. So a simulator of many
// calls measures its own scheduling lag, as the server does (see
// sinks/elks, overload protection), and its summary says when it was
// short of CPU.

// LagBound is the scheduling lag of the simulator at or above which its
// own measurements are in doubt: a sync answered 100 ms late starts
// holding the application's audio back, and a first-audio time is off by
// as much.
const LagBound = 100 * time.Millisecond

// lagInterval is how often the simulator measures its lag.
const lagInterval = 100 * time.Millisecond

// Lag is how short of CPU the simulator was while its calls ran: the
// scheduling lag of its process (how long its runnable goroutines waited
// for a CPU, the 99th percentile over each 100 ms).
type Lag struct {
	// Max is the highest lag measured, in seconds.
	Max float64 `json:"max"`
	// Above is how long the lag stayed at or above LagBound, in seconds.
	Above float64 `json:"above"`
}

// Doubtful reports whether the lag reached LagBound: the simulator was
// short of CPU, and some of the gaps, late syncs and first-audio times it
// reports may be its own.
func (l Lag) Doubtful() bool { return l.Above > 0 }

// MeasureLag measures the scheduling lag of this process, every 100 ms,
// until stop is called; stop returns it. Run it around the calls of a
// load test (Drive, Calls), and put the result in their Summary's
// SimulatorLag, as elkspipe simulate does.
func MeasureLag() (stop func() Lag) {
	ctx, cancel := context.WithCancel(context.Background())
	var (
		mu   sync.Mutex
		lag  Lag
		last = time.Now()
		done = make(chan struct{})
	)
	go func() {
		defer close(done)
		schedlag.Watch(ctx, lagInterval, func(now time.Time, l time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			lag.Max = max(lag.Max, l.Seconds())
			if l >= LagBound {
				lag.Above += now.Sub(last).Seconds()
			}
			last = now
		})
	}()
	return func() Lag {
		cancel()
		<-done
		mu.Lock()
		defer mu.Unlock()
		return lag
	}
}

package elkstest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"
)

// Load describes simulated traffic: how many calls, and how they arrive.
type Load struct {
	// Calls is the number of calls, at least 1.
	Calls int
	// Rate, if above 0, is the mean number of calls started per second
	// of wall time, arriving as a Poisson process (independent arrivals,
	// exponentially distributed gaps between them), as real callers do;
	// the first call starts at once. 0 starts every call at once.
	Rate float64
	// Seed seeds the arrival times; 0 means a random seed.
	Seed uint64
}

// arrivals returns the wall-clock offset from the start at which each of
// l.Calls calls begins.
func (l Load) arrivals() []time.Duration {
	at := make([]time.Duration, l.Calls)
	if l.Rate <= 0 {
		return at
	}
	seed := l.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var t float64
	for i := 1; i < len(at); i++ {
		t += rng.ExpFloat64() / l.Rate
		at[i] = time.Duration(t * float64(time.Second))
	}
	return at
}

// check reports whether l is usable.
func (l Load) check() error {
	if l.Calls < 1 {
		return fmt.Errorf("%d calls: want at least 1", l.Calls)
	}
	if l.Rate < 0 || l.Rate != l.Rate || l.Rate > 1e6 {
		return fmt.Errorf("rate %g out of range [0, 1000000] calls per second", l.Rate)
	}
	return nil
}

// Drive runs the calls of l against opt.URL, each as Call would with
// opt, and gives each call's report to done as soon as that call ends:
// n is the call's number (from 1), r its report, or nil with err when the
// call could not be made (err may also be set with r, when ctx was
// cancelled). done is called from one goroutine at a time, so it may sum
// up without locking; a caller that keeps nothing but a Summarizer keeps
// no report beyond its call's end, which is how thousands of calls fit
// in little memory. Call ids and recording paths are given out as Calls
// does. Once ctx is cancelled no more calls start (those not started
// are not given to done) and the calls under way hang up. Drive returns
// when every call it started has ended: an error for bad options, ctx's
// error if it was cancelled, else nil.
func Drive(ctx context.Context, opt Options, l Load, done func(n int, r *Report, err error)) error {
	if err := l.check(); err != nil {
		return err
	}
	if _, err := opt.normalize(true); err != nil {
		return err
	}
	var mu sync.Mutex
	schedule(ctx, l.arrivals(), func(i int) {
		o := callOptions(opt, i+1)
		r, err := Call(ctx, o)
		mu.Lock()
		defer mu.Unlock()
		done(i+1, r, err)
	})
	return ctx.Err()
}

// callOptions returns the options of call n of several.
func callOptions(opt Options, n int) Options {
	o := opt
	if opt.CallID != "" {
		o.CallID = opt.CallID + "-" + strconv.Itoa(n)
	} else {
		o.CallID = randomID()
	}
	o.Record = recordPath(opt.Record, n)
	return o
}

// schedule runs start(i) in a goroutine of its own at each offset at[i]
// from now (in order), until ctx is cancelled, and waits for all of them.
func schedule(ctx context.Context, at []time.Duration, start func(i int)) {
	var wg sync.WaitGroup
	defer wg.Wait()
	t0 := time.Now()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for i, d := range at {
		if wait := time.Until(t0.Add(d)); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
				return
			}
		}
		if ctx.Err() != nil {
			return
		}
		wg.Go(func() { start(i) })
	}
}

// joinCallErrors joins the errors of calls, with cancellation as one
// error rather than one per call.
func joinCallErrors(ctx context.Context, reports []*Report, errs []error) error {
	if ctx.Err() != nil {
		for i, e := range errs {
			if errors.Is(e, ctx.Err()) && reports[i] != nil {
				errs[i] = nil
			}
		}
		if errors.Join(errs...) == nil {
			return ctx.Err()
		}
	}
	return errors.Join(errs...)
}

package elkstest

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/elkspipe/elkspipe/sinks/elks"
)

// Call runs one simulated call against the application at opt.URL and
// returns its report. It returns an error without a report when the call
// could not be made (bad options, the connection refused, the upgrade
// rejected, the recording not creatable). Whatever the application does
// afterwards, the call runs and is reported: misbehaviour is in the
// report, not in the error. When ctx is cancelled the simulator hangs up
// (bye reason "hangup") and returns the report with ctx's error. Every
// goroutine it starts has ended when it returns.
func Call(ctx context.Context, opt Options) (*Report, error) {
	opt, err := opt.normalize(true)
	if err != nil {
		return nil, err
	}
	rec, err := createRecorder(opt.Record, opt.RecordRate)
	if err != nil {
		return nil, err
	}
	conn, err := dial(ctx, opt.URL, opt.TLS)
	if err != nil {
		rec.discard()
		return nil, err
	}
	return run(ctx, conn, opt, rec)
}

// Run runs one simulated call, as Call does, over a connection the
// application has already accepted: t is the API's end of it. With
// elks.Pipe a test runs an application in the same process, such as an
// elks.Session given the other end, and under testing/synctest (with the
// Pipe made inside the bubble) the call's clock is the bubble's fake
// clock, so that gaps, latencies and buffer levels come out exact. opt.URL is not dialled (it is only
// reported). Run closes t when the call ends; it returns an error
// without a report, having closed t, when opt is not usable or the
// recording cannot be created. A Transport that reads a message it
// cannot pass on (a binary frame) returns an error wrapping
// elks.ErrMalformed for it, and io.EOF when the application closed the
// connection cleanly (see elks.Transport).
func Run(ctx context.Context, t elks.Transport, opt Options) (*Report, error) {
	opt, err := opt.normalize(false)
	if err != nil {
		t.Close()
		return nil, err
	}
	rec, err := createRecorder(opt.Record, opt.RecordRate)
	if err != nil {
		t.Close()
		return nil, err
	}
	return run(ctx, t, opt, rec)
}

// run plays one call over t and reports it.
func run(ctx context.Context, t elks.Transport, opt Options, rec *recorder) (*Report, error) {
	c := newCall(opt, t, rec)
	c.run(ctx)
	if ctx.Err() != nil && c.rep.End.Cancelled {
		return c.rep, ctx.Err()
	}
	return c.rep, nil
}

// Calls runs n simulated calls at once, each as Call would with
// opt, and returns their reports in order. Each call gets its own call id
// (opt.CallID followed by "-1", "-2", ... when set, random otherwise) and,
// when recording, its own file: "{callid}" or "{n}" (the call's number)
// in opt.Record are replaced, and if neither is there the number is added
// before the extension (heard-1.wav). Calls that could not be made have a
// nil report, and their errors are joined in the returned error.
func Calls(ctx context.Context, opt Options, n int) ([]*Report, error) {
	if n < 1 {
		return nil, fmt.Errorf("%d calls: want at least 1", n)
	}
	if n == 1 {
		r, err := Call(ctx, opt)
		return []*Report{r}, err
	}
	reports := make([]*Report, n)
	errs := make([]error, n)
	err := Drive(ctx, opt, Load{Calls: n}, func(k int, r *Report, err error) {
		reports[k-1] = r
		if err != nil && r == nil {
			errs[k-1] = fmt.Errorf("call %d: %w", k, err)
		} else if err != nil {
			errs[k-1] = err
		}
	})
	if err != nil && !errors.Is(err, ctx.Err()) {
		return reports, err // bad options: no call was made
	}
	return reports, joinCallErrors(ctx, reports, errs)
}

// recordPath gives call n its own recording path: it replaces "{n}", and
// leaves "{callid}" for Options to replace with the call's id.
func recordPath(path string, n int) string {
	if path == "" {
		return ""
	}
	if strings.Contains(path, "{n}") || strings.Contains(path, "{callid}") {
		return strings.ReplaceAll(path, "{n}", strconv.Itoa(n))
	}
	ext := filepath.Ext(path)
	return strings.TrimSuffix(path, ext) + "-" + strconv.Itoa(n) + ext
}

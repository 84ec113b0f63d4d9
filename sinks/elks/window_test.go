package elks

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

const winMS = time.Millisecond

// winTestLimit etc. are the window of the table tests: the defaults'
// 2s + 500ms in time, and a small byte limit so the byte guard shows.
const (
	winTestLimit = 2500 * winMS
	winTestEvery = 500 * winMS
	winTestBytes = 1000
)

// winStep is one operation on a window and what it must report. Op is
// one of:
//
//	admit D N   admit(D, N) must return ok and ask as given
//	send D N    send(D, N) must return due
//	sync        checkpoint()
//	ack         ack() must return res
//	interrupt   interrupt()
//	stall       stalled() must return credited
//
// After each step but admit, the window must hold inDur, inBytes in
// flight; after each step but admit and send (which leave them alone),
// pending checkpoints.
type winStep struct {
	op       string
	d        time.Duration
	n        int64
	ok, ask  bool
	due      bool
	res      ackResult
	credited int
	inDur    time.Duration
	inBytes  int64
	pending  int
}

// winRun plays steps on a fresh window and checks each result.
func winRun(t *testing.T, steps []winStep) {
	t.Helper()
	w := newWindow(winTestLimit, winTestEvery, winTestBytes)
	for i, s := range steps {
		where := fmt.Sprintf("step %d (%s %v %d)", i, s.op, s.d, s.n)
		switch s.op {
		case "admit":
			if ok, ask := w.admit(s.d, s.n); ok != s.ok || ask != s.ask {
				t.Errorf("%s: admit = %v, ask %v; want %v, ask %v", where, ok, ask, s.ok, s.ask)
			}
			continue // admit changes nothing: no state to check
		case "send":
			if due := w.send(s.d, s.n); due != s.due {
				t.Errorf("%s: sync due %v, want %v", where, due, s.due)
			}
		case "sync":
			w.checkpoint(time.Unix(int64(i+1), 0))
		case "ack":
			res, at := w.ack()
			if res != s.res {
				t.Errorf("%s: ack = %d, want %d", where, res, s.res)
			}
			if at.IsZero() != (res != ackMatched) {
				t.Errorf("%s: the checkpoint's time %v for ack %d", where, at, res)
			}
		case "interrupt":
			w.interrupt()
		case "stall":
			if n := w.stalled(); n != s.credited {
				t.Errorf("%s: credited %d, want %d", where, n, s.credited)
			}
		default:
			t.Fatalf("%s: unknown op", where)
		}
		if d, b := w.inFlight(); d != s.inDur || b != s.inBytes {
			t.Errorf("%s: in flight %v, %d bytes; want %v, %d", where, d, b, s.inDur, s.inBytes)
		}
		if s.op != "send" && w.waiting() != s.pending {
			t.Errorf("%s: %d pending, want %d", where, w.waiting(), s.pending)
		}
		if w.drained() != (w.waiting() == 0) {
			t.Errorf("%s: drained %v with %d pending", where, w.drained(), w.waiting())
		}
	}
}

func TestWindow(t *testing.T) {
	for _, c := range []struct {
		name  string
		steps []winStep
	}{
		{"an empty window admits anything and asks nothing", []winStep{
			{op: "admit", d: 10 * time.Second, n: 5000, ok: true},
			{op: "admit", d: 100 * winMS, n: 10, ok: true},
		}},
		{"always room for one piece, however long", []winStep{
			{op: "send", d: 10 * time.Second, n: 5000, due: true, inDur: 10 * time.Second, inBytes: 5000},
			{op: "sync", inDur: 10 * time.Second, inBytes: 5000, pending: 1},
			{op: "admit", d: 100 * winMS, n: 10, ok: false},
			{op: "ack", res: ackMatched},
			{op: "admit", d: 10 * time.Second, n: 5000, ok: true},
		}},
		{"admit within the time limit, refuse past it", []winStep{
			{op: "send", d: 400 * winMS, n: 40, inDur: 400 * winMS, inBytes: 40},
			{op: "send", d: 400 * winMS, n: 40, due: true, inDur: 800 * winMS, inBytes: 80},
			{op: "sync", inDur: 800 * winMS, inBytes: 80, pending: 1},
			{op: "send", d: 1600 * winMS, n: 160, due: true, inDur: 2400 * winMS, inBytes: 240},
			{op: "sync", inDur: 2400 * winMS, inBytes: 240, pending: 2},
			{op: "admit", d: 100 * winMS, n: 10, ok: true},  // 2.5s exactly: in
			{op: "admit", d: 101 * winMS, n: 10, ok: false}, // past: out, replies are coming
			{op: "ack", res: ackMatched, inDur: 1600 * winMS, inBytes: 160, pending: 1},
			{op: "admit", d: 900 * winMS, n: 10, ok: true},
			{op: "admit", d: 901 * winMS, n: 10, ok: false},
		}},
		{"the byte guard refuses what the time limit admits", []winStep{
			{op: "send", d: 100 * winMS, n: 900, due: true, inDur: 100 * winMS, inBytes: 900}, // 900 ≥ 1000/4
			{op: "sync", inDur: 100 * winMS, inBytes: 900, pending: 1},
			{op: "admit", d: 100 * winMS, n: 100, ok: true},
			{op: "admit", d: 100 * winMS, n: 101, ok: false},
			{op: "ack", res: ackMatched, pending: 0},
			{op: "admit", d: 100 * winMS, n: 1000, ok: true},
		}},
		{"a sync is asked for only when none is pending", []winStep{
			{op: "send", d: 2 * time.Second, n: 200, due: true, inDur: 2 * time.Second, inBytes: 200},
			{op: "admit", d: 600 * winMS, n: 60, ok: false, ask: true}, // unsynced, nothing pending
			{op: "sync", inDur: 2 * time.Second, inBytes: 200, pending: 1},
			{op: "admit", d: 600 * winMS, n: 60, ok: false, ask: false}, // a reply is coming
		}},
		{"once every reply is in, unsynced audio asks for a sync", []winStep{
			{op: "send", d: 500 * winMS, n: 50, due: true, inDur: 500 * winMS, inBytes: 50},
			{op: "sync", inDur: 500 * winMS, inBytes: 50, pending: 1},
			{op: "send", d: 2000 * winMS, n: 200, due: true, inDur: 2500 * winMS, inBytes: 250},
			{op: "ack", res: ackMatched, inDur: 2000 * winMS, inBytes: 200, pending: 0},
			{op: "admit", d: 600 * winMS, n: 60, ok: false, ask: true},
			{op: "admit", d: 500 * winMS, n: 50, ok: true},
		}},
		{"replies match checkpoints first in first out", []winStep{
			{op: "send", d: 500 * winMS, n: 50, due: true, inDur: 500 * winMS, inBytes: 50},
			{op: "sync", inDur: 500 * winMS, inBytes: 50, pending: 1},
			{op: "send", d: 500 * winMS, n: 50, due: true, inDur: 1000 * winMS, inBytes: 100},
			{op: "sync", inDur: 1000 * winMS, inBytes: 100, pending: 2},
			{op: "send", d: 300 * winMS, n: 30, inDur: 1300 * winMS, inBytes: 130, pending: 2},
			{op: "ack", res: ackMatched, inDur: 800 * winMS, inBytes: 80, pending: 1},
			{op: "ack", res: ackMatched, inDur: 300 * winMS, inBytes: 30, pending: 0},
			{op: "ack", res: ackUnexpected, inDur: 300 * winMS, inBytes: 30, pending: 0},
		}},
		{"a reply with nothing pending is unexpected and changes nothing", []winStep{
			{op: "ack", res: ackUnexpected, pending: 0},
			{op: "send", d: 100 * winMS, n: 10, inDur: 100 * winMS, inBytes: 10},
			{op: "ack", res: ackUnexpected, inDur: 100 * winMS, inBytes: 10, pending: 0},
		}},
		{"an interrupt voids the pending checkpoints; their replies are stale", []winStep{
			{op: "send", d: 500 * winMS, n: 50, due: true, inDur: 500 * winMS, inBytes: 50},
			{op: "sync", inDur: 500 * winMS, inBytes: 50, pending: 1},
			{op: "send", d: 500 * winMS, n: 50, due: true, inDur: 1000 * winMS, inBytes: 100},
			{op: "sync", inDur: 1000 * winMS, inBytes: 100, pending: 2},
			{op: "send", d: 200 * winMS, n: 20, inDur: 1200 * winMS, inBytes: 120, pending: 2},
			{op: "interrupt", pending: 0},
			{op: "admit", d: 10 * time.Second, n: 5000, ok: true}, // nothing in flight
			{op: "send", d: 500 * winMS, n: 50, due: true, inDur: 500 * winMS, inBytes: 50},
			{op: "sync", inDur: 500 * winMS, inBytes: 50, pending: 1},
			// Late replies to the two voided checkpoints: never ours.
			{op: "ack", res: ackStale, inDur: 500 * winMS, inBytes: 50, pending: 1},
			{op: "ack", res: ackStale, inDur: 500 * winMS, inBytes: 50, pending: 1},
			{op: "ack", res: ackMatched, pending: 0},
			{op: "ack", res: ackUnexpected, pending: 0},
		}},
		{"an interrupt with nothing pending expects no stale reply", []winStep{
			{op: "send", d: 200 * winMS, n: 20, inDur: 200 * winMS, inBytes: 20},
			{op: "interrupt", pending: 0},
			{op: "ack", res: ackUnexpected, pending: 0},
		}},
		{"interrupts add up the voided checkpoints", []winStep{
			{op: "send", d: 500 * winMS, n: 50, due: true, inDur: 500 * winMS, inBytes: 50},
			{op: "sync", inDur: 500 * winMS, inBytes: 50, pending: 1},
			{op: "interrupt", pending: 0},
			{op: "send", d: 500 * winMS, n: 50, due: true, inDur: 500 * winMS, inBytes: 50},
			{op: "sync", inDur: 500 * winMS, inBytes: 50, pending: 1},
			{op: "interrupt", pending: 0},
			{op: "ack", res: ackStale, pending: 0},
			{op: "ack", res: ackStale, pending: 0},
			{op: "ack", res: ackUnexpected, pending: 0},
		}},
		{"a stall credits discarded replies to the oldest pending checkpoints", []winStep{
			{op: "send", d: 500 * winMS, n: 50, due: true, inDur: 500 * winMS, inBytes: 50},
			{op: "sync", inDur: 500 * winMS, inBytes: 50, pending: 1},
			{op: "send", d: 500 * winMS, n: 50, due: true, inDur: 1000 * winMS, inBytes: 100},
			{op: "sync", inDur: 1000 * winMS, inBytes: 100, pending: 2},
			{op: "interrupt", pending: 0},
			// The API dropped the two voided syncs: the replies to our
			// first two new checkpoints are taken for stale.
			{op: "send", d: 500 * winMS, n: 50, due: true, inDur: 500 * winMS, inBytes: 50},
			{op: "sync", inDur: 500 * winMS, inBytes: 50, pending: 1},
			{op: "send", d: 500 * winMS, n: 50, due: true, inDur: 1000 * winMS, inBytes: 100},
			{op: "sync", inDur: 1000 * winMS, inBytes: 100, pending: 2},
			{op: "send", d: 500 * winMS, n: 50, due: true, inDur: 1500 * winMS, inBytes: 150},
			{op: "sync", inDur: 1500 * winMS, inBytes: 150, pending: 3},
			{op: "ack", res: ackStale, inDur: 1500 * winMS, inBytes: 150, pending: 3},
			{op: "ack", res: ackStale, inDur: 1500 * winMS, inBytes: 150, pending: 3},
			{op: "stall", credited: 2, inDur: 500 * winMS, inBytes: 50, pending: 1},
			{op: "ack", res: ackMatched, pending: 0},
		}},
		{"a stall credits no more than the checkpoints pending", []winStep{
			{op: "send", d: 500 * winMS, n: 50, due: true, inDur: 500 * winMS, inBytes: 50},
			{op: "sync", inDur: 500 * winMS, inBytes: 50, pending: 1},
			{op: "send", d: 500 * winMS, n: 50, due: true, inDur: 1000 * winMS, inBytes: 100},
			{op: "sync", inDur: 1000 * winMS, inBytes: 100, pending: 2},
			{op: "interrupt", pending: 0},
			{op: "send", d: 500 * winMS, n: 50, due: true, inDur: 500 * winMS, inBytes: 50},
			{op: "sync", inDur: 500 * winMS, inBytes: 50, pending: 1},
			{op: "ack", res: ackStale, inDur: 500 * winMS, inBytes: 50, pending: 1},
			{op: "ack", res: ackStale, inDur: 500 * winMS, inBytes: 50, pending: 1},
			{op: "stall", credited: 1, pending: 0},
			{op: "ack", res: ackUnexpected, pending: 0},
		}},
		{"a stall with no discarded reply credits nothing and ends the stale wait", []winStep{
			{op: "send", d: 500 * winMS, n: 50, due: true, inDur: 500 * winMS, inBytes: 50},
			{op: "sync", inDur: 500 * winMS, inBytes: 50, pending: 1},
			{op: "interrupt", pending: 0},
			{op: "send", d: 500 * winMS, n: 50, due: true, inDur: 500 * winMS, inBytes: 50},
			{op: "sync", inDur: 500 * winMS, inBytes: 50, pending: 1},
			{op: "stall", credited: 0, inDur: 500 * winMS, inBytes: 50, pending: 1},
			// The voided checkpoint's reply is no longer expected: the
			// next reply is ours.
			{op: "ack", res: ackMatched, pending: 0},
		}},
		{"a stall with nothing pending credits nothing", []winStep{
			{op: "send", d: 500 * winMS, n: 50, due: true, inDur: 500 * winMS, inBytes: 50},
			{op: "sync", inDur: 500 * winMS, inBytes: 50, pending: 1},
			{op: "interrupt", pending: 0},
			{op: "ack", res: ackStale, pending: 0},
			{op: "stall", credited: 0, pending: 0},
		}},
	} {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) { winRun(t, c.steps) })
	}
}

// A checkpoint is due once the audio since the last one fills the
// interval or a quarter of the byte limit; before a piece, when the
// piece would carry it past the interval.
func TestWindowCheckpointSpacing(t *testing.T) {
	for _, c := range []struct {
		name      string
		sent      []time.Duration // pieces, 10 bytes each, before the checks
		bytes     int64           // bytes of the last piece instead of 10
		due       bool            // syncDue after them
		before    time.Duration   // dueBefore this piece...
		dueBefore bool            // ...must return this
	}{
		{"nothing sent", nil, 0, false, 10 * time.Second, false},
		{"below the interval", []time.Duration{200 * winMS, 200 * winMS}, 0, false, 50 * winMS, false},
		{"a piece that reaches the interval exactly", []time.Duration{200 * winMS, 200 * winMS}, 0, false, 100 * winMS, false},
		{"a piece that passes it", []time.Duration{200 * winMS, 200 * winMS}, 0, false, 101 * winMS, true},
		{"the interval filled", []time.Duration{250 * winMS, 250 * winMS}, 0, true, 1, true},
		{"a quarter of the bytes", []time.Duration{10 * winMS}, winTestBytes / 4, true, 1, false},
		{"just under a quarter of the bytes", []time.Duration{10 * winMS}, winTestBytes/4 - 1, false, 1, false},
	} {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			w := newWindow(winTestLimit, winTestEvery, winTestBytes)
			due := false
			for i, d := range c.sent {
				n := int64(10)
				if i == len(c.sent)-1 && c.bytes > 0 {
					n = c.bytes
				}
				due = w.send(d, n)
			}
			if due != c.due || w.syncDue() != c.due {
				t.Errorf("sync due %v (syncDue %v), want %v", due, w.syncDue(), c.due)
			}
			if got := w.dueBefore(c.before); got != c.dueBefore {
				t.Errorf("due before a %v piece: %v, want %v", c.before, got, c.dueBefore)
			}
			// After a checkpoint the count starts again.
			w.checkpoint(time.Time{})
			if w.syncDue() || w.unsynced() || w.dueBefore(10*time.Second) {
				t.Errorf("after a checkpoint: due %v, unsynced %v", w.syncDue(), w.unsynced())
			}
		})
	}
}

// drained holds until a checkpoint is sent and again once every one is
// answered (or voided).
func TestWindowDrained(t *testing.T) {
	w := newWindow(winTestLimit, winTestEvery, winTestBytes)
	if !w.drained() {
		t.Error("a fresh window is not drained")
	}
	w.send(100*winMS, 10)
	if !w.drained() || !w.unsynced() {
		t.Errorf("audio without a checkpoint: drained %v, unsynced %v", w.drained(), w.unsynced())
	}
	w.checkpoint(time.Unix(1, 0))
	w.send(100*winMS, 10)
	w.checkpoint(time.Unix(2, 0))
	for i, want := range []bool{false, true} {
		if w.ack(); w.drained() != want {
			t.Errorf("after reply %d: drained %v", i+1, w.drained())
		}
	}
	w.send(100*winMS, 10)
	w.checkpoint(time.Unix(3, 0))
	w.interrupt()
	if !w.drained() {
		t.Error("voided checkpoints keep the window undrained")
	}
}

// ack returns when each matched checkpoint was sent, oldest first, for
// the sync latency: the window keeps the times it is given.
func TestWindowAckTimes(t *testing.T) {
	w := newWindow(winTestLimit, winTestEvery, winTestBytes)
	for i := range 3 {
		w.send(100*winMS, 10)
		w.checkpoint(time.Unix(int64(10+i), 0))
	}
	for i := range 3 {
		if res, at := w.ack(); res != ackMatched || at != time.Unix(int64(10+i), 0) {
			t.Errorf("reply %d: %d at %v", i+1, res, at)
		}
	}
	if res, at := w.ack(); res != ackUnexpected || !at.IsZero() {
		t.Errorf("a reply with nothing pending: %d at %v", res, at)
	}
}

package elkstest

import (
	"context"
	"io"
	"time"

	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sinks/elks"
)

// sayChunk is the length of each message of caller audio.
const sayChunk = 20 * time.Millisecond

// voice sends the caller's audio in one listening format, paced on the
// call's clock, from its own goroutine.
type voice struct {
	format elks.Format
	tones  []pressTone
	stopCh chan struct{}
	done   chan voiceStats
}

type voiceStats struct {
	Audio
	late    int           // messages sent more than LateBound after their time
	maxLate time.Duration // the latest
	frames  int64         // sent
	err     string
	said    envelope // for the echo measurement
}

// startVoice sends the caller's audio: open's (nil for silence) with
// tones mixed in.
// t0 is the call time at which it starts.
func startVoice(open pipeline.Opener, tones []pressTone, f elks.Format, rate int, enc elks.Encoder, conn *sender, speed float64, t0 time.Duration) *voice {
	s := &voice{format: f, tones: tones, stopCh: make(chan struct{}), done: make(chan voiceStats, 1)}
	go func() {
		s.done <- s.run(open, rate, enc, conn, speed, t0)
	}()
	return s
}

// stop ends the voice and returns what it sent.
func (s *voice) stop() voiceStats {
	close(s.stopCh)
	return <-s.done
}

func (s *voice) run(open pipeline.Opener, rate int, enc elks.Encoder, conn *sender, speed float64, t0 time.Duration) (st voiceStats) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-s.stopCh:
			cancel()
		case <-ctx.Done():
		}
	}()
	mix := &pressMixer{rate: rate, tones: s.tones}
	if open != nil {
		src, err := open(ctx)
		if err != nil {
			st.err = "opening the caller's audio: " + err.Error()
			return st
		}
		conv, _, err := pipeline.Convert(src, pipeline.Format{Rate: rate, Channels: 1})
		if err != nil {
			pipeline.Close(src)
			st.err = "converting the caller's audio: " + err.Error()
			return st
		}
		mix.base = conv
	}
	var src pipeline.Source = mix
	defer pipeline.Close(src)
	chunk := int(int64(rate) * int64(sayChunk) / int64(time.Second))
	buf := make([]float32, chunk)
	var wire, msg []byte
	start := time.Now()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for k := int64(1); ; k++ {
		n, rerr := pipeline.ReadFull(src, buf)
		if rerr != nil && rerr != io.EOF && rerr != io.ErrUnexpectedEOF {
			st.err = "reading the caller's audio: " + rerr.Error()
			return st
		}
		if n == 0 {
			return st
		}
		wire = enc.Encode(wire[:0], buf[:n])
		if rerr != nil {
			wire = enc.Flush(wire)
		}
		msg = elks.AppendAudio(msg[:0], wire)
		// Chunk k is sent when its 20 ms have passed on the call's clock.
		due := start.Add(time.Duration(float64(k) * float64(sayChunk) / speed))
		timer.Reset(time.Until(due))
		select {
		case <-timer.C:
		case <-s.stopCh:
			return st
		}
		if err := conn.send(msg); err != nil {
			return st // the call sees the connection end
		}
		late := time.Since(due) // with the write: when the message left
		if late > LateBound {
			st.late++
			st.maxLate = max(st.maxLate, late)
		}
		st.Messages++
		st.Bytes += int64(len(wire))
		st.Seconds += float64(n) / float64(rate)
		st.frames += int64(n)
		// At the time it was said, even when sent late: a burst of late
		// messages keeps its shape, which the echo measurement needs.
		st.said.add(t0+time.Duration(k-1)*sayChunk, buf[:n], rate)
		if rerr != nil {
			return st
		}
	}
}

package elkstest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/elkspipe/elkspipe/sinks/elks"
	"github.com/elkspipe/elkspipe/sinks/elks/internal/wsframe"
)

// wsConn.appendMessage adds each text message after what dst holds; a
// binary frame is an ErrMalformed that adds nothing, and the connection
// goes on; at the end of the connection dst is as it was.
func TestWSConnAppendMessage(t *testing.T) {
	frames := []byte{
		0x81, 1, 'a', // text "a"
		0x82, 2, 'b', 'b', // binary "bb"
		0x81, 3, 'c', 'c', 'c', // text "ccc"
	}
	c := wsframe.New(wsframe.Client, io.Discard, io.NopCloser(nil), bufio.NewReader(bytes.NewReader(frames)), 1<<10)
	w := &wsConn{c: c}
	ctx := context.Background()
	dst := []byte("x")
	steps := []struct {
		want      string
		malformed bool
		end       bool
	}{
		{"xa", false, false},
		{"xa", true, false},
		{"xaccc", false, false},
		{"xaccc", false, true},
	}
	for i, st := range steps {
		var err error
		dst, err = w.appendMessage(ctx, dst)
		switch {
		case string(dst) != st.want:
			t.Fatalf("step %d: %q, want %q (err %v)", i, dst, st.want, err)
		case st.malformed && !errors.Is(err, elks.ErrMalformed):
			t.Fatalf("step %d: %v, want an ErrMalformed", i, err)
		case st.end && err == nil:
			t.Fatalf("step %d: no error at the end of the connection", i)
		case !st.malformed && !st.end && err != nil:
			t.Fatalf("step %d: %v", i, err)
		}
	}
}

package wsframe

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
)

// rawFrame is a frame as a peer writes it: fin, opcode, the length in its
// shortest form, and (when key is not nil) the masking key, with the
// payload masked by it.
func rawFrame(fin bool, op byte, payload []byte, key []byte) []byte {
	b0 := op
	if fin {
		b0 |= finBit
	}
	var m byte
	if key != nil {
		m = maskBit
	}
	f := []byte{b0}
	switch n := len(payload); {
	case n < len16:
		f = append(f, m|byte(n))
	case n <= 0xffff:
		f = append(f, m|len16)
		f = binary.BigEndian.AppendUint16(f, uint16(n))
	default:
		f = append(f, m|len64)
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	}
	if key == nil {
		return append(f, payload...)
	}
	f = append(f, key...)
	for i, c := range payload {
		f = append(f, c^key[i%4])
	}
	return f
}

// MessageBuffered is true exactly when the next message lies whole in the
// read buffer, in one data frame: in each length form, and not for a
// control frame, a fragment, or a frame cut short in its header or its
// payload.
func TestMessageBuffered(t *testing.T) {
	var in []byte
	add := func(f []byte) { in = append(in, f...) }
	add(rawFrame(true, OpText, []byte("one"), nil))
	add(rawFrame(true, OpText, bytes.Repeat([]byte("a"), 200), nil))
	add(rawFrame(true, OpBinary, bytes.Repeat([]byte("b"), 70000), nil))
	add(rawFrame(true, OpPing, []byte("p"), nil))
	add(rawFrame(true, OpText, []byte("after the ping"), nil))
	add(rawFrame(false, OpText, []byte("frag"), nil))
	add(rawFrame(true, OpContinuation, []byte("ment"), nil))
	add(rawFrame(true, OpText, []byte("last whole"), nil))
	add(rawFrame(true, OpText, bytes.Repeat([]byte("c"), 300), nil)[:100]) // cut in its payload

	c := New(Client, io.Discard, io.NopCloser(nil), bufio.NewReaderSize(bytes.NewReader(in), 1<<18), 1<<20)
	if c.MessageBuffered() {
		t.Fatal("MessageBuffered before anything was read")
	}
	var buf []byte
	for _, step := range []struct {
		want     string
		buffered bool
	}{
		{"one", true},
		{strings.Repeat("a", 200), true},
		{strings.Repeat("b", 70000), false}, // a ping comes next
		{"after the ping", false},           // a fragment comes next
		{"fragment", true},
		{"last whole", false}, // the last frame is cut short
	} {
		if _, err := c.ReadMessage(context.Background(), &buf); err != nil {
			t.Fatalf("reading %.10q: %v", step.want, err)
		}
		if string(buf) != step.want {
			t.Fatalf("read %.10q, want %.10q", buf, step.want)
		}
		if got := c.MessageBuffered(); got != step.buffered {
			t.Fatalf("after %.10q: MessageBuffered %v, want %v", step.want, got, step.buffered)
		}
	}

	// A masked frame (a client's, read by a server) counts its key; a
	// header cut anywhere is not a message.
	key := []byte{1, 2, 3, 4}
	for _, payload := range [][]byte{[]byte("sync"), bytes.Repeat([]byte("d"), 1000), bytes.Repeat([]byte("e"), 66000)} {
		f := rawFrame(true, OpText, payload, key)
		for cut := 1; cut <= len(f); cut++ {
			if cut > 20 && cut < len(f)-2 {
				continue
			}
			s := New(Server, io.Discard, io.NopCloser(nil), bufio.NewReaderSize(bytes.NewReader(f[:cut]), 1<<18), 1<<20)
			s.br.Peek(1) // fill the buffer, as a read does
			if got, want := s.MessageBuffered(), cut == len(f); got != want {
				t.Fatalf("a %d-byte masked message cut to %d of its %d bytes: MessageBuffered %v, want %v", len(payload), cut, len(f), got, want)
			}
		}
	}
}

// chunkReader returns its chunks one Read each, as a socket returns what
// each write of the peer brought.
type chunkReader struct{ chunks [][]byte }

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.chunks[0])
	if r.chunks[0] = r.chunks[0][n:]; len(r.chunks[0]) == 0 {
		r.chunks = r.chunks[1:]
	}
	return n, nil
}

// GrowReadBuffer replaces a dialled connection's buffer only while it
// holds nothing, and the messages read after it come whole and in order.
func TestGrowReadBuffer(t *testing.T) {
	first := rawFrame(true, OpText, []byte("first"), nil)
	second := rawFrame(true, OpText, bytes.Repeat([]byte("x"), 5000), nil)
	third := rawFrame(true, OpText, []byte("third"), nil)
	src := &chunkReader{chunks: [][]byte{append(bytes.Clone(first), second[:10]...), second[10:], third}}
	c := New(Client, io.Discard, io.NopCloser(nil), bufio.NewReaderSize(src, 16), 1<<20)
	c.src = src

	notDialled := New(Client, io.Discard, io.NopCloser(nil), bufio.NewReaderSize(src, 16), 1<<20)
	if notDialled.GrowReadBuffer(8 << 10) {
		t.Fatal("a Conn that knows no source under its reader grew it")
	}
	var buf []byte
	read := func(want string) {
		t.Helper()
		if _, err := c.ReadMessage(context.Background(), &buf); err != nil || string(buf) != want {
			t.Fatalf("read %.12q, %v; want %.12q", buf, err, want)
		}
	}
	read("first")
	if c.GrowReadBuffer(8 << 10) {
		t.Fatal("grew the buffer while it held the start of the next frame")
	}
	read(strings.Repeat("x", 5000))
	if !c.GrowReadBuffer(8 << 10) {
		t.Fatal("did not grow the empty buffer")
	}
	if got := c.br.Size(); got != 8<<10 {
		t.Fatalf("buffer of %d bytes after growing to %d", got, 8<<10)
	}
	if c.GrowReadBuffer(4 << 10) {
		t.Fatal("shrank the buffer")
	}
	read("third")
}

// A 64-bit length with its top bit set is refused by the reader (status
// 1002) and never counts as a message buffered.
func TestLengthTopBitRefused(t *testing.T) {
	f := []byte{finBit | OpText, len64, 0x80, 0, 0, 0, 0, 0, 0, 1}
	c := New(Client, io.Discard, io.NopCloser(nil), bufio.NewReaderSize(bytes.NewReader(f), 64), 1<<20)
	c.br.Peek(1)
	if c.MessageBuffered() {
		t.Fatal("a frame with its length's top bit set counts as a message buffered")
	}
	var buf []byte
	if _, err := c.ReadMessage(context.Background(), &buf); !errors.Is(err, ErrProtocol) {
		t.Fatalf("reading it: %v, want ErrProtocol", err)
	}
}

// AppendMessage adds each message, fragmented or not, after what the
// buffer holds; the limit is the message's, not the buffer's; a message
// over it is refused (StatusTooBig) whatever the buffer held before.
func TestAppendMessage(t *testing.T) {
	var in []byte
	add := func(f []byte) { in = append(in, f...) }
	add(rawFrame(true, OpText, []byte("one"), nil))
	add(rawFrame(false, OpText, []byte("frag"), nil))
	add(rawFrame(true, OpPing, []byte("p"), nil))
	add(rawFrame(true, OpContinuation, []byte("ment"), nil))
	add(rawFrame(true, OpBinary, bytes.Repeat([]byte("b"), 90), nil))
	add(rawFrame(true, OpText, bytes.Repeat([]byte("c"), 101), nil))

	c := New(Client, io.Discard, io.NopCloser(nil), bufio.NewReader(bytes.NewReader(in)), 100)
	buf := []byte("kept|")
	var ends []int
	for _, wantText := range []bool{true, true, false} {
		text, err := c.AppendMessage(context.Background(), &buf)
		if err != nil || text != wantText {
			t.Fatalf("AppendMessage: text %v, %v; want text %v", text, err, wantText)
		}
		ends = append(ends, len(buf))
	}
	if want := "kept|one" + "fragment" + strings.Repeat("b", 90); string(buf) != want {
		t.Fatalf("buffer %q, want %q", buf, want)
	}
	if want := []int{8, 16, 106}; !slices.Equal(ends, want) {
		t.Fatalf("the messages ended at %v, want %v", ends, want)
	}
	_, err := c.AppendMessage(context.Background(), &buf)
	if !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), "more than 100 bytes") {
		t.Fatalf("a message of 101 bytes over a limit of 100: %v, want it refused", err)
	}
}

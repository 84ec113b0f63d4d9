package sources

import (
	"context"
	"errors"
	"io"
	"os"
	"testing"
	"time"
)

// A stage reading a piped standard input that stays silent stops as soon
// as its context is cancelled; the bytes that come later go to the next
// reader of standard input, and its end is seen.
func TestStdinPipeCancel(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stdin
	os.Stdin = r
	defer func() { os.Stdin = saved; r.Close() }()

	ctx, cancel := context.WithCancel(context.Background())
	first := openStdin(ctx)
	if _, ok := first.(*stdinPipe); !ok {
		t.Fatalf("a pipe is read through %T", first)
	}
	done := make(chan error, 1)
	go func() {
		_, err := first.Read(make([]byte, 10))
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("read ended with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a cancelled read of a silent pipe did not return")
	}
	first.Close()

	// The writer writes at last: a new reader gets every byte, then EOF.
	w.Write([]byte("hello, pipe"))
	w.Close()
	got, err := io.ReadAll(openStdin(context.Background()))
	if err != nil || string(got) != "hello, pipe" {
		t.Fatalf("read %q, %v", got, err)
	}
	if n, err := openStdin(context.Background()).Read(make([]byte, 4)); n != 0 || err != io.EOF {
		t.Errorf("after the end: %d, %v", n, err)
	}
}

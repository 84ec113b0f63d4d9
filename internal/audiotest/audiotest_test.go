package audiotest

import (
	"errors"
	"io"
	"testing"
	"time"

	"github.com/elkspipe/elkspipe/pipeline"
)

func TestReadAllStopsOnNoProgress(t *testing.T) {
	src := &Stuck{F: pipeline.Format{Rate: 8000, Channels: 1}}
	err := Within(t, 10*time.Second, func() error {
		_, err := ReadAll(src, 160)
		return err
	})
	if !errors.Is(err, io.ErrNoProgress) {
		t.Fatalf("ReadAll of a stuck source = %v, want io.ErrNoProgress", err)
	}
	if n := src.Reads(); n != pipeline.MaxEmptyReads {
		t.Fatalf("ReadAll read %d times, want %d", n, pipeline.MaxEmptyReads)
	}
	err = Within(t, 10*time.Second, func() error {
		_, err := readMixed(src)
		return err
	})
	if !errors.Is(err, io.ErrNoProgress) {
		t.Fatalf("readMixed of a stuck source = %v, want io.ErrNoProgress", err)
	}
}

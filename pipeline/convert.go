package pipeline

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// Converters are the stages Build and Concat insert to change a stream's
// format. The transforms package registers its channels and resample stages
// when it is imported.
type Converters struct {
	// Channels returns src with its channels mixed to the given count.
	Channels func(src Source, channels int) (Source, error)
	// Resample returns src converted to the given sample rate.
	Resample func(src Source, rate int) (Source, error)
}

var (
	convertersMu sync.RWMutex
	converters   Converters
)

// RegisterConverters sets the non-nil converters of c as those used for
// automatic format conversion. The transforms package calls it from its
// init functions.
func RegisterConverters(c Converters) {
	convertersMu.Lock()
	if c.Channels != nil {
		converters.Channels = c.Channels
	}
	if c.Resample != nil {
		converters.Resample = c.Resample
	}
	convertersMu.Unlock()
}

// Conversion is one automatically inserted stage.
type Conversion struct {
	Name   string // e.g. "channels 1" or "resample 8000"
	Format Format // the format it outputs
}

// Convert returns src converted to the format to, and the stages it inserted
// (none if src already has that format). Following SoX, it downmixes before
// resampling and upmixes after, so the resampler works on as few channels as
// possible.
func Convert(src Source, to Format) (Source, []Conversion, error) {
	if err := to.Validate(); err != nil {
		return nil, nil, err
	}
	convertersMu.RLock()
	c := converters
	convertersMu.RUnlock()
	from := src.Format()
	var done []Conversion
	step := func(name string, f func() (Source, error)) error {
		if f == nil {
			kind, _, _ := strings.Cut(name, " ")
			return fmt.Errorf("cannot convert %s to %s: no %s stage registered (import github.com/elkspipe/elkspipe/transforms)", from, to, kind)
		}
		out, err := f()
		if err != nil {
			return err
		}
		src = Label(name, out)
		done = append(done, Conversion{Name: name, Format: src.Format()})
		return nil
	}
	remix := func() error {
		name := "channels " + strconv.Itoa(to.Channels)
		if c.Channels == nil {
			return step(name, nil)
		}
		return step(name, func() (Source, error) { return c.Channels(src, to.Channels) })
	}
	if to.Channels < from.Channels {
		if err := remix(); err != nil {
			return nil, nil, err
		}
	}
	if to.Rate != from.Rate {
		name := "resample " + strconv.Itoa(to.Rate)
		var f func() (Source, error)
		if c.Resample != nil {
			f = func() (Source, error) { return c.Resample(src, to.Rate) }
		}
		if err := step(name, f); err != nil {
			return nil, nil, err
		}
	}
	if to.Channels > from.Channels {
		if err := remix(); err != nil {
			return nil, nil, err
		}
	}
	return src, done, nil
}

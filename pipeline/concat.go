package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// Adaptable is implemented by generated sources whose format the user left
// open (tone, silence, noise and dtmf without rate=): Concat asks them to
// generate in the format of their neighbours instead of converting them.
type Adaptable interface {
	Adapt(f Format) (Source, error)
}

// ConcatOptions configures Concat.
type ConcatOptions struct {
	// Stage names the concatenation in events and errors ("playlist").
	Stage string
	// Names name the items in events and errors; missing names are "#i".
	Names []string
	// Format, if set, is the output format. Otherwise it is the format of
	// the first item that is not Adaptable (or of the first item); a Format
	// with only Rate or only Channels set overrides just that.
	Format Format
	// SkipBroken skips items that fail to open or fail while playing,
	// reporting an ItemSkipped event, instead of ending the stream with the
	// error. The stream still fails if no item plays at all.
	SkipBroken bool
	// ReportSkip, if set, decides whether a skipped item is reported: the
	// ItemSkipped event goes out only when it returns true for the item's
	// index and name. Playlists use it to warn about a broken item once
	// per call rather than at every loop iteration.
	ReportSkip func(index int, name string) bool
}

// Concat plays the sources that opens yields one after another, converting
// each to a common format. Items are opened as they are reached, except that
// finding the format may open the first few. At every boundary it returns
// from Read and emits ItemEnded and ItemStarted to the observer in ctx.
// Closing the result closes every open item.
func Concat(ctx context.Context, opens []Opener, opt ConcatOptions) (Source, error) {
	if len(opens) == 0 {
		return nil, fmt.Errorf("nothing to play")
	}
	for i, open := range opens {
		if open == nil {
			return nil, fmt.Errorf("item %d has no Opener (nil)", i+1)
		}
	}
	if opt.Stage == "" {
		opt.Stage = "concat"
	}
	c := &concat{ctx: ctx, opens: opens, opt: opt, pending: make([]Source, len(opens)), broken: make([]bool, len(opens))}
	if err := c.chooseFormat(); err != nil {
		c.Close()
		return nil, err
	}
	if err := c.advance(0); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

type concat struct {
	ctx      context.Context
	opens    []Opener
	opt      ConcatOptions
	format   Format
	pending  []Source // items opened early while choosing the format
	broken   []bool   // items skipped while choosing the format
	cur      Source   // the item playing, converted
	index    int      // index of cur
	played   int      // items that played to their end
	err      error    // an item's error held back while its last frames go out
	length   int64    // total frames, once lengthOK
	lengthOK bool
}

func (c *concat) name(i int) string {
	if i < len(c.opt.Names) && c.opt.Names[i] != "" {
		return c.opt.Names[i]
	}
	return fmt.Sprintf("#%d", i)
}

func (c *concat) open(i int) (Source, error) {
	if s := c.pending[i]; s != nil {
		c.pending[i] = nil
		return s, nil
	}
	s, err := c.opens[i](c.ctx)
	if err != nil {
		return nil, err
	}
	if err := s.Format().Validate(); err != nil {
		Close(s)
		return nil, err
	}
	return s, nil
}

func (c *concat) skip(i int, err error) error {
	if !c.opt.SkipBroken || errors.Is(err, context.Canceled) {
		return c.itemErr(i, err)
	}
	if c.opt.ReportSkip == nil || c.opt.ReportSkip(i, c.name(i)) {
		Emit(c.ctx, Event{Kind: ItemSkipped, Stage: c.opt.Stage, Index: i, Item: c.name(i), Err: err})
	}
	return nil
}

// itemErr names item i in err, as `item 2 "b.wav": reason` (counting from
// 1), unless err already names a stage (the items of a `+` sequence are
// stages). The stage that holds the concatenation adds its own label.
func (c *concat) itemErr(i int, err error) error {
	var se *StageError
	if errors.As(err, &se) || errors.Is(err, context.Canceled) {
		return err
	}
	if i < len(c.opt.Names) && c.opt.Names[i] != "" {
		return fmt.Errorf("item %d %q: %w", i+1, c.opt.Names[i], err)
	}
	return fmt.Errorf("item %d: %w", i+1, err)
}

// chooseFormat settles the output format, opening items until one that is
// not Adaptable decides it.
func (c *concat) chooseFormat() error {
	want := c.opt.Format
	if want.Rate != 0 && want.Channels != 0 {
		c.format = want
		return c.format.Validate()
	}
	defer func() {
		if want.Rate != 0 {
			c.format.Rate = want.Rate
		}
		if want.Channels != 0 {
			c.format.Channels = want.Channels
		}
	}()
	var first *Format
	for i := range c.opens {
		s, err := c.open(i)
		if err != nil {
			if err := c.skip(i, err); err != nil {
				return err
			}
			c.broken[i] = true
			continue
		}
		c.pending[i] = s
		f := s.Format()
		if first == nil {
			first = &f
		}
		if _, ok := s.(Adaptable); !ok {
			c.format = f
			return nil
		}
	}
	if first == nil {
		return errors.New("no item could be opened: every one was skipped")
	}
	c.format = *first
	return nil
}

// advance closes the current item and makes item i (or the next that opens)
// current. At the end of the list it leaves cur nil.
func (c *concat) advance(i int) error {
	if c.cur != nil {
		Close(c.cur)
		c.cur = nil
	}
	for ; i < len(c.opens); i++ {
		if c.broken[i] {
			continue
		}
		s, err := c.open(i)
		if err == nil {
			s, err = c.fit(s)
		}
		if err != nil {
			if err := c.skip(i, err); err != nil {
				return err
			}
			continue
		}
		c.cur, c.index = s, i
		Emit(c.ctx, Event{Kind: ItemStarted, Stage: c.opt.Stage, Index: i, Item: c.name(i)})
		return nil
	}
	c.index = len(c.opens)
	if c.played == 0 {
		return fmt.Errorf("%s: no item could be played", c.opt.Stage)
	}
	return nil
}

// fit converts s to the output format.
func (c *concat) fit(s Source) (Source, error) {
	if s.Format() == c.format {
		return s, nil
	}
	if a, ok := s.(Adaptable); ok {
		out, err := a.Adapt(c.format)
		if err != nil {
			Close(s)
			return nil, err
		}
		if out != s {
			Close(s)
		}
		return out, nil
	}
	out, _, err := Convert(s, c.format)
	if err != nil {
		Close(s)
		return nil, err
	}
	return out, nil
}

func (c *concat) Format() Format { return c.format }

// Frames returns the total length, the sum of every item's length in the
// output format, or -1 if any item's length is unknown. Items not yet open
// are opened to ask and closed again (broken ones count as skipped).
func (c *concat) Frames() int64 {
	if c.lengthOK {
		return c.length
	}
	var total int64
	for i := range c.opens {
		if c.broken[i] {
			continue
		}
		var n int64
		switch {
		case c.cur != nil && i == c.index:
			n = FramesOf(c.cur)
		case c.pending[i] != nil:
			s, err := c.fit(c.pending[i])
			c.pending[i] = nil
			if err != nil {
				if c.skip(i, err) != nil {
					return -1 // playing reaches the error and reports it
				}
				c.broken[i] = true
				continue
			}
			c.pending[i] = s
			n = FramesOf(s)
		default:
			s, err := c.open(i)
			if err == nil {
				s, err = c.fit(s)
			}
			if err != nil {
				if c.skip(i, err) != nil {
					return -1 // playing reaches the error and reports it
				}
				c.broken[i] = true
				continue
			}
			n = FramesOf(s)
			Close(s)
		}
		if n < 0 {
			total = -1
			break
		}
		total += n
	}
	c.length, c.lengthOK = total, true
	return total
}

func (c *concat) Read(p []float32) (int, error) {
	if len(p) < c.format.Channels {
		return 0, ErrShortBuffer
	}
	for c.cur != nil {
		var n int
		err := c.err
		if err == nil {
			n, err = ReadSome(c.cur, p)
		}
		c.err = nil
		if err == nil {
			if n > 0 {
				return n, nil
			}
			continue
		}
		if err == io.EOF {
			if n > 0 {
				return n, nil // report the boundary on the next call
			}
			c.played++
			Emit(c.ctx, Event{Kind: ItemEnded, Stage: c.opt.Stage, Index: c.index, Item: c.name(c.index)})
		} else {
			if n > 0 {
				c.err = err // deliver what was read, then the error
				return n, nil
			}
			if err := c.skip(c.index, err); err != nil {
				c.Close()
				return 0, err
			}
		}
		if err := c.advance(c.index + 1); err != nil {
			c.Close()
			return 0, err
		}
	}
	return 0, io.EOF
}

// Close closes the current item and any opened early.
func (c *concat) Close() error {
	var first error
	if c.cur != nil {
		first = Close(c.cur)
		c.cur = nil
	}
	for i, s := range c.pending {
		if s != nil {
			if err := Close(s); err != nil && first == nil {
				first = err
			}
			c.pending[i] = nil
		}
	}
	return first
}

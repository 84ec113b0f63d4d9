package elks

import (
	"context"
	"errors"
	"fmt"

	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sources"
)

// A one-level menu from the command line: the elks sink's on-KEY
// parameters give each key a pipeline (sources and transforms in pipe
// syntax, no sink) or the word hangup. The pipeline served is the prompt.
// A key of the menu interrupts what plays (barge-in: the caller hears the
// option at once, whatever was queued) and plays its option; when the
// option ends, the prompt starts again from its beginning. hangup
// interrupts what plays and hangs up at once. A key not in the menu is logged and ignored. When the
// prompt ends (a prompt that is not looped), the call ends as without a
// menu (hangup=), and keys pressed until its audio has played still
// count.

// menuKeys are the keys a menu can use, with the names of their
// parameters: on-0 to on-9, on-star (*) and on-hash (#), which also go by
// on-* and on-# (alias).
var menuKeys = []struct {
	key   byte
	name  string
	alias string
}{
	{'0', "on-0", ""}, {'1', "on-1", ""}, {'2', "on-2", ""}, {'3', "on-3", ""}, {'4', "on-4", ""},
	{'5', "on-5", ""}, {'6', "on-6", ""}, {'7', "on-7", ""}, {'8', "on-8", ""}, {'9', "on-9", ""},
	{'*', "on-star", "on-*"}, {'#', "on-hash", "on-#"},
}

// menuHangup is the option value that hangs up.
const menuHangup = "hangup"

// ivrParams are the elks element's parameters of barge-in and menus.
func ivrParams() []pipeline.Param {
	ps := []pipeline.Param{{Name: "barge-in", Type: pipeline.TypeEnum, Choices: []string{"dtmf", "voice", "off"},
		Doc: "dtmf: a key the caller presses interrupts what the caller has not heard yet, and the pipeline plays on " +
			"from where it had got to (turns dtmf= on); voice: so does the caller's speech (energy above the line's noise, " +
			"100 ms, see docs/ivr.md; not with on-KEY menus); default: dtmf with on-KEY menus, off otherwise"}}
	for i, k := range menuKeys {
		doc := fmt.Sprintf("menu: key %c, like on-0", k.key)
		if i == 0 {
			doc = "menu: key 0 interrupts the prompt (the pipeline served) and plays this pipeline (pipe syntax, no sink), " +
				"then the prompt again from its start; or hangup; on-star (on-*) is *, on-hash (on-#) # (turns dtmf= on)"
		}
		p := pipeline.Param{Name: k.name, Type: pipeline.TypeString, Doc: doc}
		if k.alias != "" {
			p.Aliases = []string{k.alias}
		}
		ps = append(ps, p)
	}
	return ps
}

// ivr is the barge-in and menu of an elks sink.
type ivr struct {
	bargeIn bool
	voice   bool                 // speech barges in too (barge-in=voice)
	options map[byte]*menuOption // nil: no menu
}

// menuOption is what a key of a menu does.
type menuOption struct {
	param  string          // on-KEY
	g      *pipeline.Graph // nil: hang up
	hangup bool
}

// newIVR reads the barge-in and on-KEY parameters of the elks element,
// parsing each option's pipeline; nil when none is given.
func newIVR(a pipeline.Args, f Format) (*ivr, error) {
	v := &ivr{}
	for _, k := range menuKeys {
		if !a.Has(k.name) {
			continue
		}
		text := a.String(k.name)
		o := &menuOption{param: k.name}
		if text == menuHangup {
			o.hangup = true
		} else {
			g, err := pipeline.SourceGraph(text)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k.name, err)
			}
			o.g = g
		}
		if v.options == nil {
			v.options = map[byte]*menuOption{}
		}
		v.options[k.key] = o
	}
	switch {
	case a.Has("barge-in"):
		v.bargeIn = a.String("barge-in") != "off"
		v.voice = a.String("barge-in") == "voice"
	case v.options != nil:
		v.bargeIn = true
	}
	if !v.bargeIn && v.options == nil {
		return nil, nil
	}
	if v.voice && v.options != nil {
		return nil, errors.New("barge-in=voice interrupts and plays on, and a menu (on-KEY) waits for keys: " +
			"use barge-in=dtmf with a menu, or barge-in=voice without one")
	}
	if info, err := f.Info(); err == nil && info.File && v.options == nil {
		return nil, fmt.Errorf("barge-in plays on after the interrupt, which format=%s cannot: it passes whole files "+
			"through (use a sample format such as ulaw or pcm_16000)", f)
	}
	return v, nil
}

// check opens every option's pipeline once, as Serve does the prompt's.
func (v *ivr) check(ctx context.Context, f Format, info FormatInfo, cfg Config) error {
	for _, k := range menuKeys {
		o := v.options[k.key]
		if o == nil || o.g == nil {
			continue
		}
		if err := checkOption(ctx, o.g, f, info, cfg); err != nil {
			return fmt.Errorf("%s: %w", o.param, err)
		}
	}
	return nil
}

// checkOption reports whether g opens (for wav and mp3: whether it is
// plain files and playlists, optionally looped, that exist).
func checkOption(ctx context.Context, g *pipeline.Graph, f Format, info FormatInfo, cfg Config) error {
	if st, ok := g.StdinStage(); ok {
		return pipeline.Misconfigured(pipeline.StageErr(st.Name, errors.New("an option plays anew at every key press, so it cannot read standard input: give a file")))
	}
	if info.File {
		plan, err := passthroughPlan(g, f)
		if err != nil {
			return pipeline.Misconfigured(err)
		}
		return plan.check()
	}
	octx, release := withoutObserver(ctx)
	defer release()
	src, _, err := g.Open(sources.WithExecHook(context.WithValue(octx, checkKey{}, cfg.ListenFormat), checkExec(cfg.Format)))
	if err != nil {
		return err
	}
	return pipeline.Close(src)
}

// ivrHandler checks the options of k's menu and returns the Handler that
// plays g with them.
func (k *Sink) ivrHandler(ctx context.Context, g *pipeline.Graph) (Handler, error) {
	cfg, err := k.srv.Config.withDefaults()
	if err != nil {
		return nil, err
	}
	info, err := cfg.Format.Info()
	if err != nil {
		return nil, err
	}
	if err := k.ivr.check(ctx, cfg.Format, info, cfg); err != nil {
		return nil, err
	}
	return k.ivr.handler(g, k.srv.KeepOpen), nil
}

// handler returns the Handler that plays the prompt g with v's menu and
// barge-in. keepOpen is the server's KeepOpen.
func (v *ivr) handler(g *pipeline.Graph, keepOpen bool) Handler {
	if v.options == nil {
		return bargeInHandler(g, v.voice)
	}
	return func(ctx context.Context, s *Session) error { return v.serveMenu(ctx, s, g, keepOpen) }
}

// serveMenu plays the prompt, and each menu key's option when pressed,
// until the call ends, a key hangs up, or the prompt has ended and its
// audio played (with keepOpen: until the caller hangs up).
func (v *ivr) serveMenu(ctx context.Context, s *Session, prompt *pipeline.Graph, keepOpen bool) error {
	cur, isPrompt := prompt, true
	for {
		pctx, cancel := context.WithCancel(ctx)
		played := make(chan error, 1)
		go func(g *pipeline.Graph, isPrompt bool) {
			err := ErrCallOver // what a panic leaves: survive ends the call
			defer func() { played <- err }()
			defer s.survive("menu's player")
			err = playMenuItem(pctx, s, g, isPrompt, keepOpen)
		}(cur, isPrompt)
		o, err := v.waitKey(s, played)
		cancel()
		if o != nil {
			<-played // stopped by the interrupt or by cancel
		}
		switch {
		case o == nil && (err != nil || isPrompt):
			return err
		case o == nil:
			cur, isPrompt = prompt, true // the option ended: the prompt again
		case o.hangup:
			return s.Hangup()
		default:
			cur, isPrompt = o.g, false
		}
	}
}

// playMenuItem plays g, the prompt or an option. A prompt's play ends
// once its audio has played (with keepOpen: once the caller hangs up),
// as keys still count while it plays out.
func playMenuItem(ctx context.Context, s *Session, g *pipeline.Graph, isPrompt, keepOpen bool) error {
	err := s.PlayGraph(ctx, g)
	if err != nil || !isPrompt {
		return err
	}
	if !keepOpen {
		return s.Drain(ctx)
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-s.Done():
		return s.endErr(s.End())
	}
}

// waitKey waits until what plays ends (returning nil and how it ended) or
// a key of the menu is pressed (returning its option, having interrupted
// what played when v barges in).
func (v *ivr) waitKey(s *Session, played <-chan error) (*menuOption, error) {
	for {
		select {
		case err := <-played:
			return nil, err
		case d := <-s.Digits():
			o := v.options[d.Key]
			if o == nil {
				s.Logger().Info("menu: key not in the menu, ignored", "digit", d.String())
				continue
			}
			s.Logger().Info("menu: key pressed", "digit", d.String(), "option", o.param)
			if v.bargeIn {
				s.Interrupt()
			}
			return o, nil
		}
	}
}

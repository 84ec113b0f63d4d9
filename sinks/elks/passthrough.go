package elks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/elkspipe/elkspipe/internal/keep"
	"github.com/elkspipe/elkspipe/internal/media"
	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sources"
)

// passthroughPiece is the most bytes of a file that one audio message
// carries in the file formats, as in 46elks' own example (32 KiB pieces).
//
// Within it, a piece is as long as the window has room for, up to the
// next checkpoint (see passPieceRoom): a file goes out in few messages
// (a 5 s WAV of 8 kHz in three, as in 46elks' example) while the window
// still refills as soon as a reply makes room. A piece is at least one
// chunk of audio (Config.Chunk), so that a window that has room for less
// waits for more instead of splitting the file into slivers; as in the
// encoded formats, the caller hears no gap while the window exceeds the
// round trip by a chunk. Pieces end between frames (WAV blocks, MP3
// frames).
const passthroughPiece = 32 << 10

// passPlan is what a pipeline plays in a file format: sources (files
// and playlists) one after another, the whole looped Loop times (0:
// forever).
type passPlan struct {
	format  Format
	sources []passSource
	loop    int

	mu    sync.Mutex
	files map[keep.Version]passFile // what probe found, by file version
}

// passFile is what probe learns of one version of a file.
type passFile struct {
	frames *media.FrameMap
	dur    time.Duration // decoded
}

type passSource struct {
	name     string // the stage's label, for errors
	files    []string
	playlist bool
	shuffle  bool
	seed     uint64
	seedSet  bool
	skip     bool // playlist on-error=skip
}

// passthroughPlan reads g's stages: only file and playlist sources and
// one final loop may stand in a pipeline whose files go out untouched.
func passthroughPlan(g *pipeline.Graph, f Format) (*passPlan, error) {
	refuse := func(st pipeline.Stage, why string) error {
		return fmt.Errorf("format=%s sends the files' bytes untouched, so the pipeline may only be file and playlist sources, optionally followed by loop: %s %s (use an encoded format such as format=pcm_16000 or format=ulaw to process the audio)", f, st.Name, why)
	}
	if len(g.Sources) == 0 {
		return nil, errors.New("the pipeline has no source")
	}
	p := &passPlan{format: f, loop: 1, files: map[keep.Version]passFile{}}
	for _, st := range g.Sources {
		if st.Node == nil {
			return nil, refuse(st, "was built in Go, not from pipe syntax, so it cannot be passed through")
		}
		a := st.Node.Args
		switch st.Node.Element.Name {
		case "file":
			path := a.String("path")
			if path == "-" {
				return nil, refuse(st, "reads standard input, which cannot be replayed for every call")
			}
			p.sources = append(p.sources, passSource{name: st.Name, files: []string{path}})
		case "playlist":
			for _, k := range []string{"rate", "channels"} {
				if a.Has(k) {
					return nil, refuse(st, "sets "+k+"=, which would convert the audio")
				}
			}
			p.sources = append(p.sources, passSource{
				name: st.Name, files: a.Strings("files"), playlist: true,
				shuffle: a.Bool("shuffle"), seed: uint64(a.Int("seed")), seedSet: a.Has("seed"),
				skip: a.String("on-error") == "skip",
			})
		default:
			return nil, refuse(st, "would change or generate audio")
		}
	}
	for _, st := range g.Transforms {
		if st.Node == nil {
			return nil, refuse(st, "was built in Go, not from pipe syntax, so it cannot be passed through")
		}
		if st.Node.Element.Name != "loop" {
			return nil, refuse(st, "would change the audio")
		}
	}
	if n := len(g.Transforms); n > 1 {
		return nil, refuse(g.Transforms[n-1], "is a second loop; one is enough")
	} else if n == 1 {
		p.loop = g.Transforms[0].Node.Args.Int("count")
	}
	return p, nil
}

// check opens every file the plan plays once and checks its type: a file
// that cannot be passed through is refused before any call, whatever
// on-error says, as it would fail in every call. Entries of an M3U list
// that are not files (URLs) are skipped under on-error=skip.
func (p *passPlan) check() error {
	ctx := context.Background()
	for _, src := range p.sources {
		items, err := src.expand(ctx, nil)
		if err != nil {
			return pipeline.StageErr(src.name, err)
		}
		playable := 0
		for _, it := range items {
			err := it.Err
			if err == nil {
				_, _, err = p.probe(ctx, it.Path)
			} else if src.skip {
				continue
			}
			if err != nil {
				if src.playlist {
					err = fmt.Errorf("item %q: %w", it.Path, err)
				}
				return pipeline.StageErr(src.name, err)
			}
			playable++
		}
		if playable == 0 {
			return pipeline.StageErr(src.name, errors.New("the playlist lists no file that can be played"))
		}
	}
	return nil
}

// expand lists the files (and http(s) URLs) of one source, shuffled with
// rng if asked. An entry of an M3U list that cannot be played (a URL of
// another scheme) comes with its Err. Lists given by URL are fetched
// through the download cache.
func (src *passSource) expand(ctx context.Context, rng *rand.Rand) ([]media.M3UItem, error) {
	var out []media.M3UItem
	for _, f := range src.files {
		if ext := strings.ToLower(filepath.Ext(f)); !src.playlist || (ext != ".m3u" && ext != ".m3u8") {
			out = append(out, media.M3UItem{Path: f})
			continue
		}
		items, err := sources.ReadList(ctx, f)
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
	}
	if len(out) == 0 {
		return nil, errors.New("the playlist lists no files")
	}
	if src.shuffle && rng != nil {
		rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	}
	return out, nil
}

// probe checks that the file at path is of the plan's format and returns
// the map of its frames and its duration (both found once per version of
// the file and remembered).
func (p *passPlan) probe(ctx context.Context, path string) (*media.FrameMap, time.Duration, error) {
	o, err := p.open(ctx, path, nil, nil)
	if err != nil {
		return nil, 0, err
	}
	o.close()
	return o.frames, o.dur, nil
}

// probeBytes checks that the file of size bytes that r reads, version v
// of a file (if known), is of the plan's format and returns the map of
// its frames and its duration.
func (p *passPlan) probeBytes(v keep.Version, known bool, r io.ReaderAt, size int64) (*media.FrameMap, time.Duration, error) {
	head := make([]byte, 12)
	n, _ := r.ReadAt(head, 0)
	kind := media.Sniff(head[:n])
	var pf passFile
	if known {
		p.mu.Lock()
		pf, known = p.files[v]
		p.mu.Unlock()
	}
	if !known {
		dur, err := fileDuration(io.NewSectionReader(r, 0, size))
		if err != nil {
			if kind != "" && kind != "wav" && kind != "mp3" {
				return nil, 0, pipeline.Misconfigured(fmt.Errorf("is %s, but format=%s passes %s files through", kind, p.format, strings.ToUpper(string(p.format))))
			}
			return nil, 0, err
		}
		fm, err := media.MapFramesOf(io.NewSectionReader(r, 0, size), size)
		if err != nil {
			return nil, 0, err
		}
		pf = passFile{fm, dur}
		if v != (keep.Version{}) {
			p.mu.Lock()
			p.files[v] = pf
			p.mu.Unlock()
		}
	}
	if pf.frames.Kind != string(p.format) {
		return nil, 0, pipeline.Misconfigured(fmt.Errorf("is %s file, but format=%s passes %s files through untouched (use format=%s, or an encoded format)", map[string]string{"wav": "a WAV", "mp3": "an MP3"}[pf.frames.Kind], p.format, strings.ToUpper(string(p.format)), pf.frames.Kind))
	}
	if pf.dur <= 0 {
		return nil, 0, errors.New("holds no audio")
	}
	return pf.frames, pf.dur, nil
}

// fileDuration decodes the file's header (or, when that does not
// tell, the whole file) to learn how long it plays.
func fileDuration(r io.Reader) (time.Duration, error) {
	// Decoded on its own, not through sources.File: a file sent untouched
	// has no use for the shared decoding of MP3 files (see sources.File).
	src, err := sources.Decode(r)
	if err != nil {
		return 0, err
	}
	defer pipeline.Close(src)
	f := src.Format()
	frames := pipeline.FramesOf(src)
	if frames < 0 {
		frames = 0
		buf := make([]float32, 8192*f.Channels)
		for {
			n, err := pipeline.ReadSome(src, buf)
			frames += int64(n)
			if err == io.EOF {
				break
			}
			if err != nil {
				return 0, err
			}
		}
	}
	return time.Duration(frames * int64(time.Second) / int64(f.Rate)), nil
}

// playPlan plays the plan: every file of every source, iteration after
// iteration, each file after a "sending" and followed by a checkpoint.
func (s *Session) playPlan(ctx context.Context, p *passPlan) error {
	gen, err := s.beginPlay(ctx)
	if err != nil {
		return err
	}
	defer s.endPlay()
	// What the call keeps of its files (see passthrough_keep.go).
	kctx, release := keep.Scope(ctx)
	defer release()
	mem := keep.From(kctx)
	rngs := make([]*rand.Rand, len(p.sources))
	for i, src := range p.sources {
		seed := src.seed
		if !src.seedSet {
			seed = rand.Uint64()
		}
		rngs[i] = rand.New(rand.NewPCG(seed, 0x656c6b73))
	}
	for iter := 1; p.loop == 0 || iter <= p.loop; iter++ {
		played := 0
		for i := range p.sources {
			src := &p.sources[i]
			items, err := src.expand(ctx, rngs[i])
			if err != nil {
				return pipeline.StageErr(src.name, err)
			}
			for _, it := range items {
				path, err := it.Path, it.Err
				if err == nil {
					s.Logger().Debug("passing a file through", "stage", src.name, "file", path, "iteration", iter)
					err = s.sendFileOf(ctx, gen, p, path, mem)
				}
				if err == nil {
					played++
					continue
				}
				if errors.Is(err, ErrCallOver) || errors.Is(err, ErrInterrupted) || ctx.Err() != nil {
					return err
				}
				if src.playlist {
					err = fmt.Errorf("item %q: %w", path, err)
					if src.skip {
						s.Logger().Warn("playlist item skipped", "stage", src.name, "err", err)
						continue
					}
				}
				return pipeline.StageErr(src.name, err)
			}
		}
		if played == 0 {
			return errors.New("no file could be played")
		}
	}
	return nil
}

// sendFile passes one file through (PlayFile in a file format).
func (s *Session) sendFile(ctx context.Context, gen uint64, path string) error {
	p := &passPlan{format: s.cfg.Format, files: map[keep.Version]passFile{}}
	return pipeline.StageErr(fmt.Sprintf("file %q", path), s.sendFileOf(ctx, gen, p, path, nil))
}

// sendFileOf sends "sending", the bytes of the file at path in pieces,
// and a checkpoint. Pieces end between frames (WAV blocks, MP3 frames),
// so that the audio before every checkpoint can be played in full, and a
// piece counts, for the window, the frames it completes. With a memory
// mem (the call's), the file is kept or replayed as passPlan.open says.
func (s *Session) sendFileOf(ctx context.Context, gen uint64, p *passPlan, path string, mem *keep.Memory) error {
	o, err := p.open(ctx, path, mem, s.Logger())
	if err != nil {
		return err
	}
	defer o.close()
	fm, dur := o.frames, o.dur
	size := fm.Size
	// The bytes a piece of audio of d takes: that share of the audio
	// frames' bytes (tags and other chunks, such as cover art, play for
	// no time).
	perSec := float64(fm.AudioBytes()) / dur.Seconds()
	bytesOf := func(d time.Duration) int64 { return int64(perSec * d.Seconds()) }
	least := min(s.cfg.Chunk, s.cfg.Checkpoint)
	minPiece := min(passthroughPiece, max(256, bytesOf(least)))
	// The frames' own duration, scaled to the file's decoded duration (an
	// MP3's gapless trim makes the decoded one shorter).
	total := fm.Duration(0, size)
	s.mu.Lock()
	if err := s.stopErrLocked(ctx, gen, true); err != nil {
		s.mu.Unlock()
		return err
	}
	s.needSend = true // one "sending" per file
	s.mu.Unlock()
	// endOf is when the audio of the file up to cut ends.
	endOf := func(cut int64) time.Duration {
		if cut >= size || total <= 0 {
			return dur
		}
		return time.Duration(float64(dur) * float64(fm.Duration(0, cut)) / float64(total))
	}
	var off int64
	var sent time.Duration
	for off < size {
		windowRoom, err := s.passPieceRoom(ctx, gen, least, minPiece)
		if err != nil {
			return err
		}
		room := max(least, min(windowRoom, s.cfg.Checkpoint))
		cut := fm.Cut(off, min(passthroughPiece, max(minPiece, bytesOf(room))))
		// The bytes of a variable bit rate do not tell the time: a piece
		// that would play longer than the room is cut shorter.
		for range 4 {
			d := endOf(cut) - sent
			if d <= room || cut-off <= minPiece {
				break
			}
			cut = fm.Cut(off, max(minPiece, int64(float64(cut-off)*float64(room)/float64(d))))
		}
		// A tail shorter than the shortest piece goes with this piece
		// when the room and the 32 KiB allow.
		if cut < size && size-cut < minPiece && size-off <= passthroughPiece && endOf(size)-sent <= windowRoom {
			cut = size
		}
		text := o.b64.get()
		if text != nil {
			cut = passAlign(fm, off, cut, minPiece)
		}
		n := int(cut - off)
		var buf []byte
		if o.data != nil {
			buf = o.data[off:cut]
		} else {
			if cap(s.rawPass) < n {
				s.rawPass = make([]byte, n)
			}
			buf = s.rawPass[:n]
			if _, err := io.ReadFull(o.r, buf); err != nil {
				if err == io.EOF || err == io.ErrUnexpectedEOF {
					return errors.New("the file became shorter while it was being sent")
				}
				return err
			}
		}
		end := endOf(cut)
		// Pieces end on frames, so they rarely fill a checkpoint
		// exactly: the checkpoint goes before a piece that would carry
		// the audio since the last one past the interval.
		s.checkpointBefore(end - sent)
		if text != nil && off%3 == 0 {
			b, err := s.passBuf(ctx, n)
			if err != nil {
				return err
			}
			err = s.sendMessage(ctx, gen, appendPassAudio(b, text, off, buf), true, int64(n), end-sent)
			if err != nil {
				return err
			}
		} else if err := s.sendPiece(ctx, gen, buf, end-sent); err != nil {
			return err
		}
		sent, off = end, cut
	}
	s.checkpoint()
	return nil
}

// passPieceRoom waits until the window has room for a piece of at least
// least of audio and minBytes bytes, and returns how much audio it has
// room for. It must be called by the playing goroutine, without s.mu.
func (s *Session) passPieceRoom(ctx context.Context, gen uint64, least time.Duration, minBytes int64) (time.Duration, error) {
	s.mu.Lock()
	room, _ := s.win.admit(least, minBytes)
	s.mu.Unlock()
	if !room {
		// The window is full, usually for seconds (a checkpoint
		// interval): the message buffers of the pieces just sent, up to
		// 44 KB each, would sit idle until then. Once the writer has
		// written them they go to passBufs, for the calls that are
		// sending: a call waiting for its window holds none.
		if err := s.dropBuffers(ctx); err != nil {
			return 0, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.waitRoomLocked(ctx, gen, least, minBytes); err != nil {
		return 0, err
	}
	inDur, _ := s.win.inFlight()
	return s.win.limit - inDur, nil
}

// passAlign moves cut, the end of a piece of a file from off, back to the
// nearest frame boundary at a multiple of 3 bytes, so that the next piece
// can be copied from the file's shared base64 (appendPassAudio), unless
// that would make the piece shorter than half of minPiece or take more
// than a few frames (MP3 frames are of any length). The file's end stays.
func passAlign(fm *media.FrameMap, off, cut, minPiece int64) int64 {
	if cut >= fm.Size {
		return cut
	}
	c := cut
	for range 8 {
		if c%3 == 0 {
			return c
		}
		if c-1-off < minPiece/2 {
			break
		}
		prev := fm.Cut(off, c-1-off)
		if prev >= c || prev-off < minPiece/2 {
			break
		}
		c = prev
	}
	return cut
}

// passBufs holds the message buffers that calls waiting for their window
// have let go of (dropBuffers), for the pieces of the calls that are
// sending: calls of the file formats send in bursts, a few pieces of up to
// 44 KB each every checkpoint interval, and hold no buffer in between.
var passBufs sync.Pool

// passBuf returns a message buffer for a piece of n bytes, as getBuf does,
// taking new buffers from passBufs.
func (s *Session) passBuf(ctx context.Context, n int) ([]byte, error) {
	if s.nbufs >= audioBuffers || len(s.free) > 0 {
		return s.getBuf(ctx, n)
	}
	s.nbufs++
	if b, ok := passBufs.Get().(*[]byte); ok && cap(*b) >= audioMessageSize(n) {
		return (*b)[:0], nil
	}
	return make([]byte, 0, audioMessageSize(max(n, passthroughPiece))), nil
}

// dropBuffers waits until the writer has written every message buffer of
// the session and puts them in passBufs. It must be called by the playing
// goroutine, without s.mu.
func (s *Session) dropBuffers(ctx context.Context) error {
	for s.nbufs > 0 {
		select {
		case b := <-s.free:
			if cap(b) >= audioMessageSize(passthroughPiece) {
				passBufs.Put(&b)
			}
			s.nbufs--
		case <-s.done:
			return s.stopErr(ctx)
		case <-ctx.Done():
			return s.stopErr(ctx)
		}
	}
	return nil
}

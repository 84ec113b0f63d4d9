package sources

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/elkspipe/elkspipe/internal/keep"
	"github.com/elkspipe/elkspipe/internal/media"
	"github.com/elkspipe/elkspipe/pipeline"
)

func init() {
	pipeline.Register(pipeline.Element{
		Name:      "playlist",
		Kind:      pipeline.KindSource,
		Shareable: playlistShareable,
		Summary:   "play files one after another (WAV, MP3, or M3U/M3U8 lists of them), converted to one format",
		Example:   "playlist intro.wav hold.mp3 | loop 3 | wav out.wav",
		Details:   playlistDetails,
		Params: []pipeline.Param{
			{Name: "files", Type: pipeline.TypePath, Positional: true, Variadic: true, Required: true,
				Doc: "the files or http(s) URLs to play; .m3u/.m3u8/.pls lists are expanded to the entries they list"},
			{Name: "shuffle", Type: pipeline.TypeBool, Default: "false",
				Doc: "play in random order (a new order every time the playlist is re-opened, e.g. by loop)"},
			{Name: "seed", Type: pipeline.TypeInt,
				Doc: "seed for shuffle, for a repeatable order (absent: random)"},
			{Name: "on-error", Type: pipeline.TypeEnum, Choices: []string{"skip", "stop"}, Default: "skip",
				Doc: "what a broken item does: skip it with a warning, or stop the run with its error"},
			{Name: "rate", Type: pipeline.TypeRate,
				Doc: "output sample rate (absent: the first item's)"},
			pipeline.Param{Name: "channels", Type: pipeline.TypeInt,
				Doc: "output channels (absent: the first item's)"}.Range(1, pipeline.MaxChannels),
		},
		NewSource: func(a pipeline.Args) (pipeline.Opener, error) {
			opt := PlaylistOptions{
				Shuffle:    a.Bool("shuffle"),
				Seed:       uint64(a.Int("seed")),
				SeedSet:    a.Has("seed"),
				SkipBroken: a.String("on-error") == "skip",
				Format:     pipeline.Format{Rate: a.Int("rate"), Channels: a.Int("channels")},
			}
			return Playlist(a.Strings("files"), opt)
		},
	})
}

// PlaylistOptions configures Playlist.
type PlaylistOptions struct {
	// Shuffle plays the items in a random order, drawn anew at every open.
	Shuffle bool
	// Seed seeds the shuffle when SeedSet, so that the sequence of orders
	// is the same on every run.
	Seed    uint64
	SeedSet bool
	// SkipBroken skips items that cannot be opened or decoded (reporting
	// a pipeline.ItemSkipped event) instead of failing.
	SkipBroken bool
	// Format fixes the output format; a zero Rate or Channels takes the
	// first item's.
	Format pipeline.Format
}

// Playlist returns an Opener that plays the files one after another, each
// converted to one format, with an ItemStarted and ItemEnded event for each.
// A broken item skipped with opt.SkipBroken is reported (ItemSkipped) once
// per call, that is per context that the Opener is called with and its
// loop iterations share, not at every re-opening.
// Files and http(s) URLs may be given (see File). Those whose name ends in
// .m3u or .m3u8 (or .pls) are read (when opened) as lists of files: one
// path or URL per line, blank lines and #-comments ignored, relative paths
// taken from the list's folder, or for a list fetched by URL, resolved
// against the list's URL.
func Playlist(files []string, opt PlaylistOptions) (pipeline.Opener, error) {
	if len(files) == 0 {
		return nil, fmt.Errorf("no files to play")
	}
	seed := opt.Seed
	if !opt.SeedSet {
		seed = uint64(time.Now().UnixNano())
	}
	rng := rand.New(rand.NewPCG(seed, 0x656c6b73)) // "elks"
	var rngMu sync.Mutex                           // the Opener may run for several calls at once
	reported := &skipReports{seen: map[<-chan struct{}]map[string]bool{}}
	return func(ctx context.Context) (pipeline.Source, error) {
		items, err := expandPlaylist(ctx, files)
		if err != nil {
			return nil, err
		}
		if opt.Shuffle {
			rngMu.Lock()
			rng.Shuffle(len(items), func(i, j int) { items[i], items[j] = items[j], items[i] })
			rngMu.Unlock()
		}
		opens := make([]pipeline.Opener, len(items))
		names := make([]string, len(items))
		for i, it := range items {
			names[i] = it.Path
			if it.Err != nil {
				opens[i] = failingOpener(it.Err)
			} else {
				opens[i] = File(it.Path)
			}
		}
		return pipeline.Concat(ctx, opens, pipeline.ConcatOptions{
			Stage: "playlist", Names: names, Format: opt.Format, SkipBroken: opt.SkipBroken,
			ReportSkip: reported.once(ctx),
		})
	}, nil
}

// skipReports remembers which broken items of a playlist have been
// reported, per call: per Done channel of the context the playlist is
// opened with, which loop iterations share and every call of a server has
// its own. An entry goes when its context is done; contexts that are never
// done share one, for the life of the Opener.
type skipReports struct {
	mu   sync.Mutex
	seen map[<-chan struct{}]map[string]bool
}

// once returns a pipeline.ConcatOptions.ReportSkip that reports each item
// (by name) once for the call of ctx.
func (r *skipReports) once(ctx context.Context) func(int, string) bool {
	done := ctx.Done()
	return func(_ int, name string) bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		set := r.seen[done]
		if set == nil {
			set = map[string]bool{}
			r.seen[done] = set
			if done != nil {
				context.AfterFunc(ctx, func() {
					r.mu.Lock()
					delete(r.seen, done)
					r.mu.Unlock()
				})
			}
		}
		if set[name] {
			return false
		}
		set[name] = true
		return true
	}
}

// failingOpener returns an Opener that fails with err: a playlist entry
// that cannot be played, skipped or reported like a file that does not open.
func failingOpener(err error) pipeline.Opener {
	return func(context.Context) (pipeline.Source, error) { return nil, err }
}

// expandPlaylist replaces every .m3u/.m3u8/.pls file or http(s) URL in
// files by the entries it lists.
func expandPlaylist(ctx context.Context, files []string) ([]media.M3UItem, error) {
	var out []media.M3UItem
	for _, f := range files {
		if !isPlaylistName(f) || (isURL(f) && !isHTTP(f)) {
			if isURL(f) && !isHTTP(f) {
				if _, err := os.Stat(f); errors.Is(err, fs.ErrNotExist) {
					return nil, fmt.Errorf("%s: %w", f, errURL(f))
				}
			}
			out = append(out, media.M3UItem{Path: f})
			continue
		}
		items, err := readList(ctx, f)
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the playlist lists no files")
	}
	return out, nil
}

// readList reads the playlist file or http(s) URL list.
func readList(ctx context.Context, list string) ([]media.M3UItem, error) {
	if !isHTTP(list) {
		keep.OpenedPath(ctx, list)
		return media.ReadM3UItems(list)
	}
	f, err := openURL(ctx, list)
	if err != nil {
		openedURL(ctx, list, nil)
		return nil, fmt.Errorf("%s: %w", list, err)
	}
	openedURL(ctx, list, f)
	defer f.Close()
	return media.ParseList(f, list, strings.EqualFold(path.Ext(urlPath(list)), ".pls"))
}

// ReadM3U reads an M3U or M3U8 playlist file and returns the paths and
// http(s) URLs it lists, relative paths resolved against the list's folder.
// Comment lines (#EXTM3U, #EXTINF and others) and blank lines are skipped;
// a URL of another scheme is an error.
func ReadM3U(path string) ([]string, error) {
	items, err := media.ReadM3UItems(path)
	if err != nil {
		return nil, err
	}
	paths := make([]string, len(items))
	for i, it := range items {
		if it.Err != nil {
			return nil, fmt.Errorf("%q %w", it.Path, it.Err)
		}
		paths[i] = it.Path
	}
	return paths, nil
}

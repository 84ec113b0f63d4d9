package sources

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/elkspipe/elkspipe/internal/keep"
	"github.com/elkspipe/elkspipe/internal/media"
	"github.com/elkspipe/elkspipe/internal/mp3"
	"github.com/elkspipe/elkspipe/pipeline"
)

func init() {
	pipeline.Register(pipeline.Element{
		Name:      "file",
		Kind:      pipeline.KindSource,
		Shareable: func(a pipeline.Args) bool { return versioned(a.String("path")) },
		Summary:   "play a WAV, MP3 or FLAC file, recognised by its content (- reads standard input)",
		Example:   "file hold.mp3 | resample 8k | wav hold-8k.wav",
		Details:   fileDetails,
		Params: []pipeline.Param{
			{Name: "path", Type: pipeline.TypePath, Positional: true, Required: true,
				Doc: "the file or http(s) URL to play, or - for standard input"},
		},
		NewSource: func(a pipeline.Args) (pipeline.Opener, error) { return File(a.String("path")), nil },
	})
}

// File returns an Opener that plays the WAV, MP3 or FLAC file at path,
// telling them apart by their content rather than the file name. The path
// "-" reads standard input. An http or https URL is fetched into the
// download cache (see SetCacheDir and docs/urls.md) and played from there
// like a file: the openings of a URL whose copy is fresh make no request,
// and share its decoding. An opening reports the version of the copy it
// plays (keep.OpenedAs), so that a server's shared renderings of the URL
// are joined only while the cache would play that copy (docs/sharing.md).
// Other formats get an error that names them and says how
// to convert them. The openings of an MP3 file share one decoding of it
// (see SetMP3CacheSize).
//
// Within a loop (transforms.Loop), the openings of one instance of the
// pipeline keep the audio they played: an iteration that finds the file
// deleted, truncated or no longer decodable plays that audio again, and
// the failure is logged once at warn level on log/slog's default logger;
// an opening outside that instance (the next call) fails with the error,
// naming the file. A file replaced atomically plays its new content from
// the next iteration on. Kept copies of files that are not shared MP3
// decodings take at most 64 MiB per process; a file that does not fit
// keeps nothing and its loop ends with the error.
func File(path string) pipeline.Opener {
	return func(ctx context.Context) (pipeline.Source, error) {
		if m := keep.From(ctx); m != nil && path != "-" {
			return openKept(ctx, m, opening{kind: "file", path: path, open: func(ctx context.Context) (io.ReadCloser, error) { return openPath(ctx, path) },
				decode: func(rc io.ReadCloser) (pipeline.Source, error) { return decodeFile(path, rc) }, decodeCopy: Decode})
		}
		rc, err := openPath(ctx, path)
		if err != nil {
			return nil, err
		}
		return decodeFile(path, rc)
	}
}

// decodeFile decodes rc, opened from path, sharing the decoding of an MP3
// file. It closes rc on error.
func decodeFile(path string, rc io.ReadCloser) (pipeline.Source, error) {
	key, cacheable := keep.VersionOf(path, rc)
	if cacheable {
		if src := mp3Cache.lookup(key); src != nil {
			rc.Close()
			return src, nil
		}
	}
	src, err := Decode(rc)
	if m, ok := src.(*mp3Source); ok && cacheable {
		if shared := mp3Cache.share(key, m); shared != nil {
			return shared, nil
		}
	}
	if dl, ok := rc.(*media.Download); ok {
		measureWhenDownloaded(src, dl)
	}
	return src, err
}

// measureWhenDownloaded lets an MP3 without a Xing/Info header that plays
// while it downloads tell its length as a file does: Frames waits for the
// download and counts the frames of the whole body.
func measureWhenDownloaded(src pipeline.Source, dl *media.Download) {
	m, ok := src.(*mp3Source)
	if !ok || m.length >= 0 || m.recount != nil || m.scan.HasTag() {
		return
	}
	m.recount = func() int64 {
		ra, size, err := dl.Complete(context.Background())
		if err != nil {
			return -1
		}
		return mp3.CountSamples(io.NewSectionReader(ra, 0, size))
	}
}

// openPath opens a file for reading, an http or https URL through the
// download cache (see SetCacheDir), or standard input for "-" (which
// closing does not close; see openStdin), and trims the path from the
// error: the stage label already names the file.
func openPath(ctx context.Context, path string) (io.ReadCloser, error) {
	if path == "-" {
		keep.Opened(ctx, path, nil) // no version: read once
		return openStdin(ctx), nil
	}
	if isHTTP(path) {
		if isPlaylistName(urlPath(path)) {
			return nil, errPlaylistFile
		}
		rc, err := openURL(ctx, path)
		if err != nil {
			openedURL(ctx, path, nil)
			return nil, err
		}
		openedURL(ctx, path, rc)
		return rc, nil
	}
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && isURL(path) {
			return nil, errURL(path)
		}
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return nil, pe.Err
		}
		return nil, err
	}
	if st, err := f.Stat(); err == nil && st.IsDir() {
		f.Close()
		return nil, errors.New("is a directory, not an audio file")
	}
	if isPlaylistName(path) {
		f.Close()
		return nil, errPlaylistFile
	}
	keep.Opened(ctx, path, f)
	return f, nil
}

// errEmpty is Decode's error for an input with no byte.
var errEmpty = errors.New("empty file")

// readCloser joins a buffered reader to the Close of what it reads.
type readCloser struct {
	*bufio.Reader
	io.Closer
}

// Decode reads a WAV, MP3 or FLAC stream from r, sniffing which it is. The
// returned Source closes r when closed if r is an io.Closer; on error r is
// closed.
func Decode(r io.Reader) (pipeline.Source, error) {
	size := inputSize(r)
	ra, base, raSize := mp3Whole(r) // before buffering moves the offset
	br := bufio.NewReaderSize(r, 64<<10)
	var in io.Reader = br
	if c, ok := r.(io.Closer); ok {
		in = readCloser{br, c}
	}
	fail := func(err error) (pipeline.Source, error) {
		if c, ok := r.(io.Closer); ok {
			c.Close()
		}
		return nil, err
	}
	head, err := br.Peek(12)
	if len(head) == 0 {
		if err == nil || err == io.EOF {
			return fail(errEmpty)
		}
		return fail(err)
	}
	kind := media.Sniff(head)
	if kind == "" {
		// MP3 streams may start with junk or zeros before the first frame.
		more, _ := br.Peek(br.Size())
		if mp3.FindStream(more) {
			kind = "mp3"
		}
	}
	if kind == "mp3" && flacAfterID3(br, ra, base) {
		kind = "FLAC"
	}
	switch kind {
	case "FLAC":
		c, _ := r.(io.Closer)
		return decodeFLAC(br, c)
	case "wav":
		c, _ := r.(io.Closer)
		return decodeWAV(br, c, size)
	case "mp3":
		return decodeMP3(in, ra, base, raSize)
	case "":
		return fail(fmt.Errorf("not a WAV, MP3 or FLAC file (it starts with %q); for headerless audio use: raw PATH rate=… enc=…", media.Printable(head)))
	case media.Sniff([]byte("#EXTM3U")): // Sniff's name for an M3U playlist
		return fail(errPlaylistFile)
	default:
		return fail(fmt.Errorf("%s is not supported: elkspipe reads WAV, MP3 and FLAC; convert with: ffmpeg -i IN -c:a pcm_s16le OUT.wav", kind))
	}
}

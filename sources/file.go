package sources

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/elkspipe/elkspipe/internal/media"
	"github.com/elkspipe/elkspipe/internal/mp3"
	"github.com/elkspipe/elkspipe/pipeline"
)

func init() {
	pipeline.Register(pipeline.Element{
		Name:    "file",
		Kind:    pipeline.KindSource,
		Summary: "play a WAV, MP3 or FLAC file, recognised by its content (- reads standard input)",
		Example: "file hold.mp3 | resample 8k | wav hold-8k.wav",
		Details: fileDetails,
		Params: []pipeline.Param{
			{Name: "path", Type: pipeline.TypePath, Positional: true, Required: true,
				Doc: "the file to play, or - for standard input"},
		},
		NewSource: func(a pipeline.Args) (pipeline.Opener, error) { return File(a.String("path")), nil },
	})
}

// File returns an Opener that plays the WAV, MP3 or FLAC file at path,
// telling them apart by their content rather than the file name. The path
// "-" reads standard input. Other formats get an error that names them and says how
// to convert them. The openings of an MP3 file share one decoding of it
// (see SetMP3CacheSize).
func File(path string) pipeline.Opener {
	return func(ctx context.Context) (pipeline.Source, error) {
		rc, err := openPath(ctx, path)
		if err != nil {
			return nil, err
		}
		key, cacheable := mp3CacheKeyOf(path, rc)
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
		return src, err
	}
}

// openPath opens a file for reading, or standard input for "-" (which
// closing does not close; see openStdin), and trims the path from the
// error: the stage label already names the file.
func openPath(ctx context.Context, path string) (io.ReadCloser, error) {
	if path == "-" {
		return openStdin(ctx), nil
	}
	f, err := os.Open(path)
	if err != nil {
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
	return f, nil
}

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
			return fail(errors.New("empty file"))
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
	default:
		return fail(fmt.Errorf("%s is not supported: elkspipe reads WAV, MP3 and FLAC; convert with: ffmpeg -i IN -c:a pcm_s16le OUT.wav", kind))
	}
}

package sources

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/elkspipe/elkspipe/pipeline"
)

func init() {
	pipeline.Register(pipeline.Element{
		Name:    "file",
		Kind:    pipeline.KindSource,
		Summary: "play a WAV or MP3 file, recognised by its content (- reads standard input)",
		Example: "file hold.mp3 | resample 8k | wav hold-8k.wav",
		Details: fileDetails,
		Params: []pipeline.Param{
			{Name: "path", Type: pipeline.TypePath, Positional: true, Required: true,
				Doc: "the file to play, or - for standard input"},
		},
		NewSource: func(a pipeline.Args) (pipeline.Opener, error) { return File(a.String("path")), nil },
	})
}

// File returns an Opener that plays the WAV or MP3 file at path, telling the
// two apart by their content rather than the file name. The path "-" reads
// standard input. Other formats get an error that names them and says how
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

// Decode reads a WAV or MP3 stream from r, sniffing which it is. The
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
	kind := Sniff(head)
	if kind == "" {
		// MP3 streams may start with junk or zeros before the first frame.
		more, _ := br.Peek(br.Size())
		if findMPEGStream(more) {
			kind = "mp3"
		}
	}
	switch kind {
	case "wav":
		c, _ := r.(io.Closer)
		return decodeWAV(br, c, size)
	case "mp3":
		return decodeMP3(in, ra, base, raSize)
	case "":
		return fail(fmt.Errorf("not a WAV or MP3 file (it starts with %q); for headerless audio use: raw PATH rate=… enc=…", printable(head)))
	default:
		return fail(fmt.Errorf("%s is not supported: elkspipe reads WAV and MP3; convert with: ffmpeg -i IN -c:a pcm_s16le OUT.wav", kind))
	}
}

// Sniff names the audio format that a file starting with head holds: "wav"
// and "mp3" are the ones elkspipe decodes; other known formats are named
// for error messages; "" means unknown. It needs the first 12 bytes.
func Sniff(head []byte) string {
	at := func(off int, s string) bool {
		return len(head) >= off+len(s) && string(head[off:off+len(s)]) == s
	}
	switch {
	case (at(0, "RIFF") || at(0, "RF64") || at(0, "BW64") || at(0, "RIFX")) && at(8, "WAVE"):
		return "wav"
	case at(0, "ID3"):
		return "mp3"
	case len(head) >= 2 && head[0] == 0xFF && head[1]&0xF6 == 0xF0:
		return "AAC (ADTS)" // MPEG sync with the reserved layer 00
	case len(head) >= 2 && head[0] == 0xFF && head[1]&0xE0 == 0xE0:
		return "mp3" // an MPEG audio frame; the decoder tells layer and version apart
	case at(0, "OggS"):
		return "Ogg (Vorbis or Opus)"
	case at(0, "fLaC"):
		return "FLAC"
	case at(0, "FORM") && (at(8, "AIFF") || at(8, "AIFC")):
		return "AIFF"
	case at(4, "ftyp"):
		return "MP4/M4A (AAC)"
	case at(0, "#!AMR"):
		return "AMR"
	case at(0, ".snd"):
		return "Sun/NeXT AU"
	case at(0, "caff"):
		return "Core Audio (CAF)"
	case at(0, "\x30\x26\xB2\x75"):
		return "ASF/WMA"
	case at(0, "#EXTM3U"), at(0, "\xEF\xBB\xBF#EXTM3U"):
		return "an M3U playlist (give it to the playlist element, not as a file or an item of another list)"
	case at(0, "RIFF"):
		return "a RIFF file that is not WAVE"
	}
	return ""
}

func printable(b []byte) string {
	out := bytes.Map(func(r rune) rune {
		if r < 32 || r > 126 {
			return '.'
		}
		return r
	}, b)
	return string(out)
}

// findMPEGStream reports whether b holds, somewhere, an MPEG audio frame
// followed by three more frames of the same stream: the test the MP3
// decoder applies to find the first frame after junk.
func findMPEGStream(b []byte) bool {
	for i := 0; i+4 <= len(b); i++ {
		if b[i] != 0xFF {
			continue
		}
		if h, ok := parseMP3Header(b[i:]); ok && h.size > 0 && followerOK(b[i:], h, h, 3, false) {
			return true
		}
	}
	return false
}

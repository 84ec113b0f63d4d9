package media

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/elkspipe/elkspipe/internal/mp3"
	"github.com/elkspipe/elkspipe/internal/wav"
)

// FrameMap tells where the audio frames of a WAV or MP3 file lie, so that
// the file's bytes can be cut into pieces that each end on a whole frame,
// and how long each piece plays. Passthrough senders need it (the elks
// sink's format=wav and format=mp3): a piece that ends inside a frame
// cannot be played until the next piece arrives, so a checkpoint after it
// could not be answered in time.
type FrameMap struct {
	// Kind is "wav" or "mp3"; Size the file's length in bytes; Rate its
	// sample rate.
	Kind string
	Size int64
	Rate int

	// WAV: whole blocks of block bytes from dataStart to dataEnd.
	dataStart, dataEnd, block int64
	// MP3: the byte offsets at which each audio frame starts and ends,
	// ascending; each frame decodes to spf samples per channel.
	starts, ends []int64
	spf          int
}

// MapFrames reads the WAV or MP3 file at path and maps its frames. Other
// files get the error the file source gives them.
func MapFrames(path string) (*FrameMap, error) {
	f, err := os.Open(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, errors.New("is a directory, not an audio file")
	}
	return MapFramesOf(f, st.Size())
}

// MapFramesOf maps the frames of a WAV or MP3 file of size bytes read
// from r (a copy of the file in memory, or the file opened).
func MapFramesOf(r io.Reader, size int64) (*FrameMap, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(br.Size())
	kind := Sniff(head)
	if kind == "" && mp3.FindStream(head) {
		kind = "mp3"
	}
	m := &FrameMap{Kind: kind, Size: size}
	switch kind {
	case "wav":
		h, err := wav.ReadHeader(br, size)
		if err != nil {
			return nil, err
		}
		m.Rate, m.block, m.dataStart = h.Format.Rate, int64(h.Encoding.Container*h.Format.Channels), h.DataStart
		m.dataEnd = m.Size
		if h.DataSize >= 0 {
			m.dataEnd = min(m.Size, h.DataStart+h.DataSize/m.block*m.block)
		}
	case "mp3":
		sc := mp3.NewScanner(br)
		h, err := sc.Start()
		if err != nil {
			return nil, err
		}
		m.Rate, m.spf = h.Rate, h.SamplesPerFrame()
		for {
			_, err := sc.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, mp3.ReadError(err)
			}
			m.starts = append(m.starts, sc.FrameOffset())
			m.ends = append(m.ends, sc.Offset())
		}
	case "":
		return nil, fmt.Errorf("not a WAV or MP3 file (it starts with %q)", Printable(head[:min(len(head), 12)]))
	default:
		return nil, fmt.Errorf("%s is not a WAV or MP3 file", kind)
	}
	return m, nil
}

// Cut returns where the piece of the file that starts at byte off should
// end so that it holds at most max bytes and ends between frames: at
// off+max unless that falls inside a frame (a WAV block, an MP3 frame),
// then at the start of that frame, or at its end when the frame started
// before off. Bytes that are not audio (headers, tags, trailing chunks)
// may be cut anywhere. It returns Size at the end of the file.
func (m *FrameMap) Cut(off, max int64) int64 {
	c := off + max
	if c >= m.Size {
		return m.Size
	}
	start, end, inside := m.frameAround(c)
	switch {
	case !inside:
		return c
	case start > off:
		return start
	default:
		return end
	}
}

// frameAround returns the frame that byte offset c falls strictly inside,
// if any.
func (m *FrameMap) frameAround(c int64) (start, end int64, inside bool) {
	if m.Kind == "wav" {
		if c <= m.dataStart || c >= m.dataEnd || (c-m.dataStart)%m.block == 0 {
			return 0, 0, false
		}
		start = m.dataStart + (c-m.dataStart)/m.block*m.block
		return start, start + m.block, true
	}
	i := sort.Search(len(m.ends), func(i int) bool { return m.ends[i] > c })
	if i == len(m.ends) || m.starts[i] >= c {
		return 0, 0, false
	}
	return m.starts[i], m.ends[i], true
}

// AudioBytes returns how many bytes of the file are audio frames, without
// headers, tags or other chunks.
func (m *FrameMap) AudioBytes() int64 {
	if m.Kind == "wav" {
		return m.dataEnd - m.dataStart
	}
	var n int64
	for i := range m.ends {
		n += m.ends[i] - m.starts[i]
	}
	return n
}

// Duration returns how long the audio in bytes [from, to) plays.
func (m *FrameMap) Duration(from, to int64) time.Duration {
	return time.Duration(m.Frames(from, to) * int64(time.Second) / int64(m.Rate))
}

// Frames returns the sample frames of the audio in bytes [from, to): those
// of the whole frames (WAV blocks, MP3 frames) that end inside it.
func (m *FrameMap) Frames(from, to int64) int64 {
	var samples int64
	if m.Kind == "wav" {
		a, b := max(from, m.dataStart), min(to, m.dataEnd)
		if b > a {
			samples = (b-m.dataStart)/m.block - (a-m.dataStart)/m.block
		}
	} else {
		first := sort.Search(len(m.ends), func(i int) bool { return m.ends[i] > from })
		last := sort.Search(len(m.ends), func(i int) bool { return m.ends[i] > to })
		samples = int64(last-first) * int64(m.spf)
	}
	return samples
}

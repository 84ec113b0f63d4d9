// Command resamplebench resamples a raw signed 16-bit little-endian PCM file
// with elkspipe's resampler, the way `sox in -r RATE -c 1 out` does:
// downmix to mono (optional), resample, write 16-bit. bench/compare.sh times
// it against sox and ffmpeg.
//
//	resamplebench -rate 44100 -channels 2 -mono -to 8000 -in in.raw -o out.raw
//
// It streams raw PCM so that it depends on nothing but the resampler; it
// prints the time spent reading, resampling and converting (without the
// writes) on standard error.
package main

import (
	"bufio"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/transforms"
)

func main() {
	in := flag.String("in", "", "input file, raw s16le")
	out := flag.String("o", "", "output file, raw s16le (empty: discard)")
	rate := flag.Int("rate", 44100, "input sample rate")
	channels := flag.Int("channels", 2, "input channels")
	mono := flag.Bool("mono", false, "downmix to mono before resampling")
	to := flag.Int("to", 8000, "output sample rate")
	quality := flag.String("quality", "high", "quick, low, medium, high or veryhigh")
	flag.Parse()
	if err := run(*in, *out, *rate, *channels, *mono, *to, *quality); err != nil {
		fmt.Fprintln(os.Stderr, "resamplebench:", err)
		os.Exit(1)
	}
}

func run(in, out string, rate, channels int, mono bool, to int, quality string) error {
	q, err := transforms.ParseQuality(quality)
	if err != nil {
		return err
	}
	f := pipeline.Format{Rate: rate, Channels: channels}
	if err := f.Validate(); err != nil {
		return err
	}
	file, err := os.Open(in)
	if err != nil {
		return err
	}
	defer file.Close()
	start := time.Now()
	var src pipeline.Source = &rawS16{r: bufio.NewReaderSize(file, 1<<16), f: f}
	if mono {
		src = &downmix{src: src}
	}
	src, err = transforms.ResampleSource(src, to, q)
	if err != nil {
		return err
	}
	var w io.Writer = io.Discard
	if out != "" {
		file, err := os.Create(out)
		if err != nil {
			return err
		}
		defer file.Close()
		bw := bufio.NewWriterSize(file, 1<<16)
		defer bw.Flush()
		w = bw
	}
	ch := src.Format().Channels
	buf := make([]float32, 4096*ch)
	pcm := make([]byte, 2*len(buf))
	var frames int64
	var spent time.Duration
	for {
		n, err := src.Read(buf)
		for i, v := range buf[:n*ch] {
			s := math.RoundToEven(float64(v) * 32768)
			s = max(-32768, min(32767, s))
			binary.LittleEndian.PutUint16(pcm[2*i:], uint16(int16(s)))
		}
		t := time.Now()
		if _, werr := w.Write(pcm[:2*n*ch]); werr != nil {
			return werr
		}
		spent += time.Since(t)
		frames += int64(n)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	el := time.Since(start) - spent
	secs := float64(frames) / float64(to)
	fmt.Fprintf(os.Stderr, "resampled %.1f s to %d frames in %v (reading and converting included): %.0f× real time\n",
		secs, frames, el.Round(time.Microsecond), secs/el.Seconds())
	return nil
}

// rawS16 reads interleaved signed 16-bit little-endian PCM.
type rawS16 struct {
	r   io.Reader
	f   pipeline.Format
	buf []byte
	err error
}

func (s *rawS16) Format() pipeline.Format { return s.f }

func (s *rawS16) Read(p []float32) (int, error) {
	ch := s.f.Channels
	if len(p) < ch {
		return 0, pipeline.ErrShortBuffer
	}
	if s.err != nil {
		return 0, s.err
	}
	want := len(p) / ch * ch * 2
	if len(s.buf) < want {
		s.buf = make([]byte, want)
	}
	n, err := io.ReadFull(s.r, s.buf[:want])
	frames := n / (2 * ch)
	for i := range p[:frames*ch] {
		p[i] = float32(int16(binary.LittleEndian.Uint16(s.buf[2*i:]))) / 32768
	}
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		err = io.EOF
	}
	s.err = err
	if frames > 0 {
		return frames, nil
	}
	return 0, err
}

// downmix averages the channels of src into one (the mono transform is a
// separate element; this keeps the program self-contained).
type downmix struct {
	src pipeline.Source
	buf []float32
}

func (d *downmix) Format() pipeline.Format {
	return pipeline.Format{Rate: d.src.Format().Rate, Channels: 1}
}

func (d *downmix) Read(p []float32) (int, error) {
	ch := d.src.Format().Channels
	if len(d.buf) < len(p)*ch {
		d.buf = make([]float32, len(p)*ch)
	}
	n, err := d.src.Read(d.buf[:len(p)*ch])
	for i := 0; i < n; i++ {
		var s float32
		for _, v := range d.buf[i*ch : i*ch+ch] {
			s += v
		}
		p[i] = s / float32(ch)
	}
	return n, err
}

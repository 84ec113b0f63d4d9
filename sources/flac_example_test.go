package sources_test

import (
	"context"
	"fmt"

	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sources"
)

// File recognises FLAC by its content. The Source has the file's rate and
// channels, its length from the STREAMINFO header, and 16-bit samples
// divided by 32768; the MD5 signature of the header is checked at the end,
// so io.EOF means the audio is the audio that was encoded.
func ExampleFile_flac() {
	src, err := sources.File("testdata/flac/s16-mono-8k.flac")(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pipeline.Close(src)
	var peak float32
	frames := 0
	buf := make([]float32, 4096)
	for {
		n, err := pipeline.ReadSome(src, buf)
		for _, v := range buf[:n] {
			peak = max(peak, v, -v)
		}
		frames += n
		if err != nil {
			fmt.Println(err)
			break
		}
	}
	fmt.Println(src.Format(), src.(pipeline.Lengther).Frames(), frames)
	fmt.Printf("peak %.3f\n", peak)
	// Output:
	// EOF
	// 8000 Hz mono 9600 9600
	// peak 0.500
}

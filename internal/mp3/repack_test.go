package mp3

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// The fixtures of the mp3 source (made by their make.sh), and the shared
// corpus of MP3 files when it is there.
const (
	fixtures = "../../sources/testdata/mp3"
	corpus   = "../../../shared/corpus"
)

// TestPaddedMPEG2Fixture checks that the fixture of the mp3 source's
// TestMP3MPEG2PaddedFrames has the frames it is about: padded MPEG-2
// frames whose length go-mp3 gets one byte short.
func TestPaddedMPEG2Fixture(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(fixtures, "sine22cbr32.mp3"))
	if err != nil {
		t.Fatal(err)
	}
	padded := 0
	for i := 0; i+4 <= len(b); {
		h, ok := ParseHeader(b[i:])
		if !ok || h.Size == 0 {
			t.Fatalf("no frame at byte %d", i)
		}
		if h.Padding == 1 && goMP3FrameSize(h, int(b[i+2]>>4), 1) != h.Size {
			padded++
		}
		i += h.Size
	}
	if padded == 0 {
		t.Fatal("fixture has no frame that go-mp3 would cut short")
	}
}

// The repacked stream gives go-mp3, for every frame, exactly the main data
// the original frame refers to. Checked by replaying go-mp3's own reservoir
// rule (its main data = the last main_data_begin bytes of the previous
// frame's, then this frame's body, of the length it computes) on the
// repacked frames and comparing with the main data gathered from the
// original stream.
func TestMP3RepackPreservesMainData(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(fixtures, "sine*.mp3"))
	more, _ := filepath.Glob(filepath.Join(corpus, "*", "*.mp3"))
	files = append(files, more...)
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		s := NewScanner(bytes.NewReader(b))
		h0, err := s.Start()
		if err != nil {
			continue // not decodable
		}
		var stream []byte // S: the original main data, frame after frame
		var goVec []byte  // go-mp3's main data buffer for the last frame
		checked, lost, fixed, unfixed := 0, 0, 0, 0
		for {
			f, err := s.Next()
			if err != nil {
				break
			}
			// The original frame, as the scanner read it.
			orig := s.buf[:len(s.buf)]
			h, _ := ParseHeader(orig)
			orig = orig[:h.Size]
			si := 4
			if h.CRC {
				si += 2
			}
			sis := h.sideInfoSize()
			begin, bits := mainDataBits(h, orig[si:si+sis])
			start := len(stream) - begin
			stream = append(stream, orig[si+sis:]...)
			want := []byte(nil)
			if start >= 0 && start+(bits+7)/8 <= len(stream) {
				want = stream[start : start+(bits+7)/8]
			}

			// What go-mp3 makes of the repacked frame f.
			rh, ok := ParseHeader(f)
			if !ok || rh.Version != h0.Version || rh.RateIndex != h0.RateIndex {
				t.Fatalf("%s: repacked header %x", p, f[:4])
			}
			size := goMP3FrameSize(rh, int(f[2]>>4), int(f[2]>>1)&1)
			if size != len(f) {
				t.Fatalf("%s: repacked frame of %d bytes, go-mp3 reads %d", p, len(f), size)
			}
			rbegin, rbits := mainDataBits(rh, f[si:si+sis])
			if rbegin > len(goVec) {
				t.Fatalf("%s: main_data_begin %d beyond go-mp3's %d bytes", p, rbegin, len(goVec))
			}
			goVec = append(append([]byte{}, goVec[len(goVec)-rbegin:]...), f[si+sis:]...)
			if rbits == 0 && bits != 0 {
				lost++
				continue
			}
			// Mid/side granules with short blocks get zero Huffman codes
			// inserted (msfix.go), unless the rewritten main data does
			// not fit in a frame.
			newSide := append([]byte(nil), orig[si:si+sis]...)
			if ins := midSideFix(h, orig[3], orig[si:si+sis], newSide); ins != nil && want != nil {
				if !bytes.Equal(f[si+2:si+sis], newSide[2:]) { // past main_data_begin
					unfixed++
				} else {
					for _, in := range ins {
						rbits -= in.n
					}
					want = insertBits(nil, want, bits, ins)
					fixed++
				}
			}
			if want == nil || rbits != bits || !bytes.Equal(goVec[:len(want)], want) {
				t.Fatalf("%s: frame %d: go-mp3 would get other main data", p, s.frames)
			}
			checked++
		}
		t.Logf("%s: %d frames carry their main data (%d with zeros inserted for mid/side, %d too large for that), %d decode as silence",
			filepath.Base(p), checked, fixed, unfixed, lost)
	}
}

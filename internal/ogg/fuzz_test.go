package ogg

import (
	"bytes"
	"os"
	"testing"
)

// FuzzReader feeds any bytes, in pieces of any size, to a Reader read
// after every Write: it never panics or loops, its memory stays within
// its bounds, no packet exceeds MaxPacket, and its checksum work stays
// within the budget. A valid stream inside the bytes still yields its
// last packet.
func FuzzReader(f *testing.F) {
	tone, err := os.ReadFile("testdata/tone.opus")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tone, uint16(1), uint16(0))
	f.Add(tone, uint16(4096), uint16(100))
	// A packet that goes on over pages, past a MaxPacket of 3000.
	endless := testPage(3, 0, FlagBOS, 0, []byte{4}, []byte("head"))
	for i := range 5 {
		endless = append(endless, testPage(3, uint32(1+i), byte(min(i, 1)), -1, bytes.Repeat([]byte{255}, 4), bytes.Repeat([]byte{7}, 4*255))...)
	}
	f.Add(endless, uint16(999), uint16(3000))
	f.Add(append([]byte("OggS\x00garbage"), tone...), uint16(7), uint16(0))
	f.Fuzz(func(t *testing.T, data []byte, piece, maxPacket uint16) {
		r := Reader{MaxPacket: int(maxPacket)}
		size := max(1, int(piece))
		pkts := 0
		for in := data; len(in) > 0; {
			n, err := r.Write(in[:min(size, len(in))])
			if n == 0 {
				t.Fatalf("Write took nothing from a Reader read to the end: %v", err)
			}
			in = in[n:]
			for calls := 0; ; calls++ {
				if calls > len(data)+10 {
					t.Fatalf("Next does not stop: %d calls for %d bytes", calls, len(data))
				}
				p, ok, err := r.Next()
				if err != nil {
					continue
				}
				if !ok {
					break
				}
				pkts++
				if len(p.Data) > r.maxPacket() {
					t.Fatalf("%d-byte packet, over MaxPacket %d", len(p.Data), r.maxPacket())
				}
			}
			if b := r.Buffered(); b > BufferSize+r.maxPacket() || len(r.buf)-r.off >= MaxPage {
				t.Fatalf("%d bytes buffered (%d input) once read", b, len(r.buf)-r.off)
			}
			if cap(r.buf) > BufferSize || cap(r.partial) > 2*r.maxPacket()+MaxPage {
				t.Fatalf("buffers of %d and %d bytes", cap(r.buf), cap(r.partial))
			}
		}
		if max := int64(crcPerByte*len(data)+crcBudget) + crcFree*int64(len(data)/5+1); r.checked > max {
			t.Fatalf("%d bytes checksummed for %d bytes", r.checked, len(data))
		}
		if bytes.Equal(data, tone) && int(maxPacket) == 0 && pkts != 28 {
			t.Fatalf("%d packets of the reference file, want 28", pkts)
		}
	})
}

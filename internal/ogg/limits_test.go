package ogg

import (
	"bytes"
	"encoding/binary"
	"runtime"
	"testing"
)

// testPage builds one page with a valid checksum.
func testPage(serial, seq uint32, flags byte, granule int64, lacing, body []byte) []byte {
	b := []byte{'O', 'g', 'g', 'S', 0, flags}
	b = binary.LittleEndian.AppendUint64(b, uint64(granule))
	b = binary.LittleEndian.AppendUint32(b, serial)
	b = binary.LittleEndian.AppendUint32(b, seq)
	b = append(b, 0, 0, 0, 0, byte(len(lacing)))
	b = append(append(b, lacing...), body...)
	fix(b)
	return b
}

// endlessPacket returns a stream whose first page holds the packet
// "head", followed by pages of 255 lacing values of 255: one packet that
// never ends, pages long, then a page that ends it and holds the packet
// "after".
func endlessPacket(pages int) []byte {
	s := testPage(3, 0, FlagBOS, 0, []byte{4}, []byte("head"))
	full := bytes.Repeat([]byte{255}, MaxSegments)
	body := bytes.Repeat([]byte{0xa5}, MaxSegments*255)
	for i := range pages {
		flags := byte(FlagContinued)
		if i == 0 {
			flags = 0 // the packet starts here
		}
		s = append(s, testPage(3, uint32(1+i), flags, -1, full, body)...)
	}
	return append(s, testPage(3, uint32(1+pages), FlagContinued, 960, []byte{10, 5}, []byte("0123456789after"))...)
}

// readLimited feeds data to r in pieces of piece bytes, reading every
// packet after each, and returns the packets, the errors, and the most
// bytes the heap grew by while reading.
func readLimited(t *testing.T, r *Reader, data []byte, piece int) (pkts []string, errs []error, heapGrowth uint64) {
	t.Helper()
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	before := ms.TotalAlloc
	for len(data) > 0 {
		n, _ := r.Write(data[:min(piece, len(data))])
		data = data[n:]
		for range 1 << 20 {
			p, ok, err := r.Next()
			if err != nil {
				errs = append(errs, err)
				if len(errs) > 1000 {
					t.Fatalf("more than 1000 errors: %v", errs[:3])
				}
				continue
			}
			if !ok {
				break
			}
			if len(p.Data) <= 16 {
				pkts = append(pkts, string(p.Data))
			} else {
				pkts = append(pkts, "long")
			}
		}
	}
	runtime.ReadMemStats(&ms)
	return pkts, errs, ms.TotalAlloc - before
}

// An Ogg packet that never ends (lacing values of 255 page after page,
// 8 MiB of them here) is dropped once it passes the packet limit: the
// Reader allocates a bounded amount whatever the length, reports the
// drop, and the packets after it come through.
func TestReaderEndlessPacket(t *testing.T) {
	data := endlessPacket(128) // 8.3 MB in one packet
	var r Reader
	pkts, errs, alloc := readLimited(t, &r, data, 4096)
	if want := []string{"head", "after"}; len(pkts) != 2 || pkts[0] != want[0] || pkts[1] != want[1] {
		t.Errorf("packets %q, want %q", pkts, want)
	}
	if len(errs) != 1 {
		t.Errorf("errors %v, want one: the packet dropped", errs)
	}
	if alloc > 1<<20 {
		t.Errorf("reading %d bytes of one endless packet allocated %d bytes", len(data), alloc)
	}
}

// pagesOf returns a stream of n pages of one logical stream, each with
// one packet "pNNN", and the packets.
func pagesOf(n int) (stream []byte, pages [][]byte, pkts []string) {
	w := NewWriter(11)
	for i := range n {
		p := []byte{'p', byte('0' + i/100), byte('0' + i/10%10), byte('0' + i%10)}
		pkts = append(pkts, string(p))
		pg := w.Flush(w.Packet(nil, p, int64(i)))
		pages = append(pages, pg)
		stream = append(stream, pg...)
	}
	return stream, pages, pkts
}

// One damaged byte in a page in the middle of a stream, or stray bytes
// between pages, lose only that page: the Reader resynchronises at the
// next page, reports the damage, and the packets after it come through,
// whatever the pieces the bytes arrive in.
func TestReaderResync(t *testing.T) {
	_, pages, pkts := pagesOf(30)
	join := func(edit func(i int, pg []byte) []byte) []byte {
		var s []byte
		for i, pg := range pages {
			s = append(s, edit(i, bytes.Clone(pg))...)
		}
		return s
	}
	cases := []struct {
		name string
		data []byte
		lost int // index of the packet lost; -1: none
	}{
		{"bad crc", join(func(i int, pg []byte) []byte {
			if i == 12 {
				pg[len(pg)-2] ^= 1
			}
			return pg
		}), 12},
		{"bad header", join(func(i int, pg []byte) []byte {
			if i == 12 {
				pg[26] = 200 // a segment table that runs over the next pages
			}
			return pg
		}), 12},
		{"stray byte", join(func(i int, pg []byte) []byte {
			if i == 12 {
				return append([]byte{'O'}, pg...)
			}
			return pg
		}), -1},
		{"garbage", join(func(i int, pg []byte) []byte {
			if i == 12 {
				return append(bytes.Repeat([]byte("OggS garbage that is not a page "), 40), pg...)
			}
			return pg
		}), -1},
		{"version", join(func(i int, pg []byte) []byte {
			if i == 12 {
				pg[4] = 1
				fix(pg)
			}
			return pg
		}), 12},
	}
	for _, c := range cases {
		for _, piece := range []int{1, 7, 100, len(c.data)} {
			var r Reader
			got, errs, _ := readLimited(t, &r, c.data, piece)
			var want []string
			for i, p := range pkts {
				if i != c.lost {
					want = append(want, p)
				}
			}
			if len(errs) == 0 {
				t.Errorf("%s, pieces of %d: no error reported", c.name, piece)
			}
			if len(got) != len(want) || got[len(got)-1] != want[len(want)-1] {
				t.Errorf("%s, pieces of %d: %d packets (last %q), want %d (last %q); errors %v", c.name, piece, len(got), last(got), len(want), last(want), errs)
			}
		}
	}
}

func last(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[len(s)-1]
}

// Write takes at most BufferSize bytes not read yet, and says so; a
// Reader read after every Write holds less than a page, however much
// arrives at once.
func TestReaderBuffer(t *testing.T) {
	stream, _, pkts := pagesOf(5000)
	var r Reader
	n, err := r.Write(stream)
	if n != BufferSize || err != ErrFull {
		t.Fatalf("Write of %d bytes: %d, %v; want %d, ErrFull", len(stream), n, err, BufferSize)
	}
	if n, err := r.Write(stream[n:]); n != 0 || err != ErrFull {
		t.Errorf("Write to a full buffer: %d, %v", n, err)
	}
	got, _, _ := readLimited(t, &r, stream[BufferSize:], 1<<20)
	if len(got) < len(pkts) {
		t.Errorf("%d packets, want at least %d", len(got), len(pkts))
	}
	if r.Buffered() >= MaxPage {
		t.Errorf("%d bytes buffered once read", r.Buffered())
	}
}

// A page header that claims more than its page (one damaged lacing
// value) does not hold up the pages after it until the claimed length has
// arrived: the Reader finds the next valid page inside the claim.
func TestReaderBadLengthDoesNotWait(t *testing.T) {
	_, pages, _ := pagesOf(5)
	var s []byte
	for i, pg := range pages {
		pg = bytes.Clone(pg)
		if i == 1 {
			pg[HeaderSize] = 250 // the 4-byte packet claims 250 bytes
		}
		s = append(s, pg...)
	}
	var r Reader
	got, errs, _ := readLimited(t, &r, s, len(s))
	if len(got) != 4 || got[1] != "p002" || len(errs) != 1 {
		t.Errorf("packets %q, errors %v; want p001 lost and one error", got, errs)
	}
}

// Bytes crafted to cost the most checksum work (a capture pattern every
// 28 bytes, each header claiming a page of 65 KB) cost at most
// crcPerByte bytes of checksum per byte, and are skipped: the pages that
// follow come through (the budget of checksum work refills as they
// arrive).
func TestReaderChecksumWork(t *testing.T) {
	hdr := []byte{'O', 'g', 'g', 'S', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255}
	var s []byte
	for len(s) < 1<<20 {
		s = append(s, hdr...)
		s = append(s, 255)
	}
	_, pages, pkts := pagesOf(100)
	for _, pg := range pages {
		s = append(s, pg...)
	}
	var r Reader
	got, errs, _ := readLimited(t, &r, s, 20000)
	if max := int64(crcPerByte*len(s) + crcBudget + crcFree*len(pages)); r.checked > max {
		t.Errorf("%d bytes checksummed for %d bytes, want at most %d", r.checked, len(s), max)
	}
	if len(errs) == 0 || len(got) < 90 || got[len(got)-1] != pkts[len(pkts)-1] {
		t.Errorf("%d packets, the last %q (want at least 90, the last %q), %d errors", len(got), last(got), pkts[len(pkts)-1], len(errs))
	}
}

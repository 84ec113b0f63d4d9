package ogg

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"testing"
)

// crcBitwise is the Ogg checksum computed bit by bit, independently of the
// table.
func crcBitwise(b []byte) uint32 {
	var r uint32
	for _, c := range b {
		r ^= uint32(c) << 24
		for range 8 {
			if r&0x80000000 != 0 {
				r = r<<1 ^ 0x04c11db7
			} else {
				r <<= 1
			}
		}
	}
	return r
}

func TestCRC(t *testing.T) {
	// CRC-32/CKSUM (same polynomial, init 0, not reflected) has the check
	// value 0x765e7680 with a final inversion; Ogg's has none.
	if got := CRC(0, []byte("123456789")); got != ^uint32(0x765e7680) {
		t.Errorf("CRC(123456789) = %08x, want %08x", got, ^uint32(0x765e7680))
	}
	data := bytes.Repeat([]byte("elkspipe\x00\xff"), 100)
	if a, b := CRC(0, data), crcBitwise(data); a != b {
		t.Errorf("table CRC %08x, bitwise %08x", a, b)
	}
	if a, b := CRC(CRC(0, data[:333]), data[333:]), CRC(0, data); a != b {
		t.Errorf("incremental CRC %08x, whole %08x", a, b)
	}
}

// Every page of a file written by ffmpeg (libogg) has the checksum we
// compute, and reading it in 1-byte pieces yields its packets.
func TestReadReference(t *testing.T) {
	data, err := os.ReadFile("testdata/tone.opus")
	if err != nil {
		t.Fatal(err)
	}
	pages := 0
	for b := data; len(b) > 0; pages++ {
		size := HeaderSize + int(b[26])
		for _, l := range b[HeaderSize : HeaderSize+int(b[26])] {
			size += int(l)
		}
		page := append([]byte(nil), b[:size]...)
		want := binary.LittleEndian.Uint32(page[22:])
		clear(page[22:26])
		if got := CRC(0, page); got != want {
			t.Errorf("page %d: CRC %08x, file says %08x", pages, got, want)
		}
		b = b[size:]
	}
	if pages != 3 {
		t.Errorf("%d pages, want 3", pages)
	}
	var r Reader
	var pkts []Packet
	for i := range data {
		r.Write(data[i : i+1])
		for {
			p, ok, err := r.Next()
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				break
			}
			p.Data = append([]byte(nil), p.Data...)
			pkts = append(pkts, p)
		}
	}
	// OpusHead, OpusTags, then 0.5 s + pre-skip of 20 ms packets.
	if len(pkts) != 2+26 {
		t.Fatalf("%d packets, want 28", len(pkts))
	}
	h, err := ParseOpusHead(pkts[0].Data)
	if err != nil || h != (OpusHead{Channels: 1, PreSkip: 312, InputRate: 48000}) {
		t.Errorf("OpusHead %+v, %v", h, err)
	}
	if err := CheckOpusTags(pkts[1].Data); err != nil {
		t.Error(err)
	}
	last := pkts[len(pkts)-1]
	if !last.Last || !last.EOS || last.Granule != 312+24000 {
		t.Errorf("last packet: Last %v EOS %v granule %d, want true true %d", last.Last, last.EOS, last.Granule, 312+24000)
	}
	if !pkts[0].BOS || pkts[2].BOS || pkts[2].Last || pkts[2].Granule != -1 {
		t.Errorf("flags: %+v %+v", pkts[0], pkts[2])
	}
}

// The header page we write is byte for byte the one libogg wrote.
func TestWriteReferenceHeader(t *testing.T) {
	data, err := os.ReadFile("testdata/tone.opus")
	if err != nil {
		t.Fatal(err)
	}
	w := NewWriter(0xaf909bb1)
	head := OpusHead{Channels: 1, PreSkip: 312, InputRate: 48000}.Append(nil)
	got := w.Flush(w.Packet(nil, head, 0))
	if want := data[:HeaderSize+1+19]; !bytes.Equal(got, want) {
		t.Errorf("header page\n got % x\nwant % x", got, want)
	}
}

func readAll(t *testing.T, data []byte, piece int) []Packet {
	t.Helper()
	r := Reader{MaxPacket: 1 << 20}
	var out []Packet
	for len(data) > 0 {
		// A piece larger than the buffer goes in as much as fits.
		n, _ := r.Write(data[:min(piece, len(data))])
		data = data[n:]
		for {
			p, ok, err := r.Next()
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				break
			}
			p.Data = append([]byte(nil), p.Data...)
			out = append(out, p)
		}
	}
	return out
}

// Packets whose sizes are multiples of 255 (which need a 0 lacing value),
// packets longer than a page, and empty packets survive the round trip in
// pieces of any size.
func TestLacing(t *testing.T) {
	sizes := []int{0, 1, 254, 255, 256, 510, 765, 255 * 255, 255*255 + 1, 255 * 300, 100000, 3}
	var pkts [][]byte
	w := NewWriter(7)
	var stream []byte
	for i, n := range sizes {
		p := make([]byte, n)
		for j := range p {
			p[j] = byte(i*31 + j*7)
		}
		pkts = append(pkts, p)
		stream = w.Packet(stream, p, int64(i+1)*960)
	}
	stream = w.Close(stream, 0)
	for _, piece := range []int{1, 7, 4096, len(stream)} {
		got := readAll(t, stream, piece)
		if len(got) != len(pkts) {
			t.Fatalf("piece %d: %d packets, want %d", piece, len(got), len(pkts))
		}
		for i := range pkts {
			if !bytes.Equal(got[i].Data, pkts[i]) {
				t.Errorf("piece %d: packet %d: %d bytes, want %d (or content differs)", piece, i, len(got[i].Data), len(pkts[i]))
			}
			if got[i].Last && got[i].Granule != int64(i+1)*960 {
				t.Errorf("packet %d ends its page with granule %d, want %d", i, got[i].Granule, (i+1)*960)
			}
		}
		if l := got[len(got)-1]; !l.EOS || l.Granule != int64(len(sizes))*960 {
			t.Errorf("last packet EOS %v granule %d", l.EOS, l.Granule)
		}
	}
	// The page structure: every page at most 255 segments, a page where
	// no packet ends has granule -1, sequence numbers count up.
	var seq uint32
	for b := stream; len(b) > 0; seq++ {
		nseg := int(b[26])
		lacing := b[HeaderSize : HeaderSize+nseg]
		size := HeaderSize + nseg
		ends, packets := false, 0
		for _, l := range lacing {
			size += int(l)
			if l < 255 {
				ends = true
				packets++
			}
		}
		g := int64(binary.LittleEndian.Uint64(b[6:]))
		if !ends && g != -1 {
			t.Errorf("page %d: no packet ends but granule %d", seq, g)
		}
		if s := binary.LittleEndian.Uint32(b[18:]); s != seq {
			t.Errorf("page sequence %d, want %d", s, seq)
		}
		if (b[5]&FlagBOS != 0) != (seq == 0) {
			t.Errorf("page %d: flags %x", seq, b[5])
		}
		if size-HeaderSize-nseg > PageTarget && packets > 1 {
			t.Errorf("page %d: %d bytes of body in %d segments", seq, size-HeaderSize-nseg, nseg)
		}
		b = b[size:]
	}
}

// Page sizes: small packets share pages up to PageTarget bytes.
func TestPageSize(t *testing.T) {
	w := NewWriter(1)
	var out []byte
	pkt := make([]byte, 60)
	for i := range 1000 {
		out = w.Packet(out, pkt, int64(i))
	}
	out = w.Close(out, 0)
	pages := bytes.Count(out, []byte("OggS"))
	if want := 60000/PageTarget + 1; pages < want || pages > want+1 {
		t.Errorf("%d pages for 60000 bytes in 60-byte packets, want about %d", pages, want)
	}
}

// A chain: two logical streams one after the other, the first without an
// EOS (as after an interrupt), read as one stream of packets.
func TestChain(t *testing.T) {
	w := NewWriter(1)
	s := w.Flush(w.Packet(nil, []byte("one"), 0))
	s = w.Flush(w.Packet(s, []byte("two"), 960))
	w.Reset(2)
	s = w.Close(w.Packet(s, []byte("three"), 0), 0)
	got := readAll(t, s, 1)
	if len(got) != 3 || string(got[2].Data) != "three" || !got[2].BOS || got[2].Serial != 2 || !got[2].EOS || got[1].Serial != 1 {
		t.Errorf("chain: %+v", got)
	}
}

func TestMalformed(t *testing.T) {
	w := NewWriter(9)
	good := w.Close(w.Packet(nil, []byte("hello, world"), 0), 0)
	cases := map[string]struct {
		b    []byte
		want error
	}{
		"not ogg":    {[]byte("RIFF....WAVEfmt and so on and on"), ErrSync},
		"bad crc":    {func() []byte { b := bytes.Clone(good); b[len(b)-1]++; return b }(), ErrChecksum},
		"no bos":     {func() []byte { b := bytes.Clone(good); b[5] = 0; fix(b); return b }(), ErrStream},
		"other page": {append(bytes.Clone(good[:len(good)])[:0:0], mid(good)...), ErrStream},
	}
	for name, c := range cases {
		var r Reader
		r.Write(c.b)
		var err error
		for range 10 {
			var ok bool
			if _, ok, err = r.Next(); err != nil || !ok {
				break
			}
		}
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	// Truncated: no packet, no error, whatever the cut.
	for n := range len(good) - 1 {
		var r Reader
		r.Write(good[:n])
		if _, ok, err := r.Next(); ok || err != nil {
			t.Errorf("cut at %d: ok %v err %v", n, ok, err)
		}
	}
}

// mid returns a BOS page of stream 9 followed by a page of stream 10.
func mid(good []byte) []byte {
	w := NewWriter(9)
	s := w.Flush(w.Packet(nil, []byte("a"), 0))
	w2 := NewWriter(10)
	w2.Flush(w2.Packet(nil, []byte("x"), 0)) // its BOS page, not included
	return w2.Flush(w2.Packet(s, []byte("b"), 0))
}

// fix recomputes the checksum of the page b.
func fix(b []byte) {
	clear(b[22:26])
	binary.LittleEndian.PutUint32(b[22:], CRC(0, b))
}

func TestOpusHeaders(t *testing.T) {
	h := OpusHead{Channels: 1, PreSkip: 312, InputRate: 48000, Gain: -1.5}
	b := h.Append(nil)
	want := []byte{'O', 'p', 'u', 's', 'H', 'e', 'a', 'd', 1, 1, 0x38, 0x01, 0x80, 0xbb, 0, 0, 0x80, 0xfe, 0}
	if !bytes.Equal(b, want) {
		t.Errorf("OpusHead % x, want % x", b, want)
	}
	if g, err := ParseOpusHead(b); err != nil || g != h {
		t.Errorf("parsed %+v, %v", g, err)
	}
	tags := AppendOpusTags(nil, "elkspipe")
	if want := "OpusTags\x08\x00\x00\x00elkspipe\x00\x00\x00\x00"; string(tags) != want {
		t.Errorf("OpusTags %q", tags)
	}
	if err := CheckOpusTags(tags); err != nil {
		t.Error(err)
	}
	for _, bad := range [][]byte{nil, b[:18], append(bytes.Clone(b[:18]), 1), func() []byte { c := bytes.Clone(b); c[9] = 3; return c }(), func() []byte { c := bytes.Clone(b); c[8] = 16; return c }()} {
		if _, err := ParseOpusHead(bad); !errors.Is(err, ErrOpusHead) {
			t.Errorf("ParseOpusHead(% x): %v", bad, err)
		}
	}
	for _, bad := range [][]byte{tags[:15], []byte("OpusTags\xff\x00\x00\x00elkspipe\x00\x00\x00\x00"), []byte("OpusTags\x00\x00\x00\x00\x01\x00\x00\x00\x09\x00\x00\x00ab")} {
		if err := CheckOpusTags(bad); !errors.Is(err, ErrOpusHead) {
			t.Errorf("CheckOpusTags(%q): %v", bad, err)
		}
	}
}

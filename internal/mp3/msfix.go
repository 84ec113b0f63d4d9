package mp3

// This file rewrites mid/side stereo granules with short blocks so that
// go-mp3 decodes them as ffmpeg does.
//
// go-mp3 (v0.3.4, internal/frame) turns mid/side into left/right only for
// the frequency lines below the larger of the two channels' count1 (the
// line after the last non-zero Huffman value), but it does so after
// reordering short blocks: the reordering interleaves the three windows of
// each scale factor band, so non-zero lines of the band that holds count1
// move above it, and go-mp3 leaves them untransformed — mid goes to the left
// channel unscaled and side to the right. Left and right then differ by up
// to a hundred LSB in the granules with short blocks, even when the two
// channels are identical (LAME codes those as mid/side with an empty side
// channel). Long blocks are not reordered and decode right.
//
// The count1 go-mp3 uses is where its Huffman decoding stops, so the fix is
// in the bitstream: in each affected granule one channel gets Huffman data
// that reaches line 576 with zeros, which changes no decoded value but makes
// go-mp3 transform every line.
//
//   - An empty side channel (part2_3_length 0) gets big_values 288 with
//     Huffman table 0, which codes zero pairs in no bits, and a
//     part2_3_length of 1: one inserted bit that nothing reads.
//   - Otherwise a channel gets zero quadruples appended to its count1
//     region: one bit each with count1 table A, four with table B, enough
//     to reach line 576 from the end of its big_values region.
//
// The inserted bits change the main data, so a rewritten frame's main data
// is handed to go-mp3 whole in the frame's own chunk (repacker.repack).

// granulePart locates one granule's channel in Layer III side information.
type granulePart struct {
	pos        int // bit offset of part2_3_length in the side information
	part23     int // part2_3_length: bits of main data
	bigValues  int
	switching  bool // window_switching_flag
	short      bool // block_type 2 (short or mixed blocks)
	tablesPos  int  // bit offset of table_select
	tables     int  // number of table_select fields
	count1TabB bool // count1table_select 1 (table B)
}

// granuleParts parses the per-granule, per-channel fields of side information
// si of a stereo frame with header h: [granule][channel], granules first,
// as the main data is laid out.
func granuleParts(h Header, si []byte) (parts [2][2]granulePart, granules int) {
	r := sideBits{b: si}
	granules, sfcBits, pos := 1, 9, 8+2 // MPEG-2: main_data_begin, private bits
	if h.Version == 1 {
		granules, sfcBits, pos = 2, 4, 9+3+8 // main_data_begin, private bits, scfsi
	}
	for gr := range granules {
		for ch := range 2 {
			p := &parts[gr][ch]
			r.pos = pos
			p.pos = pos
			p.part23 = r.read(12)
			p.bigValues = r.read(9)
			r.pos += 8 + sfcBits // global_gain, scalefac_compress
			p.switching = r.read(1) == 1
			if p.switching {
				p.short = r.read(2) == 2
				r.pos++ // mixed_block_flag
				p.tablesPos, p.tables = r.pos, 2
				r.pos += 2*5 + 3*3 // table_select, subblock_gain
			} else {
				p.tablesPos, p.tables = r.pos, 3
				r.pos += 3*5 + 4 + 3 // table_select, region0_count, region1_count
			}
			if h.Version == 1 {
				r.pos++ // preflag
			}
			r.pos++ // scalefac_scale
			p.count1TabB = r.read(1) == 1
			pos = r.pos
		}
	}
	return parts, granules
}

// write stores v in the n bits at pos.
func (r *sideBits) write(pos, n, v int) {
	for i := n - 1; i >= 0; i-- {
		bit := byte(v>>i) & 1
		b := &r.b[pos>>3]
		shift := 7 - pos&7
		*b = *b&^(1<<shift) | bit<<shift
		pos++
	}
}

// insertion is a run of bits inserted into main data.
type insertion struct {
	at   int // bit offset in the original main data
	n    int // bits
	ones bool
}

// midSideFix plans the rewrite of a frame with header h (b3: its fourth
// byte) and side information si: it rewrites newSide (a copy of si) and
// returns the bits to insert into the main data, in order, or nil when the
// frame needs no rewrite.
func midSideFix(h Header, b3 byte, si, newSide []byte) []insertion {
	const jointStereo, msOnly = 1, 2
	if h.Layer != 3 || h.Mono || b3>>6 != jointStereo || b3>>4&3 != msOnly {
		return nil // no mid/side, or intensity stereo too (see README)
	}
	parts, granules := granuleParts(h, si)
	w := sideBits{b: newSide}
	var ins []insertion
	at := 0 // bit offset of the granule's main data
	for gr := range granules {
		m, s := parts[gr][0], parts[gr][1]
		end := at + m.part23 + s.part23
		if !m.short && !s.short || m.part23 == 0 && s.part23 == 0 {
			at = end
			continue
		}
		if s.part23 == 0 {
			// Empty side channel: 288 zero pairs from table 0, in no bits.
			w.write(s.pos, 12, 1)
			w.write(s.pos+12, 9, 288)
			for i := range s.tables {
				w.write(s.tablesPos+5*i, 5, 0)
			}
			ins = append(ins, insertion{at: at + m.part23, n: 1})
			at = end
			continue
		}
		// Zero quadruples after a channel's count1 region, table A if either
		// channel uses it (one bit each, rather than four).
		ch, c := 0, m
		if m.count1TabB && !s.count1TabB {
			ch, c = 1, s
		}
		quads := (576 - 2*min(c.bigValues, 288) + 3) / 4
		n := quads
		if c.count1TabB {
			n *= 4
		}
		if c.part23+n > 1<<12-1 {
			return nil // part2_3_length cannot say it
		}
		w.write(c.pos, 12, c.part23+n)
		ins = append(ins, insertion{at: at + m.part23 + ch*s.part23, n: n, ones: true})
		at = end
	}
	return ins
}

// insertBits returns main data md (bits long) with the bits of ins
// inserted, appended to dst.
func insertBits(dst, md []byte, bits int, ins []insertion) []byte {
	var acc byte
	nacc := 0
	put := func(bit byte) {
		acc = acc<<1 | bit
		if nacc++; nacc == 8 {
			dst = append(dst, acc)
			acc, nacc = 0, 0
		}
	}
	k := 0
	for i := 0; i <= bits; i++ {
		for ; k < len(ins) && ins[k].at == i; k++ {
			bit := byte(0)
			if ins[k].ones {
				bit = 1
			}
			for range ins[k].n {
				put(bit)
			}
		}
		if i < bits {
			put(md[i>>3] >> (7 - i&7) & 1)
		}
	}
	if nacc > 0 {
		dst = append(dst, acc<<(8-nacc))
	}
	return dst
}

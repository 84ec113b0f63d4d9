package elkstest

import (
	"hash/maphash"
	"sync/atomic"
)

// checkedBase64 remembers, for every call of the process, the base64 of
// audio messages already found valid. The calls of a shared stream
// (sinks/elks, render cache) receive the very same messages, and at
// 10,000 calls of pcm_16000 checking each byte of each (430 MB a second)
// took a third of the simulator's core; a hash of them takes a tenth of
// that.
var checkedBase64 = &base64Memo{seed: maphash.MakeSeed()}

// memoSlots is how many hashes a base64Memo holds: a 30 s stream of
// 100 ms messages is 300.
const memoSlots = 4096

// base64Memo is a direct-mapped set of the 64-bit hashes (under a seed
// of its own, so that no sender can aim at a collision) of strings found
// to be valid base64. It is safe for concurrent use without locks: a
// slot holds one hash, read and written whole.
type base64Memo struct {
	seed  maphash.Seed
	slots [memoSlots]atomic.Uint64
}

// len is base64Len, for a string found valid before from its hash alone.
func (m *base64Memo) len(enc []byte) (int, bool) {
	if len(enc)%4 != 0 {
		return 0, false
	}
	h := maphash.Bytes(m.seed, enc) | 1 // never 0, the empty slot
	slot := &m.slots[h%memoSlots]
	if slot.Load() == h {
		return len(enc)/4*3 - base64Padding(enc), true
	}
	n, ok := base64Len(enc)
	if ok {
		slot.Store(h)
	}
	return n, ok
}

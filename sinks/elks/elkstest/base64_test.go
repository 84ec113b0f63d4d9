package elkstest

import (
	"bytes"
	"encoding/base64"
	"hash/maphash"
	"math/rand/v2"
	"testing"
)

// base64Len accepts exactly what base64.StdEncoding.Decode accepts (of
// strings without line breaks, which an audio message's JSON cannot hold
// unescaped) and gives the length it decodes to.
func TestBase64Len(t *testing.T) {
	cases := []string{"", "AA==", "AAE=", "AAEC", "AAECAw==", "AAE", "A===", "====", "AA=A", "AB+/", "AB-_", "AB\x00C", "QUJD\xffA==", "AAEC=", "QQ==QQ=="}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ \x00\xff"
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		b := make([]byte, r.IntN(41))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
			if r.IntN(4) > 0 { // mostly valid characters
				b[i] = alphabet[r.IntN(64)]
			}
		}
		cases = append(cases, string(b))
	}
	for _, enc := range cases {
		dst := make([]byte, base64.StdEncoding.DecodedLen(len(enc)))
		n, err := base64.StdEncoding.Decode(dst, []byte(enc))
		got, ok := base64Len([]byte(enc))
		if ok != (err == nil) || (ok && got != n) {
			t.Fatalf("%q: base64Len %d, %v; Decode %d, %v", enc, got, ok, n, err)
		}
	}
}

// Checking the base64 of a second of ulaw audio (a message of 100 ms is
// 1,068 characters): the simulator does it for every audio message it
// only counts.
func BenchmarkBase64Len(b *testing.B) {
	enc := []byte(base64.StdEncoding.EncodeToString(make([]byte, 800)))
	b.SetBytes(int64(len(enc)))
	for b.Loop() {
		if _, ok := base64Len(enc); !ok {
			b.Fatal("refused")
		}
	}
}

// The memo answers as base64Len does, the first time and every time
// after: a valid string it has seen is known by its hash, an invalid one
// is never remembered, and a string that differs from a remembered one
// by one byte is checked again.
func TestBase64Memo(t *testing.T) {
	m := &base64Memo{seed: maphash.MakeSeed()}
	r := rand.New(rand.NewPCG(3, 4))
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\"\\ "
	for range 5000 {
		raw := make([]byte, r.IntN(3000))
		for i := range raw {
			raw[i] = byte(r.IntN(256))
		}
		enc := []byte(base64.StdEncoding.EncodeToString(raw))
		if len(enc) > 0 && r.IntN(3) == 0 {
			enc[r.IntN(len(enc))] = alphabet[r.IntN(len(alphabet))]
		}
		wantN, wantOK := base64Len(enc)
		for pass := range 2 {
			if n, ok := m.len(enc); ok != wantOK || (ok && n != wantN) {
				t.Fatalf("pass %d over %.20q...: memo %d, %v; base64Len %d, %v", pass, enc, n, ok, wantN, wantOK)
			}
		}
		if wantOK && len(enc) > 0 {
			bad := bytes.Clone(enc)
			bad[r.IntN(len(bad))] = '"'
			if _, ok := m.len(bad); ok {
				t.Fatalf("%.20q...: a quote put into a remembered string passed", bad)
			}
		}
	}
}

// Checking a message of 100 ms of pcm_16000 (4,268 characters) that the
// memo has seen, as the calls of a shared stream do.
func BenchmarkBase64Memo(b *testing.B) {
	enc := []byte(base64.StdEncoding.EncodeToString(make([]byte, 3200)))
	m := &base64Memo{seed: maphash.MakeSeed()}
	b.SetBytes(int64(len(enc)))
	for b.Loop() {
		if _, ok := m.len(enc); !ok {
			b.Fatal("refused")
		}
	}
}

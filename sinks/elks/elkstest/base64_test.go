package elkstest

import (
	"encoding/base64"
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

package elks

import (
	"bytes"
	"testing"
)

// fastAudioData decodes the canonical audio messages as Unmarshal does,
// and leaves every other message to it.
func TestFastAudioData(t *testing.T) {
	for _, c := range []struct {
		msg  string
		fast bool
	}{
		{`{"t":"audio","data":"AAECAwQ="}`, true},
		{`{"t":"audio","data":""}`, true},
		{`{"t":"audio","data":"AAEC\u0041w=="}`, false}, // an escape: JSON's business
		{`{"t":"audio","data":"AAE"}`, false},           // bad base64
		{`{"t": "audio", "data":"AAECAw=="}`, false},    // other spacing
		{`{"t":"audio","data":"AA","x":"y"}`, false},
		{`{"t":"sync"}`, false},
		{`{"t":"audio","data":"`, false},
	} {
		data, ok := fastAudioData([]byte(c.msg))
		if ok != c.fast {
			t.Errorf("%s: fast %v, want %v", c.msg, ok, c.fast)
			continue
		}
		if !ok {
			continue
		}
		m, err := Unmarshal([]byte(c.msg))
		a, isAudio := m.(Audio)
		if err != nil || !isAudio || !bytes.Equal(a.Data, data) {
			t.Errorf("%s: fast %v, Unmarshal %v, %v", c.msg, data, m, err)
		}
	}
}

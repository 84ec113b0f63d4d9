package elks

import (
	"errors"
	"reflect"
	"testing"
)

// Golden JSON, both ways, for every message of the protocol.
func TestGoldenMessages(t *testing.T) {
	cases := []struct {
		msg  Message
		json string
	}{
		{Hello{CallID: "c13d1e772", From: "+46701234567", To: "+46766861234"},
			`{"t":"hello","callid":"c13d1e772","from":"+46701234567","to":"+46766861234"}`},
		{Audio{Data: []byte{0, 1, 2, 0xff}}, `{"t":"audio","data":"AAEC/w=="}`},
		{Sync{}, `{"t":"sync"}`},
		{Bye{Reason: ReasonHangup, Message: "the caller hung up"}, `{"t":"bye","reason":"hangup","message":"the caller hung up"}`},
		{Bye{}, `{"t":"bye"}`},
		{Sending{Format: ULaw}, `{"t":"sending","format":"ulaw"}`},
		{Listening{Format: PCM16000}, `{"t":"listening","format":"pcm_16000"}`},
		{Interrupt{}, `{"t":"interrupt"}`},
	}
	for _, c := range cases {
		b, err := Marshal(c.msg)
		if err != nil || string(b) != c.json {
			t.Errorf("Marshal(%#v) = %s, %v; want %s", c.msg, b, err, c.json)
		}
		m, err := Unmarshal([]byte(c.json))
		if err != nil || !reflect.DeepEqual(m, c.msg) {
			t.Errorf("Unmarshal(%s) = %#v, %v; want %#v", c.json, m, err, c.msg)
		}
	}
}

func TestUnmarshalTolerance(t *testing.T) {
	m, err := Unmarshal([]byte(`{"extra":[1,2],"t":"hello","callid":"x","from":"a","to":"b","new":{}}`))
	if err != nil || m != (Hello{CallID: "x", From: "a", To: "b"}) {
		t.Errorf("unknown fields: %#v, %v", m, err)
	}
	m, err = Unmarshal([]byte(`{"t":"dtmf","digit":"5"}`))
	if u, ok := m.(Unknown); err != nil || !ok || u.T != "dtmf" {
		t.Errorf("unknown type: %#v, %v", m, err)
	}
	for _, bad := range []string{``, `not json`, `[]`, `{}`, `{"t":5}`, `{"t":"audio"}`,
		`{"t":"audio","data":"!!!"}`, `{"t":"audio","data":7}`, `{"t":"hello","callid":3}`, `{"t":"bye","reason":false}`} {
		if _, err := Unmarshal([]byte(bad)); !errors.Is(err, ErrMalformed) {
			t.Errorf("Unmarshal(%q) = %v; want ErrMalformed", bad, err)
		}
	}
	if _, err := Marshal(Unknown{T: "x"}); err == nil {
		t.Error("Marshal of an unknown message succeeded")
	}
}

func TestAppendAudioReusesBuffer(t *testing.T) {
	buf := make([]byte, 0, 256)
	data := []byte("0123456789")
	allocs := testing.AllocsPerRun(100, func() { buf = AppendAudio(buf[:0], data) })
	if allocs != 0 {
		t.Errorf("AppendAudio allocates %v times", allocs)
	}
	if len(buf) != audioMessageSize(len(data)) {
		t.Errorf("audioMessageSize = %d, message is %d", audioMessageSize(len(data)), len(buf))
	}
}

func TestFormats(t *testing.T) {
	for _, f := range []Format{PCM8000, PCM16000, PCM24000, ULaw, ALaw} {
		enc, err := NewEncoder(f)
		if err != nil {
			t.Fatal(err)
		}
		dec, _ := NewDecoder(f)
		in := []float32{0, 0.5, -0.5, 0.25}
		out, err := dec.Decode(nil, enc.Encode(nil, in))
		if err != nil || len(out) != len(in) {
			t.Fatalf("%s: %v %v", f, out, err)
		}
		for i := range in {
			if d := out[i] - in[i]; d > 0.02 || d < -0.02 {
				t.Errorf("%s: %v -> %v", f, in[i], out[i])
			}
		}
	}
	if _, err := NewEncoder(WAV); err == nil {
		t.Error("an encoder for wav")
	}
	if _, err := Format("pcm_44100").Info(); err == nil {
		t.Error("pcm_44100 accepted")
	}
	dec, _ := NewDecoder(PCM8000)
	if _, err := dec.Decode(nil, []byte{1, 2, 3}); err == nil {
		t.Error("odd PCM byte count accepted")
	}
}

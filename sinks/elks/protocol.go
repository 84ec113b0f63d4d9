package elks

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Message types, the value of the "t" field of every message.
const (
	TypeHello     = "hello"     // API → app: a call started
	TypeAudio     = "audio"     // both ways: base64 audio
	TypeSync      = "sync"      // both ways: checkpoint request / answer
	TypeBye       = "bye"       // both ways: the call is over
	TypeSending   = "sending"   // app → API: the format of the audio the app sends
	TypeListening = "listening" // app → API: the format the app wants to receive
	TypeInterrupt = "interrupt" // app → API: drop all buffered audio now
)

// Bye reasons the API sends.
const (
	ReasonDone   = "done"
	ReasonHangup = "hangup"
	ReasonError  = "error"
)

// Message is any protocol message. Its concrete type is one of Hello, Audio,
// Sync, Bye, Sending, Listening, Interrupt or Unknown.
type Message interface {
	// Type returns the message's "t" value.
	Type() string
}

// Hello is the API's first message on every call.
type Hello struct {
	CallID string `json:"callid"`
	From   string `json:"from"`
	To     string `json:"to"`
}

// maxHelloField is the most bytes a Session keeps of each field of a
// hello. 46elks sends call ids of a few dozen characters and E.164
// numbers; a peer that sends more would have it repeated on every log
// line of the call.
const maxHelloField = 64

// truncated returns h with each field cut to maxHelloField bytes, at a
// character boundary.
func (h Hello) truncated() Hello {
	cut := func(s string) string {
		if len(s) <= maxHelloField {
			return s
		}
		n := maxHelloField
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		return s[:n]
	}
	return Hello{CallID: cut(h.CallID), From: cut(h.From), To: cut(h.To)}
}

// Audio carries raw bytes in the declared format (base64 on the wire).
type Audio struct {
	Data []byte
}

// Sync asks for, or answers, a checkpoint: the answer means all audio sent
// before the request has been played.
type Sync struct{}

// Bye ends the call. From the API it carries a reason (done, hangup, error)
// and a human-readable message; from the application both are empty.
type Bye struct {
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
}

// Sending declares the format of the audio the application will send.
type Sending struct {
	Format Format `json:"format"`
}

// Listening declares the format in which the application wants the
// caller's audio.
type Listening struct {
	Format Format `json:"format"`
}

// Interrupt clears the API's playback buffer; audio is ignored until the
// next Sending.
type Interrupt struct{}

// Unknown is a well-formed message of a type this package does not know.
// Peers log and ignore it.
type Unknown struct {
	T   string
	Raw []byte
}

// Type returns "hello".
func (Hello) Type() string { return TypeHello }

// Type returns "audio".
func (Audio) Type() string { return TypeAudio }

// Type returns "sync".
func (Sync) Type() string { return TypeSync }

// Type returns "bye".
func (Bye) Type() string { return TypeBye }

// Type returns "sending".
func (Sending) Type() string { return TypeSending }

// Type returns "listening".
func (Listening) Type() string { return TypeListening }

// Type returns "interrupt".
func (Interrupt) Type() string { return TypeInterrupt }

// Type returns the unknown message's "t".
func (u Unknown) Type() string { return u.T }

// Marshal encodes m as the JSON text of a protocol message, with "t" first
// and fields in the documented order, e.g. {"t":"sending","format":"ulaw"}.
func Marshal(m Message) ([]byte, error) {
	switch m := m.(type) {
	case Audio:
		return AppendAudio(nil, m.Data), nil
	case *Audio:
		return AppendAudio(nil, m.Data), nil
	case Unknown:
		return nil, fmt.Errorf("cannot send a message of unknown type %q", m.T)
	}
	body, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	out := []byte(`{"t":"` + m.Type() + `"`)
	if len(body) > 2 { // more than {}
		out = append(out, ',')
		out = append(out, body[1:]...)
	} else {
		out = append(out, '}')
	}
	return out, nil
}

// AppendAudio appends the JSON of an audio message carrying data to dst
// and returns the extended slice, without allocating when dst has room.
// Session sends every chunk of audio with it; code that plays the API's side
// (a test peer, elkstest's simulated caller) sends the caller's audio with
// it, where Marshal would allocate a message each time.
func AppendAudio(dst, data []byte) []byte {
	dst = append(dst, `{"t":"audio","data":"`...)
	dst = base64.StdEncoding.AppendEncode(dst, data)
	return append(dst, `"}`...)
}

// audioMessageSize returns the length of the JSON of an audio message
// carrying n bytes of audio.
func audioMessageSize(n int) int {
	return len(`{"t":"audio","data":""}`) + base64.StdEncoding.EncodedLen(n)
}

// ErrMalformed is wrapped by every Unmarshal error about the message's
// form (not JSON, no "t", wrong field types, bad base64).
var ErrMalformed = errors.New("malformed message")

// Unmarshal decodes one protocol message. Unknown fields are ignored; an
// unknown "t" yields Unknown; anything that is not a JSON object with a
// string "t", or whose fields have the wrong types, is an error wrapping
// ErrMalformed.
func Unmarshal(b []byte) (Message, error) {
	if h, ok := fastHello(b); ok {
		return h, nil
	}
	var head struct {
		T *string `json:"t"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if head.T == nil {
		return nil, fmt.Errorf("%w: no \"t\" field", ErrMalformed)
	}
	var m Message
	var err error
	switch *head.T {
	case TypeHello:
		var h Hello
		err = json.Unmarshal(b, &h)
		m = h
	case TypeAudio:
		var a struct {
			Data *string `json:"data"`
		}
		if err = json.Unmarshal(b, &a); err == nil {
			if a.Data == nil {
				return nil, fmt.Errorf("%w: audio without data", ErrMalformed)
			}
			var data []byte
			data, err = base64.StdEncoding.DecodeString(*a.Data)
			m = Audio{Data: data}
		}
	case TypeSync:
		m = Sync{}
	case TypeBye:
		var y Bye
		err = json.Unmarshal(b, &y)
		m = y
	case TypeSending:
		var s Sending
		err = json.Unmarshal(b, &s)
		m = s
	case TypeListening:
		var l Listening
		err = json.Unmarshal(b, &l)
		m = l
	case TypeInterrupt:
		m = Interrupt{}
	default:
		return Unknown{T: *head.T, Raw: bytes.Clone(b)}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrMalformed, *head.T, err)
	}
	return m, nil
}

package elks

import (
	"unicode/utf8"
)

// fastHello decodes a hello of the form 46elks writes, a flat object of
// strings ({"t":"hello","callid":"...","from":"...","to":"..."}), without
// the JSON decoder: a call's reader would otherwise grow its stack for
// encoding/json's deep frames at every call's start, which costs about
// as much as the rest of reading the hello. Anything else (escapes,
// other value types, invalid UTF-8 in a value, bad syntax) is left to
// Unmarshal (ok false), which decodes what fastHello accepts alike: keys
// match the fields without regard to case, other keys are ignored, and
// the last of a repeated key wins.
func fastHello(b []byte) (h Hello, ok bool) {
	p := jsonScan{b: b}
	if !p.skip('{') {
		return Hello{}, false
	}
	isHello := false
	for first := true; ; first = false {
		if p.skip('}') {
			return h, isHello && p.end()
		}
		if !first && !p.skip(',') {
			return Hello{}, false
		}
		key, ok := p.str()
		if !ok || !p.skip(':') {
			return Hello{}, false
		}
		val, ok := p.str()
		if !ok || !utf8.Valid(val) {
			return Hello{}, false
		}
		switch {
		case asciiEqualFold(key, "t"):
			if string(val) != TypeHello {
				// Not a hello (or a repeated "t", which the decoder
				// settles): the rest need not be read.
				return Hello{}, false
			}
			isHello = true
		case asciiEqualFold(key, "callid"):
			h.CallID = string(val)
		case asciiEqualFold(key, "from"):
			h.From = string(val)
		case asciiEqualFold(key, "to"):
			h.To = string(val)
		}
	}
}

// jsonScan reads the few JSON tokens fastHello takes, skipping the
// whitespace JSON allows around them.
type jsonScan struct {
	b []byte
	i int
}

func (p *jsonScan) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// skip consumes c, after whitespace, if it comes next.
func (p *jsonScan) skip(c byte) bool {
	p.space()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// end reports whether only whitespace is left.
func (p *jsonScan) end() bool {
	p.space()
	return p.i == len(p.b)
}

// str consumes a string with no escapes and no control characters, and
// returns what is between its quotes: ok is false for anything else.
func (p *jsonScan) str() (s []byte, ok bool) {
	if !p.skip('"') {
		return nil, false
	}
	start := p.i
	for ; p.i < len(p.b); p.i++ {
		switch c := p.b[p.i]; {
		case c == '"':
			p.i++
			return p.b[start : p.i-1], true
		case c == '\\' || c < 0x20:
			return nil, false
		}
	}
	return nil, false
}

// asciiEqualFold reports whether key equals name (lower-case ASCII)
// without regard to case, as encoding/json matches keys to fields: a
// key with bytes outside ASCII matches none of fastHello's names, in
// Unicode's folding too (only k and s have equivalents outside ASCII).
func asciiEqualFold(key []byte, name string) bool {
	if len(key) != len(name) {
		return false
	}
	for i, c := range key {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != name[i] {
			return false
		}
	}
	return true
}

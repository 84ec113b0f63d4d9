package elks

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
)

// jsonHello decodes b as Unmarshal does without fastHello: ok when it is
// a valid hello.
func jsonHello(b []byte) (Hello, bool) {
	var head struct {
		T *string `json:"t"`
	}
	var h Hello
	if json.Unmarshal(b, &head) != nil || head.T == nil || *head.T != TypeHello || json.Unmarshal(b, &h) != nil {
		return Hello{}, false
	}
	return h, true
}

// fastHello takes 46elks' hello and what differs from it only in
// spacing, key case, order or extra string fields, and leaves escapes,
// other value types and bad syntax to the JSON decoder.
func TestFastHello(t *testing.T) {
	want := Hello{CallID: "c13d1e772", From: "+46701234567", To: "+46766861234"}
	for _, tc := range []struct {
		msg string
		ok  bool
	}{
		{`{"t":"hello","callid":"c13d1e772","from":"+46701234567","to":"+46766861234"}`, true},
		{" {\n\t\"to\" : \"+46766861234\" ,\"FROM\":\"+46701234567\", \"CallID\":\"c13d1e772\",\"T\":\"hello\",\"x\":\"y\"}\r\n", true},
		{`{"t":"hello","callid":"old","callid":"c13d1e772","from":"+46701234567","to":"+46766861234"}`, true},
		{`{"t":"bye","callid":"c13d1e772","from":"+46701234567","to":"+46766861234"}`, false},
		{`{"t":"hello","callid":"c13d1e772","from":"+46701234567","to":"+4676686123\u0034"}`, false}, // an escape: JSON's
		{`{"t":"hello","callid":"c13d1e772","from":"+46701234567","to":"+46766861234","n":1}`, false},
		{`{"t":"hello","callid":"c13d1e772","from":"+46701234567","to":"+46766861234",}`, false},
		{`{"t":"hello","callid":"c13d1e772","from":"+46701234567","to":"+46766861234"} x`, false},
		{`{"t":"hello","callid":"c13d1e772","from":"+46701234567","to":"+46766861234"`, false},
	} {
		h, ok := fastHello([]byte(tc.msg))
		if ok != tc.ok || ok && h != want {
			t.Errorf("fastHello(%s) = %+v, %v; want ok %v", tc.msg, h, ok, tc.ok)
		}
		if m, err := Unmarshal([]byte(tc.msg)); tc.ok && (err != nil || m != want) {
			t.Errorf("Unmarshal(%s) = %+v, %v", tc.msg, m, err)
		}
	}
}

// Whatever fastHello accepts, the JSON decoder decodes to the same hello,
// over messages made of keys and values that each side might get wrong:
// keys in other cases and outside ASCII, repeated keys, values with
// escapes, invalid UTF-8, other types, spacing, and broken syntax.
func TestFastHelloAgreesWithJSON(t *testing.T) {
	keys := []string{`"t"`, `"T"`, `"callid"`, `"CallId"`, `"from"`, `"FROM"`, `"to"`, `"x"`, `"ſ"`, `"caſlid"`, `"t\u0000"`, `"tó"`}
	vals := []string{`"hello"`, `"Hello"`, `"bye"`, `"+46701234567"`, `""`, `"a\u0041"`, `"é"`, "\"\xff\"", `"a` + "\x01" + `"`, `5`, `null`, `{}`, `["hello"]`, `true`}
	spaces := []string{"", "", "", " ", "\n\t", "\r\n"}
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(s []string) string { return s[rng.IntN(len(s))] }
	accepted, hellos := 0, 0
	for range 200_000 {
		var b strings.Builder
		b.WriteString(pick(spaces) + "{")
		n := rng.IntN(6)
		for i := range n {
			if i > 0 {
				b.WriteString(pick(spaces) + ",")
			}
			b.WriteString(pick(spaces) + pick(keys) + pick(spaces) + ":" + pick(spaces) + pick(vals))
		}
		b.WriteString(pick(spaces) + "}" + pick(spaces))
		msg := b.String()
		switch rng.IntN(20) { // now and then, broken syntax
		case 0:
			msg = msg[:rng.IntN(len(msg))]
		case 1:
			msg = strings.Replace(msg, ",", ",,", 1)
		case 2:
			msg += "x"
		}
		fast, ok := fastHello([]byte(msg))
		slow, sok := jsonHello([]byte(msg))
		if sok {
			hellos++
		}
		if !ok {
			continue
		}
		accepted++
		if !sok || fast != slow {
			t.Fatalf("%q: fastHello %+v, the JSON decoder %+v (a hello: %v)", msg, fast, slow, sok)
		}
	}
	if accepted < 500 || accepted >= hellos {
		t.Fatalf("fastHello took %d of %d hellos: the test needs many of both kinds", accepted, hellos)
	}
	t.Logf("fastHello took %d of %d hellos", accepted, hellos)
}

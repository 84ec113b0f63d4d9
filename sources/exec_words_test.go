package sources

import (
	"slices"
	"testing"
)

func TestSplitWords(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"espeak-ng --stdout Hello", []string{"espeak-ng", "--stdout", "Hello"}},
		{"  a\t b\n", []string{"a", "b"}},
		{`sh -c 'echo "$HOME" | cat'`, []string{"sh", "-c", `echo "$HOME" | cat`}},
		{`say "hello world" 'it''s'`, []string{"say", "hello world", "its"}},
		{`a "" ''`, []string{"a", "", ""}},
		{`a\ b c\\d \'e`, []string{"a b", `c\d`, "'e"}},
		{`"a \"b\" \$x \n"`, []string{`a "b" $x \n`}},
		{"a\\\nb", []string{"ab"}},
		{"x'y'\"z\"", []string{"xyz"}},
		{"", nil},
	} {
		got, err := SplitWords(tc.in)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("SplitWords(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{`a 'b`, `a "b`, `a \`, `"a\"`} {
		if got, err := SplitWords(bad); err == nil {
			t.Errorf("SplitWords(%q) = %q, want an error", bad, got)
		}
	}
}

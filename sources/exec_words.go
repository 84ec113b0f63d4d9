package sources

import (
	"errors"
	"strings"
)

// SplitWords splits a command line into words the way a POSIX shell does,
// without running one: words are separated by blanks (spaces, tabs,
// newlines); 'single quotes' keep everything literally; "double quotes"
// keep everything but a backslash before \, ", $, ` or a newline; a
// backslash outside quotes keeps the next character (and joins lines
// before a newline). Nothing else is special: no variables, globs,
// pipes or redirections — write sh -c '...' for those. An unterminated
// quote or a trailing backslash is an error.
func SplitWords(s string) ([]string, error) {
	var (
		words []string
		cur   strings.Builder
		inw   bool // a word has begun (it may be empty: "")
	)
	end := func() {
		if inw {
			words = append(words, cur.String())
			cur.Reset()
			inw = false
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			end()
		case c == '\\':
			if i+1 >= len(s) {
				return nil, errors.New("the command ends in a backslash")
			}
			i++
			if s[i] != '\n' {
				cur.WriteByte(s[i])
				inw = true
			}
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("a single quote is not closed")
			}
			cur.WriteString(s[i+1 : i+1+j])
			inw = true
			i += 1 + j
		case c == '"':
			inw = true
			closed := false
			for i++; i < len(s); i++ {
				d := s[i]
				if d == '"' {
					closed = true
					break
				}
				if d == '\\' && i+1 < len(s) && strings.IndexByte("\\\"$`\n", s[i+1]) >= 0 {
					i++
					if s[i] != '\n' {
						cur.WriteByte(s[i])
					}
					continue
				}
				cur.WriteByte(d)
			}
			if !closed {
				return nil, errors.New("a double quote is not closed")
			}
		default:
			cur.WriteByte(c)
			inw = true
		}
	}
	end()
	return words, nil
}

// JoinWords is the inverse of SplitWords: it joins words into a command
// line, quoting those that need it with single quotes.
func JoinWords(words []string) string {
	var b strings.Builder
	for i, w := range words {
		if i > 0 {
			b.WriteByte(' ')
		}
		if w != "" && !strings.ContainsFunc(w, func(r rune) bool { return strings.ContainsRune(" \t\n\r'\"\\$`;&|<>()*?[]#~{}!", r) }) {
			b.WriteString(w)
			continue
		}
		b.WriteString("'" + strings.ReplaceAll(w, "'", `'\''`) + "'")
	}
	return b.String()
}

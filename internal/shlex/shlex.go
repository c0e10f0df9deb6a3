// Package shlex is the one place sshplay splits a line into words.
//
// Split and SplitComments follow Python's shlex.split in POSIX mode, which
// Ansible uses on a command module's free-form text, on ansible_ssh_args and
// friends (Split), and on the host lines of an INI inventory
// (SplitComments, where # starts a comment that runs to the end of the line,
// even inside a word). In that lexer single quotes keep everything, double
// quotes let a backslash escape only " and \, and outside quotes a backslash
// escapes any character.
//
// SplitShell follows a POSIX shell instead (double quotes let a backslash
// escape $ ` " \ and newline; backslash-newline joins lines) and refuses any
// line it cannot read as plain words: an unquoted ; | & < > ( ), or a $ or `
// outside single quotes. The in-memory test host reads the commands sshplay
// sends it with it.
package shlex

import (
	"errors"
	"strings"
)

// Errors the splitters return, worded as Python's shlex words them.
var (
	ErrNoClosingQuote = errors.New("no closing quotation")
	ErrNoEscapedChar  = errors.New("no escaped character")
	// ErrShellSyntax: SplitShell met an operator or expansion.
	ErrShellSyntax = errors.New("shell syntax that is not plain words")
)

// Split splits s like Python's shlex.split(s).
func Split(s string) ([]string, error) { return lexer{}.split(s) }

// SplitComments splits s like Python's shlex.split(s, comments=True).
func SplitComments(s string) ([]string, error) { return lexer{comments: true}.split(s) }

// SplitShell splits s as a POSIX shell splits a simple command into words,
// or fails with ErrShellSyntax; see the package doc.
func SplitShell(s string) ([]string, error) { return lexer{shell: true}.split(s) }

type lexer struct {
	comments bool // # starts a comment (shlex comments=True)
	shell    bool // POSIX shell rules instead of Python's shlex
}

// state is the lexer's position between characters.
type state struct {
	words  []string
	cur    strings.Builder
	inWord bool // cur holds a word, even an empty quoted one
}

func (st *state) end() {
	if st.inWord {
		st.words = append(st.words, st.cur.String())
	}
	st.cur.Reset()
	st.inWord = false
}

func (l lexer) split(s string) ([]string, error) {
	var st state
	for i := 0; i < len(s); i++ {
		next, err := l.step(&st, s, i)
		if err != nil {
			return nil, err
		}
		i = next
	}
	st.end()
	return st.words, nil
}

// step reads the token part that starts at s[i] and returns the index of
// its last byte.
func (l lexer) step(st *state, s string, i int) (int, error) {
	c := s[i]
	switch {
	case c == ' ' || c == '\t' || c == '\r' || c == '\n':
		st.end()
		return i, nil
	case c == '#' && l.comments:
		st.end()
		if j := strings.IndexByte(s[i:], '\n'); j >= 0 {
			return i + j, nil
		}
		return len(s), nil
	case c == '\\':
		return l.escape(st, s, i)
	case c == '\'':
		st.inWord = true
		j := strings.IndexByte(s[i+1:], '\'')
		if j < 0 {
			return 0, ErrNoClosingQuote
		}
		st.cur.WriteString(s[i+1 : i+1+j])
		return i + 1 + j, nil
	case c == '"':
		st.inWord = true
		return l.double(st, s, i)
	case l.shell && strings.IndexByte(";|&<>()$`", c) >= 0:
		return 0, ErrShellSyntax
	}
	st.inWord = true
	st.cur.WriteByte(c)
	return i, nil
}

// escape reads a backslash outside quotes.
func (l lexer) escape(st *state, s string, i int) (int, error) {
	if i+1 >= len(s) {
		if l.shell {
			st.inWord = true
			st.cur.WriteByte('\\')
			return i, nil
		}
		return 0, ErrNoEscapedChar
	}
	if l.shell && s[i+1] == '\n' {
		return i + 1, nil // line continuation
	}
	st.inWord = true
	st.cur.WriteByte(s[i+1])
	return i + 1, nil
}

// double reads a double-quoted part that opens at s[i].
func (l lexer) double(st *state, s string, i int) (int, error) {
	escapable := "\"\\"
	if l.shell {
		escapable = "\"\\$`\n"
	}
	for i++; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			return i, nil
		case c == '\\' && i+1 >= len(s) && !l.shell:
			return 0, ErrNoEscapedChar
		case c == '\\' && i+1 < len(s) && strings.IndexByte(escapable, s[i+1]) >= 0:
			i++
			if s[i] != '\n' || !l.shell {
				st.cur.WriteByte(s[i])
			}
		case l.shell && (c == '$' || c == '`'):
			return 0, ErrShellSyntax
		default:
			st.cur.WriteByte(c)
		}
	}
	return 0, ErrNoClosingQuote
}

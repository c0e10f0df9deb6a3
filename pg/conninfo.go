package pg

import (
	"fmt"
	"net/url"
	"strings"
)

// Conninfo is a libpq connection string (primary_conninfo) as ordered
// keyword/value pairs, so that changing sslmode keeps every other
// parameter, password included, exactly as it was.
type Conninfo struct {
	pairs [][2]string
}

// ConninfoError is a connection string that libpq refuses too. Offset is
// the byte of the string where reading stopped (0 for a URI).
type ConninfoError struct {
	Offset int
	Msg    string
}

func (e *ConninfoError) Error() string {
	return fmt.Sprintf("conninfo: %s (at byte %d)", e.Msg, e.Offset)
}

// ParseConninfo parses libpq's keyword/value form as libpq's conninfo_parse
// does (key = value, white space around "=" allowed, values bare or
// single-quoted, a backslash escaping the next character in both) or a
// postgres:// / postgresql:// URI (turned into keyword/value pairs).
// Keywords are not checked against libpq's list. Errors are
// *ConninfoError.
func ParseConninfo(s string) (*Conninfo, error) {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "postgres://") || strings.HasPrefix(t, "postgresql://") {
		return parseConninfoURI(t)
	}
	c := &Conninfo{}
	for i := 0; ; {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i >= len(s) {
			return c, nil
		}
		j := i
		for j < len(s) && s[j] != '=' && !isSpace(s[j]) {
			j++
		}
		key := s[i:j]
		for j < len(s) && isSpace(s[j]) {
			j++
		}
		if key == "" || j >= len(s) || s[j] != '=' {
			return nil, &ConninfoError{Offset: j, Msg: fmt.Sprintf("missing \"=\" after %q", key)}
		}
		j++
		for j < len(s) && isSpace(s[j]) {
			j++
		}
		val, next, err := conninfoValue(s, j)
		if err != nil {
			return nil, err
		}
		c.pairs = append(c.pairs, [2]string{key, val})
		i = next
	}
}

// isSpace is C's isspace in the C locale, which libpq splits on.
func isSpace(b byte) bool {
	return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\v' || b == '\f'
}

// conninfoValue reads one value starting at i: quoted ('...', a backslash
// escaping the next character) or bare (up to white space, a backslash
// escaping the next character, a backslash at the very end dropped).
func conninfoValue(s string, i int) (string, int, error) {
	var b strings.Builder
	if i < len(s) && s[i] == '\'' {
		start := i
		for i++; i < len(s); i++ {
			switch {
			case s[i] == '\\' && i+1 < len(s):
				i++
				b.WriteByte(s[i])
			case s[i] == '\\':
			case s[i] == '\'':
				return b.String(), i + 1, nil
			default:
				b.WriteByte(s[i])
			}
		}
		return "", 0, &ConninfoError{Offset: start, Msg: "unterminated quoted value"}
	}
	for ; i < len(s) && !isSpace(s[i]); i++ {
		if s[i] == '\\' {
			if i++; i == len(s) {
				break
			}
		}
		b.WriteByte(s[i])
	}
	return b.String(), i, nil
}

// validConninfoKey reports whether k can be written in keyword/value form:
// not empty, without white space or "=".
func validConninfoKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] == '=' || isSpace(k[i]) {
			return false
		}
	}
	return true
}

func parseConninfoURI(s string) (*Conninfo, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, &ConninfoError{Msg: err.Error()}
	}
	c := &Conninfo{}
	if u.User != nil {
		c.Set("user", u.User.Username())
		if pw, ok := u.User.Password(); ok {
			c.Set("password", pw)
		}
	}
	if h := u.Hostname(); h != "" {
		c.Set("host", h)
	}
	if p := u.Port(); p != "" {
		c.Set("port", p)
	}
	if db := strings.TrimPrefix(u.Path, "/"); db != "" {
		c.Set("dbname", db)
	}
	for k, vs := range u.Query() {
		if !validConninfoKey(k) {
			return nil, &ConninfoError{Msg: fmt.Sprintf("invalid parameter name %q", k)}
		}
		for _, v := range vs {
			c.Set(k, v)
		}
	}
	return c, nil
}

// Get returns a parameter's value ("" and false when unset); of a
// parameter named twice, the last value, as libpq reads it.
func (c *Conninfo) Get(key string) (string, bool) {
	for i := len(c.pairs) - 1; i >= 0; i-- {
		if c.pairs[i][0] == key {
			return c.pairs[i][1], true
		}
	}
	return "", false
}

// Set changes a parameter in place, or appends it. When the string names
// it more than once, the last one is changed: that is the one libpq uses.
func (c *Conninfo) Set(key, value string) {
	for i := len(c.pairs) - 1; i >= 0; i-- {
		if c.pairs[i][0] == key {
			c.pairs[i][1] = value
			return
		}
	}
	c.pairs = append(c.pairs, [2]string{key, value})
}

// Delete removes a parameter.
func (c *Conninfo) Delete(key string) {
	out := c.pairs[:0]
	for _, p := range c.pairs {
		if p[0] != key {
			out = append(out, p)
		}
	}
	c.pairs = out
}

// Encode is the keyword/value form libpq reads, secrets included.
func (c *Conninfo) Encode() string {
	var out []string
	for _, p := range c.pairs {
		out = append(out, p[0]+"="+quoteConninfo(p[1]))
	}
	return strings.Join(out, " ")
}

// String is Encode with the password shown as ********.
func (c *Conninfo) String() string {
	r := &Conninfo{pairs: append([][2]string(nil), c.pairs...)}
	for i := range r.pairs {
		if r.pairs[i][0] == "password" {
			r.pairs[i][1] = "********"
		}
	}
	return r.Encode()
}

func quoteConninfo(v string) string {
	bare := v != ""
	for i := 0; i < len(v) && bare; i++ {
		bare = !isSpace(v[i]) && v[i] != '\'' && v[i] != '\\'
	}
	if bare {
		return v
	}
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

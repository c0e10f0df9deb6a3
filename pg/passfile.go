package pg

import (
	"io"
	"strings"
)

// PassEntry is one line of a pgpass file. A Host, Port, Database or User
// of "*" matches anything, unless the file wrote it escaped ("\*"): then
// it is a star.
type PassEntry struct {
	Host, Port, Database, User, Password string
	// star marks the fields (host, port, database, user) the file wrote
	// as "\*".
	star [4]bool
}

// ParsePassfile reads pgpass lines (host:port:database:user:password) as
// libpq's passwordFromFile does: a backslash escapes the next character,
// the password ends at the next unescaped ':' (a backslash at its very end
// is kept), lines starting with '#' and lines with fewer than five fields
// are skipped, and trailing "\r" are dropped. Lines may be of any length.
func ParsePassfile(r io.Reader) ([]PassEntry, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	var out []PassEntry
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" || line[0] == '#' {
			continue
		}
		if e, ok := parsePassLine(line); ok {
			out = append(out, e)
		}
	}
	return out, nil
}

// parsePassLine reads one line; ok is false when libpq would match it
// against nothing: it ends before the password, or a backslash ends one
// of the first four fields.
func parsePassLine(line string) (e PassEntry, ok bool) {
	var fields [4]string
	i := 0
	for f := range fields {
		var b strings.Builder
		start := i
		for {
			if i >= len(line) {
				return PassEntry{}, false
			}
			c := line[i]
			if c == ':' {
				break
			}
			if c == '\\' {
				if i++; i >= len(line) {
					return PassEntry{}, false
				}
			}
			b.WriteByte(line[i])
			i++
		}
		fields[f] = b.String()
		e.star[f] = fields[f] == "*" && line[start:i] != "*"
		i++ // the ':'
	}
	var pw strings.Builder
	for ; i < len(line) && line[i] != ':'; i++ {
		if line[i] == '\\' && i+1 < len(line) {
			i++
		}
		pw.WriteByte(line[i])
	}
	e.Host, e.Port, e.Database, e.User, e.Password = fields[0], fields[1], fields[2], fields[3], pw.String()
	return e, true
}

// LookupPassword returns the password of the first entry matching host,
// port, database and user, as libpq does. A host of "localhost" in the file
// also matches a unix-socket connection; sshplay always connects over TCP.
func LookupPassword(entries []PassEntry, host, port, database, user string) (string, bool) {
	for _, e := range entries {
		match := func(i int, pat, v string) bool { return pat == "*" && !e.star[i] || pat == v }
		if match(0, e.Host, host) && match(1, e.Port, port) && match(2, e.Database, database) && match(3, e.User, user) {
			return e.Password, true
		}
	}
	return "", false
}

package pg

import (
	"bufio"
	"io"
	"strings"
)

// PassEntry is one line of a pgpass file.
type PassEntry struct {
	Host, Port, Database, User, Password string
}

// ParsePassfile reads pgpass lines (host:port:database:user:password, `*`
// matches anything, `\:` and `\\` escape). Comments and malformed lines are
// skipped, as libpq does.
func ParsePassfile(r io.Reader) ([]PassEntry, error) {
	var out []PassEntry
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var fields []string
		var cur strings.Builder
		esc := false
		for _, c := range line {
			switch {
			case esc:
				cur.WriteRune(c)
				esc = false
			case c == '\\':
				esc = true
			case c == ':' && len(fields) < 4:
				fields = append(fields, cur.String())
				cur.Reset()
			default:
				cur.WriteRune(c)
			}
		}
		fields = append(fields, cur.String())
		if len(fields) != 5 {
			continue
		}
		out = append(out, PassEntry{Host: fields[0], Port: fields[1], Database: fields[2], User: fields[3], Password: fields[4]})
	}
	return out, sc.Err()
}

// LookupPassword returns the password of the first entry matching host,
// port, database and user, as libpq does. A host of "localhost" in the file
// also matches a unix-socket connection; sshplay always connects over TCP.
func LookupPassword(entries []PassEntry, host, port, database, user string) (string, bool) {
	match := func(pat, v string) bool { return pat == "*" || pat == v }
	for _, e := range entries {
		if match(e.Host, host) && match(e.Port, port) && match(e.Database, database) && match(e.User, user) {
			return e.Password, true
		}
	}
	return "", false
}

package pg

// Fuzz targets for this package's readers of PostgreSQL text: connection
// strings, pgpass files and the server log. Seeds are the f.Add calls
// below and testdata/fuzz/FuzzName/, where every input that once broke a
// property is kept. The libpq* functions are line-by-line ports of libpq's
// own C code (fe-connect.c), the reference the parsers must agree with.

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// libpqConninfo is libpq's conninfo_parse for the keyword/value form,
// without its check of keyword names: the pairs, or ok false where libpq
// reports a syntax error.
func libpqConninfo(s string) (pairs [][2]string, ok bool) {
	cp := 0
	for cp < len(s) {
		if isSpace(s[cp]) {
			cp++
			continue
		}
		pname := cp
		for cp < len(s) && s[cp] != '=' && !isSpace(s[cp]) {
			cp++
		}
		name := s[pname:cp]
		for cp < len(s) && isSpace(s[cp]) {
			cp++
		}
		if cp >= len(s) || s[cp] != '=' {
			return nil, false
		}
		cp++
		for cp < len(s) && isSpace(s[cp]) {
			cp++
		}
		var val []byte
		if cp >= len(s) || s[cp] != '\'' {
			for cp < len(s) {
				if isSpace(s[cp]) {
					cp++
					break
				}
				if s[cp] == '\\' {
					cp++
					if cp < len(s) {
						val = append(val, s[cp])
						cp++
					}
				} else {
					val = append(val, s[cp])
					cp++
				}
			}
		} else {
			cp++
			for {
				if cp >= len(s) {
					return nil, false
				}
				if s[cp] == '\\' {
					cp++
					if cp < len(s) {
						val = append(val, s[cp])
						cp++
					}
					continue
				}
				if s[cp] == '\'' {
					cp++
					break
				}
				val = append(val, s[cp])
				cp++
			}
		}
		if name == "" {
			return nil, false // libpq: invalid connection option ""
		}
		pairs = append(pairs, [2]string{name, string(val)})
	}
	return pairs, true
}

// FuzzConninfo: a keyword/value string parses as libpq parses it; a
// string that parses, URI or not, written back with Encode parses to the
// same pairs; String never shows the password; Set then Get gives what
// was set and survives Encode.
func FuzzConninfo(f *testing.F) {
	for _, s := range []string{
		"host=db1 port=5432 user=replicator password='s3cr\\'et' sslmode=prefer application_name=walreceiver",
		"host = 'a b'  dbname=x\\ y", "a='x'b=1", "a=x\\", "a='x", "=x", "a", "a=\fb=1", "a=''",
		"postgresql://u:p%40ss@db1:5433/postgres?sslmode=require&application_name=x",
		"postgres://h/?a%20b=1", "postgres://h/?=x", "postgres://[::1]:5/db", "postgres://%zz",
	} {
		f.Add(s, "sslmode", "verify-full")
	}
	f.Fuzz(func(t *testing.T, s, key, value string) {
		c, err := ParseConninfo(s)
		if !strings.HasPrefix(strings.TrimSpace(s), "postgres") {
			want, ok := libpqConninfo(s)
			if (err == nil) != ok || ok && !slices.Equal(c.pairs, want) {
				t.Fatalf("ParseConninfo(%q) = %v, %v; libpq reads %q, %v", s, c, err, want, ok)
			}
		}
		if err != nil {
			var ce *ConninfoError
			if !errors.As(err, &ce) || ce.Offset < 0 || ce.Offset > len(s) {
				t.Fatalf("ParseConninfo(%q): %T %v", s, err, err)
			}
			return
		}
		back, err := ParseConninfo(c.Encode())
		if err != nil || !slices.Equal(back.pairs, c.pairs) {
			t.Fatalf("%q encodes as %q, which parses to %v, %v", s, c.Encode(), back, err)
		}
		if _, ok := c.Get("password"); ok {
			shown, err := ParseConninfo(c.String())
			if got, _ := shown.Get("password"); err != nil || got != "********" {
				t.Fatalf("String() of %q shows password %q (%v)", s, got, err)
			}
		}
		if !validConninfoKey(key) {
			return
		}
		c.Set(key, value)
		if got, ok := c.Get(key); !ok || got != value {
			t.Fatalf("Set(%q, %q) then Get: %q %v", key, value, got, ok)
		}
		back, err = ParseConninfo(c.Encode())
		if got, _ := back.Get(key); err != nil || got != value {
			t.Fatalf("Set(%q, %q): after Encode %q, %v", key, value, got, err)
		}
		c.Delete(key)
		if _, ok := c.Get(key); ok {
			t.Fatalf("Delete(%q) left it", key)
		}
	})
}

// libpqMatches is libpq's pwdfMatchesString: whether the field at the
// start of buf matches token, and the rest of buf after its ':'.
func libpqMatches(buf, token string) (string, bool) {
	if strings.HasPrefix(buf, "*:") {
		return buf[2:], true
	}
	i, j, bslash := 0, 0, false
	for i < len(buf) {
		if buf[i] == '\\' && !bslash {
			i++
			bslash = true
		}
		var c byte // C's terminating NUL past the end
		if i < len(buf) {
			c = buf[i]
		}
		if c == ':' && j == len(token) && !bslash {
			return buf[i+1:], true
		}
		bslash = false
		if j == len(token) || c != token[j] {
			return "", false
		}
		i++
		j++
	}
	return "", false
}

// libpqPassword is libpq's passwordFromFile over the text of a pgpass file.
func libpqPassword(data, host, port, db, user string) (string, bool) {
	for _, line := range strings.Split(data, "\n") {
		line = strings.TrimRight(line, "\r\n")
		if line == "" || line[0] == '#' {
			continue
		}
		t, ok := line, true
		for _, tok := range []string{host, port, db, user} {
			if t, ok = libpqMatches(t, tok); !ok {
				break
			}
		}
		if !ok {
			continue
		}
		var pw []byte
		for i := 0; i < len(t) && t[i] != ':'; i++ {
			if t[i] == '\\' && i+1 < len(t) {
				i++
			}
			pw = append(pw, t[i])
		}
		return string(pw), true
	}
	return "", false
}

// FuzzPassfile: LookupPassword finds in a pgpass file the password libpq
// finds there.
func FuzzPassfile(f *testing.F) {
	file := "# comment\n127.0.0.2:5432:postgres:postgres:s3cr\\:et\n*:*:*:app:app\\\\pw\n127.0.0.3:5433:*:postgres:other\nbroken:line\n"
	for _, c := range [][4]string{
		{"127.0.0.2", "5432", "postgres", "postgres"}, {"127.0.0.9", "1", "x", "app"}, {"127.0.0.3", "5433", "any", "postgres"},
	} {
		f.Add(file, c[0], c[1], c[2], c[3])
	}
	for _, s := range []string{"h:p:d:u:pw:extra\n", "h:p:d:u:pw\\\n", "\\*:p:d:u:pw\n", "h\\:x:p:d:u:pw\r\r\n", "h:p:d:u\\", "h:p:d:u:\n", "::::\n"} {
		f.Add(s, "h", "p", "d", "u")
		f.Add(s, "*", "p", "d", "u")
	}
	f.Fuzz(func(t *testing.T, data, host, port, db, user string) {
		if strings.Contains(data+host+port+db+user, "\x00") {
			return // libpq works on C strings
		}
		entries, err := ParsePassfile(strings.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		got, ok := LookupPassword(entries, host, port, db, user)
		want, wantOK := libpqPassword(data, host, port, db, user)
		if got != want || ok != wantOK {
			t.Fatalf("%s:%s:%s:%s in %q: %q %v, libpq finds %q %v", host, port, db, user, data, got, ok, want, wantOK)
		}
	})
}

// FuzzScanReloadLog: the log is checked exactly when a "received SIGHUP"
// line comes no later than the first line holding the token; every
// failure is the message of a line between the two; what the log gains
// after the token's line changes nothing.
func FuzzScanReloadLog(f *testing.F) {
	for _, s := range []string{
		"2024-01-01 10:00:00 UTC [1] LOG:  " + SighupLine + "\n2024-01-01 10:00:00 UTC [1] LOG:  could not load pg_hba.conf\n2024-01-01 10:00:00 UTC [2] LOG:  statement: select 'TOKEN'\n",
		"LOG:  " + SighupLine + "\nLOG:  invalid connection type \"hots\"\nCONTEXT:  line 3 of configuration file \"/x/pg_hba.conf\"\nLOG:  pg_hba.conf was not reloaded\nTOKEN\n",
		"LOG:  " + SighupLine + "\nLOG:  parameter \"shared_buffers\" cannot be changed without restarting the server\nLOG:  configuration file \"/x\" contains errors; unaffected changes were applied\nTOKEN",
		`{"error_severity":"LOG","message":"` + SighupLine + `"}` + "\n" + `{"error_severity":"LOG","message":"could not load server certificate file \"x\""}` + "\nTOKEN\n",
		`2024-01-01 10:00:00.000 UTC,,,1,,1,,2024,,0,LOG,00000,"` + SighupLine + `",,,,,,,,,""` + "\n" + `x,LOG,00000,"private key file ""k"" has group access",,` + "\nTOKEN\n",
		"TOKEN " + SighupLine, "ERROR:  " + SighupLine + "\nTOKEN",
	} {
		f.Add(s, "TOKEN", "LOG:  could not load pg_hba.conf\n")
	}
	f.Fuzz(func(t *testing.T, text, token, more string) {
		r := ScanReloadLog(text, token)
		lines := strings.Split(text, "\n")
		start, end := -1, -1
		for i, l := range lines {
			if start < 0 && strings.Contains(l, SighupLine) {
				start = i
			}
			if token != "" && strings.Contains(l, token) {
				end = i
				break
			}
		}
		checked := start >= 0 && end >= 0
		if r.Checked != checked || (r.Why == "") != checked || !checked && len(r.Failures) > 0 {
			t.Fatalf("Checked %v, Why %q, %d failures; SIGHUP on line %d, token on line %d", r.Checked, r.Why, len(r.Failures), start, end)
		}
		if !checked {
			return
		}
		for _, msg := range r.Failures {
			found := false
			for _, l := range lines[start:end] {
				_, m := splitSeverity(l)
				found = found || m != "" && strings.HasPrefix(msg, m)
			}
			if !found {
				t.Fatalf("failure %q is no message of the lines of the reload", msg)
			}
		}
		if !strings.HasSuffix(text, "\n") {
			return // more would join the token's line
		}
		if r2 := ScanReloadLog(text+more, token); !slices.Equal(r2.Failures, r.Failures) || !r2.Checked {
			t.Fatalf("lines after the token's changed the verdict: %+v -> %+v", r, r2)
		}
	})
}

// FuzzSplitSeverity: a stderr log line, whatever its prefix (without a
// severity tag of its own) and message, splits into its severity and
// message.
func FuzzSplitSeverity(f *testing.F) {
	f.Add("2024-01-01 10:00:00.123 UTC [4242] ", "could not load pg_hba.conf")
	f.Add("", "  spaced  ")
	f.Add("[x] app=LOG ", "ERROR:  later tag in the message")
	f.Fuzz(func(t *testing.T, prefix, msg string) {
		if strings.HasPrefix(prefix, "{") || strings.Contains(prefix, ":  ") || prefix != "" && tagByte(prefix[len(prefix)-1]) {
			return // a JSON line, a prefix with a tag of its own, or one the tag would not start after
		}
		for _, sev := range []string{"LOG", "ERROR", "FATAL", "CONTEXT", "DEBUG1"} {
			l := prefix + sev + ":  " + msg
			gotSev, gotMsg := splitSeverity(l)
			if gotSev != sev || gotMsg != strings.TrimSpace(msg) {
				t.Fatalf("splitSeverity(%q) = %q, %q; want %q, %q", l, gotSev, gotMsg, sev, strings.TrimSpace(msg))
			}
		}
	})
}

package pg

import (
	"bytes"
	"context"
	"strconv"
	"strings"

	"al.essio.dev/pkg/shellescape"

	"github.com/sshplay/sshplay/transport"
)

// A cipher list the server's OpenSSL cannot use breaks a reload silently
// (the old SSL context stays live while SHOW ssl_ciphers reports the new
// list), so the list is tried with the host's own openssl before anything
// is written, in the facts round trip.

// cipherMarker starts the cipher check's part of the facts script's
// output; it is always the last part.
const cipherMarker = "@@sshplay-ciphers@@"

// CipherCheck is what the host's `openssl ciphers -s -tls1_2 LIST` made of
// a cipher list (ssl_ciphers covers TLS 1.2 and older only).
type CipherCheck struct {
	// List is the cipher list that was checked ("" when none was).
	List string
	// Ran is false when openssl could not run on the host.
	Ran bool
	// Ciphers are the ciphers openssl listed; none means the server
	// could not use the list.
	Ciphers []string
	// Error is openssl's complaint, first line ("" when it had none).
	Error string
}

// Usable reports whether the list may be written: openssl lists at least
// one cipher from it, or there was nothing to check, or no openssl to ask.
func (c CipherCheck) Usable() bool {
	return c.List == "" || !c.Ran || len(c.Ciphers) > 0
}

// cipherCheckScript prints the cipher marker, openssl's exit status and
// its output (the cipher list, or why there is none).
func cipherCheckScript(list string) string {
	if list == "" {
		return ""
	}
	return "c=$(openssl ciphers -s -tls1_2 " + shellescape.Quote(list) + " 2>&1 </dev/null); printf '" +
		cipherMarker + " %s\\n%s\\n' \"$?\" \"$c\"\n"
}

// cutCipherCheck takes the cipher check's part off the facts script's
// output (it comes last, right after whatever was printed before it).
func cutCipherCheck(out []byte, list string) ([]byte, CipherCheck) {
	cc := CipherCheck{List: list}
	i := bytes.LastIndex(out, []byte(cipherMarker+" "))
	if list == "" || i < 0 {
		return out, cc
	}
	head, body, _ := strings.Cut(string(out[i+len(cipherMarker)+1:]), "\n")
	rc, err := strconv.Atoi(strings.TrimSpace(head))
	body = strings.TrimSpace(body)
	// 126 and 127: the shell could not run openssl at all.
	cc.Ran = err == nil && rc != 126 && rc != 127
	switch {
	case !cc.Ran:
	case rc == 0:
		for _, c := range strings.Split(body, ":") {
			if c = strings.TrimSpace(c); c != "" {
				cc.Ciphers = append(cc.Ciphers, c)
			}
		}
	default:
		cc.Error = firstLine(body)
	}
	return out[:i], cc
}

// GatherChecked is Gather that also tries ciphers (an ssl_ciphers list;
// "" checks nothing) with the host's openssl, in the same round trip, and
// returns the verdict beside the facts. The check's output is taken off
// before Gather parses the rest, so the facts come out exactly as Gather's.
func GatherChecked(ctx context.Context, c transport.Conn, o GatherOptions, ciphers string) (*Facts, CipherCheck, error) {
	o.ciphers = ciphers
	tap := &cipherTap{Conn: c, list: ciphers}
	f, err := Gather(ctx, tap, o)
	return f, tap.check, err
}

// cipherTap is a connection that keeps the cipher check's part of a
// command's output for GatherChecked and passes the rest on.
type cipherTap struct {
	transport.Conn
	list  string
	check CipherCheck
}

func (t *cipherTap) Run(ctx context.Context, cmd string, opts transport.RunOptions) (*transport.Result, error) {
	res, err := t.Conn.Run(ctx, cmd, opts)
	if res != nil {
		res.Stdout, t.check = cutCipherCheck(res.Stdout, t.list)
	}
	return res, err
}

// OpenSSLName shortens `openssl version` output to its name and version
// ("OpenSSL 3.0.13"); "" stays "".
func OpenSSLName(version string) string {
	fs := strings.Fields(version)
	if len(fs) < 2 {
		return strings.TrimSpace(version)
	}
	return fs[0] + " " + fs[1]
}

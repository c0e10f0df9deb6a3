package pghba

import (
	"net/netip"
	"strings"
)

// Verdict is what pg_hba.conf does with a connection attempt.
type Verdict int

const (
	// Unknown: the answer depends on what only the server knows (group
	// membership, @files, regular expressions, host names, samehost and
	// samenet, included files) or the file would not load at all.
	Unknown Verdict = iota
	// Rejected: the first matching record rejects, or no record matches.
	Rejected
	// Allowed: the first matching record lets the connection go on to
	// authentication (which may still fail).
	Allowed
)

func (v Verdict) String() string {
	switch v {
	case Rejected:
		return "rejected"
	case Allowed:
		return "allowed"
	}
	return "unknown"
}

// PlainVerdict tells what content does with a plaintext (neither TLS nor
// GSSAPI-encrypted) TCP connection from addr for user to database db, so a
// plan can say which live sessions a new pg_hba.conf would refuse at their
// next connection. replication is true for a physical replication
// connection (a walsender without a database: a standby, pg_basebackup):
// PostgreSQL matches those only against the "replication" keyword, and
// db is then ignored. A logical replication connection names a database
// and matches like an ordinary one: pass its database and false.
//
// Records are tried in order, first match wins, as the server does. A
// record that may or may not match (Unknown above) does not stop the
// search: when every such record would give the same verdict as the
// first record that surely matches, that verdict stands; otherwise the
// verdict is Unknown. line is the record that decides (0 when no record
// matches); for Unknown it is the first record, include directive or
// syntax error that makes the answer uncertain. addr is an IP address
// ("10.0.0.7", "::1"; a zone or a /32 or /128 suffix is accepted);
// anything else matches only the address "all".
func PlainVerdict(content []byte, addr, user, db string, replication bool) (v Verdict, line int) {
	c := client{addr: parseClientAddr(addr), user: user, db: db, replication: replication, enc: plaintext}
	return verdictFor(parseEntries(splitPhysical(content)), c)
}

// encryption is how a TCP connection is protected; it decides which
// connection types can match it.
type encryption int

const (
	plaintext encryption = iota
	tlsEncrypted
	gssEncrypted
)

// client is the connection being judged.
type client struct {
	addr        netip.Addr // invalid when not an IP address
	user, db    string
	replication bool
	enc         encryption
}

func parseClientAddr(s string) netip.Addr {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.WithZone("")
	}
	if p, err := netip.ParsePrefix(s); err == nil && p.IsSingleIP() {
		return p.Addr()
	}
	return netip.Addr{}
}

// verdictFor runs PostgreSQL's first-match search over ps for c; see
// PlainVerdict.
func verdictFor(ps []parsed, c client) (Verdict, int) {
	for _, p := range ps {
		if p.err != nil {
			return Unknown, p.err.Line
		}
	}
	var maybe []Verdict
	first := 0
	for _, p := range ps {
		if p.include != nil {
			if first == 0 {
				first = p.include.Line
			}
			return Unknown, first
		}
		if p.rec == nil || !typeMatches(p.rec.Type, c.enc) {
			continue
		}
		out := Allowed
		if p.rec.Method == "reject" {
			out = Rejected
		}
		switch matchRecord(p, c) {
		case matchMaybe:
			maybe = append(maybe, out)
			if first == 0 {
				first = p.rec.Line
			}
		case matchYes:
			return settle(out, p.rec.Line, maybe, first)
		}
	}
	return settle(Rejected, 0, maybe, first)
}

// settle keeps verdict v only if every record that might have matched
// earlier would have given the same one.
func settle(v Verdict, line int, maybe []Verdict, first int) (Verdict, int) {
	for _, m := range maybe {
		if m != v {
			return Unknown, first
		}
	}
	return v, line
}

// typeMatches reports whether connection type typ applies to a TCP
// connection with encryption enc.
func typeMatches(typ string, enc encryption) bool {
	switch typ {
	case TypeHost:
		return true
	case TypeHostSSL:
		return enc == tlsEncrypted
	case TypeHostNoSSL:
		return enc != tlsEncrypted
	case TypeHostGSSEnc:
		return enc == gssEncrypted
	case TypeHostNoGSSEnc:
		return enc != gssEncrypted
	}
	return false
}

// match is a three-valued answer: no < maybe < yes.
type match int

const (
	matchNo match = iota
	matchMaybe
	matchYes
)

func matchIf(b bool) match {
	if b {
		return matchYes
	}
	return matchNo
}

// matchRecord matches database, user and address; all must match.
func matchRecord(p parsed, c client) match {
	m := min(anyToken(p.e.fields[1], c, dbToken), anyToken(p.e.fields[2], c, userToken))
	return min(m, addrMatch(p.rec, c.addr))
}

// anyToken matches a comma-separated list: one token matching is enough.
func anyToken(toks []tok, c client, f func(tok, client) match) match {
	best := matchNo
	for _, t := range toks {
		best = max(best, f(t, c))
	}
	return best
}

// dbToken follows hba.c's check_db. Keywords count only unquoted.
func dbToken(t tok, c client) match {
	if !t.quoted && strings.HasPrefix(t.text, "@") {
		return matchMaybe // names read from a file
	}
	if c.replication {
		return matchIf(!t.quoted && t.text == "replication")
	}
	if !t.quoted {
		switch t.text {
		case "all":
			return matchYes
		case "sameuser":
			return matchIf(c.db == c.user)
		case "samerole", "samegroup":
			return matchMaybe
		case "replication":
			return matchNo
		}
		if strings.HasPrefix(t.text, "/") {
			return matchMaybe // a regular expression (PostgreSQL 16)
		}
	}
	return matchIf(t.text == c.db)
}

// userToken follows hba.c's check_role.
func userToken(t tok, c client) match {
	if !t.quoted {
		if t.text == "all" {
			return matchYes
		}
		if strings.HasPrefix(t.text, "+") || strings.HasPrefix(t.text, "@") || strings.HasPrefix(t.text, "/") {
			return matchMaybe // group membership, a file, a regular expression
		}
	}
	return matchIf(t.text == c.user)
}

// addrMatch follows check_hba's address comparison: same address family,
// equal under the mask. Host names, samehost and samenet need the
// server's view and give maybe.
func addrMatch(r *Record, a netip.Addr) match {
	switch r.Address {
	case "all":
		return matchYes
	case "samehost", "samenet":
		return matchMaybe
	}
	if !a.IsValid() {
		return matchMaybe
	}
	if r.Mask != "" {
		ip, err1 := netip.ParseAddr(r.Address)
		mask, err2 := netip.ParseAddr(r.Mask)
		if err1 != nil || err2 != nil {
			return matchMaybe
		}
		return matchIf(maskedEqual(a, ip, mask))
	}
	if strings.Contains(r.Address, "/") {
		p, err := netip.ParsePrefix(r.Address)
		if err != nil {
			return matchMaybe
		}
		return matchIf(p.Contains(a))
	}
	return matchMaybe // a host name
}

// maskedEqual compares a and ip under mask, byte by byte, as check_ip
// does; addresses of different families (IPv4 against IPv6, IPv4-mapped
// IPv6 included) never match.
func maskedEqual(a, ip, mask netip.Addr) bool {
	x, y, m := a.AsSlice(), ip.AsSlice(), mask.AsSlice()
	if len(x) != len(y) || len(y) != len(m) {
		return false
	}
	for i := range x {
		if x[i]&m[i] != y[i]&m[i] {
			return false
		}
	}
	return true
}

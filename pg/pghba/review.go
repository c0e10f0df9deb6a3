package pghba

import (
	"fmt"
	"net"
	"strings"
)

// Warning is a rule in pg_hba.conf that a person should look at before
// trusting the file to enforce TLS.
type Warning struct {
	Line int    // first physical line of the rule, 1-based
	Msg  string // the rule's text and what it lets happen, one line
}

// String is the warning as one line: "line 12: hostssl all all 10.0.0.0/8
// trust: TLS encrypts but does not authenticate; ...".
func (w Warning) String() string { return fmt.Sprintf("line %d: %s", w.Line, w.Msg) }

// Review lists, in file order, what content still allows that enforcing
// TLS does not take away, one warning per rule:
//   - a TCP record with method trust: encryption is not authentication,
//     so anyone who can connect from its addresses logs in;
//   - a hostnossl record that does not reject: it keeps allowing
//     plaintext (or, behind full reject lines and not naming
//     "replication", it never matches: the exception is dead);
//   - a hostgssenc record behind full reject lines: it never matches;
//   - an include directive before the reject lines (or in a file without
//     them): the files it names are not rewritten, so host lines there
//     still accept plaintext. EnforceSSL leaves one there only when a
//     hostnossl or hostgssenc record after it must stay ahead of the
//     reject lines.
//
// Review describes content as given and does not rewrite it: call it on
// what EnforceSSL returns to see what the new file leaves open. "Full
// reject lines" are the first point where reject lines covering every
// IPv4 and IPv6 address for all databases and users have been read.
func Review(content []byte) []Warning {
	ps := parseEntries(splitPhysical(content))
	rv := reviewer{netLine: fullRejectLine(ps)}
	for _, p := range ps {
		if isKeeper(p.rec) {
			rv.lastKeeper = p.rec.Line
		}
	}
	var out []Warning
	var v4, v6 bool
	for _, p := range ps {
		msg := ""
		switch {
		case p.include != nil:
			msg = rv.include(p, v4 && v6)
		case p.rec != nil && p.rec.IsTCP():
			msg = rv.record(p, v4 && v6)
			r4, r6 := rejectCovers(p.rec)
			v4, v6 = v4 || r4, v6 || r6
		}
		if msg != "" {
			out = append(out, Warning{Line: p.e.first + 1, Msg: msg})
		}
	}
	return out
}

// reviewer holds what Review's messages refer to: the line where full
// reject lines are complete (0: never) and the last keeper's line.
type reviewer struct {
	netLine, lastKeeper int
}

// fullRejectLine is the line of the record that completes IPv4 and IPv6
// reject coverage, or 0.
func fullRejectLine(ps []parsed) int {
	var v4, v6 bool
	for _, p := range ps {
		if p.rec == nil {
			continue
		}
		r4, r6 := rejectCovers(p.rec)
		if v4, v6 = v4 || r4, v6 || r6; v4 && v6 {
			return p.rec.Line
		}
	}
	return 0
}

func (rv reviewer) include(p parsed, covered bool) string {
	const tail = "host lines in the files it names are not rewritten and still accept plaintext"
	rule := ruleText(p.e)
	switch {
	case covered:
		return ""
	case rv.netLine == 0:
		return fmt.Sprintf("%s: %s", rule, tail)
	case rv.lastKeeper > p.include.Line && rv.lastKeeper < rv.netLine:
		return fmt.Sprintf("%s: comes before the reject lines (line %d), which must stay after the rule on line %d; %s", rule, rv.netLine, rv.lastKeeper, tail)
	}
	return fmt.Sprintf("%s: comes before the reject lines (line %d); %s", rule, rv.netLine, tail)
}

// record words the warning for one TCP record, "" when there is nothing
// to say. covered: full reject lines come before it.
func (rv reviewer) record(p parsed, covered bool) string {
	r := p.rec
	rule, from := ruleText(p.e), describeAddr(r)
	dead := covered && !mayMatchReplication(p.e)
	switch {
	case r.Method == "reject":
		return ""
	case r.Type == TypeHostNoSSL && dead:
		return fmt.Sprintf("%s: never matches: the reject lines (line %d) refuse plaintext first", rule, rv.netLine)
	case r.Type == TypeHostGSSEnc && dead:
		return fmt.Sprintf("%s: never matches: the reject lines (line %d) refuse GSSAPI-encrypted connections first (hostnossl matches them)", rule, rv.netLine)
	case r.Type == TypeHostNoSSL && r.Method == "trust":
		return fmt.Sprintf("%s: keeps allowing plaintext without a password: anyone connecting from %s logs in, unencrypted", rule, from)
	case r.Type == TypeHostNoSSL:
		return fmt.Sprintf("%s: keeps allowing plaintext from %s (no TLS: those sessions can be read and altered on the network)", rule, from)
	case r.Method != "trust":
		return ""
	case r.Type == TypeHostSSL:
		return fmt.Sprintf("%s: TLS encrypts but does not authenticate; anyone connecting from %s logs in without a password", rule, from)
	case r.Type == TypeHostGSSEnc:
		return fmt.Sprintf("%s: GSSAPI encryption with trust does not check the user; anyone connecting from %s with GSSAPI logs in without a password", rule, from)
	}
	return fmt.Sprintf("%s: trust does not authenticate; anyone connecting from %s logs in without a password, with or without TLS", rule, from)
}

// mayMatchReplication reports whether a record can match physical
// replication connections, which the reject lines' "all" does not cover:
// its database field names "replication" or reads names from a file.
func mayMatchReplication(e *entry) bool {
	for _, t := range e.fields[1] {
		if !t.quoted && (t.text == "replication" || strings.HasPrefix(t.text, "@")) {
			return true
		}
	}
	return false
}

// ruleText is the rule as written, fields joined by one space, without
// its comment: "hostssl all all 10.0.0.0/8 trust".
func ruleText(e *entry) string {
	var fs []string
	for _, f := range e.fields {
		fs = append(fs, e.logical[f[0].start:f[len(f)-1].end])
	}
	return strings.Join(fs, " ")
}

// describeAddr names the clients a record's address field admits.
func describeAddr(r *Record) string {
	switch r.Address {
	case "all":
		return "any address"
	case "samehost":
		return "the server's own addresses"
	case "samenet":
		return "the server's own subnets"
	}
	if r.Mask == "" {
		return r.Address
	}
	ip, mask := net.ParseIP(r.Address), net.ParseIP(r.Mask)
	if ip4, m4 := ip.To4(), mask.To4(); ip4 != nil && m4 != nil {
		ip, mask = ip4, m4
	}
	if ones, bits := net.IPMask(mask).Size(); bits > 0 && len(ip) == len(mask) {
		return fmt.Sprintf("%s/%d", ip, ones)
	}
	return r.Address + " mask " + r.Mask
}

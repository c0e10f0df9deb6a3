package pghba

import (
	"bytes"
	"fmt"
	"net"
	"strings"
)

// Connection types.
const (
	TypeLocal        = "local"
	TypeHost         = "host"
	TypeHostSSL      = "hostssl"
	TypeHostNoSSL    = "hostnossl"
	TypeHostGSSEnc   = "hostgssenc"
	TypeHostNoGSSEnc = "hostnogssenc"
)

// Record is one pg_hba.conf rule.
type Record struct {
	Line  int // first physical line, 1-based
	Lines int // physical lines it spans (more than 1 with backslash continuation)
	Type  string
	// Database and User are the comma-separated lists of the fields,
	// unquoted.
	Database []string
	User     []string
	// Address is a CIDR, an IP (then Mask holds the netmask field), a host
	// name, or one of all, samehost, samenet. Empty for local.
	Address string
	Mask    string
	Method  string
	// Options are the name=value fields after the method.
	Options []string
	// Comment is the trailing comment, "#" included, or "".
	Comment string
	// Raw is the record's physical text, continuation lines included, without
	// the final newline.
	Raw string
}

// IsTCP reports whether the record applies to TCP connections.
func (r Record) IsTCP() bool { return isTCPType(r.Type) }

// Include is an include, include_if_exists or include_dir directive.
type Include struct {
	Kind string
	Path string
	Line int
}

// SyntaxError is a line PostgreSQL would reject (and with it the whole
// file: the server keeps its old rules on reload and refuses to start).
type SyntaxError struct {
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// RejectComment is written above the reject lines EnforceSSL inserts. It
// marks them as EnforceSSL's own: only lines right under it are ever
// moved by a later run.
const RejectComment = "# sshplay: refuse non-TLS TCP connections"

func isTCPType(t string) bool {
	switch t {
	case TypeHost, TypeHostSSL, TypeHostNoSSL, TypeHostGSSEnc, TypeHostNoGSSEnc:
		return true
	}
	return false
}

// physical is one physical line of the file.
type physical struct {
	text string // without newline (a CRLF line keeps its "\r")
	eol  string
}

// entry is one logical line: one or more physical lines joined at a
// trailing backslash.
type entry struct {
	first, count int    // index of the first physical line and how many
	logical      string // joined text, backslashes removed
	segStart     []int  // offset in logical where each physical line starts
	fields       [][]tok
	comment      string
}

type tok struct {
	text       string // unquoted value
	quoted     bool
	start, end int // raw extent in logical
}

func splitPhysical(content []byte) []physical {
	s := string(content)
	var out []physical
	for len(s) > 0 {
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			out = append(out, physical{s[:i], "\n"})
			s = s[i+1:]
		} else {
			out = append(out, physical{s, ""})
			s = ""
		}
	}
	return out
}

// entries groups physical lines into logical lines as PostgreSQL 16 does:
// a line whose last character (after dropping "\r") is a backslash
// continues on the next one. The backslash is dropped even on the last
// line of the file, where there is nothing to continue on.
func entries(ph []physical) []*entry {
	var out []*entry
	for i := 0; i < len(ph); {
		e := &entry{first: i}
		var sb strings.Builder
		for i < len(ph) {
			t := strings.TrimSuffix(ph[i].text, "\r")
			e.segStart = append(e.segStart, sb.Len())
			e.count++
			i++
			cont := strings.HasSuffix(t, `\`)
			sb.WriteString(strings.TrimSuffix(t, `\`))
			if !cont {
				break
			}
		}
		e.logical = sb.String()
		e.fields, e.comment = tokenize(e.logical)
		out = append(out, e)
	}
	return out
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// tokenize splits a logical line into fields (lists of comma-joined tokens)
// the way hba.c's next_field_expand/next_token do, and returns the trailing
// comment.
func tokenize(s string) (fields [][]tok, comment string) {
	i := 0
	var field []tok
	for {
		for i < len(s) && isBlank(s[i]) {
			i++
		}
		if i >= len(s) {
			break
		}
		if s[i] == '#' {
			comment = s[i:]
			break
		}
		start := i
		var buf strings.Builder
		inQuote, wasQuote, sawQuote, comma := false, false, false, false
		for i < len(s) && (!isBlank(s[i]) || inQuote) {
			c := s[i]
			if c == '#' && !inQuote {
				break
			}
			if c == ',' && !inQuote {
				comma = true
				i++
				break
			}
			if c != '"' || wasQuote {
				buf.WriteByte(c)
			}
			if inQuote && c == '"' {
				wasQuote = !wasQuote
			} else {
				wasQuote = false
			}
			if c == '"' {
				inQuote = !inQuote
				sawQuote = true
			}
			i++
		}
		end := i
		if comma {
			end--
		}
		if end > start || sawQuote {
			field = append(field, tok{text: buf.String(), quoted: sawQuote, start: start, end: end})
		}
		if !comma {
			if len(field) > 0 {
				fields = append(fields, field)
			}
			field = nil
		}
	}
	if len(field) > 0 {
		fields = append(fields, field)
	}
	return fields, comment
}

func texts(f []tok) []string {
	out := make([]string, len(f))
	for i, t := range f {
		out[i] = t.text
	}
	return out
}

// parsed is a logical line turned into a record or include.
type parsed struct {
	e       *entry
	rec     *Record
	include *Include
	err     *SyntaxError
}

func parseEntries(ph []physical) []parsed {
	var out []parsed
	for _, e := range entries(ph) {
		p := parsed{e: e}
		if len(e.fields) > 0 {
			p.rec, p.include, p.err = parseFields(e, ph)
		}
		out = append(out, p)
	}
	return out
}

func parseFields(e *entry, ph []physical) (*Record, *Include, *SyntaxError) {
	line := e.first + 1
	f := e.fields
	bad := func(format string, a ...any) (*Record, *Include, *SyntaxError) {
		return nil, nil, &SyntaxError{Line: line, Msg: fmt.Sprintf(format, a...)}
	}
	if len(f[0]) > 1 {
		return bad("multiple values specified for connection type")
	}
	typ := f[0][0].text
	switch typ {
	case "include", "include_if_exists", "include_dir":
		if len(f) != 2 || len(f[1]) != 1 {
			return bad("%s needs exactly one file name", typ)
		}
		return nil, &Include{Kind: typ, Path: f[1][0].text, Line: line}, nil
	}
	if typ != TypeLocal && !isTCPType(typ) {
		return bad("invalid connection type %q", typ)
	}
	var raw []string
	for k := e.first; k < e.first+e.count; k++ {
		raw = append(raw, strings.TrimSuffix(ph[k].text, "\r"))
	}
	r := &Record{Line: line, Lines: e.count, Type: typ, Comment: e.comment, Raw: strings.Join(raw, "\n")}
	rest := f[1:]
	if len(rest) < 1 {
		return bad("end-of-line before database specification")
	}
	r.Database, rest = texts(rest[0]), rest[1:]
	if len(rest) < 1 {
		return bad("end-of-line before role specification")
	}
	r.User, rest = texts(rest[0]), rest[1:]
	if typ != TypeLocal {
		if len(rest) < 1 {
			return bad("end-of-line before IP address specification")
		}
		if len(rest[0]) > 1 {
			return bad("multiple values specified for host address")
		}
		r.Address, rest = rest[0][0].text, rest[1:]
		if !strings.Contains(r.Address, "/") && net.ParseIP(r.Address) != nil {
			if len(rest) < 1 {
				return bad("end-of-line before netmask specification")
			}
			if len(rest[0]) > 1 || net.ParseIP(rest[0][0].text) == nil {
				return bad("invalid IP mask %q", strings.Join(texts(rest[0]), ","))
			}
			r.Mask, rest = rest[0][0].text, rest[1:]
		}
	}
	if len(rest) < 1 {
		return bad("end-of-line before authentication method")
	}
	if len(rest[0]) > 1 {
		return bad("multiple values specified for authentication type")
	}
	r.Method, rest = rest[0][0].text, rest[1:]
	for _, o := range rest {
		r.Options = append(r.Options, strings.Join(texts(o), ","))
	}
	return r, nil, nil
}

// Parse returns the records and include directives of content, in order,
// and the first line PostgreSQL would reject as a *SyntaxError. Method and
// option names are not checked.
func Parse(content []byte) ([]Record, []Include, error) {
	var recs []Record
	var incs []Include
	var first error
	for _, p := range parseEntries(splitPhysical(content)) {
		switch {
		case p.rec != nil:
			recs = append(recs, *p.rec)
		case p.include != nil:
			incs = append(incs, *p.include)
		case p.err != nil && first == nil:
			first = p.err
		}
	}
	return recs, incs, first
}

// EnforceOptions tune EnforceSSL.
type EnforceOptions struct {
	// OmitReject skips adding the hostnossl reject lines; by default
	// (false) they are added. Reject lines an earlier run wrote in a place
	// that shadows a keeper (see EnforceSSL) are moved either way.
	OmitReject bool
}

// EnforceSSL rewrites pg_hba.conf so TCP clients must use TLS:
//   - every "host" and "hostnogssenc" record (replication ones too)
//     becomes "hostssl", keeping the following columns where they were
//     when spaces allow. Both types match plaintext as well as TLS; TLS
//     connections are never GSSAPI-encrypted, so for them the meaning is
//     unchanged;
//   - unless opts.OmitReject, "hostnossl all all 0.0.0.0/0 reject" and
//     "hostnossl all all ::/0 reject", under RejectComment, are added
//     where they shadow nothing that must still match (below), unless
//     equivalent reject lines are already in such a place.
//
// Placement. First match wins. After the conversion only hostnossl
// records can match a plaintext connection, so wherever the reject lines
// stand (before any include directive), they refuse every plaintext
// connection that no hostnossl record ahead of them admits. Their place
// decides what else they hide: hostnossl also matches GSSAPI-encrypted
// connections, so every record behind them that could match those, or
// plaintext, is dead. Hence a "keeper" — any hostgssenc record, and any
// hostnossl record whose method is not reject (a plaintext exception
// written on purpose) — must come before them. The rule: the reject lines
// go after the last keeper, before the first TCP record (other than an
// equivalent reject line) or include directive that follows it, above
// the comment lines directly over that record, or at the end of the file
// when nothing follows; without a keeper that is before the first TCP
// record or include directive, as always. An include directive ahead of
// the last keeper thus stays ahead of the reject lines, so host lines in
// its files keep accepting plaintext: keepers win, and Review reports the
// directive. A hostnossl record that rejects is no keeper: what it
// refuses, the reject lines refuse too.
//
// Reject lines in a valid place (after the last keeper, before the first
// include directive after it) count as present, whoever wrote them. The
// lines EnforceSSL wrote itself (RejectComment and the reject lines right
// under it) that sit anywhere else are moved, comment included, to the
// place above, or dropped when equivalent lines are already there; lines
// an administrator wrote are never moved. So a file whose own reject lines
// stand first, ahead of hostgssenc records or hostnossl exceptions, gets
// those records back, and running EnforceSSL on its own output changes
// nothing.
//
// "local", "hostssl", "hostnossl" and "hostgssenc" records, comments and
// the order of records are untouched. Include directives are not
// followed: check the files they name separately. Note that the reject
// lines' "all" does not match physical replication connections (only the
// "replication" keyword does); after the conversion nothing in this file
// admits them in plaintext except hostnossl records naming replication.
func EnforceSSL(content []byte, opts EnforceOptions) (newContent []byte, changed bool) {
	ph := splitPhysical(content)
	ps := parseEntries(ph)
	nl := "\n"
	if len(ph) > 0 && strings.HasSuffix(ph[0].text, "\r") {
		nl = "\r\n"
	}
	for _, p := range ps {
		if p.rec != nil && (p.rec.Type == TypeHost || p.rec.Type == TypeHostNoGSSEnc) {
			rewriteType(ph, p.e, TypeHostSSL)
		}
	}
	pl := planRejects(ps, ph, opts.OmitReject, nl)
	var b bytes.Buffer
	for _, l := range pl.apply(ph, nl) {
		b.WriteString(l.text)
		b.WriteString(l.eol)
	}
	if bytes.Equal(b.Bytes(), content) {
		return content, false
	}
	return b.Bytes(), true
}

// IsEnforced reports whether content makes plaintext TCP impossible except
// where the file allows it on purpose: no "host" or "hostnogssenc" record
// is left (both accept plaintext), and reject lines covering every IPv4
// and every IPv6 address for all databases and users (as EnforceSSL
// writes them, or equivalent) come before any include directive. Records
// before the reject lines may be anything else: hostssl and hostgssenc
// never match plaintext, and a hostnossl record that lets plaintext in is
// an explicit exception (Review lists them). Where the reject lines sit
// relative to hostgssenc records does not matter here, so a file whose
// own reject lines stand ahead of a keeper is enforced even though
// EnforceSSL would still move them.
//
// Included files are not examined; an include directive before the reject
// lines makes the answer false because its files may hold host lines.
// Note that "all" in the database field does not match physical
// replication connections: in this file only records naming
// "replication" can let them in, and after the conversion those accept
// plaintext only as hostnossl exceptions; files included after the reject
// lines are still reached by them.
func IsEnforced(content []byte) bool {
	var v4, v6, included bool
	for _, p := range parseEntries(splitPhysical(content)) {
		if p.include != nil {
			included = true
		}
		if p.rec == nil || !p.rec.IsTCP() {
			continue
		}
		if p.rec.Type == TypeHost || p.rec.Type == TypeHostNoGSSEnc {
			return false
		}
		if !included {
			r4, r6 := rejectCovers(p.rec)
			v4, v6 = v4 || r4, v6 || r6
		}
	}
	return v4 && v6
}

// rejectCovers reports whether r refuses every non-TLS IPv4 / IPv6
// connection: hostnossl, all databases, all users, method reject, an
// address of all or a /0 network.
func rejectCovers(r *Record) (v4, v6 bool) {
	if r.Type != TypeHostNoSSL || r.Method != "reject" || len(r.Options) > 0 ||
		len(r.Database) != 1 || r.Database[0] != "all" || len(r.User) != 1 || r.User[0] != "all" {
		return false, false
	}
	if r.Address == "all" {
		return true, true
	}
	var ipnet *net.IPNet
	if r.Mask != "" {
		ip, mask := net.ParseIP(r.Address), net.ParseIP(r.Mask)
		if ip == nil || mask == nil {
			return false, false
		}
		if ip4 := ip.To4(); ip4 != nil && mask.To4() != nil {
			ipnet = &net.IPNet{IP: ip4, Mask: net.IPMask(mask.To4())}
		} else {
			ipnet = &net.IPNet{IP: ip.To16(), Mask: net.IPMask(mask.To16())}
		}
	} else {
		_, n, err := net.ParseCIDR(r.Address)
		if err != nil {
			return false, false
		}
		ipnet = n
	}
	if ones, _ := ipnet.Mask.Size(); ones != 0 {
		return false, false
	}
	if len(ipnet.IP) == net.IPv4len {
		return true, false
	}
	return false, true
}

// rewriteType replaces the connection-type word of e with typ, keeping the
// next column where it was when the line is laid out with spaces: a longer
// word eats spaces after it (at least one stays), a shorter one is padded
// when the line is aligned (it has a run of spaces after the word), so a
// diff shows one changed word instead of a shifted line.
func rewriteType(ph []physical, e *entry, typ string) {
	t := e.fields[0][0]
	k, off := locate(e, t.start)
	k2, _ := locate(e, t.end-1)
	if k != k2 {
		// The word is split by a continuation: rewrite the record as one line.
		logical := e.logical[:t.start] + typ + e.logical[t.end:]
		ph[e.first].text = logical
		ph[e.first].eol = ph[e.first+e.count-1].eol
		for j := e.first + 1; j < e.first+e.count; j++ {
			ph[j] = physical{}
		}
		return
	}
	p := &ph[e.first+k]
	text := p.text
	wordEnd := off + (t.end - t.start)
	after := text[wordEnd:]
	spaces := len(after) - len(strings.TrimLeft(after, " "))
	nextIsTab := spaces < len(after) && after[spaces] == '\t'
	grow := len(typ) - (t.end - t.start)
	drop, pad := 0, 0
	switch {
	case grow > 0 && spaces > 1 && !nextIsTab:
		drop = min(grow, spaces-1)
	case grow < 0 && spaces > 0 && !nextIsTab && strings.Contains(after, "  "):
		pad = -grow
	}
	p.text = text[:off] + typ + strings.Repeat(" ", pad) + text[wordEnd+drop:]
}

// locate maps an offset in e.logical to (physical line index within e,
// offset in that physical line).
func locate(e *entry, pos int) (int, int) {
	k := 0
	for k+1 < len(e.segStart) && e.segStart[k+1] <= pos {
		k++
	}
	return k, pos - e.segStart[k]
}

// columnsFor returns the start columns of the database, user, address and
// method fields of the first single-line TCP record laid out with spaces
// (all zero when it uses single spaces), or the layout of PostgreSQL's
// sample file.
func columnsFor(ps []parsed, ph []physical) [4]int {
	def := [4]int{8, 24, 40, 64}
	for _, p := range ps {
		if p.rec == nil || !p.rec.IsTCP() {
			continue
		}
		if p.e.count != 1 || strings.Contains(p.e.logical, "\t") {
			return def
		}
		f := p.e.fields
		method := 4
		if p.rec.Mask != "" {
			method = 5
		}
		if len(f) <= method {
			return def
		}
		cols := [4]int{f[1][0].start, f[2][0].start, f[3][0].start, f[method][0].start}
		if !strings.Contains(p.e.logical[:cols[3]], "  ") {
			// Fields separated by single spaces: not aligned, do likewise.
			return [4]int{}
		}
		return cols
	}
	return def
}

// layout writes fields at the given columns, one space minimum between.
func layout(cols [4]int, typ, db, user, addr, method string) string {
	var sb strings.Builder
	sb.WriteString(typ)
	for i, v := range []string{db, user, addr, method} {
		pad := cols[i] - sb.Len()
		if pad < 1 {
			pad = 1
		}
		sb.WriteString(strings.Repeat(" ", pad))
		sb.WriteString(v)
	}
	return sb.String()
}

// aboveComments moves an insertion point up over the comment lines that
// directly precede it ("# IPv4 local connections:"), so the inserted lines
// do not separate a comment from the record it describes. It stops at a
// blank line, a record, the column header comment and RejectComment.
func aboveComments(ph []physical, at int) int {
	for at > 0 && at <= len(ph) {
		t := strings.TrimSpace(ph[at-1].text)
		if !strings.HasPrefix(t, "#") || t == RejectComment ||
			(strings.Contains(t, "TYPE") && strings.Contains(t, "DATABASE")) {
			break
		}
		at--
	}
	return at
}

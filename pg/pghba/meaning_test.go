package pghba

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/sshplay/sshplay/internal/golden"
)

// sampleClients are connections the meaning checks try against a file
// before and after EnforceSSL: addresses, users and databases the testdata
// files name, plus strangers.
func sampleClients() []client {
	var out []client
	for _, addr := range []string{"127.0.0.1", "::1", "10.1.2.3", "10.9.0.10", "10.20.1.1", "10.0.0.5",
		"192.0.2.7", "192.168.1.7", "203.0.113.9", "fd00:20::1", "2001:db8::1", "fe80::5"} {
		for _, user := range []string{"postgres", "app", "legacy", "nagios", "replicator"} {
			for _, db := range []string{"postgres", "legacy", "reports"} {
				for _, repl := range []bool{false, true} {
					out = append(out, client{addr: parseClientAddr(addr), user: user, db: db, replication: repl})
				}
			}
		}
	}
	return out
}

// decider is the record a verdict came from, without its line number
// (EnforceSSL shifts lines): type and the fields after it.
type decider struct{ typ, rest string }

func deciderAt(ps []parsed, line int) decider {
	for _, p := range ps {
		if p.rec != nil && p.rec.Line == line {
			text := ruleText(p.e)
			return decider{p.rec.Type, strings.TrimSpace(strings.TrimPrefix(text, p.e.logical[p.e.fields[0][0].start:p.e.fields[0][0].end]))}
		}
	}
	return decider{}
}

// checkMeaning asks PostgreSQL's first-match rule, for every sample
// client, what before and after do with it:
//   - TLS connections: the same verdict from the same record;
//   - GSSAPI-encrypted connections that a keeper (hostgssenc, or a
//     hostnossl record that admits) decided: still decided by it, the
//     reject lines shadow none; those a hostnossl reject refused: still
//     refused. Judged on before without the reject lines EnforceSSL wrote
//     there, which may shadow what they should not (moving them repairs
//     that);
//   - plaintext: admitted only by a hostnossl record, and a hostnossl
//     exception that admitted a client still does.
func checkMeaning(t *testing.T, before, after []byte) {
	t.Helper()
	pb, pa := parseEntries(splitPhysical(before)), parseEntries(splitPhysical(after))
	judge := func(ps []parsed, c client, enc encryption) (Verdict, decider) {
		c.enc = enc
		v, line := verdictFor(ps, c)
		return v, deciderAt(ps, line)
	}
	for _, c := range sampleClients() {
		name := c.addr.String() + " " + c.user + "@" + c.db
		if c.replication {
			name += " (replication)"
		}
		vb, db := judge(pb, c, tlsEncrypted)
		va, da := judge(pa, c, tlsEncrypted)
		wantType := db.typ
		if wantType == TypeHost || wantType == TypeHostNoGSSEnc {
			wantType = TypeHostSSL
		}
		if va != vb || da.rest != db.rest || da.typ != wantType {
			t.Errorf("TLS %s: %v by %v before, %v by %v after", name, vb, db, va, da)
		}

		vb, db = judge(withoutOwnBlocks(pb), c, gssEncrypted)
		va, da = judge(pa, c, gssEncrypted)
		keeperDecided := (vb != Unknown && db.typ == TypeHostGSSEnc) || (vb == Allowed && db.typ == TypeHostNoSSL)
		if keeperDecided && (va != vb || da != db) || vb == Rejected && db.typ == TypeHostNoSSL && va != Rejected {
			t.Errorf("GSSAPI %s: %v by %v before, %v by %v after", name, vb, db, va, da)
		}

		vb, db = judge(pb, c, plaintext)
		va, da = judge(pa, c, plaintext)
		if va == Allowed && da.typ != TypeHostNoSSL {
			t.Errorf("plaintext %s allowed after by %v", name, da)
		}
		if vb == Allowed && db.typ == TypeHostNoSSL && (va != Allowed || da != db) {
			t.Errorf("plaintext exception %v for %s lost: %v by %v after", db, name, va, da)
		}
	}
}

// withoutOwnBlocks leaves out the entries of the reject lines EnforceSSL
// wrote (RejectComment and the lines under it).
func withoutOwnBlocks(ps []parsed) []parsed {
	own := map[int]bool{}
	for _, b := range ownBlocks(ps) {
		for i := b.start; i < b.end; i++ {
			own[i] = true
		}
	}
	var out []parsed
	for i, p := range ps {
		if !own[i] {
			out = append(out, p)
		}
	}
	return out
}

func TestEnforceSSLChangesOnlyPlaintextFate(t *testing.T) {
	t.Parallel()
	// Besides the golden files: the OmitReject outputs too.
	names, _ := filepath.Glob(filepath.Join("testdata", "*.hba"))
	for _, path := range names {
		before := golden.Read(t, filepath.Base(path))
		after, _ := EnforceSSL(before, EnforceOptions{OmitReject: true})
		checkAfterEnforce(t, before, after, true)
	}
}

// FuzzEnforceSSL checks, for any input, what checkAfterEnforce checks on
// the golden files: idempotent, records kept, reject lines in a valid
// place, TLS and GSSAPI meaning unchanged.
func FuzzEnforceSSL(f *testing.F) {
	names, _ := filepath.Glob(filepath.Join("testdata", "*.hba"))
	for _, path := range names {
		f.Add(golden.Read(f, filepath.Base(path)), false)
	}
	for _, s := range []string{
		"hostgssenc all all 10.0.0.0/8 gss\n# sshplay: refuse non-TLS TCP connections\nhostnossl all all all reject\nhostgssenc all all all gss\n",
		"# sshplay: refuse non-TLS TCP connections\nhostnossl all all ::/0 reject\ninclude x\nhostnossl a b 10.0.0.0/8 md5\n",
		"hostnossl all all 0.0.0.0/0 reject\nhostnossl all all 10.0.0.0/8 md5\nhost all all ::1/128 md5",
		"ho\\\nst all all 10.0.0.0/8 md5\nhostgssenc all all all gss \\",
		"hostnogssenc \"all\" @x 1.2.3.4 255.0.0.0 trust\r\nhost replication all samenet md5\r\n",
		"# sshplay: refuse non-TLS TCP connections\nhostnossl all all all reject\nhostgssenc all all all gss \\",
		"include x\n# sshplay: refuse non-TLS TCP connections\nhostnossl all all all reject \\",
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, in []byte, omit bool) {
		after, _ := EnforceSSL(in, EnforceOptions{OmitReject: omit})
		checkAfterEnforce(t, in, after, omit)
	})
}

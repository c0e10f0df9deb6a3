package pghba

import "testing"

func TestPlainVerdictFollowsFirstMatch(t *testing.T) {
	t.Parallel()
	const hba = `local   all all trust
hostssl all all 0.0.0.0/0 trust
hostnossl postgres nagios 10.9.0.10/32 md5
hostnossl all +plain 10.8.0.0/16 md5
hostnossl app all .example.com md5
hostnossl "all" all 10.7.0.0/16 md5
hostnossl sameuser all 10.6.0.0 255.255.0.0 md5
hostnossl @dbs all 10.4.0.0/16 md5
hostnossl replication replicator 10.0.0.5/32 md5
hostnossl all all fd00:: ffff:: md5
hostnossl all monitor samehost md5
hostgssenc all all 0.0.0.0/0 trust
hostnossl all all 0.0.0.0/0 reject
hostnossl all all ::/0 reject
hostnossl all all 10.3.0.0/16 md5
`
	cases := []struct {
		name, addr, user, db string
		repl                 bool
		want                 Verdict
		line                 int
	}{
		{"exception", "10.9.0.10", "nagios", "postgres", false, Allowed, 3},
		{"exception, address with /32", "10.9.0.10/32", "nagios", "postgres", false, Allowed, 3},
		{"exception for another database", "10.9.0.10", "nagios", "other", false, Rejected, 13},
		{"group membership unknown", "10.8.1.1", "bob", "x", false, Unknown, 4},
		{"host name unknown", "192.0.2.1", "bob", "app", false, Unknown, 5},
		{"quoted all is a database name", "10.7.1.1", "bob", "all", false, Allowed, 6},
		{"quoted all is not the keyword", "10.7.1.1", "bob", "x", false, Rejected, 13},
		{"sameuser with a netmask", "10.6.3.3", "alice", "alice", false, Allowed, 7},
		{"sameuser, other database", "10.6.3.3", "alice", "other", false, Rejected, 13},
		{"@file unknown", "10.4.1.1", "bob", "x", false, Unknown, 8},
		{"samehost unknown", "10.1.1.1", "monitor", "x", false, Unknown, 11},
		{"rules behind the reject lines never match", "10.3.1.1", "bob", "x", false, Rejected, 13},
		{"replication keyword", "10.0.0.5", "replicator", "", true, Allowed, 9},
		{"replication from elsewhere matches nothing", "10.0.0.6", "replicator", "", true, Rejected, 0},
		{"replication: all does not match it", "10.3.0.1", "bob", "", true, Rejected, 0},
		{"replication against an @file", "10.4.0.1", "replicator", "", true, Unknown, 8},
		{"IPv6 netmask", "fd00::1", "bob", "x", false, Allowed, 10},
		{"IPv6 stranger", "2001:db8::1", "bob", "x", false, Rejected, 14},
		{"IPv4-mapped IPv6 is IPv6", "::ffff:10.9.0.10", "nagios", "postgres", false, Rejected, 14},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, line := PlainVerdict([]byte(hba), c.addr, c.user, c.db, c.repl)
			if v != c.want || line != c.line {
				t.Errorf("PlainVerdict(%s, %s@%s, replication=%v) = %v line %d, want %v line %d", c.addr, c.user, c.db, c.repl, v, line, c.want, c.line)
			}
		})
	}
}

func TestPlainVerdictEdges(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, hba, addr, user, db string
		repl                      bool
		want                      Verdict
		line                      int
	}{
		{"uncertain reject before a sure one", "hostnossl all +blocked 0.0.0.0/0 reject\nhostnossl all all 0.0.0.0/0 reject\n", "10.1.1.1", "bob", "x", false, Rejected, 2},
		{"uncertain allow before a sure one", "hostnossl all +staff 0.0.0.0/0 md5\nhostnossl all all 0.0.0.0/0 md5\n", "10.1.1.1", "bob", "x", false, Allowed, 2},
		{"uncertain allow, then nothing", "hostnossl all +staff 0.0.0.0/0 md5\n", "10.1.1.1", "bob", "x", false, Unknown, 1},
		{"include before the match", "hostnossl all nagios 10.9.0.10/32 md5\ninclude_dir conf.d\nhostnossl all all all reject\n", "10.1.1.1", "bob", "x", false, Unknown, 2},
		{"match before an include", "hostnossl all nagios 10.9.0.10/32 md5\ninclude_dir conf.d\n", "10.9.0.10", "nagios", "x", false, Allowed, 1},
		{"a file the server would not load", "hostnossl all all all reject\nhostnossl all all 10.0.0.0/8\n", "10.1.1.1", "bob", "x", false, Unknown, 2},
		{"host takes plaintext", "host all all 10.0.0.0/8 md5\n", "10.1.1.1", "bob", "x", false, Allowed, 1},
		{"hostnogssenc takes plaintext", "hostnogssenc all all 10.0.0.0/8 md5\n", "10.1.1.1", "bob", "x", false, Allowed, 1},
		{"hostssl, hostgssenc and local do not", "hostssl all all all trust\nhostgssenc all all all trust\nlocal all all trust\n", "10.1.1.1", "bob", "x", false, Rejected, 0},
		{"empty file", "", "10.1.1.1", "bob", "x", false, Rejected, 0},
		{"not an IP address against a network", "hostnossl all all 10.0.0.0/8 md5\nhostnossl all all all reject\n", "db1.example.com", "bob", "x", false, Unknown, 1},
		{"not an IP address against all", "hostnossl all all all md5\n", "db1.example.com", "bob", "x", false, Allowed, 1},
		{"zone dropped", "hostnossl all all fe80::/10 md5\n", "fe80::1%eth0", "bob", "x", false, Allowed, 1},
		{"host bits in the rule's network", "hostnossl all all 10.1.2.3/8 md5\n", "10.200.0.1", "bob", "x", false, Allowed, 1},
		{"regular expression unknown", "hostnossl /^app all all md5\n", "10.1.1.1", "bob", "app1", false, Unknown, 1},
		{"samerole unknown", "hostnossl samerole all all md5\n", "10.1.1.1", "bob", "x", false, Unknown, 1},
		{"quoted replication is a name", "hostnossl \"replication\" all all md5\n", "10.1.1.1", "bob", "", true, Rejected, 0},
		{"user list", "hostnossl all alice,bob all md5\n", "10.1.1.1", "bob", "x", false, Allowed, 1},
		{"user names are case-sensitive", "hostnossl all Bob all md5\n", "10.1.1.1", "bob", "x", false, Rejected, 0},
		{"continuation line", "hostnossl all \\\n bob 10.0.0.0/8 md5\n", "10.1.1.1", "bob", "x", false, Allowed, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, line := PlainVerdict([]byte(c.hba), c.addr, c.user, c.db, c.repl)
			if v != c.want || line != c.line {
				t.Errorf("got %v line %d, want %v line %d", v, line, c.want, c.line)
			}
		})
	}
}

func TestVerdictString(t *testing.T) {
	t.Parallel()
	for v, want := range map[Verdict]string{Unknown: "unknown", Rejected: "rejected", Allowed: "allowed"} {
		if v.String() != want {
			t.Errorf("%d.String() = %q", int(v), v.String())
		}
	}
}

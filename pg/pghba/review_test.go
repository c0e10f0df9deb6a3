package pghba

import (
	"strings"
	"testing"
)

func reviewStrings(content []byte) []string {
	var out []string
	for _, w := range Review(content) {
		out = append(out, w.String())
	}
	return out
}

func TestReviewNamesWhatStaysOpen(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, in string
		want     []string
	}{
		{"new file with trust, exceptions and dead rules", `local all all trust
hostssl all all 10.0.0.0/8 trust
hostssl all all all trust
hostssl all all 192.168.1.0 255.255.255.0 trust # office
hostnossl postgres nagios 10.9.0.10/32 md5
hostnossl all kiosk 10.7.0.0/16 trust
hostgssenc all all 10.20.0.0/16 trust
hostgssenc all all 10.21.0.0/16 gss
hostnossl all all 0.0.0.0/0 reject
hostnossl all all ::/0 reject
hostnossl legacy legacy 10.1.0.0/16 md5
hostnossl replication replicator 10.0.0.5/32 md5
hostgssenc all all 10.22.0.0/16 gss
hostssl all all samenet md5
include_dir hba.d
`, []string{
			"line 2: hostssl all all 10.0.0.0/8 trust: TLS encrypts but does not authenticate; anyone connecting from 10.0.0.0/8 logs in without a password",
			"line 3: hostssl all all all trust: TLS encrypts but does not authenticate; anyone connecting from any address logs in without a password",
			"line 4: hostssl all all 192.168.1.0 255.255.255.0 trust: TLS encrypts but does not authenticate; anyone connecting from 192.168.1.0/24 logs in without a password",
			"line 5: hostnossl postgres nagios 10.9.0.10/32 md5: keeps allowing plaintext from 10.9.0.10/32 (no TLS: those sessions can be read and altered on the network)",
			"line 6: hostnossl all kiosk 10.7.0.0/16 trust: keeps allowing plaintext without a password: anyone connecting from 10.7.0.0/16 logs in, unencrypted",
			"line 7: hostgssenc all all 10.20.0.0/16 trust: GSSAPI encryption with trust does not check the user; anyone connecting from 10.20.0.0/16 with GSSAPI logs in without a password",
			"line 11: hostnossl legacy legacy 10.1.0.0/16 md5: never matches: the reject lines (line 10) refuse plaintext first",
			// "all" does not match physical replication: still reachable.
			"line 12: hostnossl replication replicator 10.0.0.5/32 md5: keeps allowing plaintext from 10.0.0.5/32 (no TLS: those sessions can be read and altered on the network)",
			"line 13: hostgssenc all all 10.22.0.0/16 gss: never matches: the reject lines (line 10) refuse GSSAPI-encrypted connections first (hostnossl matches them)",
		}},
		{"include kept ahead by a later hostgssenc", `include_if_exists site.conf
hostgssenc all all 10.20.0.0/16 gss
hostnossl all all 0.0.0.0/0 reject
hostnossl all all ::/0 reject
`, []string{
			"line 1: include_if_exists site.conf: comes before the reject lines (line 4), which must stay after the rule on line 2; host lines in the files it names are not rewritten and still accept plaintext",
		}},
		{"include before reject lines", "include hba-extra.conf\nhostnossl all all all reject\n", []string{
			"line 1: include hba-extra.conf: comes before the reject lines (line 2); host lines in the files it names are not rewritten and still accept plaintext",
		}},
		{"include without reject lines", "include_dir conf.d\nhostssl all all all md5\n", []string{
			"line 1: include_dir conf.d: host lines in the files it names are not rewritten and still accept plaintext",
		}},
		{"include after reject lines", "hostnossl all all all reject\ninclude_dir conf.d\n", nil},
		{"trust on rules that also take plaintext", "host all all 10.0.0.0/8 trust\nhostnogssenc all all samehost trust\n", []string{
			"line 1: host all all 10.0.0.0/8 trust: trust does not authenticate; anyone connecting from 10.0.0.0/8 logs in without a password, with or without TLS",
			"line 2: hostnogssenc all all samehost trust: trust does not authenticate; anyone connecting from the server's own addresses logs in without a password, with or without TLS",
		}},
		{"continuation and quotes as written", "hostssl \"my db\",other \\\n  all .example.com trust\n", []string{
			`line 1: hostssl "my db",other all .example.com trust: TLS encrypts but does not authenticate; anyone connecting from .example.com logs in without a password`,
		}},
		{"nothing to say", "local all all trust\nhostssl all all all scram-sha-256\nhostnossl all all all reject\nhostgssenc all all 10.0.0.0/8 reject\n", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := reviewStrings([]byte(c.in))
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

// TestReviewOfEnforcedGoldenFiles pins what the caller shows for the new
// files: exceptions and trust rules, and the include EnforceSSL could not
// put behind the reject lines.
func TestReviewOfEnforcedGoldenFiles(t *testing.T) {
	t.Parallel()
	want := map[string][]string{
		"mixed": {
			"line 12: hostnossl legacy legacy 10.1.0.0/16 md5: keeps allowing plaintext from 10.1.0.0/16 (no TLS: those sessions can be read and altered on the network)",
			"line 35: hostssl all all 10.6.0.0/16 trust: TLS encrypts but does not authenticate; anyone connecting from 10.6.0.0/16 logs in without a password",
		},
		"nossl-exception": {
			"line 5: hostnossl postgres nagios 10.9.0.10/32 scram-sha-256: keeps allowing plaintext from 10.9.0.10/32 (no TLS: those sessions can be read and altered on the network)",
			"line 12: hostssl reports all 203.0.113.0/24 trust: TLS encrypts but does not authenticate; anyone connecting from 203.0.113.0/24 logs in without a password",
		},
		"include-first": {
			"line 2: include_if_exists site.conf: comes before the reject lines (line 7), which must stay after the rule on line 4; host lines in the files it names are not rewritten and still accept plaintext",
		},
		"include-late": {
			"line 3: hostnossl all nagios 10.9.0.10/32 scram-sha-256: keeps allowing plaintext from 10.9.0.10/32 (no TLS: those sessions can be read and altered on the network)",
		},
		"moved": {
			"line 8: hostnossl legacy legacy 10.1.0.0/16 scram-sha-256: keeps allowing plaintext from 10.1.0.0/16 (no TLS: those sessions can be read and altered on the network)",
		},
		"gssenc": nil, "debian": nil, "include": nil,
	}
	for name, w := range want {
		after, _ := EnforceSSL(read(t, name+".hba"), EnforceOptions{})
		if got := reviewStrings(after); strings.Join(got, "\n") != strings.Join(w, "\n") {
			t.Errorf("%s: got:\n%s\nwant:\n%s", name, strings.Join(got, "\n"), strings.Join(w, "\n"))
		}
	}
}

// TestReviewShowsRecordsShadowedByRejectLinesStandingFirst: reject lines
// ahead of a hostgssenc record and a hostnossl exception make both dead.
func TestReviewShowsRecordsShadowedByRejectLinesStandingFirst(t *testing.T) {
	t.Parallel()
	got := reviewStrings(read(t, "moved.hba"))
	want := []string{
		"line 9: hostgssenc all all 10.20.0.0/16 gss: never matches: the reject lines (line 6) refuse GSSAPI-encrypted connections first (hostnossl matches them)",
		"line 11: hostnossl legacy legacy 10.1.0.0/16 scram-sha-256: never matches: the reject lines (line 6) refuse plaintext first",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

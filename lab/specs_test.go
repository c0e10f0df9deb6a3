package lab

import (
	"errors"
	"strings"
	"testing"
)

func TestInsertHBAPutsRecordAheadOfTCPRecords(t *testing.T) {
	rec := hbaRecord("host", "replication", "replicator", "127.0.0.0/8", "scram-sha-256")
	for _, tc := range []struct {
		name, in, want string
		changed        bool
	}{
		{"before the first host line", "# c\nlocal all all peer\nhost all all 127.0.0.0/8 scram-sha-256\n",
			"# c\nlocal all all peer\n" + rec + "\nhost all all 127.0.0.0/8 scram-sha-256\n", true},
		{"before hostssl and hostnossl too", "hostnossl all all 0.0.0.0/0 reject\nhostssl all all 0.0.0.0/0 scram-sha-256\n",
			rec + "\nhostnossl all all 0.0.0.0/0 reject\nhostssl all all 0.0.0.0/0 scram-sha-256\n", true},
		{"a commented host line does not count", "#host all all 0.0.0.0/0 trust\nlocal all all peer", "#host all all 0.0.0.0/0 trust\nlocal all all peer\n" + rec + "\n", true},
		{"appended when there is no TCP line", "local all all peer\n", "local all all peer\n" + rec + "\n", true},
		{"empty file", "", rec + "\n", true},
		{"already there, spaced differently", "local all all peer\nhost replication replicator 127.0.0.0/8 scram-sha-256\n",
			"local all all peer\nhost replication replicator 127.0.0.0/8 scram-sha-256\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, changed := insertHBA(tc.in, rec)
			if got != tc.want || changed != tc.changed {
				t.Errorf("insertHBA(%q) = %q, %v; want %q, %v", tc.in, got, changed, tc.want, tc.changed)
			}
		})
	}
}

func TestStandbyAndClientCertSpecs(t *testing.T) {
	for _, tc := range []struct {
		in, err string
		want    StandbySpec
	}{
		{in: "db02=db01", want: StandbySpec{Standby: "db02", Primary: "db01"}},
		{in: "db02=db01:disable", want: StandbySpec{Standby: "db02", Primary: "db01", Options: StandbyOptions{SSLMode: "disable"}}},
		{in: "db102=db01:verify-full", want: StandbySpec{Standby: "db102", Primary: "db01", Options: StandbyOptions{SSLMode: "verify-full"}}},
		{in: "db02", err: "want STANDBY=PRIMARY[:SSLMODE]"},
		{in: "db2=db01", err: "want STANDBY=PRIMARY"},
		{in: "db02=web1", err: "want STANDBY=PRIMARY"},
		{in: "db02=db01:", err: "empty sslmode"},
		{in: "db02=db01:off", err: `sslmode "off": want one of disable, allow, prefer`},
		{in: "db01=db01", err: "its own standby"},
	} {
		got, err := ParseStandbySpec(tc.in)
		if !matches(err, tc.err) || (tc.err == "" && got != tc.want) {
			t.Errorf("ParseStandbySpec(%q) = %+v, %v; want %+v, error %q", tc.in, got, err, tc.want, tc.err)
		}
	}
	for in, wantErr := range map[string]string{
		"db01=alice": "", "db01=app_2": "", "db01": "want HOST=ROLE", "x=alice": "want HOST=ROLE",
		"db01=Alice": "lower-case", "db01=postgres": "reserved", "db01=replicator": "reserved",
		"db01=pg_monitor": "reserved", "db01=a-b": "lower-case", "db01=": "lower-case",
		"db01=all": "reserved", "db01=public": "reserved", "db01=user": "",
	} {
		if _, err := ParseClientCertSpec(in); !matches(err, wantErr) {
			t.Errorf("ParseClientCertSpec(%q) = %v, want error %q", in, err, wantErr)
		}
	}
}

func TestCheckSpecsAgainstTheLabsHosts(t *testing.T) {
	sb := func(s, p string) StandbySpec { return StandbySpec{Standby: s, Primary: p} }
	for _, tc := range []struct {
		name string
		cfg  Config
		err  string
	}{
		{"fine", Config{Standbys: []StandbySpec{sb("db02", "db01"), sb("db03", "db01")}, ClientCerts: []ClientCertSpec{{"db01", "alice"}}}, ""},
		{"fine with a current standby kept", Config{Standbys: []StandbySpec{sb("db02", "db01")}}, ""},
		{"same spec twice", Config{Standbys: []StandbySpec{sb("db02", "db01"), sb("db02", "db01")}}, ""},
		{"beyond N", Config{Standbys: []StandbySpec{sb("db04", "db01")}}, "no host db04 (the lab has db01..db03)"},
		{"two primaries", Config{Standbys: []StandbySpec{sb("db02", "db01"), sb("db02", "db03")}}, "asked for twice"},
		{"cascading", Config{Standbys: []StandbySpec{sb("db02", "db01"), sb("db03", "db02")}}, "no cascading standbys"},
		{"client cert on a standby", Config{Standbys: []StandbySpec{sb("db02", "db01")}, ClientCerts: []ClientCertSpec{{"db02", "alice"}}}, "add the user on its primary db01"},
		{"client cert beyond N", Config{ClientCerts: []ClientCertSpec{{"db07", "alice"}}}, "no host db07"},
		{"client cert on a current standby", Config{ClientCerts: []ClientCertSpec{{"db03", "alice"}}}, "db03 is to be a standby"},
		{"current standby as primary", Config{Standbys: []StandbySpec{sb("db02", "db03")}}, "db03 is itself a standby (of db01)"},
		{"current standby moved to another primary", Config{Standbys: []StandbySpec{sb("db03", "db02")}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := checkSpecs(tc.cfg, 3, map[string]string{"db03": "db01"}); !matches(err, tc.err) {
				t.Errorf("checkSpecs = %v, want error %q", err, tc.err)
			}
		})
	}
}

// matches reports whether err is nil when want is "", else a *ConfigError
// containing want.
func matches(err error, want string) bool {
	var ce *ConfigError
	if want == "" {
		return err == nil
	}
	return errors.As(err, &ce) && strings.Contains(err.Error(), want)
}

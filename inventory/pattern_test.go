package inventory

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
	t.Parallel()
	inv := mustLoad(t, "testdata/docs.ini")
	www := func(n ...string) []string {
		var out []string
		for _, s := range n {
			out = append(out, "www"+s+".example.com")
		}
		return out
	}
	// Expected results were checked against `ansible -i docs.ini PATTERN
	// --list-hosts` of ansible-core 2.14.18.
	tests := []struct {
		pattern string
		want    []string
	}{
		{"webservers", []string{"foo.example.com", "bar.example.com"}},
		{"webservers:dbservers", []string{"foo.example.com", "bar.example.com", "one.example.com", "two.example.com", "three.example.com"}},
		{"webservers,dbservers", []string{"foo.example.com", "bar.example.com", "one.example.com", "two.example.com", "three.example.com"}},
		{" webservers , dbservers ", []string{"foo.example.com", "bar.example.com", "one.example.com", "two.example.com", "three.example.com"}},
		{"usa", []string{"host1", "host2", "host3"}},
		{"southeast:&raleigh", []string{"host2", "host3"}},
		{"&raleigh:southeast", []string{"host2", "host3"}}, // unions first, whatever the order written
		{"usa:!atlanta", []string{"host3"}},
		{"!atlanta:usa", []string{"host3"}},
		{"east:west:&dbservers:!two.example.com", []string{"one.example.com", "three.example.com"}},
		{"prod:test", []string{"foo.example.com", "one.example.com", "two.example.com", "bar.example.com", "three.example.com"}},
		{"host2", []string{"host2"}},
		{"host2:host1:host2", []string{"host2", "host1"}},
		{"h*", []string{"host1", "host2", "host3"}},
		{"db-*", []string{"db-a.example.com", "db-b.example.com", "db-c.example.com", "db-d.example.com", "db-e.example.com", "db-f.example.com"}},
		{"*.example.com:!webservers2:!databases", []string{"mail.example.com", "foo.example.com", "bar.example.com", "one.example.com", "two.example.com", "three.example.com", "badwolf.example.com", "other1.example.com"}},
		{"www0[1-5].example.com", www("01", "03", "05")},
		{"www0[!1].example.com", www("03", "05", "07", "09")},
		{"~host[12]", []string{"host1", "host2"}},
		{"~(foo|bar)\\.ex", []string{"foo.example.com", "bar.example.com"}},
		{"usa[0]", []string{"host1"}},
		{"usa[-1]", []string{"host3"}},
		{"usa[1:2]", []string{"host2", "host3"}},
		{"usa[1:]", []string{"host2", "host3"}},
		{"usa[:1]", []string{"host1", "host2"}},
		{"webservers2[0:2]", www("01", "03", "05")},
		{"webservers2[23:99]", www("47", "49")},
		{"&prod", []string{"foo.example.com", "one.example.com", "two.example.com"}},
		{"jumper:badwolf.example.com", []string{"jumper", "badwolf.example.com"}},
	}
	for _, tt := range tests {
		hs, err := inv.Match(tt.pattern)
		if err != nil {
			t.Errorf("Match(%q): %v", tt.pattern, err)
			continue
		}
		if got := hostNames(hs); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Match(%q) = %v, want %v", tt.pattern, got, tt.want)
		}
	}
	for _, p := range []string{"all", "*"} {
		hs, err := inv.Match(p)
		if err != nil || len(hs) != 43 {
			t.Errorf("Match(%q): %d hosts, %v", p, len(hs), err)
		}
		// Ansible's walk: hosts of deeper groups (usa > southeast > atlanta) last.
		if got := hs[len(hs)-1].Name; got != "host3" {
			t.Errorf("Match(%q) ends with %s, want host3", p, got)
		}
	}
	hs, _ := inv.Match("!webservers")
	if len(hs) != 41 {
		t.Errorf("!webservers gave %d hosts, want 41", len(hs))
	}
}

func TestMatchErrors(t *testing.T) {
	t.Parallel()
	inv := mustLoad(t, writeINI(t, "[dbservers]\ndb1\n[web]\nw1\n[empty]\n"))
	tests := []struct {
		pattern, want string
		noMatch       bool
	}{
		{"dbx", `no hosts matched "dbx"; groups: dbservers, empty, web`, true},
		{"web:dbx", `no hosts matched "dbx"; groups: dbservers, empty, web`, true},
		{"all:!dbx", `no hosts matched "dbx"; groups: dbservers, empty, web`, true},
		{"empty", `no hosts matched "empty"; groups: dbservers, empty, web`, true},
		{"web:&dbservers", `no hosts matched "web:&dbservers"; groups: dbservers, empty, web`, true},
		{"web[5]", `no hosts matched "web[5]"; groups: dbservers, empty, web`, true},
		{"~db(", "invalid host pattern \"~db(\": error parsing regexp: missing closing ): `db(`", false},
		{"", `empty host pattern ""`, false},
		{" , ", `empty host pattern " , "`, false},
	}
	for _, tt := range tests {
		_, err := inv.Match(tt.pattern)
		if err == nil {
			t.Errorf("Match(%q): no error", tt.pattern)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("Match(%q) error %q, want %q", tt.pattern, err, tt.want)
		}
		var nm *NoMatchError
		if errors.As(err, &nm) != tt.noMatch {
			t.Errorf("Match(%q): %T, NoMatchError wanted: %v", tt.pattern, err, tt.noMatch)
		}
		var bad interface{ BadInput() bool }
		if !errors.As(err, &bad) || !bad.BadInput() {
			t.Errorf("Match(%q): %T is not BadInput", tt.pattern, err)
		}
	}
}

func writeINI(t *testing.T, content string) string {
	t.Helper()
	return filepath.Join(writeFiles(t, map[string]string{"hosts.ini": content}), "hosts.ini")
}

func TestLimit(t *testing.T) {
	t.Parallel()
	inv := mustLoad(t, "testdata/docs.ini")
	all, _ := inv.Match("all")
	dir := t.TempDir()
	retry := filepath.Join(dir, "site.retry")
	if err := os.WriteFile(retry, []byte("host3\n\nfoo.example.com\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	usa, _ := inv.Match("usa")
	tests := []struct {
		hosts []*Host
		limit string
		want  []string
	}{
		{usa, "", []string{"host1", "host2", "host3"}},
		{usa, "raleigh", []string{"host2", "host3"}},
		{usa, "all:!host2", []string{"host1", "host3"}},
		{usa, "@" + retry, []string{"host3"}},
		{all, "@" + retry + ",jumper", []string{"foo.example.com", "jumper", "host3"}},
		{usa, "h*[0]", []string{"host1"}},
	}
	for _, tt := range tests {
		got, err := inv.Limit(tt.hosts, tt.limit)
		if err != nil {
			t.Errorf("Limit(%q): %v", tt.limit, err)
			continue
		}
		if !reflect.DeepEqual(hostNames(got), tt.want) {
			t.Errorf("Limit(%q) = %v, want %v", tt.limit, hostNames(got), tt.want)
		}
	}
	if _, err := inv.Limit(usa, "webservers"); err == nil || !strings.HasPrefix(err.Error(), `no hosts matched "webservers"`) {
		t.Errorf("limit leaving nothing: %v", err)
	}
	if _, err := inv.Limit(usa, "@"+filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "missing: limit file: no such file or directory") {
		t.Errorf("missing limit file: %v", err)
	}
}

func TestSplitPattern(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []string
	}{
		{"a:b", []string{"a", "b"}},
		{"a:&b:!c", []string{"a", "&b", "!c"}},
		{"a,b[1:2]", []string{"a", "b[1:2]"}},
		{"web[1:3]", []string{"web[1:3]"}},
		{"web[1:3]:db", []string{"web[1:3]", "db"}},
		{"fe80::1", []string{"fe80::1"}},
		{"::1", []string{"::1"}},
		{"[::1]:22", []string{"[::1]:22"}},
		{"db1:2222", []string{"db1:2222"}},
		{"a, b ,,", []string{"a", "b"}},
	}
	for _, tt := range tests {
		if got, err := splitPattern(tt.in); err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("splitPattern(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

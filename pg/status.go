package pg

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sshplay/sshplay/internal/boolean"
	"github.com/sshplay/sshplay/pg/pghba"
	"github.com/sshplay/sshplay/pki"
	"github.com/sshplay/sshplay/transport"
)

// statusSQL reads, in one query, what `sshplay pg status` shows: ssl, the
// certificate file the server is configured with and the hba text.
const statusSQL = `SELECT CASE WHEN current_setting('ssl_key_file') = '' THEN ''
 WHEN left(current_setting('ssl_key_file'), 1) = '/' THEN current_setting('ssl_key_file')
 ELSE current_setting('data_directory') || '/' || current_setting('ssl_key_file') END;
SELECT current_setting('data_directory');
SELECT json_build_object(
 'ssl', current_setting('ssl'),
 'cert_file', current_setting('ssl_cert_file'),
 'cert', CASE WHEN current_setting('ssl_cert_file') <> '' THEN pg_read_file(current_setting('ssl_cert_file'), 0, 65536, true) END,
 'hba', pg_read_file(current_setting('hba_file'), 0, 1048576, true),
 'changed_since_reload', (SELECT coalesce(json_agg(f), '[]'::json) FROM unnest(ARRAY[current_setting('hba_file'),
     current_setting('config_file'), current_setting('data_directory') || '/postgresql.auto.conf']) AS f
   WHERE (pg_stat_file(f, true)).modification > pg_conf_load_time()),
 'pending_restart', (SELECT coalesce(json_agg(name ORDER BY name), '[]'::json) FROM pg_settings WHERE pending_restart)
);
`

// HostStatus is one row of `sshplay pg status`.
type HostStatus struct {
	Host        string
	Unreachable bool
	Err         string // why the host could not be inspected
	SSL         bool
	Enforced    bool
	Subject     string
	SANs        []string
	Issuer      string
	DaysLeft    int
	HasCert     bool
	// CertSHA256 (hex of the DER) and NotAfter describe the certificate
	// the server is configured with, "" and zero without one.
	CertSHA256 string
	NotAfter   time.Time
	Verify     []*VerifyResult
	// EnforceOff: the host's pg_tls_enforce is false, so plaintext being
	// allowed is what the operator wants, not a fault.
	EnforceOff bool
	// KeyProblem says why the server would refuse its private key (mode
	// or owner), "" when it is fine or unknown.
	KeyProblem string
	// NotApplied are configuration files changed on disk after the
	// server last read them (an interrupted run, a hand edit): what
	// Enforced and the files say is not what the server does yet.
	NotApplied []string
	// PendingRestart are settings that wait for a restart.
	PendingRestart []string
}

// statMarker starts the key file's stat line in the status script output.
const statMarker = "@@sshplay-stat@@"

// statusScript runs psql (the SQL on stdin prints the key file's path,
// the data directory, then the JSON row) and stats the key file and the
// data directory, in one round trip.
func statusScript(t Target) string {
	return "out=$(" + t.Args() + ") || exit $?\nprintf '%s\\n' \"$out\"\nnl='\n'; k=${out%%\"$nl\"*}; r=${out#*\"$nl\"}; dd=${r%%\"$nl\"*}\n" +
		"printf '" + statMarker + " %s %s\\n' \"$(stat -c '%a %U' -- \"$k\" 2>/dev/null || echo '- -')\" \"$(stat -c %U -- \"$dd\" 2>/dev/null || echo -)\"\n"
}

// KeyPermProblem says why the server would refuse a private key with this
// mode and owner ("" when it accepts it, or the owner is unknown): it wants
// the database's OS user as owner with 0600 or stricter, or root with 0640
// or stricter ("private key file ... has group or world access").
func KeyPermProblem(mode uint32, owner, clusterUser string) string {
	switch {
	case owner == "":
		return ""
	case owner == "root":
		if mode&0o037 != 0 {
			return fmt.Sprintf("mode %04o, owner root: a root-owned key may have at most 0640 (the server refuses it: \"has group or world access\")", mode)
		}
		if mode&0o040 == 0 {
			// Root-owned keys are read through their group (0640, group of
			// the cluster user); without group read the server cannot open it.
			return fmt.Sprintf("mode %04o, owner root: the server cannot read it (a root-owned key needs 0640 and the cluster user's group)", mode)
		}
		return ""
	case clusterUser != "" && owner != clusterUser:
		return fmt.Sprintf("owner %s, not the cluster user %s (the server refuses it)", owner, clusterUser)
	case mode&0o077 != 0:
		return fmt.Sprintf("mode %04o gives group or world access (the server refuses it: \"has group or world access\")", mode)
	}
	return ""
}

// OK reports whether the host is fully as wanted: ssl on, TLS enforced, a
// certificate, and every address proven with verify-full.
func (s *HostStatus) OK() bool {
	if s.Unreachable || s.Err != "" || !s.SSL || (!s.Enforced && !s.EnforceOff) || !s.HasCert || len(s.Verify) == 0 || s.KeyProblem != "" || len(s.NotApplied) > 0 {
		return false
	}
	for _, v := range s.Verify {
		if !v.OK {
			return false
		}
	}
	return true
}

// StatusOptions say how to inspect one host.
type StatusOptions struct {
	Target Target
	// Addrs are the addresses to prove (pg_host, ansible_host).
	Addrs []string
	Port  int
	// Verify holds credentials and the root; Addr and ExpectSHA256 are
	// filled per address.
	Verify VerifyOptions
	// Password resolves the password of one address.
	Password func(addr string) (string, error)
	Now      time.Time
	// EnforceOff: pg_tls_enforce is false for this host.
	EnforceOff bool
}

// Status inspects one host with one SSH round trip (psql on the host) and
// one verify-full attempt per address. It never changes anything.
func Status(ctx context.Context, c transport.Conn, host string, o StatusOptions) *HostStatus {
	s := &HostStatus{Host: host, EnforceOff: o.EnforceOff}
	res, err := runPsql(ctx, c, statusScript(o.Target), transport.RunOptions{Stdin: strings.NewReader(statusSQL)}, "status")
	if err != nil {
		s.Err = err.Error()
		return s
	}
	lines := strings.Split(strings.TrimSpace(string(res.Stdout)), "\n")
	if len(lines) < 4 || !strings.HasPrefix(lines[len(lines)-1], statMarker) {
		s.Err = fmt.Sprintf("parse status: unexpected output %q", truncate(string(res.Stdout), 120))
		return s
	}
	out := []byte(strings.Join(lines[2:len(lines)-1], "\n"))
	if st := strings.Fields(strings.TrimPrefix(lines[len(lines)-1], statMarker)); len(st) == 3 && lines[0] != "" && st[1] != "-" {
		if mode, err := strconv.ParseUint(st[0], 8, 32); err == nil {
			cluster := st[2]
			if cluster == "-" {
				cluster = ""
			}
			if why := KeyPermProblem(uint32(mode), st[1], cluster); why != "" {
				s.KeyProblem = lines[0] + ": " + why
			}
		}
	}
	var raw struct {
		SSL      string   `json:"ssl"`
		CertFile string   `json:"cert_file"`
		Cert     *string  `json:"cert"`
		HBA      *string  `json:"hba"`
		Changed  []string `json:"changed_since_reload"`
		Pending  []string `json:"pending_restart"`
	}
	if err := json.Unmarshal(out, &raw); err != nil {
		s.Err = fmt.Sprintf("parse status: %v", err)
		return s
	}
	s.SSL = raw.SSL == "on"
	s.NotApplied, s.PendingRestart = raw.Changed, raw.Pending
	if raw.HBA != nil {
		// pg_hba.conf edited but not reloaded does not refuse anyone yet.
		s.Enforced = pghba.IsEnforced([]byte(*raw.HBA)) && len(s.NotApplied) == 0
	}
	expect := ""
	if raw.Cert != nil && *raw.Cert != "" {
		if info, err := pki.CertInfo([]byte(*raw.Cert)); err == nil {
			s.HasCert = true
			s.Subject, s.Issuer, expect = info.Subject, info.Issuer, info.SHA256
			s.CertSHA256, s.NotAfter = info.SHA256, info.NotAfter
			for _, d := range info.DNSNames {
				s.SANs = append(s.SANs, "DNS:"+d)
			}
			for _, ip := range info.IPs {
				s.SANs = append(s.SANs, "IP:"+ip.String())
			}
			now := o.Now
			if now.IsZero() {
				now = time.Now()
			}
			s.DaysLeft = int(info.NotAfter.Sub(now).Hours() / 24)
		}
	}
	for _, a := range o.Addrs {
		v := o.Verify
		v.Addr, v.Port, v.ExpectSHA256 = a, o.Port, expect
		v.CheckPlainRefused = s.Enforced
		if o.Password != nil {
			pw, err := o.Password(a)
			if err != nil {
				s.Verify = append(s.Verify, &VerifyResult{Addr: a, Port: o.Port, Error: err.Error()})
				continue
			}
			v.Password = pw
		}
		if len(v.RootPEM) == 0 {
			s.Verify = append(s.Verify, &VerifyResult{Addr: a, Port: o.Port, Error: "no CA root to verify against"})
			continue
		}
		r := Verify(ctx, v)
		if r != nil && strings.Contains(r.Error, "unknown authority") {
			// Most often a certificate from an outside CA checked against
			// sshplay's own pki/root.crt.
			r.Error += " (certificate from another CA? give its root with --root FILE)"
		}
		s.Verify = append(s.Verify, r)
	}
	return s
}

// Row renders the status as table cells: host | ssl | enforced | subject /
// SANs | issuer | days | verify-full.
func (s *HostStatus) Row() []string {
	if s.Unreachable {
		return []string{s.Host, "-", "-", "-", "-", "-", "UNREACHABLE: " + oneLine(s.Err)}
	}
	if s.Err != "" {
		return []string{s.Host, "-", "-", "-", "-", "-", "ERROR: " + oneLine(s.Err)}
	}
	yn := func(b bool) string {
		if b {
			return "on"
		}
		return "off"
	}
	subj, issuer, days := "-", "-", "-"
	if s.HasCert {
		subj = s.Subject + " [" + strings.Join(s.SANs, ", ") + "]"
		issuer = s.Issuer
		days = fmt.Sprint(s.DaysLeft)
	}
	var vs []string
	if s.KeyProblem != "" {
		vs = append(vs, "KEY "+s.KeyProblem)
	}
	for _, v := range s.Verify {
		if v.OK {
			vs = append(vs, v.Addr+" ok")
		} else {
			vs = append(vs, v.Addr+" "+oneLine(v.Error))
		}
	}
	enf := "no"
	switch {
	case len(s.NotApplied) > 0:
		enf = "edited, not applied"
		vs = append(vs, "changed on disk since the last reload: "+strings.Join(s.NotApplied, ", "))
	case s.Enforced:
		enf = "yes"
	case s.EnforceOff:
		enf = "no (not wanted)"
	}
	if len(s.PendingRestart) > 0 {
		vs = append(vs, "pending restart: "+strings.Join(s.PendingRestart, ", "))
	}
	return []string{s.Host, yn(s.SSL), enf, subj, issuer, days, strings.Join(vs, "; ")}
}

// oneLine keeps a table cell on one line: the first non-empty line of a
// multi-line message (psql's errors add LINE and HINT lines).
func oneLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return ""
}

// VarString returns a host variable as a string ("" when unset or null).
func VarString(vars map[string]any, name string) string {
	v, ok := vars[name]
	if !ok || v == nil {
		return ""
	}
	return strings.TrimSpace(fmt.Sprint(v))
}

// InputError is bad input in a host's variables (exit 5): nothing was
// inspected.
type InputError struct {
	Host string
	Msg  string
}

func (e *InputError) Error() string  { return fmt.Sprintf("host %s: %s", e.Host, e.Msg) }
func (e *InputError) BadInput() bool { return true }

// StatusOptionsFromVars builds a host's StatusOptions from its inventory
// variables, as the playbook reads them (pg_socket_dir, pg_port, pg_host,
// ansible_host, pg_user, pg_database, pg_password*, pg_passfile). A pg_port
// that is not a port number is an *InputError naming the host.
func StatusOptionsFromVars(host string, vars map[string]any, rootPEM []byte, timeout time.Duration) (StatusOptions, error) {
	port := 5432
	if p := VarString(vars, "pg_port"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return StatusOptions{}, &InputError{Host: host, Msg: fmt.Sprintf("pg_port: want a port number (1-65535), got %q", p)}
		}
		port = n
	}
	user := VarString(vars, "pg_user")
	if user == "" {
		user = "postgres"
	}
	db := VarString(vars, "pg_database")
	if db == "" {
		db = "postgres"
	}
	addrs := Addresses(VarString(vars, "pg_host"), VarString(vars, "ansible_host"))
	if len(addrs) == 0 {
		addrs = []string{host}
	}
	get := VarLookup(vars)
	enforceOff := false
	if e := VarString(vars, "pg_tls_enforce"); e != "" && !strings.EqualFold(e, "force") {
		on, err := boolean.ParseString(e)
		if err != nil {
			return StatusOptions{}, &InputError{Host: host, Msg: fmt.Sprintf("pg_tls_enforce: %v (or force)", err)}
		}
		enforceOff = !on
	}
	return StatusOptions{
		EnforceOff: enforceOff,
		Target:     Target{SocketDir: VarString(vars, "pg_socket_dir"), Port: port},
		Addrs:      addrs,
		Port:       port,
		Verify:     VerifyOptions{User: user, Database: db, RootPEM: rootPEM, Timeout: timeout},
		Password: func(addr string) (string, error) {
			return ResolvePassword(get, addr, port, db, user)
		},
	}, nil
}

package pg

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	pghba "github.com/sshplay/sshplay/pg/hba"
	"github.com/sshplay/sshplay/pki"
	"github.com/sshplay/sshplay/transport"
)

// statusSQL reads, in one query, what `sshplay pg status` shows: ssl, the
// certificate file the server is configured with and the hba text.
const statusSQL = `SELECT json_build_object(
 'ssl', current_setting('ssl'),
 'cert_file', current_setting('ssl_cert_file'),
 'cert', CASE WHEN current_setting('ssl_cert_file') <> '' THEN pg_read_file(current_setting('ssl_cert_file'), 0, 65536, true) END,
 'hba', pg_read_file(current_setting('hba_file'), 0, 1048576, true)
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
	Verify      []*VerifyResult
}

// OK reports whether the host is fully as wanted: ssl on, TLS enforced, a
// certificate, and every address proven with verify-full.
func (s *HostStatus) OK() bool {
	if s.Unreachable || s.Err != "" || !s.SSL || !s.Enforced || !s.HasCert || len(s.Verify) == 0 {
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
}

// Status inspects one host with one SSH round trip (psql on the host) and
// one verify-full attempt per address. It never changes anything.
func Status(ctx context.Context, c transport.Conn, host string, o StatusOptions) *HostStatus {
	s := &HostStatus{Host: host}
	out, err := Query(ctx, c, o.Target, statusSQL)
	if err != nil {
		s.Err = err.Error()
		return s
	}
	var raw struct {
		SSL      string  `json:"ssl"`
		CertFile string  `json:"cert_file"`
		Cert     *string `json:"cert"`
		HBA      *string `json:"hba"`
	}
	if err := json.Unmarshal(out, &raw); err != nil {
		s.Err = fmt.Sprintf("parse status: %v", err)
		return s
	}
	s.SSL = raw.SSL == "on"
	if raw.HBA != nil {
		s.Enforced = pghba.IsEnforced([]byte(*raw.HBA))
	}
	expect := ""
	if raw.Cert != nil && *raw.Cert != "" {
		if info, err := pki.CertInfo([]byte(*raw.Cert)); err == nil {
			s.HasCert = true
			s.Subject, s.Issuer, expect = info.Subject, info.Issuer, info.SHA256
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
		s.Verify = append(s.Verify, Verify(ctx, v))
	}
	return s
}

// Row renders the status as table cells: host | ssl | enforced | subject /
// SANs | issuer | days | verify-full.
func (s *HostStatus) Row() []string {
	if s.Unreachable {
		return []string{s.Host, "-", "-", "-", "-", "-", "UNREACHABLE: " + s.Err}
	}
	if s.Err != "" {
		return []string{s.Host, "-", "-", "-", "-", "-", "ERROR: " + s.Err}
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
	for _, v := range s.Verify {
		if v.OK {
			vs = append(vs, v.Addr+" ok")
		} else {
			vs = append(vs, v.Addr+" "+v.Error)
		}
	}
	enf := "no"
	if s.Enforced {
		enf = "yes"
	}
	return []string{s.Host, yn(s.SSL), enf, subj, issuer, days, strings.Join(vs, "; ")}
}

// VarString returns a host variable as a string ("" when unset or null).
func VarString(vars map[string]any, name string) string {
	v, ok := vars[name]
	if !ok || v == nil {
		return ""
	}
	return strings.TrimSpace(fmt.Sprint(v))
}

// StatusOptionsFromVars builds a host's StatusOptions from its inventory
// variables, as the playbook reads them (pg_socket_dir, pg_port, pg_host,
// ansible_host, pg_user, pg_database, pg_password*, pg_passfile).
func StatusOptionsFromVars(host string, vars map[string]any, rootPEM []byte, timeout time.Duration) StatusOptions {
	port := 5432
	if p := VarString(vars, "pg_port"); p != "" {
		fmt.Sscanf(p, "%d", &port)
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
	get := func(n string) string { return VarString(vars, n) }
	return StatusOptions{
		Target: Target{SocketDir: VarString(vars, "pg_socket_dir"), Port: port},
		Addrs:  addrs,
		Port:   port,
		Verify: VerifyOptions{User: user, Database: db, RootPEM: rootPEM, Timeout: timeout},
		Password: func(addr string) (string, error) {
			return ResolvePassword(get, addr, port, db, user)
		},
	}
}

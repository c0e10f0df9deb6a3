package lab

// What `lab up` is asked to set up besides plain hosts: standbys and
// client-certificate users, given as STANDBY=PRIMARY[:SSLMODE] and
// HOST=ROLE. Parsed and checked here, before anything starts, so that bad
// input never leaves half a lab behind.

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// StandbySpec asks for Standby to be made a standby of Primary.
type StandbySpec struct {
	Standby, Primary string
	Options          StandbyOptions
}

// ClientCertSpec asks for a client-certificate user Role on Host.
type ClientCertSpec struct {
	Host, Role string
}

// ParseStandbySpec parses STANDBY=PRIMARY[:SSLMODE], e.g. db02=db01:disable
// (sslmode prefer when left out). Bad input is a *ConfigError.
func ParseStandbySpec(s string) (StandbySpec, error) {
	bad := func(why string) (StandbySpec, error) {
		return StandbySpec{}, &ConfigError{Msg: fmt.Sprintf("standby %q: %s", s, why)}
	}
	standby, rest, ok := strings.Cut(s, "=")
	primary, mode, _ := strings.Cut(rest, ":")
	if !ok || !hostName(standby) || !hostName(primary) {
		return bad("want STANDBY=PRIMARY[:SSLMODE] with lab host names, e.g. db02=db01:disable")
	}
	spec := StandbySpec{Standby: standby, Primary: primary, Options: StandbyOptions{SSLMode: mode}}
	if strings.Contains(rest, ":") && mode == "" {
		return bad("empty sslmode after ':'")
	}
	if _, err := spec.Options.mode(); err != nil {
		return bad(fmt.Sprintf("sslmode %q: want one of %s", mode, strings.Join(sslModes, ", ")))
	}
	if standby == primary {
		return bad("a host cannot be its own standby")
	}
	return spec, nil
}

// ParseClientCertSpec parses HOST=ROLE, e.g. db01=alice. Bad input is a
// *ConfigError.
func ParseClientCertSpec(s string) (ClientCertSpec, error) {
	host, role, ok := strings.Cut(s, "=")
	if !ok || !hostName(host) {
		return ClientCertSpec{}, &ConfigError{Msg: fmt.Sprintf("client-cert %q: want HOST=ROLE with a lab host name, e.g. db01=alice", s)}
	}
	if err := checkClientRole(role); err != nil {
		return ClientCertSpec{}, err
	}
	return ClientCertSpec{Host: host, Role: role}, nil
}

// hostName reports whether s is a name the lab gives hosts (db01, db102).
func hostName(s string) bool {
	n, err := strconv.Atoi(strings.TrimPrefix(s, "db"))
	return err == nil && strings.HasPrefix(s, "db") && n >= 1 && n <= MaxHosts && fmt.Sprintf("db%02d", n) == s
}

// checkSpecs checks cfg's standbys and client-certificate users against a
// lab of n hosts (db01..dbNN), whose current standbys are the keys of
// current (values: their primaries), and against each other.
func checkSpecs(cfg Config, n int, current map[string]string) error {
	exists := func(name string) bool {
		num, _ := strconv.Atoi(strings.TrimPrefix(name, "db"))
		return hostName(name) && num <= n
	}
	bad := func(format string, a ...any) error { return &ConfigError{Msg: fmt.Sprintf(format, a...)} }
	standbyOf := map[string]string{}
	for _, s := range cfg.Standbys {
		for _, name := range []string{s.Standby, s.Primary} {
			if !exists(name) {
				return bad("standby %s=%s: no host %s (the lab has db01..db%02d)", s.Standby, s.Primary, name, n)
			}
		}
		if _, err := s.Options.mode(); err != nil {
			return err
		}
		if prev, ok := standbyOf[s.Standby]; ok && prev != s.Primary {
			return bad("standby %s: asked for twice, of %s and of %s", s.Standby, prev, s.Primary)
		}
		standbyOf[s.Standby] = s.Primary
	}
	for s, p := range current {
		if _, ok := standbyOf[s]; !ok {
			standbyOf[s] = p
		}
	}
	for _, s := range cfg.Standbys {
		if p, ok := standbyOf[s.Primary]; ok {
			return bad("standby %s=%s: %s is itself a standby (of %s); the lab makes no cascading standbys", s.Standby, s.Primary, s.Primary, p)
		}
	}
	for _, c := range cfg.ClientCerts {
		if !exists(c.Host) {
			return bad("client-cert %s=%s: no host %s (the lab has db01..db%02d)", c.Host, c.Role, c.Host, n)
		}
		if err := checkClientRole(c.Role); err != nil {
			return err
		}
		if p, ok := standbyOf[c.Host]; ok {
			return bad("client-cert %s=%s: %s is to be a standby (read-only); add the user on its primary %s", c.Host, c.Role, c.Host, p)
		}
	}
	return nil
}

// applySpecs sets up cfg's client-certificate users, then its standbys,
// for Up (which holds the lab lock), and saves the state.
func (l *Lab) applySpecs(ctx context.Context, cfg Config) error {
	if len(cfg.ClientCerts) == 0 && len(cfg.Standbys) == 0 {
		return nil
	}
	var err error
	for _, c := range cfg.ClientCerts {
		if _, err = l.addClientCertUser(ctx, c.Host, c.Role); err != nil {
			break
		}
	}
	for _, s := range cfg.Standbys {
		if err != nil {
			break
		}
		err = l.ensureStandby(ctx, s)
	}
	if serr := l.saveAll(); err == nil {
		err = serr
	}
	return err
}

// ensureStandby makes s's standby unless it already is the standby s asks
// for; then it only checks that it streams.
func (l *Lab) ensureStandby(ctx context.Context, s StandbySpec) error {
	h, err := l.Host(s.Standby)
	if err != nil {
		return err
	}
	mode, err := s.Options.mode()
	if err != nil {
		return err
	}
	if h.Primary != s.Primary || h.PrimarySSLMode != mode {
		return l.makeStandby(ctx, s.Standby, s.Primary, s.Options)
	}
	pr, err := l.Host(s.Primary)
	if err != nil {
		return err
	}
	return waitStreaming(ctx, h, pathsFor(l.Dir, h.Name), pr)
}

package pg

import (
	"context"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"

	"al.essio.dev/pkg/shellescape"

	"github.com/sshplay/sshplay/transport"
)

// RestartProbe is what the host tells about how its postmaster runs.
type RestartProbe struct {
	// CGroup is /proc/PID/cgroup of the postmaster.
	CGroup string
	// PgCtlCluster is the path of pg_ctlcluster ("" when missing).
	PgCtlCluster string
	// Exe is the postmaster's executable (/proc/PID/exe).
	Exe string
	// PgConfigBindir is `pg_config --bindir` ("" when missing).
	PgConfigBindir string
}

// RestartPlan is how to restart one cluster.
type RestartPlan struct {
	// Method is systemd, pg_ctlcluster, pg_ctl or custom.
	Method string
	// Command is the shell command line.
	Command string
	// AsRoot says the command needs root (systemctl, pg_ctlcluster).
	AsRoot bool
}

// probeScript prints key=value lines; it only reads.
func probeScript(pid int) string {
	p := strconv.Itoa(pid)
	return `printf 'cgroup=%s\n' "$(tr '\n' ';' < /proc/` + p + `/cgroup 2>/dev/null)"; ` +
		`printf 'pg_ctlcluster=%s\n' "$(command -v pg_ctlcluster 2>/dev/null)"; ` +
		`printf 'exe=%s\n' "$(readlink /proc/` + p + `/exe 2>/dev/null)"; ` +
		`printf 'bindir=%s\n' "$(pg_config --bindir 2>/dev/null)"; true`
}

// ProbeRestart runs the restart probe on the host (read-only).
func ProbeRestart(ctx context.Context, c transport.Conn, postmasterPID int) (*RestartProbe, error) {
	res, err := c.Run(ctx, probeScript(postmasterPID), transport.RunOptions{})
	if err != nil {
		return nil, fmt.Errorf("host %s: probe restart method: %w", c.Host(), err)
	}
	return ParseRestartProbe(string(res.Stdout)), nil
}

// ParseRestartProbe parses the probe's output.
func ParseRestartProbe(out string) *RestartProbe {
	var p RestartProbe
	for _, l := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "cgroup":
			p.CGroup = v
		case "pg_ctlcluster":
			p.PgCtlCluster = v
		case "exe":
			p.Exe = strings.TrimSuffix(v, " (deleted)")
		case "bindir":
			p.PgConfigBindir = v
		}
	}
	return &p
}

var (
	unitRe       = regexp.MustCompile(`/(postgresql[A-Za-z0-9@._-]*\.service)(/|;|$)`)
	debianConfRe = regexp.MustCompile(`^/etc/postgresql/([^/]+)/([^/]+)/postgresql\.conf$`)
)

// DecideRestart picks the restart command: the override when given, else
// the systemd unit the postmaster runs in (postgresql@15-main.service,
// postgresql-16.service), else pg_ctlcluster for a Debian cluster under
// /etc/postgresql, else pg_ctl of the running server's own bindir.
func DecideRestart(p *RestartProbe, f *Facts, override, logFile string) (RestartPlan, error) {
	if strings.TrimSpace(override) != "" {
		return RestartPlan{Method: "custom", Command: override}, nil
	}
	if m := unitRe.FindStringSubmatch(p.CGroup); m != nil {
		return RestartPlan{Method: "systemd", Command: "systemctl restart " + shellescape.Quote(m[1]), AsRoot: true}, nil
	}
	if p.PgCtlCluster != "" {
		if m := debianConfRe.FindStringSubmatch(f.ConfigFile); m != nil {
			return RestartPlan{Method: "pg_ctlcluster", Command: shellescape.QuoteCommand([]string{p.PgCtlCluster, m[1], m[2], "restart", "-m", "fast"}), AsRoot: true}, nil
		}
	}
	bindir := ""
	if p.Exe != "" {
		bindir = path.Dir(p.Exe)
	} else if p.PgConfigBindir != "" {
		bindir = p.PgConfigBindir
	}
	if bindir == "" {
		return RestartPlan{}, fmt.Errorf("no way to restart found: no systemd unit, no pg_ctlcluster, and the server's bindir is unknown; set pg_restart_command")
	}
	if logFile == "" {
		logFile = RestartLog(f)
	}
	cmd := shellescape.QuoteCommand([]string{path.Join(bindir, "pg_ctl"), "-D", f.DataDirectory, "restart", "-m", "fast", "-w", "-t", "120", "-l", logFile}) + " </dev/null"
	return RestartPlan{Method: "pg_ctl", Command: cmd}, nil
}

// RestartLog is where pg_ctl restart sends the server's output by default:
// outside the data directory (a file there would be copied by base
// backups and pg_rewind), one per cluster, created by the cluster user who
// runs pg_ctl. Linux's protected_symlinks keeps a planted link in /tmp
// from being followed.
func RestartLog(f *Facts) string {
	name := f.ClusterName
	if name == "" {
		name = "pg"
	}
	name = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, name)
	return fmt.Sprintf("/tmp/sshplay-restart-%s-%d.log", name, f.Port)
}

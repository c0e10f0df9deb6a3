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
	// StderrLog is the regular file the postmaster's standard error goes
	// to (pg_ctl -l, pg_ctlcluster): the server's own log, where a
	// restart's output belongs. "" when it is a pipe (the logging
	// collector, systemd), the server is down, or it cannot be read.
	StderrLog string
}

// RestartPlan is how to restart one cluster.
type RestartPlan struct {
	// Method is systemd, pg_ctlcluster, pg_ctl or custom.
	Method string
	// Command is the shell command line.
	Command string
	// AsRoot says the command needs root (systemctl, pg_ctlcluster).
	AsRoot bool
	// Log is the file pg_ctl sends the server's output to when it is
	// known before the command runs; otherwise the command picks it and
	// prints it (see LogFile).
	Log string
}

// restartLogMark starts the line a pg_ctl command prints with its log.
const restartLogMark = "@@sshplay-restart-log@@"

// LogFile is the log the restart command used, from its output: the
// server's own log, or a file in a private directory it made. "" for
// methods that log elsewhere (systemd's journal, pg_ctlcluster's file).
func (rp RestartPlan) LogFile(stdout []byte) string {
	for _, l := range strings.Split(string(stdout), "\n") {
		if v, ok := strings.CutPrefix(l, restartLogMark+" "); ok {
			return v
		}
	}
	return rp.Log
}

// Describe says how the restart ran, for messages: "pg_ctl (log: FILE)",
// "systemd (systemctl restart UNIT)".
func (rp RestartPlan) Describe(stdout []byte) string {
	switch rp.Method {
	case "pg_ctl":
		if l := rp.LogFile(stdout); l != "" {
			return "pg_ctl (log: " + l + ")"
		}
		return "pg_ctl"
	case "custom":
		return "pg_restart_command"
	}
	return rp.Method + " (" + rp.Command + ")"
}

// probeScript prints key=value lines; it only reads.
func probeScript(pid int) string {
	p := strconv.Itoa(pid)
	return `printf 'cgroup=%s\n' "$(tr '\n' ';' < /proc/` + p + `/cgroup 2>/dev/null)"; ` +
		`printf 'pg_ctlcluster=%s\n' "$(command -v pg_ctlcluster 2>/dev/null)"; ` +
		`printf 'exe=%s\n' "$(readlink /proc/` + p + `/exe 2>/dev/null)"; ` +
		`printf 'bindir=%s\n' "$(pg_config --bindir 2>/dev/null)"; ` +
		`l=$(readlink /proc/` + p + `/fd/2 2>/dev/null) && [ -f /proc/` + p + `/fd/2 ] && printf 'stderr=%s\n' "$l"; true`
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
		case "stderr":
			if !strings.HasSuffix(v, " (deleted)") && path.IsAbs(v) {
				p.StderrLog = v
			}
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
// /etc/postgresql, else pg_ctl of the running server's own bindir. pg_ctl
// appends the server's output to logFile when given, else to the file the
// postmaster's standard error went to (the probe's StderrLog), else to
// what pickLogScript finds on the host.
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
	// The running server's bindir; for a server that is down, the one
	// the facts saw it run from, before whatever pg_config is on PATH.
	bindir := ""
	switch {
	case p.Exe != "":
		bindir = path.Dir(p.Exe)
	case f.Bindir != "":
		bindir = f.Bindir
	case p.PgConfigBindir != "":
		bindir = p.PgConfigBindir
	}
	if bindir == "" {
		return RestartPlan{}, fmt.Errorf("no way to restart found: no systemd unit, no pg_ctlcluster, and the server's bindir is unknown; set pg_restart_command")
	}
	if logFile == "" {
		logFile = p.StderrLog
	}
	pgctl := shellescape.QuoteCommand([]string{path.Join(bindir, "pg_ctl"), "-D", f.DataDirectory, "restart", "-m", "fast", "-w", "-t", "120"})
	if logFile != "" {
		return RestartPlan{Method: "pg_ctl", Command: pgctl + " -l " + shellescape.Quote(logFile) + " </dev/null", Log: logFile}, nil
	}
	return RestartPlan{Method: "pg_ctl", Command: pickLogScript(f.DataDirectory) + "exec " + pgctl + ` -l "$log" </dev/null`}, nil
}

// pickLogScript sets $log for a pg_ctl whose server's log is unknown (the
// server is down, so /proc cannot say): the logging collector's last
// stderr file (DATA/current_logfiles, which a server started without the
// collector removes), else a file in a new private (0700) directory made
// by mktemp -d, never a predictable name in a shared directory. It prints
// the choice for RestartPlan.LogFile.
func pickLogScript(dataDir string) string {
	d := shellescape.Quote(dataDir)
	return `log=$(sed -n 's/^stderr //p' ` + d + `/current_logfiles 2>/dev/null | head -n 1)
case $log in ''|/*) ;; *) log=` + d + `/$log;; esac
if [ -z "$log" ] || [ -L "$log" ] || ! [ -f "$log" ] || ! [ -w "$log" ]; then
 dir=$(mktemp -d "${TMPDIR:-/tmp}/sshplay-restart.XXXXXXXX") || exit
 log=$dir/postgresql.log
fi
printf '` + restartLogMark + ` %s\n' "$log"
`
}

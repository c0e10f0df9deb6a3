package pg

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"al.essio.dev/pkg/shellescape"

	"github.com/sshplay/sshplay/transport"
)

// Setting is one row of pg_settings (running values).
type Setting struct {
	Name           string `json:"name"`
	Setting        string `json:"setting"`
	Context        string `json:"context"`
	Source         string `json:"source"`
	SourceFile     string `json:"sourcefile"`
	SourceLine     int    `json:"sourceline"`
	PendingRestart bool   `json:"pending_restart"`
}

// FileSetting is one row of pg_file_settings (what the files on disk say).
type FileSetting struct {
	SourceFile string `json:"sourcefile"`
	SourceLine int    `json:"sourceline"`
	SeqNo      int    `json:"seqno"`
	Name       string `json:"name"`
	Setting    string `json:"setting"`
	Applied    bool   `json:"applied"`
	Error      string `json:"error"`
}

// HBAError is a pg_hba_file_rules row with an error: the file on disk would
// be rejected at reload.
type HBAError struct {
	File  string `json:"file_name"`
	Line  int    `json:"line_number"`
	Error string `json:"error"`
}

// Facts is what one psql round trip tells about a cluster.
type Facts struct {
	ServerVersionNum int           `json:"server_version_num"`
	ServerVersion    string        `json:"server_version"`
	DataDirectory    string        `json:"data_directory"`
	ConfigFile       string        `json:"config_file"`
	HBAFile          string        `json:"hba_file"`
	IdentFile        string        `json:"ident_file"`
	Port             int           `json:"port"`
	ClusterName      string        `json:"cluster_name"`
	InRecovery       bool          `json:"in_recovery"`
	IsSuperuser      bool          `json:"is_superuser"`
	User             string        `json:"user"`
	PostmasterPID    int           `json:"postmaster_pid"`
	Settings         []Setting     `json:"settings"`
	FileSettings     []FileSetting `json:"file_settings"`
	HBAErrors        []HBAError    `json:"hba_errors"`
	// ConfPatroniMark: the config file's head mentions Patroni (Patroni
	// writes "It will be overwritten by Patroni!" there).
	ConfPatroniMark bool `json:"conf_patroni_mark"`
	// PatroniBaseConf: postgresql.base.conf exists in the data directory.
	PatroniBaseConf bool `json:"patroni_base_conf"`
	// PatroniProcs are the /proc entries of running patroni processes.
	PatroniProcs []string `json:"patroni_procs"`
	// OpenSSLVersion is `openssl version` on the host ("" when missing).
	OpenSSLVersion string `json:"openssl_version"`
	// Bindir is the directory of the running server's binaries (from
	// /proc/PID/exe of the postmaster named in the socket's lock file); ""
	// when unknown. psql from there skips Debian's pg_wrapper.
	Bindir string `json:"bindir"`
	// SocketDir is the socket directory psql used with Bindir.
	SocketDir string `json:"socket_dir"`
	// BackupDirs are the directories whose sshplay backups (FILE.sshplay-
	// RUNID) the facts list in Backups: the data directory, those of the
	// config and hba files, and the TLS directory when one was given.
	BackupDirs []string `json:"backup_dirs,omitempty"`
	Backups    []string `json:"backups,omitempty"`
	// Journal is the on-host journal file (empty when there is none).
	Journal []byte `json:"journal"`
	// ConfigText and HBAText are postgresql.conf and pg_hba.conf as read
	// (base64 in JSON: the files need not be valid UTF-8).
	ConfigText []byte `json:"config_text"`
	HBAText    []byte `json:"hba_text"`
	// UnfinishedRun is the run id of a journal found on the host.
	UnfinishedRun string `json:"unfinished_run,omitempty"`
	// TLS is the state of the TLS files; nil when not gathered.
	TLS *TLSState `json:"tls,omitempty"`
	// Stale names the parts a module of this run has changed since they
	// were gathered (see the Part constants): they must be read again.
	Stale []string `json:"stale,omitempty"`
}

// Parts of the facts that a change can make stale.
const (
	PartTLS      = "tls"      // TLS, the files in the TLS directory
	PartJournal  = "journal"  // Journal
	PartConfig   = "config"   // ConfigText, FileSettings
	PartHBA      = "hba"      // HBAText, HBAErrors
	PartSettings = "settings" // Settings (running values), PostmasterPID
)

// IsStale reports whether part must be read again.
func (f *Facts) IsStale(part string) bool {
	for _, s := range f.Stale {
		if s == part {
			return true
		}
	}
	return false
}

// MarkStale returns a copy of f with parts added to Stale.
func (f *Facts) MarkStale(parts ...string) *Facts {
	c := *f
	c.Stale = append([]string(nil), f.Stale...)
	for _, p := range parts {
		if !c.IsStale(p) {
			c.Stale = append(c.Stale, p)
		}
	}
	return &c
}

// TLSFile is one file of the TLS directory as the host showed it.
type TLSFile struct {
	Exists bool `json:"exists"`
	// Unreadable is set when the file exists but could not be read.
	Unreadable bool   `json:"unreadable,omitempty"`
	Content    string `json:"content,omitempty"`
}

// TLSState is what the host says about its TLS files, learned in the facts
// round trip: the private key only through `openssl pkey -pubout` (it never
// leaves the host), the certificate, root and CSR as text.
type TLSState struct {
	Dir       string `json:"dir"`
	KeyExists bool   `json:"key_exists"`
	// KeyPub is the public key (PEM) openssl printed; "" when missing.
	KeyPub string `json:"key_pub,omitempty"`
	// KeyProblem is why an existing key cannot be used.
	KeyProblem string  `json:"key_problem,omitempty"`
	Cert       TLSFile `json:"cert"`
	Root       TLSFile `json:"root"`
	CSR        TLSFile `json:"csr"`
}

// TLS file names in the TLS directory.
const (
	KeyFile  = "server.key"
	CertFile = "server.crt"
	RootFile = "root.crt"
	CSRFile  = "server.csr"
)

// factsSQL returns one JSON object. It needs PostgreSQL 10 or later
// (pg_hba_file_rules) and a superuser (pg_file_settings, pg_read_file).
const factsSQL = `SELECT current_setting('data_directory');
SELECT current_setting('config_file');
SELECT current_setting('hba_file');
SELECT json_build_object(
 'server_version_num', current_setting('server_version_num')::int,
 'server_version', current_setting('server_version'),
 'data_directory', current_setting('data_directory'),
 'config_file', current_setting('config_file'),
 'hba_file', current_setting('hba_file'),
 'ident_file', current_setting('ident_file'),
 'port', current_setting('port')::int,
 'cluster_name', current_setting('cluster_name'),
 'in_recovery', pg_is_in_recovery(),
 'user', current_user,
 'is_superuser', (SELECT rolsuper FROM pg_roles WHERE rolname = current_user),
 'postmaster_pid', coalesce(nullif(split_part(pg_read_file('postmaster.pid', 0, 64, true), E'\n', 1), ''), '0')::int,
 'conf_patroni_mark', coalesce(pg_read_file(current_setting('config_file'), 0, 4096, true), '') ILIKE '%patroni%',
 'patroni_base_conf', pg_stat_file('postgresql.base.conf', true) IS NOT NULL,
 'settings', (SELECT coalesce(json_agg(json_build_object('name', name, 'setting', setting, 'context', context,
     'source', source, 'sourcefile', coalesce(sourcefile, ''), 'sourceline', coalesce(sourceline, 0),
     'pending_restart', pending_restart) ORDER BY name), '[]'::json)
   FROM pg_settings WHERE name LIKE 'ssl%'),
 'file_settings', (SELECT coalesce(json_agg(json_build_object('sourcefile', coalesce(sourcefile, ''),
     'sourceline', coalesce(sourceline, 0), 'seqno', coalesce(seqno, 0), 'name', coalesce(name, ''),
     'setting', coalesce(setting, ''), 'applied', applied, 'error', coalesce(error, '')) ORDER BY seqno), '[]'::json)
   FROM pg_file_settings WHERE name LIKE 'ssl%' OR error IS NOT NULL),
 'journal', translate(encode(coalesce(pg_read_binary_file('` + JournalName + `', 0, 1048576, true), ''), 'base64'), E'\n', ''),
 'config_text', translate(encode(pg_read_binary_file(current_setting('config_file')), 'base64'), E'\n', ''),
 'hba_text', translate(encode(pg_read_binary_file(current_setting('hba_file')), 'base64'), E'\n', ''),
 'hba_errors', (SELECT coalesce(json_agg(json_build_object('file_name', current_setting('hba_file'),
     'line_number', coalesce(line_number, 0), 'error', error) ORDER BY line_number), '[]'::json)
   FROM pg_hba_file_rules WHERE error IS NOT NULL)
);
`

// Markers in the facts script's output.
const (
	probeMarker = "@@sshplay-probe@@"
	tlsMarker   = "@@sshplay-tls@@"
	keyMarker   = "@@sshplay-key@@"
	fileMarker  = "@@sshplay-file@@"
	bakMarker   = "@@sshplay-backups@@"
)

// GatherOptions say what the facts round trip reads.
type GatherOptions struct {
	Target Target
	// TLS also reads the TLS files (key via openssl, the rest as text).
	TLS bool
	// TLSDir is where they are; "" means the data directory.
	TLSDir string
}

// factsScript runs, in one round trip: psql (SQL on stdin; the server's own
// psql when the socket's lock file names a running postmaster, so Debian's
// Perl wrapper is skipped), the Patroni and openssl probes, and optionally
// the TLS file probe. The [p] keeps grep from matching its own command line.
func factsScript(o GatherOptions) string {
	t := o.Target
	var b strings.Builder
	b.WriteString("LC_ALL=C; export LC_ALL; psql=psql; bindir=; hopt=" + shellescape.Quote(t.SocketDir) + "; sock=$hopt\n")
	b.WriteString(`[ -n "$sock" ] || case "${PGHOST-}" in /*) sock=$PGHOST ;; '') sock=` + DefaultSocketDir + ` ;; esac` + "\n")
	b.WriteString(`if [ -n "$sock" ] && pid=$(head -n 1 "$sock/.s.PGSQL.` + strconv.Itoa(t.port()) + `.lock" 2>/dev/null) && [ -n "$pid" ] && exe=$(readlink "/proc/$pid/exe" 2>/dev/null); then
 exe=${exe% (deleted)}
 case "${exe##*/}" in postgres|postmaster) if [ -x "${exe%/*}/psql" ]; then bindir=${exe%/*}; psql=$bindir/psql; hopt=$sock; fi ;; esac
fi
`)
	b.WriteString(`out=$("$psql" ` + shellescape.QuoteCommand(t.argv()) + ` ${hopt:+-h "$hopt"} ` + shellescape.QuoteCommand(t.connArgs()) + `); rc=$?` + "\n")
	b.WriteString(`printf '%s\n` + probeMarker + `\n' "$out"` + "\n")
	b.WriteString(`grep -ls '[p]atroni' /proc/[0-9]*/cmdline 2>/dev/null | head -n 5 | tr '\n' ' '; printf '\n'` + "\n")
	b.WriteString(`printf '%s\n%s\n%s\n' "$(openssl version 2>/dev/null)" "$bindir" "$hopt"` + "\n")
	b.WriteString("[ $rc -eq 0 ] || exit $rc\n")
	// The backups next to the files a run changes (psql printed the data
	// directory, config_file and hba_file first), so that committing a
	// run needs no listing of its own.
	b.WriteString("nl='\n'; dd=${out%%\"$nl\"*}; r=${out#*\"$nl\"}; cf=${r%%\"$nl\"*}; r=${r#*\"$nl\"}; hf=${r%%\"$nl\"*}\n")
	b.WriteString("printf '" + bakMarker + "\\n'; for d in \"$dd\" \"${cf%/*}\" \"${hf%/*}\"")
	if o.TLSDir != "" {
		b.WriteString(" " + shellescape.Quote(o.TLSDir))
	}
	b.WriteString("; do printf 'D %s\\n' \"$d\"; for f in \"$d\"/*" + BackupInfix + "[0-9]*Z; do [ -f \"$f\" ] && printf 'F %s\\n' \"$f\"; done; done; :\n")
	if !o.TLS {
		return b.String()
	}
	dir := `${out%%"$nl"*}`
	if o.TLSDir != "" {
		dir = shellescape.Quote(o.TLSDir)
	}
	b.WriteString("d=" + dir + "\n")
	b.WriteString(`printf '` + tlsMarker + `%s\n' "$d"
k=$d/` + KeyFile + `
if [ ! -e "$k" ]; then printf '` + keyMarker + ` missing\n'
elif p=$(openssl pkey -in "$k" -passin pass: -pubout 2>&1 </dev/null); then printf '` + keyMarker + ` ok\n%s\n' "$p"
else printf '` + keyMarker + ` unreadable\n%s\n' "$p" | head -n 4; fi
f() { if [ ! -e "$2" ]; then printf '` + fileMarker + ` %s -1\n' "$1"
 elif c=$(cat -- "$2" 2>/dev/null && printf x); then c=${c%x}; printf '` + fileMarker + ` %s %s\n%s' "$1" "${#c}" "$c"
 else printf '` + fileMarker + ` %s -2\n' "$1"; fi; }
f cert "$d/` + CertFile + `"; f root "$d/` + RootFile + `"; f csr "$d/` + CSRFile + `"
`)
	return b.String()
}

// GatherFacts runs the facts query on the host (one SSH round trip).
func GatherFacts(ctx context.Context, c transport.Conn, t Target) (*Facts, error) {
	return Gather(ctx, c, GatherOptions{Target: t})
}

// Gather runs the facts script on the host: one SSH round trip for the
// cluster's facts and, with o.TLS, the TLS files.
func Gather(ctx context.Context, c transport.Conn, o GatherOptions) (*Facts, error) {
	res, err := c.Run(ctx, factsScript(o), transport.RunOptions{Stdin: strings.NewReader(factsSQL)})
	if err != nil {
		var ee *transport.ExitError
		if errors.As(err, &ee) {
			stderr := ee.Stderr
			if res != nil && len(res.Stderr) > 0 {
				stderr = string(res.Stderr)
			}
			return nil, &PsqlError{Host: c.Host(), Stderr: stderr, Code: ee.Code}
		}
		return nil, fmt.Errorf("host %s: gather postgres facts: %w", c.Host(), err)
	}
	f, err := ParseFactsOutput(res.Stdout)
	if err != nil {
		return nil, fmt.Errorf("host %s: %w", c.Host(), err)
	}
	if o.TLS && f.TLS == nil {
		return nil, fmt.Errorf("host %s: gather postgres facts: no TLS file probe in the output", c.Host())
	}
	return f, nil
}

// ParseFactsOutput parses what the facts script printed.
func ParseFactsOutput(out []byte) (*Facts, error) {
	js, probes, _ := bytes.Cut(out, []byte("\n"+probeMarker+"\n"))
	js = bytes.TrimSpace(js)
	// The data directory, config_file and hba_file lines come first, then
	// the JSON object (which json_agg may break over lines).
	for i := 0; i < 3 && !bytes.HasPrefix(js, []byte("{")); i++ {
		if _, after, ok := bytes.Cut(js, []byte("\n")); ok {
			js = after
		}
	}
	var f Facts
	if err := json.Unmarshal(js, &f); err != nil {
		return nil, fmt.Errorf("parse postgres facts: %w (output %q)", err, truncate(string(js), 200))
	}
	rest, tlsPart, hasTLS := strings.Cut(string(probes), tlsMarker)
	rest, baks, _ := strings.Cut(rest, bakMarker+"\n")
	for _, l := range strings.Split(baks, "\n") {
		kind, p, ok := strings.Cut(l, " ")
		switch {
		case !ok || p == "":
		case kind == "D" && !slices.Contains(f.BackupDirs, p):
			f.BackupDirs = append(f.BackupDirs, p)
		case kind == "F" && !slices.Contains(f.Backups, p):
			f.Backups = append(f.Backups, p)
		}
	}
	lines := strings.Split(rest, "\n")
	field := func(i int) string {
		if i < len(lines) {
			return strings.TrimSpace(lines[i])
		}
		return ""
	}
	for _, p := range strings.Fields(field(0)) {
		f.PatroniProcs = append(f.PatroniProcs, path.Dir(p))
	}
	f.OpenSSLVersion = field(1)
	f.Bindir = field(2)
	f.SocketDir = field(3)
	if hasTLS {
		st, err := parseTLS(tlsPart)
		if err != nil {
			return nil, err
		}
		f.TLS = st
	}
	return &f, nil
}

// parseTLS parses the TLS probe's output (after its marker).
func parseTLS(s string) (*TLSState, error) {
	dir, s, _ := strings.Cut(s, "\n")
	st := &TLSState{Dir: dir}
	if !strings.HasPrefix(s, keyMarker+" ") {
		return nil, errors.New("parse TLS probe: no key state")
	}
	head, s, _ := strings.Cut(s, "\n")
	body := s
	if i := strings.Index(s, fileMarker+" "); i >= 0 {
		body, s = s[:i], s[i:]
	} else {
		s = ""
	}
	body = strings.TrimSpace(body)
	switch strings.TrimPrefix(head, keyMarker+" ") {
	case "missing":
	case "ok":
		st.KeyExists, st.KeyPub = true, body+"\n"
	default:
		st.KeyExists, st.KeyProblem = true, body
		if body == "" {
			st.KeyProblem = "openssl cannot read it"
		}
	}
	for s != "" {
		head, rest, ok := strings.Cut(s, "\n")
		fs := strings.Fields(strings.TrimPrefix(head, fileMarker))
		if !ok && head == "" || len(fs) != 2 || !strings.HasPrefix(head, fileMarker) {
			return nil, fmt.Errorf("parse TLS probe: bad file header %q", truncate(head, 60))
		}
		n, err := strconv.Atoi(fs[1])
		if err != nil || n > len(rest) {
			return nil, fmt.Errorf("parse TLS probe: bad length in %q", head)
		}
		var tf TLSFile
		switch {
		case n == -2:
			tf = TLSFile{Exists: true, Unreadable: true}
		case n >= 0:
			tf = TLSFile{Exists: true, Content: rest[:n]}
			rest = rest[n:]
		}
		switch fs[0] {
		case "cert":
			st.Cert = tf
		case "root":
			st.Root = tf
		case "csr":
			st.CSR = tf
		}
		s = rest
	}
	return st, nil
}

// Setting returns the running setting name, if the server has it.
func (f *Facts) Setting(name string) (Setting, bool) {
	for _, s := range f.Settings {
		if s.Name == name {
			return s, true
		}
	}
	return Setting{}, false
}

// SSLOn reports whether the running server has ssl = on.
func (f *Facts) SSLOn() bool {
	s, ok := f.Setting("ssl")
	return ok && s.Setting == "on"
}

// Patroni says whether Patroni manages this cluster, and why it thinks so.
// Signals: Patroni's "overwritten by Patroni" header in the config file;
// or postgresql.base.conf (Patroni's layout) together with a running
// patroni process.
func (f *Facts) Patroni() (bool, string) {
	switch {
	case f.ConfPatroniMark:
		return true, f.ConfigFile + " says it is written by Patroni"
	case f.PatroniBaseConf && len(f.PatroniProcs) > 0:
		return true, "postgresql.base.conf in the data directory and a patroni process is running"
	}
	return false, ""
}

// ResolvePath resolves a path the way the server does for ssl_*_file:
// relative paths are relative to the data directory.
func (f *Facts) ResolvePath(p string) string {
	if p == "" || path.IsAbs(p) {
		return p
	}
	return path.Join(f.DataDirectory, p)
}

// Facts travel between the modules of a run as the *Facts itself (the
// value of ansible_facts.pg): no copy per task, and the big texts (config,
// hba, certificates) are shared by every registered result. Templates and
// output see Map(), made only when they ask.

// plainFacts is Facts without its methods (for encoding/json).
type plainFacts Facts

// MarshalJSON encodes the facts as Map shows them.
func (f *Facts) MarshalJSON() ([]byte, error) { return json.Marshal(f.Map()) }

// Map returns the facts as plain values (for templates and printing).
func (f *Facts) Map() map[string]any {
	b, err := json.Marshal((*plainFacts)(f))
	if err != nil {
		return map[string]any{}
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return map[string]any{}
	}
	managed, why := f.Patroni()
	m["patroni"] = map[string]any{"managed": managed, "reason": why}
	m["ssl"] = f.SSLOn()
	return m
}

// FactsFromMap decodes facts registered earlier (the inverse of Map).
func FactsFromMap(m map[string]any) (*Facts, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	var f plainFacts
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, err
	}
	return (*Facts)(&f), nil
}

// FactsFrom returns the facts a variable holds: a *Facts as the modules
// register it, or a map (set_fact, JSON) decoded; nil when neither.
func FactsFrom(v any) *Facts {
	switch x := v.(type) {
	case *Facts:
		return x
	case map[string]any:
		f, err := FactsFromMap(x)
		if err == nil {
			return f
		}
	}
	return nil
}

// OpenSSLAddext reports whether the host's openssl supports `req -addext`
// (OpenSSL 1.1.1 or later; LibreSSL 3.x too).
func OpenSSLAddext(version string) bool {
	fs := strings.Fields(version)
	if len(fs) < 2 {
		return false
	}
	v := fs[1]
	var major, minor, patch int
	var letter string
	n, _ := fmt.Sscanf(v, "%d.%d.%d%s", &major, &minor, &patch, &letter)
	if n < 2 {
		return false
	}
	if fs[0] == "LibreSSL" {
		return major >= 3
	}
	switch {
	case major > 1:
		return true
	case major == 1 && minor > 1:
		return true
	case major == 1 && minor == 1 && patch >= 1:
		return true
	}
	return false
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

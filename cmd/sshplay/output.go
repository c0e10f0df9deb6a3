package main

// output.go holds the --output rule shared by every command that has the
// flag, the JSON documents of `sshplay pg status` and `sshplay ca show`, the
// error document of a failed --output json run, and the output flags of
// `sshplay play` and `sshplay exec` (--color, --log-file).
// The documents are views built here from the packages' values: their
// field names are a contract with scripts (versioned by "schema"), so they
// live apart from the Go structs, which may change freely.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/sshplay/sshplay/internal/yamlx"
	"github.com/sshplay/sshplay/inventory"
	"github.com/sshplay/sshplay/pg"
	"github.com/sshplay/sshplay/pki"
	"github.com/sshplay/sshplay/playbooks"
)

// Output formats of --output.
const (
	outputText = "text"
	outputJSON = "json"
)

// outputHelp is the help of every --output flag.
const outputHelp = "output format: text or json"

// checkOutput refuses an --output value other than text or json: bad
// input (exit 5), before anything runs.
func checkOutput(o string) error {
	if o != outputText && o != outputJSON {
		return usageError{fmt.Errorf("--output: want text or json, got %q", o)}
	}
	return nil
}

// Schemas of the JSON documents. A change that removes or renames a field
// gets a new version; adding a field does not.
const (
	pgStatusSchema = "sshplay.pg-status/v1"
	caSchema       = "sshplay.ca/v1"
)

// pgStatusDoc is `sshplay pg status --output json`. Every field is always
// present (empty strings, empty lists, null certificate) so that a script
// never has to tell a missing key from an empty value.
type pgStatusDoc struct {
	Schema string         `json:"schema"`
	Hosts  []pgStatusHost `json:"hosts"`
}

// pgStatusHost is one host: the table's row with its parts kept apart.
type pgStatusHost struct {
	Host        string `json:"host"`
	OK          bool   `json:"ok"`
	Unreachable bool   `json:"unreachable"`
	Error       string `json:"error"`
	SSL         bool   `json:"ssl"`
	Enforced    bool   `json:"enforced"`
	// EnforceWanted is false when the host's pg_tls_enforce is off: then
	// "enforced": false is what the operator asked for.
	EnforceWanted  bool            `json:"enforce_wanted"`
	Certificate    *pgStatusCert   `json:"certificate"`
	Addresses      []pgStatusProof `json:"addresses"`
	KeyProblem     string          `json:"key_problem"`
	NotApplied     []string        `json:"not_applied"`
	PendingRestart []string        `json:"pending_restart"`
}

// pgStatusCert is the certificate the server is configured with.
type pgStatusCert struct {
	Subject  string   `json:"subject"`
	SANs     []string `json:"sans"`
	Issuer   string   `json:"issuer"`
	SHA256   string   `json:"sha256"`
	NotAfter string   `json:"not_after"` // RFC 3339, UTC
	DaysLeft int      `json:"days_left"`
}

// pgStatusProof is the verify-full attempt on one address.
type pgStatusProof struct {
	Address      string `json:"address"`
	Port         int    `json:"port"`
	VerifyFullOK bool   `json:"verify_full_ok"`
	TLSVersion   string `json:"tls_version"`
	Cipher       string `json:"cipher"`
	Bits         int    `json:"bits"`
	SHA256       string `json:"sha256"` // of the certificate the server presented
	// PlaintextRefused is true when a plaintext login was tried (only on
	// a host that enforces TLS) and refused.
	PlaintextRefused bool   `json:"plaintext_refused"`
	Error            string `json:"error"`
}

// newPGStatusDoc builds the document from pg.StatusAll's results (nil
// entries, hosts never inspected, are left out as in the table).
func newPGStatusDoc(results []*pg.HostStatus) pgStatusDoc {
	doc := pgStatusDoc{Schema: pgStatusSchema, Hosts: []pgStatusHost{}}
	for _, s := range results {
		if s == nil {
			continue
		}
		h := pgStatusHost{
			Host: s.Host, OK: s.OK(), Unreachable: s.Unreachable, Error: s.Err,
			SSL: s.SSL, Enforced: s.Enforced, EnforceWanted: !s.EnforceOff,
			Addresses: []pgStatusProof{}, KeyProblem: s.KeyProblem,
			NotApplied: nonNil(s.NotApplied), PendingRestart: nonNil(s.PendingRestart),
		}
		if s.HasCert {
			h.Certificate = &pgStatusCert{
				Subject: s.Subject, SANs: nonNil(s.SANs), Issuer: s.Issuer, SHA256: s.CertSHA256,
				NotAfter: jsonTime(s.NotAfter), DaysLeft: s.DaysLeft,
			}
		}
		for _, v := range s.Verify {
			if v == nil {
				continue
			}
			h.Addresses = append(h.Addresses, pgStatusProof{
				Address: v.Addr, Port: v.Port, VerifyFullOK: v.OK, TLSVersion: v.Version,
				Cipher: v.Cipher, Bits: v.Bits, SHA256: v.SHA256,
				PlaintextRefused: v.PlainRefused, Error: v.Error,
			})
		}
		doc.Hosts = append(doc.Hosts, h)
	}
	return doc
}

// caDoc is `sshplay ca show --output json`.
type caDoc struct {
	Schema    string `json:"schema"`
	Directory string `json:"directory"`
	Root      caCert `json:"root"`
	// Intermediate is null when the root signs server certificates itself.
	Intermediate *caCert `json:"intermediate"`
}

// caCert is one CA certificate.
type caCert struct {
	Subject   string `json:"subject"`
	Issuer    string `json:"issuer"`
	KeyType   string `json:"key_type"`
	Serial    string `json:"serial"` // hex
	NotBefore string `json:"not_before"`
	NotAfter  string `json:"not_after"`
	SHA256    string `json:"sha256"`
}

// newCADoc reads the CA's certificates into the document.
func newCADoc(ca *pki.CA) (caDoc, error) {
	doc := caDoc{Schema: caSchema, Directory: ca.Dir()}
	root, err := pki.CertInfo(ca.RootPEM())
	if err != nil {
		return caDoc{}, fmt.Errorf("root certificate: %w", err)
	}
	doc.Root = caCertOf(root)
	if ca.HasIntermediate() {
		in, err := pki.CertInfo(ca.ChainPEM())
		if err != nil {
			return caDoc{}, fmt.Errorf("intermediate certificate: %w", err)
		}
		c := caCertOf(in)
		doc.Intermediate = &c
	}
	return doc, nil
}

// caCertOf keeps the fields of i a script checks a CA by: who it is, what
// key, how long it is valid, and the fingerprint to pin.
func caCertOf(i *pki.Info) caCert {
	return caCert{
		Subject: i.Subject, Issuer: i.Issuer, KeyType: i.KeyAlgo, Serial: i.Serial,
		NotBefore: jsonTime(i.NotBefore), NotAfter: jsonTime(i.NotAfter), SHA256: i.SHA256,
	}
}

// writeJSON writes v as one indented JSON document and a newline.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // a subject "CN=a&b" stays readable
	return enc.Encode(v)
}

// jsonTime is t in RFC 3339, UTC, "" for the zero time.
func jsonTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// nonNil makes a nil list an empty one, so JSON shows [] rather than null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// runOutput are the output flags `sshplay play` and `sshplay exec` share:
// the format on stdout, its colour, and the log file.
type runOutput struct {
	Format  string
	Color   string
	LogFile string
}

// Values of --color.
const (
	colorAuto   = "auto"
	colorAlways = "always"
	colorNever  = "never"
)

// AddFlags registers --output, --color and --log-file.
func (o *runOutput) AddFlags(f *pflag.FlagSet) {
	f.StringVar(&o.Format, "output", outputText, outputHelp)
	f.StringVar(&o.Color, "color", colorAuto, "colour the text output: auto (a terminal, NO_COLOR unset, TERM not dumb), always or never")
	f.StringVar(&o.LogFile, "log-file", "", "append the text output, without colour, each line prefixed with a timestamp, to this file (even with --output json)")
}

// check refuses a format or colour mode no run knows: bad input (exit 5).
func (o *runOutput) check() error {
	if err := checkOutput(o.Format); err != nil {
		return err
	}
	switch o.Color {
	case colorAuto, colorAlways, colorNever:
		return nil
	}
	return usageError{fmt.Errorf("--color: want auto, always or never, got %q", o.Color)}
}

// useColor decides whether text on w is coloured: always and never say so;
// auto colours a terminal only, unless NO_COLOR is set (no-color.org) or
// TERM is dumb. getenv is os.Getenv outside tests.
func useColor(mode string, w io.Writer, getenv func(string) string) bool {
	switch mode {
	case colorAlways:
		return true
	case colorNever:
		return false
	}
	return interactive(w, getenv) && getenv("NO_COLOR") == ""
}

// interactive says whether w is a terminal that understands escapes (the
// progress line needs them too).
func interactive(w io.Writer, getenv func(string) string) bool {
	return isTerminal(w) && getenv("TERM") != "dumb"
}

// isTerminal says whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// openLog opens --log-file for appending (created 0640 if missing) and
// returns the writer that timestamps its lines, and its closer. An empty
// path is no log: nil, and a no-op closer.
func openLog(path string) (io.Writer, func(), error) {
	if path == "" {
		return nil, func() {}, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, nil, usageError{fmt.Errorf("--log-file: %w", err)}
	}
	lw := newLogWriter(f, time.Now)
	return lw, func() { lw.Flush(); _ = f.Close() }, nil
}

// logWriter prefixes every line written to it with the time it was
// completed, ISO 8601 with milliseconds and the zone offset, as Ansible's
// log_path does with its own format. Blank lines are dropped (banners start
// with one). Safe for concurrent use.
type logWriter struct {
	mu   sync.Mutex
	w    io.Writer
	now  func() time.Time
	part []byte // an unfinished line
}

func newLogWriter(w io.Writer, now func() time.Time) *logWriter {
	return &logWriter{w: w, now: now}
}

// logTimeFormat is ISO 8601 with milliseconds and the zone offset.
const logTimeFormat = "2006-01-02T15:04:05.000Z07:00"

func (l *logWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.part = append(l.part, p...)
	for {
		i := bytes.IndexByte(l.part, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := l.part[:i]
		l.part = l.part[i+1:]
		if err := l.writeLine(line); err != nil {
			return len(p), err
		}
	}
}

// writeLine writes one complete line with its timestamp.
func (l *logWriter) writeLine(line []byte) error {
	line = bytes.TrimRight(line, "\r")
	if len(bytes.TrimSpace(line)) == 0 {
		return nil
	}
	_, err := fmt.Fprintf(l.w, "%s %s\n", l.now().Format(logTimeFormat), line)
	return err
}

// Flush writes an unfinished last line.
func (l *logWriter) Flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.part) > 0 {
		_ = l.writeLine(l.part)
		l.part = nil
	}
}

// errorSchema is the document a --output json run prints instead of its
// own when it ends with an error before writing one.
const errorSchema = "sshplay.error/v1"

// errorDoc is the sshplay.error/v1 document.
type errorDoc struct {
	Schema   string      `json:"schema"`
	Error    errorDetail `json:"error"`
	ExitCode int         `json:"exit_code"`
}

// errorDetail is the error: its one-line message, and where in which file
// when the error names a position (File empty and Line, Column 0 when not).
type errorDetail struct {
	Message string `json:"message"`
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
}

// newErrorDoc builds the document of err, which ends the run with code.
func newErrorDoc(err error, code int) errorDoc {
	d := errorDetail{Message: err.Error()}
	var (
		pe *playbooks.ParseError
		ie *inventory.Error
		ye *yamlx.Error
		pl *playError
	)
	switch {
	case errors.As(err, &pl):
		d.File, d.Line, d.Column = pl.File, pl.Line, pl.Col
	case errors.As(err, &pe):
		d.File, d.Line, d.Column = pe.File, pe.Line, pe.Col
	case errors.As(err, &ie):
		d.File, d.Line, d.Column = ie.File, ie.Line, ie.Col
	case errors.As(err, &ye):
		d.File, d.Line, d.Column = ye.File, ye.Line, ye.Col
	}
	return errorDoc{Schema: errorSchema, Error: d, ExitCode: code}
}

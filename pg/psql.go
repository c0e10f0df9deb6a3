package pg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"

	"al.essio.dev/pkg/shellescape"

	"github.com/sshplay/sshplay/transport"
)

// DefaultSocketDir is where Debian and PGDG packages put the server socket.
const DefaultSocketDir = "/var/run/postgresql"

// Target says how psql on the host reaches the local cluster: through its
// unix socket, as the OS user the connection runs as (peer authentication).
type Target struct {
	// SocketDir is the directory of the server's unix socket; "" leaves it
	// to psql (PGHOST, else its built-in default, /var/run/postgresql on
	// Debian and PGDG builds).
	SocketDir string
	// Port selects the socket file (.s.PGSQL.PORT).
	Port int
	// Database to connect to; "" means postgres.
	Database string
	// User is the database role; "" means the OS user.
	User string
	// Bindir is the directory of the psql to run; "" runs psql from PATH.
	Bindir string
}

// Args returns psql's argument list (quoted for a shell), without SQL: the
// SQL always goes on standard input so it never shows in a process list and
// never needs shell quoting.
func (t Target) Args() string {
	prog := "psql"
	if t.Bindir != "" {
		prog = path.Join(t.Bindir, "psql")
	}
	args := append([]string{prog}, t.argv()...)
	if t.SocketDir != "" {
		args = append(args, "-h", t.SocketDir)
	}
	return shellescape.QuoteCommand(append(args, t.connArgs()...))
}

func (t Target) port() int {
	if t.Port == 0 {
		return 5432
	}
	return t.Port
}

// argv are psql's output options.
func (t Target) argv() []string { return []string{"-XAtq", "-v", "ON_ERROR_STOP=1"} }

// connArgs are the port, database and user options.
func (t Target) connArgs() []string {
	db := t.Database
	if db == "" {
		db = "postgres"
	}
	args := []string{"-p", strconv.Itoa(t.port()), "-d", db}
	if t.User != "" {
		args = append(args, "-U", t.User)
	}
	return args
}

// PsqlError is a psql run that failed on the host: the server refused the
// SQL, or psql could not connect.
type PsqlError struct {
	Host   string
	Stderr string
	Code   int
}

func (e *PsqlError) Error() string {
	msg := strings.TrimSpace(e.Stderr)
	if msg == "" {
		msg = fmt.Sprintf("psql exited %d", e.Code)
	}
	return fmt.Sprintf("host %s: psql: %s", e.Host, msg)
}

// Query runs sql with psql on the host and returns its standard output.
// The shell that runs the command becomes psql (exec): one process.
func Query(ctx context.Context, c transport.Conn, t Target, sql string) ([]byte, error) {
	res, err := runPsql(ctx, c, "exec "+t.Args(), transport.RunOptions{Stdin: strings.NewReader(sql)}, "run psql")
	if err != nil {
		return nil, err
	}
	return bytes.TrimSpace(res.Stdout), nil
}

// runPsql runs a command built around psql: a non-zero exit is a
// *PsqlError carrying psql's own complaint (the server down, a bad
// password, an SQL error); anything else is wrapped with what.
func runPsql(ctx context.Context, c transport.Conn, cmd string, opts transport.RunOptions, what string) (*transport.Result, error) {
	res, err := c.Run(ctx, cmd, opts)
	if err == nil {
		return res, nil
	}
	var ee *transport.ExitError
	if !errors.As(err, &ee) {
		return nil, fmt.Errorf("host %s: %s: %w", c.Host(), what, err)
	}
	stderr := ee.Stderr
	if res != nil && len(res.Stderr) > 0 {
		stderr = string(res.Stderr)
	}
	return nil, &PsqlError{Host: c.Host(), Stderr: stderr, Code: ee.Code}
}

// Exec runs statements (no output wanted) with psql on the host.
func Exec(ctx context.Context, c transport.Conn, t Target, sql string) error {
	_, err := Query(ctx, c, t, sql)
	return err
}

// QuoteLiteral quotes s as an SQL string literal (standard_conforming_strings).
func QuoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// QuoteIdent quotes s as an SQL identifier.
func QuoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

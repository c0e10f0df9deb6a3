// Package pg knows PostgreSQL as sshplay's TLS job needs it: the psql
// command line a module runs on a host (SQL on stdin, JSON out, one round
// trip), the facts that command gathers, the names a server certificate must
// carry, the on-host journal that makes a run reversible, how a cluster is
// restarted, pgpass lookups, and the pgx verify-full proof run from the
// control machine, and `sshplay pg status` across hosts (StatusAll, RootFor).
//
// pg never reads a private key into the control machine, never prints a
// password, never passes SQL on a shell command line, and never opens a
// connection to a host except through transport.Conn (SSH) or pgx (the
// proof). Editing postgresql.conf and pg_hba.conf text lives in pg/pgconf and
// pg/pghba; this package only decides and queries.
package pg

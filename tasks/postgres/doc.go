// Package postgres holds the modules of sshplay's PostgreSQL TLS job:
// pg_facts, pg_tls_key, tls_sign, pg_conf, pg_hba, pg_reload,
// pg_tls_verify, pg_tls_rollback and pg_tls_commit. Register adds them to
// a tasks.Registry.
//
// Every module plans through the read-only connection it is given and
// returns a tasks.Change whose Apply does exactly what was planned; there
// is no check-mode branch anywhere. Host state is read with psql as the
// cluster OS user (the task's become_user), SQL on stdin, JSON out.
//
// These modules must never read a private key into the control machine
// (keys are generated and inspected on the host with openssl), never print
// a password, never write a file other than atomically (transport
// WriteFile), and never edit a file without first backing it up and
// journaling it on the host so pg_tls_rollback can undo the run.
package postgres

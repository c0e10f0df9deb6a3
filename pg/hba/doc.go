// Package pghba reads pg_hba.conf text and rewrites it so that TCP clients
// must use TLS.
//
// Parsing follows PostgreSQL's hba.c: whitespace-separated fields,
// comma-separated lists inside a field, double-quoted tokens, "#" comments,
// backslash line continuation (PostgreSQL 16), and the include,
// include_if_exists and include_dir directives (PostgreSQL 16). Every record
// keeps its raw text; edits touch only the connection-type word of a line
// and insert new lines, so comments, order and column layout survive.
//
// pghba works on bytes only: it never reads or writes files, never follows
// include directives, never edits "local" lines (the operator must never be
// locked out of the Unix socket) and never removes a line.
package pghba

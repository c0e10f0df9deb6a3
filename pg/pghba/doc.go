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
// It also judges a file without a server: Review lists the rules a person
// should look at (trust over TCP, plaintext kept on purpose, include
// directives the reject lines cannot cover) and PlainVerdict follows
// PostgreSQL's first-match search for one plaintext client.
//
// pghba works on bytes only: it never reads or writes files, never follows
// include directives, never edits "local" lines (the operator must never be
// locked out of the Unix socket) and never removes a line, except that it
// moves the reject lines it wrote itself when they shadow records that
// must still match.
package pghba

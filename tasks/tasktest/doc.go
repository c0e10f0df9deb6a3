// Package tasktest provides an in-memory transport.Conn for module tests: a
// map-backed file tree with owners, modes and symlinks, a small interpreter
// for the few shell commands modules send (mkdir -p, chmod, chown, rm -rf,
// ln -s, touch, test), and a scripted hook for everything else.
//
// It is for tests only. It never touches the real file system or network,
// and it records every write so tests can prove that planning wrote nothing.
package tasktest

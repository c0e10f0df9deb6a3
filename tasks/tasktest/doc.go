// Package tasktest provides an in-memory transport.Conn for module tests: a
// map-backed file tree with owners, modes and symlinks, a small interpreter
// for the few shell commands modules send (mkdir -p, chmod, chown, rm -rf,
// ln -s, touch, test, id, getent, find -printf, echo, cat), and a scripted
// hook for everything else.
//
// The fake is held to the same contract as the real connections
// (transport/conntest): errors name the host and wrap fs.ErrNotExist,
// context errors and *BecomeError as theirs do, writes follow symlinks
// unless told to replace them, and only root gives a file away. It does not
// model directory permissions: any user may write anywhere.
//
// It is for tests only. It never touches the real file system or network,
// and it records every write so tests can prove that planning wrote nothing.
package tasktest

package pg

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"

	"al.essio.dev/pkg/shellescape"

	"github.com/sshplay/sshplay/transport"
)

// checked is printed by BeforeRun's command once its check succeeded
// (before any copy is made).
const checked = "@@sshplay-checked@@"

// JournalName is the journal's file name in the data directory.
const JournalName = ".sshplay-journal"

// BackupInfix separates a file name from its backup timestamp.
const BackupInfix = ".sshplay-"

// RunIDLayout formats a run id (UTC): 20261128T163000Z.
const RunIDLayout = "20060102T150405Z"

// NewRunID returns the run id for now.
func NewRunID(now time.Time) string { return now.UTC().Format(RunIDLayout) }

// JournalEntry is one file this run changed on the host.
type JournalEntry struct {
	// Path is the file that was changed.
	Path string `json:"path"`
	// Backup is the copy of the original; "" when Created.
	Backup string `json:"backup,omitempty"`
	// Created means the file did not exist before this run: rollback
	// deletes it.
	Created bool `json:"created,omitempty"`
	// Mode is the original's permission bits (octal, e.g. "0644"). Backups
	// are kept private (0600: a backup of server.key is a private key), so
	// rollback puts this mode back on the restored file. "" in journals
	// written before the field existed: the backup's mode is kept.
	Mode string `json:"mode,omitempty"`
}

// Journal lists what a run changed on one host so that a failed run can be
// undone. It lives on the host (0600, cluster user) so that a rollback
// works even from another control machine.
type Journal struct {
	Run     string         `json:"run"`
	Entries []JournalEntry `json:"entries"`
}

// Has reports whether p is already journaled (its first state is kept).
func (j *Journal) Has(p string) bool {
	for _, e := range j.Entries {
		if e.Path == p {
			return true
		}
	}
	return false
}

// Encode returns the journal's file content.
func (j *Journal) Encode() []byte {
	b, _ := json.MarshalIndent(j, "", "  ")
	return append(b, '\n')
}

// DecodeJournal parses a journal file.
func DecodeJournal(b []byte) (*Journal, error) {
	var j Journal
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("parse journal: %w", err)
	}
	if j.Run == "" {
		return nil, errors.New("parse journal: no run id")
	}
	for _, e := range j.Entries {
		if !path.IsAbs(e.Path) || (!e.Created && !path.IsAbs(e.Backup)) {
			return nil, fmt.Errorf("parse journal: entry %q: paths must be absolute", e.Path)
		}
	}
	return &j, nil
}

// backupCmd copies p to backup keeping owner and times, and makes the copy
// private: a backup of a key (or of a config holding a password) must not
// be readable by anyone the original was not meant for.
func backupCmd(p, backup string) string {
	return "cp -p -- " + shellescape.Quote(p) + " " + shellescape.Quote(backup) +
		" && chmod go-rwx -- " + shellescape.Quote(backup)
}

// BackupPath is where path's backup of run goes: next to it, with the run id.
func BackupPath(p, run string) string { return p + BackupInfix + run }

// JournalPath is the journal of the cluster with data directory dataDir.
func JournalPath(dataDir string) string { return path.Join(dataDir, JournalName) }

// ReadJournal reads the host's journal; nil without error when there is none.
func ReadJournal(ctx context.Context, c transport.Conn, dataDir string) (*Journal, error) {
	b, err := c.ReadFile(ctx, JournalPath(dataDir))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("host %s: read journal: %w", c.Host(), err)
	}
	j, err := DecodeJournal(b)
	if err != nil {
		return nil, fmt.Errorf("host %s: %s: %w", c.Host(), JournalPath(dataDir), err)
	}
	return j, nil
}

// Journaler records changes of one run on one host. Use it in Apply only,
// one Journaler per Apply: it keeps the journal it read or wrote last.
type Journaler struct {
	Conn    transport.Conn
	DataDir string
	// Run is used when no journal exists yet.
	Run string
	// Also are the other files the run may change (postgresql.conf,
	// pg_hba.conf, ...): when Before has to run a command anyway, those
	// that exist are backed up and journaled in it, which spares each a
	// command of its own later. A file backed up so but left unchanged is
	// restored to the same content by a rollback.
	Also []string
	cur  *Journal
}

// load returns the current journal or a new one for j.Run.
func (j *Journaler) load(ctx context.Context) (*Journal, error) {
	if j.cur != nil {
		return j.cur, nil
	}
	jn, err := ReadJournal(ctx, j.Conn, j.DataDir)
	if err != nil {
		return nil, err
	}
	if jn == nil {
		jn = &Journal{Run: j.Run}
	}
	j.cur = jn
	return jn, nil
}

// RunID returns the run id files of this run are backed up under.
func (j *Journaler) RunID(ctx context.Context) (string, error) {
	jn, err := j.load(ctx)
	if err != nil {
		return "", err
	}
	return jn.Run, nil
}

// Before must be called before the paths are changed or created: it copies
// each existing one to its backup (on the host, keeping mode and owner; the
// content never leaves the host, so keys are safe), all in one command, and
// journals them with one write. A file journaled earlier in the run keeps
// its first backup. When a copy has to run anyway, the existing files of
// j.Also ride along in the same command.
func (j *Journaler) Before(ctx context.Context, paths ...string) error {
	_, err := j.backup(ctx, paths, "", transport.RunOptions{})
	return err
}

// BeforeRun is Before (with every existing file of j.Also) plus then, a
// command that must change nothing (a check), run in the same command
// before the copies: when then fails nothing at all is changed (no copy,
// no journal) and its error is returned. It returns then's result.
func (j *Journaler) BeforeRun(ctx context.Context, paths []string, then string, opts transport.RunOptions) (*transport.Result, error) {
	return j.backup(ctx, paths, then, opts)
}

func (j *Journaler) backup(ctx context.Context, paths []string, then string, opts transport.RunOptions) (*transport.Result, error) {
	jn, err := j.load(ctx)
	if err != nil {
		return nil, err
	}
	var add []JournalEntry
	var cps []string
	seen := func(p string) bool {
		return jn.Has(p) || slices.ContainsFunc(add, func(e JournalEntry) bool { return e.Path == p })
	}
	for _, p := range paths {
		if seen(p) {
			continue
		}
		e := JournalEntry{Path: p}
		fi, err := j.Conn.Stat(ctx, p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			e.Created = true
		case err != nil:
			return nil, fmt.Errorf("host %s: stat %s: %w", j.Conn.Host(), p, err)
		default:
			e.Backup = BackupPath(p, jn.Run)
			e.Mode = fmt.Sprintf("%04o", fi.Mode.Perm())
			cps = append(cps, backupCmd(p, e.Backup))
		}
		add = append(add, e)
	}
	if len(cps) > 0 || then != "" {
		// A command runs anyway: back up the other files of the run now.
		for _, p := range j.Also {
			if p == "" || seen(p) {
				continue
			}
			fi, err := j.Conn.Stat(ctx, p)
			if err != nil {
				continue // missing (or unreadable): a later Before decides
			}
			e := JournalEntry{Path: p, Backup: BackupPath(p, jn.Run), Mode: fmt.Sprintf("%04o", fi.Mode.Perm())}
			cps = append(cps, backupCmd(p, e.Backup))
			add = append(add, e)
		}
	}
	var res *transport.Result
	if len(cps) > 0 || then != "" {
		cmd := strings.Join(cps, " && ")
		if then != "" {
			check := "{ " + then + "\n} && printf '" + checked + "\\n'"
			if cmd != "" {
				check += " && "
			}
			cmd = check + cmd
		}
		res, err = j.Conn.Run(ctx, cmd, opts)
		if res != nil && then != "" {
			out, _, ok := bytes.Cut(res.Stdout, []byte(checked+"\n"))
			res.Stdout = out
			if !ok {
				if err == nil {
					err = errors.New("the check printed no confirmation")
				}
				return res, err // then failed: nothing was changed
			}
		}
		if err != nil {
			return res, fmt.Errorf("host %s: back up %s: %w", j.Conn.Host(), strings.Join(append(slices.Clone(paths), j.Also...), ", "), err)
		}
	}
	if len(add) == 0 {
		return res, nil
	}
	next := &Journal{Run: jn.Run, Entries: append(slices.Clone(jn.Entries), add...)}
	if err := j.Conn.WriteFile(ctx, JournalPath(j.DataDir), next.Encode(), transport.WriteOptions{Mode: 0o600}); err != nil {
		return res, fmt.Errorf("host %s: write journal: %w", j.Conn.Host(), err)
	}
	j.cur = next
	return res, nil
}

// Rollback restores every journaled file (newest first): backups are copied
// back atomically, files created in the run are deleted. It removes the
// journal when everything was restored and returns what it did.
func Rollback(ctx context.Context, c transport.Conn, dataDir string) ([]string, error) {
	jn, err := ReadJournal(ctx, c, dataDir)
	if err != nil || jn == nil {
		return nil, err
	}
	var done []string
	var errs []error
	for i := len(jn.Entries) - 1; i >= 0; i-- {
		e := jn.Entries[i]
		if e.Created {
			if err := c.Remove(ctx, e.Path); err != nil {
				errs = append(errs, fmt.Errorf("remove %s: %w", e.Path, err))
				continue
			}
			done = append(done, "removed "+e.Path)
			continue
		}
		tmp := e.Path + ".sshplay-restore"
		cmd := "cp -p -- " + shellescape.Quote(e.Backup) + " " + shellescape.Quote(tmp)
		if e.Mode != "" {
			cmd += " && chmod " + shellescape.Quote(e.Mode) + " -- " + shellescape.Quote(tmp)
		}
		cmd += " && mv -f -- " + shellescape.Quote(tmp) + " " + shellescape.Quote(e.Path)
		if _, err := c.Run(ctx, cmd, transport.RunOptions{}); err != nil {
			errs = append(errs, fmt.Errorf("restore %s from %s: %w", e.Path, e.Backup, err))
			continue
		}
		done = append(done, "restored "+e.Path)
	}
	if len(errs) > 0 {
		return done, fmt.Errorf("host %s: rollback: %w", c.Host(), errors.Join(errs...))
	}
	if err := c.Remove(ctx, JournalPath(dataDir)); err != nil {
		return done, fmt.Errorf("host %s: remove journal: %w", c.Host(), err)
	}
	return done, nil
}

// OldBackups lists the sshplay backups in the given directories that do not
// belong to run keep. It only lists, through one command.
func OldBackups(ctx context.Context, c transport.Conn, dirs []string, keep string) ([]string, error) {
	seen := map[string]bool{}
	var q []string
	for _, d := range dirs {
		if d == "" || seen[d] {
			continue
		}
		seen[d] = true
		q = append(q, shellescape.Quote(d))
	}
	if len(q) == 0 {
		return nil, nil
	}
	cmd := "for d in " + strings.Join(q, " ") + "; do for f in \"$d\"/*" + BackupInfix + "[0-9]*Z; do [ -f \"$f\" ] && printf '%s\\n' \"$f\"; done; done; true"
	res, err := c.Run(ctx, cmd, transport.RunOptions{})
	if err != nil {
		return nil, fmt.Errorf("host %s: list backups: %w", c.Host(), err)
	}
	return FilterBackups(strings.Split(string(res.Stdout), "\n"), nil, keep), nil
}

// FilterBackups returns the sshplay backups among files that lie in one of
// dirs (any directory when dirs is nil) and do not belong to run keep.
func FilterBackups(files, dirs []string, keep string) []string {
	var out []string
	for _, l := range files {
		if l == "" || strings.HasSuffix(l, BackupInfix+keep) || !strings.Contains(l, BackupInfix) {
			continue
		}
		if dirs != nil && !slices.Contains(dirs, path.Dir(l)) {
			continue
		}
		if _, err := time.Parse(RunIDLayout, l[strings.LastIndex(l, BackupInfix)+len(BackupInfix):]); err != nil {
			continue
		}
		out = append(out, l)
	}
	return out
}

// BackupsFromFacts returns the old backups (not of run keep) in dirs from
// the listing the facts made; ok is false when the facts did not list one
// of dirs. The run's own backups, made after the facts, all belong to keep.
func (f *Facts) BackupsFromFacts(dirs []string, keep string) (old []string, ok bool) {
	for _, d := range dirs {
		if !slices.Contains(f.BackupDirs, d) {
			return nil, false
		}
	}
	return FilterBackups(f.Backups, dirs, keep), true
}

package pg

import (
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
	cur *Journal
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
// its first backup.
func (j *Journaler) Before(ctx context.Context, paths ...string) error {
	jn, err := j.load(ctx)
	if err != nil {
		return err
	}
	var add []JournalEntry
	var cps []string
	for _, p := range paths {
		if jn.Has(p) || slices.ContainsFunc(add, func(e JournalEntry) bool { return e.Path == p }) {
			continue
		}
		e := JournalEntry{Path: p}
		_, err = j.Conn.Stat(ctx, p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			e.Created = true
		case err != nil:
			return fmt.Errorf("host %s: stat %s: %w", j.Conn.Host(), p, err)
		default:
			e.Backup = BackupPath(p, jn.Run)
			cps = append(cps, "cp -p -- "+shellescape.Quote(p)+" "+shellescape.Quote(e.Backup))
		}
		add = append(add, e)
	}
	if len(add) == 0 {
		return nil
	}
	if len(cps) > 0 {
		if _, err := j.Conn.Run(ctx, strings.Join(cps, " && "), transport.RunOptions{}); err != nil {
			return fmt.Errorf("host %s: back up %s: %w", j.Conn.Host(), strings.Join(paths, ", "), err)
		}
	}
	next := &Journal{Run: jn.Run, Entries: append(slices.Clone(jn.Entries), add...)}
	if err := j.Conn.WriteFile(ctx, JournalPath(j.DataDir), next.Encode(), transport.WriteOptions{Mode: 0o600}); err != nil {
		return fmt.Errorf("host %s: write journal: %w", j.Conn.Host(), err)
	}
	j.cur = next
	return nil
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
		cmd := "cp -p -- " + shellescape.Quote(e.Backup) + " " + shellescape.Quote(tmp) +
			" && mv -f -- " + shellescape.Quote(tmp) + " " + shellescape.Quote(e.Path)
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
	var out []string
	for _, l := range strings.Split(string(res.Stdout), "\n") {
		if l == "" || strings.HasSuffix(l, BackupInfix+keep) {
			continue
		}
		if _, err := time.Parse(RunIDLayout, l[strings.LastIndex(l, BackupInfix)+len(BackupInfix):]); err != nil {
			continue
		}
		out = append(out, l)
	}
	return out, nil
}

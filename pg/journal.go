package pg

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
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
	// Path is the file that was changed, as the run named it.
	Path string `json:"path"`
	// Target is the file a write to Path changes when Path is a symlink
	// (its final target, which rollback restores; the link stays); ""
	// when Path is not a link.
	Target string `json:"target,omitempty"`
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
	// Owner is the original's numeric owner, "uid:gid", put back by
	// rollback; "" in older journals.
	Owner string `json:"owner,omitempty"`
	// SHA256 is the original's checksum (hex), checked against the backup
	// right after the copy and again before a rollback restores from it:
	// a backup cut short (a full disk) is never journaled or used. ""
	// in older journals.
	SHA256 string `json:"sha256,omitempty"`
}

// File is the file rollback restores or removes: the link's target for a
// symlink, else Path.
func (e JournalEntry) File() string {
	if e.Target != "" {
		return e.Target
	}
	return e.Path
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
		if !path.IsAbs(e.Path) || (!e.Created && !path.IsAbs(e.Backup)) || (e.Target != "" && !path.IsAbs(e.Target)) {
			return nil, fmt.Errorf("parse journal: entry %q: paths must be absolute", e.Path)
		}
	}
	return &j, nil
}

// backupMark is printed by a backup command between its copies and their
// checksums.
const backupMark = "@@sshplay-backup@@"

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
// journals them with one write. A path that is a symlink is backed up and
// journaled as the file it points at (the one a write changes). The
// command first checks that the backups and the rewritten files fit, and
// journals a backup only once its checksum matches the original's: on a
// full disk nothing is copied and the error matches syscall.ENOSPC. A file
// journaled earlier in the run keeps its first backup. When a copy has to
// run anyway, the existing files of j.Also ride along in the same command.
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
	// The journal and every file this may back up are looked up at once:
	// one round trip, not one per file.
	var resolved map[string]resolution
	lookups := make(chan struct{})
	go func() {
		defer close(lookups)
		resolved = resolveAll(ctx, j.Conn, append(slices.Clone(paths), j.Also...))
	}()
	jn, err := j.load(ctx)
	<-lookups
	if err != nil {
		return nil, err
	}
	bp := &backupPlan{jn: jn, room: map[string]int64{}, rewrite: map[string]int64{}, resolved: resolved}
	for _, p := range paths {
		if err := bp.add(ctx, j.Conn, p, true); err != nil {
			return nil, err
		}
	}
	var res *transport.Result
	if len(bp.copies) > 0 || then != "" {
		// A command runs anyway: back up the other files of the run now.
		for _, p := range j.Also {
			bp.add(ctx, j.Conn, p, false) // missing or unreadable: a later Before decides
		}
		names := strings.Join(append(slices.Clone(paths), j.Also...), ", ")
		if res, err = j.runBackup(ctx, bp, then, opts, names); err != nil {
			return res, err
		}
	}
	if len(bp.entries) == 0 {
		return res, nil
	}
	next := &Journal{Run: jn.Run, Entries: append(slices.Clone(jn.Entries), bp.entries...)}
	if err := j.Conn.WriteFile(ctx, JournalPath(j.DataDir), next.Encode(), transport.WriteOptions{Mode: 0o600}); err != nil {
		bp.discard(ctx, j.Conn)
		return res, fmt.Errorf("host %s: write journal: %w", j.Conn.Host(), err)
	}
	j.cur = next
	return res, nil
}

// resolution is what transport.ResolveLinks said about a path.
type resolution struct {
	target string
	fi     *transport.FileInfo
	err    error
}

// resolveAll resolves every distinct non-empty path, all at once.
func resolveAll(ctx context.Context, c transport.Conn, paths []string) map[string]resolution {
	out := map[string]resolution{}
	seen := map[string]bool{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, p := range paths {
		if seen[p] || p == "" {
			continue
		}
		seen[p] = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			var r resolution
			r.target, r.fi, r.err = transport.ResolveLinks(ctx, c, p)
			mu.Lock()
			out[p] = r
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

// backupPlan is what one backup command copies, and the room it needs.
type backupPlan struct {
	jn      *Journal
	entries []JournalEntry
	// copies index entries: the entries whose file is copied.
	copies []int
	// resolved are the files paths resolve to, looked up beforehand.
	resolved map[string]resolution
	// room is KiB of backups per directory; rewrite the KiB of the
	// largest file whose rewrite (a temp file beside it) comes later.
	room, rewrite map[string]int64
}

func (bp *backupPlan) seen(p string) bool {
	return bp.jn.Has(p) || slices.ContainsFunc(bp.entries, func(e JournalEntry) bool { return e.Path == p })
}

// add plans p's backup: a copy of the file p resolves to (through
// symlinks), next to p, with that file's mode and owner journaled. A
// missing p is journaled as created when required, else left out.
func (bp *backupPlan) add(ctx context.Context, c transport.Conn, p string, required bool) error {
	if p == "" || bp.seen(p) {
		return nil
	}
	r, ok := bp.resolved[p]
	if !ok {
		r.target, r.fi, r.err = transport.ResolveLinks(ctx, c, p)
	}
	target, fi, err := r.target, r.fi, r.err
	if err != nil || (fi == nil && !required) {
		return err
	}
	e := JournalEntry{Path: p}
	if target != p {
		e.Target = target
	}
	if fi == nil {
		e.Created = true
		bp.entries = append(bp.entries, e)
		return nil
	}
	e.Backup = BackupPath(p, bp.jn.Run)
	e.Mode = fmt.Sprintf("%04o", fi.Mode.Perm())
	if fi.UID >= 0 && fi.GID >= 0 {
		e.Owner = fmt.Sprintf("%d:%d", fi.UID, fi.GID)
	}
	kib := (fi.Size + 4095) / 4096 * 4
	bp.room[path.Dir(e.Backup)] += kib
	bp.rewrite[path.Dir(target)] = max(bp.rewrite[path.Dir(target)], kib)
	bp.copies = append(bp.copies, len(bp.entries))
	bp.entries = append(bp.entries, e)
	return nil
}

// script is the backup command: the check then (changing nothing), the
// room check, then every copy (keeping owner and times, made private: a
// backup of a key, or of a config holding a password, must not be readable
// by anyone the original was not meant for) and one sha256sum of every
// original and copy, all or none: a failure removes the backups this
// command made.
func (bp *backupPlan) script(then string) string {
	var b strings.Builder
	if then != "" {
		b.WriteString("{ " + then + "\n} && printf '" + checked + "\\n'")
		if len(bp.copies) == 0 {
			return b.String()
		}
		b.WriteString(" && ")
	}
	need := map[string]int64{}
	for d, k := range bp.room {
		need[d] += k
	}
	for d, k := range bp.rewrite {
		need[d] += k
	}
	b.WriteString(roomCheck(need) + " && { ")
	var sums, made []string
	for _, i := range bp.copies {
		src, dst := shellescape.Quote(bp.entries[i].File()), shellescape.Quote(bp.entries[i].Backup)
		b.WriteString("cp -p -- " + src + " " + dst + " && ")
		sums = append(sums, src, dst)
		made = append(made, dst)
	}
	// One chmod for every copy: until it runs, a copy has its original's
	// mode, next to that original, as each copy had before its own chmod.
	b.WriteString("chmod go-rwx -- " + strings.Join(made, " ") + " && ")
	b.WriteString("printf '" + backupMark + "\\n' && sha256sum -- " + strings.Join(sums, " ") +
		" || { rm -f -- " + strings.Join(made, " ") + "; exit 1; }; }")
	b.WriteString(roomCheckBody)
	return b.String()
}

// roomCheck is the part of a backup command that fails (status 28,
// ENOSPC's number) before anything is copied when a directory has less
// free than need[dir] KiB, plus one 4 KiB block for a write's private
// directory: one stat -f for all of them. A host whose stat cannot say is
// not blocked. The shell reads stat's answer from a here-document and
// returns its verdict through a function, not from a pipeline: no
// subshell, so stat is the check's only process. The here-document's body
// (roomCheckBody) must follow the line the check ends.
func roomCheck(need map[string]int64) string {
	var cases strings.Builder
	var dirs []string
	for _, d := range slices.Sorted(maps.Keys(need)) {
		fmt.Fprintf(&cases, " %s) k=%d;;", shellescape.Quote(d), need[d]+4)
		dirs = append(dirs, shellescape.Quote(d))
	}
	return "{ bad=0; room=$(stat -f -c '%a %S %n' -- " + strings.Join(dirs, " ") + " 2>/dev/null); while read -r a s n; do " +
		"case $n in" + cases.String() + " *) continue;; esac; case $a$s in ''|*[!0-9]*) continue;; esac; f=$((a * s / 1024)); " +
		"if [ \"$f\" -lt \"$k\" ]; then printf 'no space left on device: %s has %s KiB free, the backups and the rewritten files need %s KiB\\n' \"$n\" \"$f\" \"$k\" >&2; bad=28; fi; " +
		"done <<SSHPLAY_ROOM; sshplay_rc() { return \"$1\"; }; sshplay_rc \"$bad\"; }"
}

// roomCheckBody ends the line that holds roomCheck, and is the body of
// its here-document: stat's answer.
const roomCheckBody = "\n$room\nSSHPLAY_ROOM\n"

// runBackup runs the backup command and journals each copy's checksum,
// after checking it against the original's.
func (j *Journaler) runBackup(ctx context.Context, bp *backupPlan, then string, opts transport.RunOptions, names string) (*transport.Result, error) {
	res, err := j.Conn.Run(ctx, bp.script(then), opts)
	var tail []byte
	if res != nil {
		tail = res.Stdout
	}
	if res != nil && then != "" {
		out, after, ok := bytes.Cut(res.Stdout, []byte(checked+"\n"))
		res.Stdout, tail = out, after
		if !ok {
			if err == nil {
				err = errors.New("the check printed no confirmation")
			}
			return res, err // then failed: nothing was changed
		}
	}
	if err != nil {
		return res, fmt.Errorf("host %s: back up %s: %w", j.Conn.Host(), names, diskFull(err))
	}
	_, sums, _ := bytes.Cut(tail, []byte(backupMark+"\n"))
	lines := strings.Split(string(sums), "\n")
	for n, i := range bp.copies {
		e := &bp.entries[i]
		if 2*n+1 >= len(lines) || sumOf(lines[2*n]) == "" || sumOf(lines[2*n]) != sumOf(lines[2*n+1]) {
			bp.discard(ctx, j.Conn)
			return res, fmt.Errorf("host %s: back up %s: the copy %s does not match %s", j.Conn.Host(), e.Path, e.Backup, e.File())
		}
		e.SHA256 = sumOf(lines[2*n])
	}
	return res, nil
}

// sumOf is the checksum on a line of sha256sum ("HEX  NAME", with a
// leading backslash when the name needed escaping).
func sumOf(line string) string {
	f := strings.Fields(strings.TrimPrefix(line, "\\"))
	if len(f) == 0 || len(f[0]) != 64 {
		return ""
	}
	return f[0]
}

// discard removes the backups of a plan that will not be journaled (best
// effort: a backup nobody journaled is only an old backup to the next run).
func (bp *backupPlan) discard(ctx context.Context, c transport.Conn) {
	var q []string
	for _, i := range bp.copies {
		q = append(q, shellescape.Quote(bp.entries[i].Backup))
	}
	if len(q) > 0 {
		c.Run(ctx, "rm -f -- "+strings.Join(q, " "), transport.RunOptions{})
	}
}

// diskFullError is what the host said about a full file system; it
// matches syscall.ENOSPC with errors.Is.
type diskFullError struct{ msg string }

func (e *diskFullError) Error() string        { return e.msg }
func (e *diskFullError) Is(target error) bool { return target == syscall.ENOSPC }

// diskFull turns a command's failure on a full file system (sshplay_room's
// exit 28, or a tool's "No space left on device") into a *diskFullError
// whose message says so first; other errors pass unchanged.
func diskFull(err error) error {
	var ee *transport.ExitError
	if !errors.As(err, &ee) {
		return err
	}
	line := strings.TrimSpace(strings.SplitN(ee.Stderr, "\n", 2)[0])
	for _, l := range strings.Split(ee.Stderr, "\n") {
		if strings.Contains(l, "No space left on device") {
			line = strings.TrimSpace(l)
			break
		}
	}
	switch {
	case ee.Code == 28 && strings.HasPrefix(line, "no space left on device"):
		return &diskFullError{msg: line}
	case strings.Contains(line, "No space left on device"):
		return &diskFullError{msg: "no space left on device (" + line + ")"}
	}
	return err
}

// Rollback restores every journaled file (newest first): backups are
// checked against their journaled checksum and copied back atomically
// (through a temp file beside the file, removed on failure), unless the
// file already holds the backup's content, which is then not rewritten
// (only its mode and owner are put back: a full disk cannot stop that);
// files created in the run are deleted. A symlink's target is restored,
// never the link. It removes the journal when everything was restored and
// returns what it did.
func Rollback(ctx context.Context, c transport.Conn, dataDir string) ([]string, error) {
	jn, err := ReadJournal(ctx, c, dataDir)
	if err != nil || jn == nil {
		return nil, err
	}
	var done []string
	var errs []error
	for i := len(jn.Entries) - 1; i >= 0; i-- {
		what, err := undo(ctx, c, jn.Entries[i])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		done = append(done, what)
	}
	if len(errs) > 0 {
		return done, fmt.Errorf("host %s: rollback: %w", c.Host(), errors.Join(errs...))
	}
	if err := c.Remove(ctx, JournalPath(dataDir)); err != nil {
		return done, fmt.Errorf("host %s: remove journal: %w", c.Host(), err)
	}
	return done, nil
}

// undo reverts one entry and says what it did.
func undo(ctx context.Context, c transport.Conn, e JournalEntry) (string, error) {
	if e.Created {
		if err := c.Remove(ctx, e.File()); err != nil {
			return "", fmt.Errorf("remove %s: %w", e.File(), err)
		}
		return "removed " + e.File(), nil
	}
	res, err := c.Run(ctx, restoreCmd(e), transport.RunOptions{})
	if err != nil {
		return "", fmt.Errorf("restore %s from %s: %w", e.File(), e.Backup, diskFull(err))
	}
	what := "restored " + e.Path
	if e.Target != "" {
		what += " (symlink to " + e.Target + ")"
	}
	if strings.TrimSpace(string(res.Stdout)) == "same" {
		what += " (content unchanged, not rewritten)"
	}
	return what, nil
}

// restoreScript restores $t from $b with mode $m and owner $o (each ""
// to keep the backup's), checking $b against $sum first.
const restoreScript = `meta() { { [ -z "$m" ] || [ "$(stat -c %a -- "$1")" = "$m" ] || chmod "$m" -- "$1"; } && { [ -z "$o" ] || [ "$(stat -c %u:%g -- "$1")" = "$o" ] || chown -- "$o" "$1"; }; }
bs=$(sha256sum < "$b") || exit 3
if [ -n "$sum" ] && [ "${bs%% *}" != "$sum" ]; then printf 'backup %s is damaged (sha256 %s, journaled %s): not restoring from it\n' "$b" "${bs%% *}" "$sum" >&2; exit 3; fi
if [ -f "$t" ] && [ "$(sha256sum < "$t" 2>/dev/null)" = "$bs" ]; then meta "$t" || exit 1; echo same; exit 0; fi
tmp=$t.sshplay-restore
if cp -p -- "$b" "$tmp" && meta "$tmp" && mv -f -- "$tmp" "$t"; then echo copied; exit 0; fi
rm -f -- "$tmp"; exit 1
`

// restoreCmd is restoreScript for e.
func restoreCmd(e JournalEntry) string {
	mode := ""
	if v, err := strconv.ParseUint(e.Mode, 8, 32); err == nil && e.Mode != "" {
		mode = strconv.FormatUint(v, 8)
	}
	q := shellescape.Quote
	return "t=" + q(e.File()) + " b=" + q(e.Backup) + " m=" + q(mode) + " o=" + q(e.Owner) + " sum=" + q(e.SHA256) + "\n" + restoreScript
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

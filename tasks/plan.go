package tasks

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"

	"github.com/pmezard/go-difflib/difflib"

	"github.com/sshplay/sshplay/tasks/overlay"
	"github.com/sshplay/sshplay/transport"
)

// ReadFileFor reads path for a plan and records what it saw as a
// precondition, so that Apply can detect drift. A missing file is not an
// error: it returns nil content and exists=false.
func ReadFileFor(ctx context.Context, c transport.Conn, path string, reads *[]Precondition) (data []byte, exists bool, err error) {
	data, err = c.ReadFile(ctx, path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		*reads = append(*reads, Precondition{Path: path})
		return nil, false, nil
	case errors.Is(err, overlay.ErrPending):
		// Planned by an earlier task in this check run: nothing to re-check.
		return nil, true, err
	case err != nil:
		return nil, false, err
	}
	*reads = append(*reads, Precondition{Path: path, Exists: true, SHA256: transport.Checksum(data)})
	return data, true, nil
}

// MetaOf is the FileMeta of fi for a metadata precondition.
func MetaOf(fi *transport.FileInfo) *FileMeta {
	m := &FileMeta{Perm: fi.Mode & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky),
		UID: fi.UID, GID: fi.GID, LinkTarget: fi.LinkTarget}
	switch {
	case fi.Mode.IsDir():
		m.Kind = "directory"
	case fi.Mode&fs.ModeSymlink != 0:
		m.Kind = "link"
	case fi.Mode.IsRegular():
		m.Kind = "file"
	default:
		m.Kind = "special file"
	}
	return m
}

// StatFor stats path for a plan and records its metadata (or its absence)
// as a precondition. A missing path is (nil, nil). Paths planned by an
// earlier task of a check run are recorded too; check runs never re-check.
func StatFor(ctx context.Context, c transport.Conn, path string, reads *[]Precondition) (*transport.FileInfo, error) {
	fi, err := c.Stat(ctx, path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		*reads = append(*reads, Precondition{Path: path, Meta: &FileMeta{}})
		return nil, nil
	case err != nil:
		return nil, err
	}
	*reads = append(*reads, Precondition{Path: path, Exists: true, Meta: MetaOf(fi)})
	return fi, nil
}

func checkMeta(ctx context.Context, c transport.Conn, p Precondition) error {
	fi, err := c.Stat(ctx, p.Path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if p.Exists {
			return &DriftError{Host: c.Host(), Path: p.Path, Detail: "it was removed"}
		}
		return nil
	case err != nil:
		return fmt.Errorf("host %s: re-check %s: %w", c.Host(), p.Path, err)
	case !p.Exists:
		return &DriftError{Host: c.Host(), Path: p.Path, Detail: "it was created"}
	}
	now, was := MetaOf(fi), p.Meta
	switch {
	case now.Kind != was.Kind:
		return &DriftError{Host: c.Host(), Path: p.Path, Detail: fmt.Sprintf("it is now a %s, was a %s", now.Kind, was.Kind)}
	case now.LinkTarget != was.LinkTarget:
		return &DriftError{Host: c.Host(), Path: p.Path, Detail: fmt.Sprintf("it now links to %s, was %s", now.LinkTarget, was.LinkTarget)}
	case now.Perm != was.Perm && now.Kind != "link":
		return &DriftError{Host: c.Host(), Path: p.Path, Detail: fmt.Sprintf("its mode is now %v, was %v", now.Perm, was.Perm)}
	case now.UID != was.UID || now.GID != was.GID:
		return &DriftError{Host: c.Host(), Path: p.Path, Detail: fmt.Sprintf("its owner is now %d:%d, was %d:%d", now.UID, now.GID, was.UID, was.GID)}
	}
	return nil
}

// CheckPreconditions re-checks every precondition through c and returns a
// *DriftError for the first one (in order) that no longer holds. The file
// checks go to the host all at once (one round trip for the lot, not one
// each); probes, which run commands, run one after the other first.
func CheckPreconditions(ctx context.Context, c transport.Conn, reads []Precondition) error {
	errs := make([]error, len(reads))
	var wg sync.WaitGroup
	for i, p := range reads {
		if p.Probe != nil {
			errs[i] = checkProbe(ctx, c, p)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if p.Meta != nil {
				errs[i] = checkMeta(ctx, c, p)
			} else {
				errs[i] = checkContent(ctx, c, p)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// checkProbe re-runs a precondition's probe.
func checkProbe(ctx context.Context, c transport.Conn, p Precondition) error {
	got, err := p.Probe(ctx, c)
	if err != nil {
		return fmt.Errorf("host %s: re-check %s: %w", c.Host(), p.Path, err)
	}
	if got != p.Want {
		return &DriftError{Host: c.Host(), Path: p.Path, Detail: fmt.Sprintf("it is now %s, was %s", got, p.Want)}
	}
	return nil
}

// checkContent re-reads a file whose existence and content the plan read.
func checkContent(ctx context.Context, c transport.Conn, p Precondition) error {
	data, err := c.ReadFile(ctx, p.Path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if p.Exists {
			return &DriftError{Host: c.Host(), Path: p.Path, Detail: "it was removed"}
		}
	case err != nil:
		return fmt.Errorf("host %s: re-read %s: %w", c.Host(), p.Path, err)
	case !p.Exists:
		return &DriftError{Host: c.Host(), Path: p.Path, Detail: "it was created"}
	case transport.Checksum(data) != p.SHA256:
		return &DriftError{Host: c.Host(), Path: p.Path, Detail: "its content differs"}
	}
	return nil
}

// UnifiedDiff returns a unified diff of before and after labelled with path,
// or "" when they are equal.
func UnifiedDiff(path, before, after string) string {
	if before == after {
		return ""
	}
	d, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A:        splitLines(before),
		B:        splitLines(after),
		FromFile: "before: " + path, // Ansible's --diff headers
		ToFile:   "after: " + path,
		Context:  3,
	})
	if err != nil {
		return fmt.Sprintf("(diff unavailable: %v)", err)
	}
	return d
}

// FileDiff builds a Diff for a file change.
func FileDiff(path, before, after string) Diff {
	return Diff{Path: path, Before: before, After: after, Unified: UnifiedDiff(path, before, after)}
}

// splitLines splits text into lines that keep their "\n". A last line without
// one gets a marker, so a missing final newline shows in the diff.
// (difflib.SplitLines adds a phantom empty line after a final newline.)
func splitLines(text string) []string {
	if text == "" {
		return nil
	}
	lines := strings.SplitAfter(text, "\n")
	if lines[len(lines)-1] == "" {
		return lines[:len(lines)-1]
	}
	lines[len(lines)-1] += "\n\\ No newline at end of file\n"
	return lines
}

package core

// stat: describe a path (ansible.builtin.stat). Never changes anything.

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
	"io/fs"

	"github.com/sshplay/sshplay/tasks"
	"github.com/sshplay/sshplay/tasks/args"
	"github.com/sshplay/sshplay/tasks/overlay"
	"github.com/sshplay/sshplay/transport"
)

func planStat(ctx context.Context, env *tasks.Env, raw map[string]any) (*tasks.Change, error) {
	a, err := args.Parse("stat", raw, "path|dest|name", "follow", "get_checksum", "checksum_algorithm|checksum|checksum_algo",
		"get_mime|mime|mime_type|mime-type", "get_attributes|attr|attributes", "get_selinux_context")
	if err != nil {
		return nil, err
	}
	p := a.Required("path")
	follow := a.Bool("follow", false)
	getSum := a.Bool("get_checksum", true)
	algo := a.Choice("checksum_algorithm", "sha1", "md5", "sha1", "sha224", "sha256", "sha384", "sha512")
	_ = a.Bool("get_mime", true)
	_ = a.Bool("get_attributes", true)
	_ = a.Bool("get_selinux_context", false)
	if err := a.Ready(); err != nil {
		return nil, err
	}
	c := env.Conn
	fi, err := statPath(ctx, c, p)
	if err != nil {
		return nil, err
	}
	if fi == nil {
		return statChange(p, map[string]any{"exists": false}), nil
	}
	var lnkTarget string
	if fi.Mode&fs.ModeSymlink != 0 {
		lnkTarget = fi.LinkTarget
		if follow {
			_, tfi, err := followLinks(ctx, c, p)
			if err != nil {
				return nil, err
			}
			if tfi == nil {
				return statChange(p, map[string]any{"exists": false}), nil
			}
			fi = tfi
		}
	}
	st := statFields(p, fi)
	if lnkTarget != "" {
		st["lnk_target"] = lnkTarget
		st["lnk_source"] = p
	}
	if getSum && fi.Mode.IsRegular() {
		sum, err := checksum(ctx, c, p, algo)
		if err != nil {
			return nil, err
		}
		if sum != "" {
			st["checksum"] = sum
		}
	}
	return statChange(p, st), nil
}

// statFields are Ansible's stat fields of an existing path.
func statFields(p string, fi *transport.FileInfo) map[string]any {
	perm := unixMode(fi.Mode)
	return map[string]any{
		"exists": true, "path": p, "mode": octalString(perm),
		"isdir": fi.IsDir(), "isreg": fi.Mode.IsRegular(), "islnk": fi.Mode&fs.ModeSymlink != 0,
		"isblk": fi.Mode&fs.ModeDevice != 0 && fi.Mode&fs.ModeCharDevice == 0, "ischr": fi.Mode&fs.ModeCharDevice != 0,
		"isfifo": fi.Mode&fs.ModeNamedPipe != 0, "issock": fi.Mode&fs.ModeSocket != 0,
		"uid": fi.UID, "gid": fi.GID, "pw_name": fi.Owner, "gr_name": fi.Group,
		"size": fi.Size, "mtime": float64(fi.ModTime.UnixNano()) / 1e9,
		"isuid": perm&0o4000 != 0, "isgid": perm&0o2000 != 0,
		"rusr": perm&0o400 != 0, "wusr": perm&0o200 != 0, "xusr": perm&0o100 != 0,
		"rgrp": perm&0o040 != 0, "wgrp": perm&0o020 != 0, "xgrp": perm&0o010 != 0,
		"roth": perm&0o004 != 0, "woth": perm&0o002 != 0, "xoth": perm&0o001 != 0,
	}
}

// checksum is the hex digest of the file at p with algo; "" when an
// earlier planned change of this check run writes it (no content yet).
func checksum(ctx context.Context, c transport.Conn, p, algo string) (string, error) {
	data, err := c.ReadFile(ctx, p)
	switch {
	case errors.Is(err, overlay.ErrPending):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("host %s: checksum %s: %w", c.Host(), p, err)
	}
	var h hash.Hash
	switch algo {
	case "md5":
		h = md5.New()
	case "sha224":
		h = sha256.New224()
	case "sha256":
		h = sha256.New()
	case "sha384":
		h = sha512.New384()
	case "sha512":
		h = sha512.New()
	default:
		h = sha1.New()
	}
	h.Write(data)
	return fmt.Sprintf("%x", h.Sum(nil)), nil
}

func statChange(p string, st map[string]any) *tasks.Change {
	s := p + " does not exist"
	if st["exists"] == true {
		s = fmt.Sprintf("%s exists (mode %v)", p, st["mode"])
	}
	return &tasks.Change{Action: tasks.None, Summary: s, Result: map[string]any{"stat": st}}
}

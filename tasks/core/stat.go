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
	"github.com/sshplay/sshplay/tasks/overlay"
)

func planStat(ctx context.Context, env *tasks.Env, raw map[string]any) (*tasks.Change, error) {
	a, err := parseArgs("stat", raw, "path|dest|name", "follow", "get_checksum", "checksum_algorithm|checksum|checksum_algo",
		"get_mime|mime|mime_type|mime-type", "get_attributes|attr|attributes", "get_selinux_context")
	if err != nil {
		return nil, err
	}
	p := a.required("path")
	follow := a.boolean("follow", false)
	getSum := a.boolean("get_checksum", true)
	algo := a.choice("checksum_algorithm", "sha1", "md5", "sha1", "sha224", "sha256", "sha384", "sha512")
	_ = a.boolean("get_mime", true)
	_ = a.boolean("get_attributes", true)
	_ = a.boolean("get_selinux_context", false)
	if a.err != nil {
		return nil, a.err
	}
	if err := a.ready(); err != nil {
		return nil, err
	}
	c := env.Conn
	fi, err := statPath(ctx, c, p)
	if err != nil {
		return nil, err
	}
	st := map[string]any{"exists": fi != nil}
	if fi != nil {
		var lnkTarget string
		if fi.Mode&fs.ModeSymlink != 0 {
			lnkTarget = fi.LinkTarget
			if follow {
				_, tfi, err := followLinks(ctx, c, p)
				if err != nil {
					return nil, err
				}
				if tfi == nil {
					st = map[string]any{"exists": false}
					return statChange(p, st), nil
				}
				fi = tfi
			}
		}
		perm := unixMode(fi.Mode)
		st = map[string]any{
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
		if lnkTarget != "" {
			st["lnk_target"] = lnkTarget
			st["lnk_source"] = p
		}
		if getSum && fi.Mode.IsRegular() {
			data, err := c.ReadFile(ctx, p)
			switch {
			case errors.Is(err, overlay.ErrPending):
				// Planned earlier in this check run: no checksum yet.
			case err != nil:
				return nil, fmt.Errorf("host %s: checksum %s: %w", c.Host(), p, err)
			default:
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
				st["checksum"] = fmt.Sprintf("%x", h.Sum(nil))
			}
		}
	}
	return statChange(p, st), nil
}

func statChange(p string, st map[string]any) *tasks.Change {
	s := p + " does not exist"
	if st["exists"] == true {
		s = fmt.Sprintf("%s exists (mode %v)", p, st["mode"])
	}
	return &tasks.Change{Action: tasks.None, Summary: s, Result: map[string]any{"stat": st}}
}

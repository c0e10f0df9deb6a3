package core

// File modes as Ansible's "mode" argument takes them: octal strings ("0644",
// "644", "0o644"), YAML integers that were octal literals (0644 arrives as
// 420), symbolic modes ("u=rw,g=r,o=r", "u+x") and, where allowed, "preserve".

import (
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/sshplay/sshplay/transport"
)

type modeSpec struct {
	raw      string
	preserve bool
	octal    bool
	bits     uint32 // unix permission + special bits when octal
	clauses  []symClause
}

type symClause struct {
	who uint32 // mask of affected bits (u=0o4700, g=0o2070, o=0o1007)
	ops []symOp
}

type symOp struct {
	op    byte // + - =
	perms string
}

// parseMode decodes a mode argument; allowPreserve admits "preserve".
func parseMode(v any, allowPreserve bool) (*modeSpec, error) {
	switch x := v.(type) {
	case int:
		return intMode(int64(x))
	case int64:
		return intMode(x)
	case uint64:
		return intMode(int64(x))
	case float64:
		if x == float64(int64(x)) {
			return intMode(int64(x))
		}
	case string:
		s := strings.TrimSpace(x)
		if s == "preserve" {
			if !allowPreserve {
				return nil, fmt.Errorf("mode %q is only valid for copy and template", s)
			}
			return &modeSpec{raw: s, preserve: true}, nil
		}
		digits := strings.TrimPrefix(strings.TrimPrefix(s, "0o"), "0O")
		if n, err := strconv.ParseUint(digits, 8, 32); err == nil && digits != "" {
			if n > 0o7777 {
				return nil, fmt.Errorf("mode %q is out of range (max 07777)", s)
			}
			return &modeSpec{raw: s, octal: true, bits: uint32(n)}, nil
		}
		return parseSymbolic(s)
	}
	return nil, fmt.Errorf("mode must be an octal string such as \"0644\" or a symbolic mode, not %v (%T)", v, v)
}

func intMode(n int64) (*modeSpec, error) {
	if n < 0 || n > 0o7777 {
		return nil, fmt.Errorf("mode %d is out of range; quote octal modes: \"0644\"", n)
	}
	// Ansible uses an integer as is, so mode: 644 (no leading zero) sets
	// 01204. That is never what anyone meant: refuse it with a hint.
	if s := strconv.FormatInt(n, 10); n > 0o777 && len(s) >= 3 && strings.Trim(s, "01234567") == "" {
		return nil, fmt.Errorf("mode %d is a decimal number (it would mean %#o); write it as a quoted octal string: \"0%s\"", n, n, s)
	}
	return &modeSpec{raw: fmt.Sprintf("%04o", n), octal: true, bits: uint32(n)}, nil
}

func parseSymbolic(s string) (*modeSpec, error) {
	m := &modeSpec{raw: s}
	for _, part := range strings.Split(s, ",") {
		var c symClause
		i := 0
		for ; i < len(part) && strings.IndexByte("ugoa", part[i]) >= 0; i++ {
			switch part[i] {
			case 'u':
				c.who |= 0o4700
			case 'g':
				c.who |= 0o2070
			case 'o':
				c.who |= 0o1007
			case 'a':
				c.who |= 0o7777
			}
		}
		if c.who == 0 {
			c.who = 0o7777
		}
		if i == len(part) {
			return nil, fmt.Errorf("mode %q is neither octal nor symbolic (e.g. \"0644\" or \"u=rw,g=r,o=r\")", s)
		}
		for i < len(part) {
			if strings.IndexByte("+-=", part[i]) < 0 {
				return nil, fmt.Errorf("mode %q: bad symbolic clause %q", s, part)
			}
			op := symOp{op: part[i]}
			i++
			j := i
			for ; j < len(part) && strings.IndexByte("rwxXstugo", part[j]) >= 0; j++ {
			}
			op.perms = part[i:j]
			i = j
			c.ops = append(c.ops, op)
		}
		m.clauses = append(m.clauses, c)
	}
	return m, nil
}

// apply returns the unix mode bits (perm + special) wanted for a path whose
// current bits are cur.
func (m *modeSpec) apply(cur uint32, isDir bool) uint32 {
	if m.octal {
		return m.bits
	}
	mode := cur & 0o7777
	for _, c := range m.clauses {
		for _, op := range c.ops {
			var bits uint32
			for _, p := range op.perms {
				switch p {
				case 'r':
					bits |= 0o444
				case 'w':
					bits |= 0o222
				case 'x':
					bits |= 0o111
				case 'X':
					if isDir || mode&0o111 != 0 {
						bits |= 0o111
					}
				case 's':
					bits |= 0o6000
				case 't':
					bits |= 0o1000
				case 'u':
					bits |= spread((mode >> 6) & 7)
				case 'g':
					bits |= spread((mode >> 3) & 7)
				case 'o':
					bits |= spread(mode & 7)
				}
			}
			bits &= c.who
			switch op.op {
			case '+':
				mode |= bits
			case '-':
				mode &^= bits
			case '=':
				mode = mode&^(c.who&0o777) | bits
			}
		}
	}
	return mode
}

func spread(rwx uint32) uint32 { return rwx<<6 | rwx<<3 | rwx }

// unixMode converts io/fs mode bits to the unix 12-bit form.
func unixMode(m fs.FileMode) uint32 { return transport.UnixMode(m) }

// fsMode converts unix 12-bit mode bits to io/fs form.
func fsMode(u uint32) fs.FileMode {
	m := fs.FileMode(u & 0o777)
	if u&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if u&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if u&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	return m
}

// octalString formats unix mode bits as Ansible reports them ("0644").
func octalString(u uint32) string { return fmt.Sprintf("%04o", u) }

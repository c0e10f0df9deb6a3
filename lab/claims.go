package lab

// Address allocation. Every lab host needs its own 127.0.0.X. Claims are
// files named after the address in a machine-wide directory, created with
// O_EXCL while holding a machine-wide lock, each holding the owning lab dir.

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

const (
	addrFirst = 10
	addrLast  = 250
	// staleAfter is how long a claim must be left untouched before a lab
	// whose processes are all dead loses it; it covers a lab being created.
	staleAfter = 5 * time.Minute
)

func claimPath(addr string) string { return filepath.Join(claimsDir, addr) }

// claimOwner returns the lab dir written in addr's claim file, "" if there
// is none.
func claimOwner(addr string) string {
	b, err := os.ReadFile(claimPath(addr))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// createClaim claims addr for labDir; it fails if the claim file exists.
func createClaim(addr, labDir string) error {
	f, err := os.OpenFile(claimPath(addr), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = f.WriteString(labDir + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// staleClaim reports whether the claim on addr held by owner (another lab)
// may be taken: the owner's lab dir or state is gone, its state no longer
// lists addr, or none of its processes run and the claim is old.
func staleClaim(addr, owner string) bool {
	if owner == "" || !filepath.IsAbs(owner) {
		return true
	}
	other, err := Open(owner)
	if err != nil {
		return true
	}
	listed := false
	for _, h := range other.Hosts {
		if h.Addr == addr {
			listed = true
		}
	}
	if !listed {
		return true
	}
	fi, err := os.Stat(claimPath(addr))
	if err != nil || time.Since(fi.ModTime()) < staleAfter {
		return false
	}
	for _, h := range other.Hosts {
		p := pathsFor(owner, h.Name)
		if procAlive(readPidFile(p.sshdPid), "sshd") || procAlive(readPidFile(filepath.Join(p.data, "postmaster.pid")), "postgres") {
			return false
		}
	}
	return true
}

// listeners returns the IPv4 addresses that have a TCP listener on port 22
// or 5432, from /proc/net/tcp{,6}. A listener on all addresses is an error:
// no lab host could bind then.
func listeners() (map[string]bool, error) {
	used := map[string]bool{}
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(file)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("lab: %w", err)
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 4 || f[3] != "0A" { // 0A: LISTEN
				continue
			}
			hexAddr, hexPort, ok := strings.Cut(f[1], ":")
			if !ok {
				continue
			}
			port, err := strconv.ParseUint(hexPort, 16, 16)
			if err != nil || (port != 22 && port != 5432) {
				continue
			}
			ip, ok := parseProcAddr(hexAddr)
			if !ok {
				continue
			}
			if ip.IsUnspecified() {
				return nil, fmt.Errorf("lab: something listens on all addresses port %d (%s), so no 127.0.0.X:%d is free; stop it (e.g. `systemctl stop ssh` or the system PostgreSQL) and retry", port, ip, port)
			}
			if ip.Is4In6() {
				ip = ip.Unmap()
			}
			if ip.Is4() {
				used[ip.String()] = true
			}
		}
	}
	return used, nil
}

// parseProcAddr decodes an address from /proc/net/tcp: 32-bit words in host
// (little-endian) byte order.
func parseProcAddr(h string) (netip.Addr, bool) {
	b, err := hex.DecodeString(h)
	if err != nil || (len(b) != 4 && len(b) != 16) {
		return netip.Addr{}, false
	}
	for i := 0; i+4 <= len(b); i += 4 {
		b[i], b[i+1], b[i+2], b[i+3] = b[i+3], b[i+2], b[i+1], b[i]
	}
	a, ok := netip.AddrFromSlice(b)
	return a, ok
}

// allocate gives every host of l an address it owns: its previous one when
// that claim is still its own or free, otherwise a fresh one. The caller
// holds the claims lock.
func allocate(l *Lab) error {
	used, err := listeners()
	if err != nil {
		return err
	}
	taken := map[string]bool{}
	touch := func(addr string) {
		now := time.Now()
		os.Chtimes(claimPath(addr), now, now)
	}
	// First keep what can be kept.
	for i := range l.Hosts {
		h := &l.Hosts[i]
		if h.Addr == "" {
			continue
		}
		p := pathsFor(l.Dir, h.Name)
		ours := procAlive(readPidFile(p.sshdPid), "sshd") || procAlive(readPidFile(filepath.Join(p.data, "postmaster.pid")), "postgres")
		switch owner := claimOwner(h.Addr); {
		case owner == l.Dir && !taken[h.Addr] && (ours || !used[h.Addr]):
			touch(h.Addr)
		case owner == "" && (ours || !used[h.Addr]) && createClaim(h.Addr, l.Dir) == nil:
		case owner != "" && owner != l.Dir && !used[h.Addr] && staleClaim(h.Addr, owner) && takeClaim(h.Addr, l.Dir) == nil:
		default:
			h.Addr = ""
			continue
		}
		taken[h.Addr] = true
	}
	// Then hand out fresh addresses.
	next := addrFirst
	for i := range l.Hosts {
		h := &l.Hosts[i]
		if h.Addr != "" {
			continue
		}
		for ; next <= addrLast && h.Addr == ""; next++ {
			addr := "127.0.0." + strconv.Itoa(next)
			if taken[addr] || used[addr] {
				continue
			}
			err := createClaim(addr, l.Dir)
			if errors.Is(err, fs.ErrExist) {
				// A claim of this dir that no host uses is left over from
				// an earlier lab in the same dir (removed while up): adopt it.
				switch owner := claimOwner(addr); {
				case owner == l.Dir:
					touch(addr)
					err = nil
				case staleClaim(addr, owner):
					err = takeClaim(addr, l.Dir)
				}
			}
			if err != nil {
				continue
			}
			h.Addr = addr
			taken[addr] = true
		}
		if h.Addr == "" {
			return fmt.Errorf("lab: host %s: no free address left in 127.0.0.%d-%d (claims in %s)", h.Name, addrFirst, addrLast, claimsDir)
		}
	}
	return nil
}

// takeClaim replaces a stale claim.
func takeClaim(addr, labDir string) error {
	if err := os.Remove(claimPath(addr)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return createClaim(addr, labDir)
}

// releaseClaims removes the claims l holds; claims another lab took over
// are left alone.
func releaseClaims(l *Lab) error {
	var errs []error
	for _, h := range l.Hosts {
		if h.Addr != "" && claimOwner(h.Addr) == l.Dir {
			if err := os.Remove(claimPath(h.Addr)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, fmt.Errorf("host %s: release %s: %w", h.Name, h.Addr, err))
			}
		}
	}
	return errors.Join(errs...)
}

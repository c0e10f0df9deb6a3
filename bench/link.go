package main

// link.go is the path from sshplay to the lab hosts at one RTT: the lab's
// own inventory at RTT 0, or a delaying proxy per host and an inventory and
// known_hosts of the bench's own pointing at them.

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sshplay/sshplay/lab"
)

// link is one RTT: the inventory sshplay runs with, and the proxies (one
// per lab host, in lab order; none at RTT 0).
type link struct {
	rtt     time.Duration
	inv     string
	proxies []*delayProxy
}

// turns sums the proxies' turns over the first n hosts.
func (k link) turns(n int) int64 {
	var t int64
	for _, p := range k.proxies[:min(n, len(k.proxies))] {
		t += p.Turns()
	}
	return t
}

func (k link) close() {
	for _, p := range k.proxies {
		p.Close()
	}
}

// rttName is how an RTT is shown and named in file names: "0", "50ms".
func rttName(d time.Duration) string {
	if d == 0 {
		return "0"
	}
	return d.String()
}

// openLink starts a proxy in front of every lab host's sshd, each on the
// host's own loopback address (so the only thing that changes for sshplay
// is the port), and writes DIR/bench-rtt-RTT.ini and its known_hosts.
func openLink(l *lab.Lab, rtt time.Duration) (link, error) {
	if rtt == 0 {
		return link{inv: l.InventoryINI()}, nil
	}
	k := link{rtt: rtt}
	for _, h := range l.Hosts {
		p, err := startProxy(h.Addr, proxyTarget(h.Addr, h.SSHPort), rtt)
		if err != nil {
			k.close()
			return link{}, fmt.Errorf("proxy for %s: %w", h.Name, err)
		}
		k.proxies = append(k.proxies, p)
	}
	base := filepath.Join(l.Dir, "bench-rtt-"+rttName(rtt))
	k.inv = base + ".ini"
	kh, inv := proxyInventory(l, k.proxies, base+".known_hosts")
	for path, body := range map[string]string{base + ".known_hosts": kh, k.inv: inv} {
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			k.close()
			return link{}, err
		}
	}
	return k, nil
}

// proxyInventory returns a known_hosts and an INI inventory like the lab's
// (same hosts, groups and variables; it lives in the lab dir, so the CA is
// still DIR/pki), with every host's SSH port that of its proxy. The
// known_hosts lists each host key under "[ADDR]:PORT": sshplay checks host
// keys strictly, and a non-22 port is a different known_hosts entry.
func proxyInventory(l *lab.Lab, proxies []*delayProxy, knownHosts string) (kh, inv string) {
	var k, b strings.Builder
	b.WriteString("# written by `go run ./bench`: the lab's hosts behind delaying proxies\n[dbservers]\n")
	layouts := map[string][]string{}
	for i, h := range l.Hosts {
		port := proxies[i].Port()
		fmt.Fprintf(&k, "[%s]:%d %s\n", h.Addr, port, h.HostKeyPub)
		fmt.Fprintf(&b, "%s ansible_host=%s ansible_port=%d pg_host=%s pg_socket_dir=%s\n", h.Name, h.Addr, port, h.Addr, h.SocketDir)
		layouts[h.Layout] = append(layouts[h.Layout], h.Name)
	}
	for _, g := range []string{lab.LayoutDebian, lab.LayoutRHEL} {
		fmt.Fprintf(&b, "\n[%s]\n", g)
		for _, n := range layouts[g] {
			b.WriteString(n + "\n")
		}
	}
	fmt.Fprintf(&b, "\n[all:vars]\nansible_user=%s\nansible_ssh_private_key_file=%s\n", lab.LoginUser, l.KeyFile())
	fmt.Fprintf(&b, "ansible_ssh_common_args='-o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes'\n", knownHosts)
	fmt.Fprintf(&b, "pg_passfile=%s\npg_user=%s\n", l.PassFile(), lab.PGUser)
	return k.String(), b.String()
}

// parseRTTs reads -rtt: comma-separated durations ("0" allowed), each
// under a minute, returned in ascending order (RTT 0 first: the estimates
// of round trips are made against it).
func parseRTTs(arg string) ([]time.Duration, error) {
	var out []time.Duration
	seen := map[time.Duration]bool{}
	for _, s := range strings.Split(arg, ",") {
		s = strings.TrimSpace(s)
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 || d >= time.Minute {
			return nil, fmt.Errorf("-rtt: bad duration %q (want e.g. 0,50ms)", s)
		}
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	slices.Sort(out)
	return out, nil
}

// perHost formats v/div with at most one decimal ("4", "4.5").
func perHost(v, div float64) string {
	s := strconv.FormatFloat(v/div, 'f', 1, 64)
	return strings.TrimSuffix(s, ".0")
}

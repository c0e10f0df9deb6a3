package inventory

// shard.go splits the selected hosts into N parts so that N runners (a CI
// matrix, a Kubernetes Indexed Job) cover a fleet exactly once.

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// Shard is one part of a split of the hosts into Of parts: Index is
// 1-based (1 ≤ Index ≤ Of), as Playwright's and jest's --shard K/N. The
// zero value is "no sharding": every host is in it.
//
// A host's shard is chosen by rendezvous (highest random weight) hashing:
// the host goes to the shard k whose SHA-256 of "name\x00k" is highest.
// That makes the choice a function of the host's name and N alone, so
//   - every runner, whatever its inventory order, source files or
//     machine, puts a host in the same shard, without talking to the others;
//   - adding or removing a host moves no other host (a round-robin deal over
//     the sorted names would shift every host after it), so a long-running
//     shard keeps its hosts as the fleet grows;
//   - a shard of any selection is the selection's hosts that are in the
//     shard of the whole inventory, which is why it can be applied as part
//     of --limit, after the pattern, for every play alike.
//
// The price is that sizes are balanced only statistically (within a few
// percent for hundreds of hosts per shard; a small fleet can leave a shard
// empty, which is a run with nothing to do, not an error). The hash is part
// of the contract: changing it would reshuffle every fleet's shards.
type Shard struct {
	Index, Of int
}

// ParseShard reads "K/N" (1 ≤ K ≤ N). "" is the zero Shard. A bad value is
// an *Error (exit 5) that says what is wanted; the caller prefixes where
// the value came from (--shard, SSHPLAY_SHARD).
func ParseShard(s string) (Shard, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Shard{}, nil
	}
	bad := func(why string) (Shard, error) {
		return Shard{}, &Error{Msg: fmt.Sprintf("want K/N with 1 ≤ K ≤ N (e.g. 2/4), got %q: %s", s, why)}
	}
	ks, ns, ok := strings.Cut(s, "/")
	if !ok {
		return bad(`no "/"`)
	}
	k, kerr := strconv.Atoi(strings.TrimSpace(ks))
	n, nerr := strconv.Atoi(strings.TrimSpace(ns))
	switch {
	case kerr != nil || nerr != nil:
		return bad("K and N must be whole numbers")
	case n < 1:
		return bad("N must be at least 1")
	case k < 1 || k > n:
		return bad(fmt.Sprintf("K must be between 1 and %d", n))
	}
	return Shard{Index: k, Of: n}, nil
}

// String is "K/N", or "" for the zero Shard.
func (s Shard) String() string {
	if s.Of == 0 {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Of)
}

// ShardOf is the 1-based shard, out of n, that host name belongs to (see
// Shard for the rule). n < 1 is treated as 1.
func ShardOf(name string, n int) int {
	best, bestW := 1, uint64(0)
	for k := 1; k <= n; k++ {
		sum := sha256.Sum256([]byte(name + "\x00" + strconv.Itoa(k)))
		if w := binary.BigEndian.Uint64(sum[:8]); k == 1 || w > bestW {
			best, bestW = k, w
		}
	}
	return best
}

// Contains reports whether host name is in the shard (always, for the
// zero Shard).
func (s Shard) Contains(name string) bool {
	return s.Of <= 1 || ShardOf(name, s.Of) == s.Index
}

// Apply keeps the hosts in the shard, in their order. It may return no host:
// with more shards than hosts, some shard has nothing to do.
func (s Shard) Apply(hosts []*Host) []*Host {
	if s.Of <= 1 {
		return hosts
	}
	return filterHosts(hosts, func(h *Host) bool { return s.Contains(h.Name) })
}

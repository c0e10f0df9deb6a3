package inventory

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
)

// fleet is an inventory of n hosts named db001..dbNNN.
func fleet(t *testing.T, n int) *Inventory {
	t.Helper()
	var b strings.Builder
	b.WriteString("[dbservers]\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "db%03d\n", i)
	}
	inv, err := loadText(FormatINI, "hosts.ini", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func TestShardsCoverEveryHostExactlyOnce(t *testing.T) {
	inv := fleet(t, 37)
	hosts := inv.Hosts()
	for n := 1; n <= 5; n++ {
		seen := map[string]int{}
		for k := 1; k <= n; k++ {
			for _, h := range (Shard{Index: k, Of: n}).Apply(hosts) {
				seen[h.Name]++
			}
		}
		if len(seen) != len(hosts) {
			t.Errorf("N=%d: %d hosts covered, want %d", n, len(seen), len(hosts))
		}
		for name, c := range seen {
			if c != 1 {
				t.Errorf("N=%d: host %s is in %d shards", n, name, c)
			}
		}
	}
}

// TestShardSizesAreBalancedOnLargeFleets: rendezvous hashing balances
// statistically, so a fleet of thousands splits within a few percent.
func TestShardSizesAreBalancedOnLargeFleets(t *testing.T) {
	const hosts = 6000
	for n := 2; n <= 8; n++ {
		sizes := make([]int, n+1)
		for i := 0; i < hosts; i++ {
			sizes[ShardOf(fmt.Sprintf("db%05d.example.com", i), n)]++
		}
		mean := float64(hosts) / float64(n)
		for k := 1; k <= n; k++ {
			if d := float64(sizes[k]) - mean; d > 0.08*mean || d < -0.08*mean {
				t.Errorf("N=%d: shard %d has %d hosts, mean %.0f", n, k, sizes[k], mean)
			}
		}
	}
}

// TestShardDoesNotDependOnOrderOrOtherHosts: the same host lands in the
// same shard whatever order the hosts come in, and adding or removing a
// host moves no other host.
func TestShardDoesNotDependOnOrderOrOtherHosts(t *testing.T) {
	inv := fleet(t, 37)
	hosts := inv.Hosts()
	bigger := fleet(t, 38).Hosts() // db038 added
	shuffled := append([]*Host(nil), hosts...)
	rand.New(rand.NewSource(1)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	for n := 1; n <= 5; n++ {
		for k := 1; k <= n; k++ {
			s := Shard{Index: k, Of: n}
			want := shardNames(s.Apply(hosts))
			if got := shardNames(s.Apply(shuffled)); !sameSet(got, want) {
				t.Errorf("%s: shuffled input gives %v, want %v", s, got, want)
			}
			grown := shardNames(s.Apply(bigger))
			for _, h := range want {
				if !containsName(grown, h) {
					t.Errorf("%s: host %s left its shard when db038 was added", s, h)
				}
			}
			for _, h := range grown {
				if h != "db038" && !containsName(want, h) {
					t.Errorf("%s: host %s joined the shard when db038 was added", s, h)
				}
			}
		}
	}
}

func TestParseShard(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Shard
		err  string
	}{
		{"", Shard{}, ""},
		{"1/1", Shard{1, 1}, ""},
		{"3/4", Shard{3, 4}, ""},
		{" 2 / 5 ", Shard{2, 5}, ""},
		{"0/3", Shard{}, "K must be between 1 and 3"},
		{"4/3", Shard{}, "K must be between 1 and 3"},
		{"1/0", Shard{}, "N must be at least 1"},
		{"2", Shard{}, `no "/"`},
		{"a/b", Shard{}, "whole numbers"},
		{"1.5/3", Shard{}, "whole numbers"},
	} {
		got, err := ParseShard(c.in)
		switch {
		case c.err == "" && (err != nil || got != c.want):
			t.Errorf("ParseShard(%q) = %v, %v; want %v", c.in, got, err, c.want)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), "want K/N")):
			t.Errorf("ParseShard(%q) error = %v, want %q", c.in, err, c.err)
		case c.err != "":
			if e, ok := err.(interface{ BadInput() bool }); !ok || !e.BadInput() {
				t.Errorf("ParseShard(%q): %T is not bad input (exit 5)", c.in, err)
			}
		}
	}
}

func shardNames(hs []*Host) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.Name
	}
	return out
}

func containsName(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

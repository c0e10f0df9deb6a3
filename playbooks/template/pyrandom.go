package template

import (
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"math/bits"
	"math/rand/v2"

	"github.com/nikolalohinski/gonja/v2/exec"
)

// pyRandom is Python's random.Random: the Mersenne Twister (MT19937)
// seeded as CPython seeds it, drawing integers below n as its
// _randbelow does. Ansible's `random(seed=...)` filter uses it, and a
// playbook relies on the value a seed gives, not just on its being
// stable: `{{ 60 | random(seed=inventory_hostname) }}` picks each
// host's cron minute, and a host moved from Ansible to sshplay must keep
// its minute. Pinned against Python by TestRandomFilterMatchesAnsible.
type pyRandom struct {
	mt  [mtN]uint32
	idx int
}

const (
	mtN, mtM = 624, 397
	mtUpper  = 0x80000000
	mtLower  = 0x7fffffff
	mtMatrix = 0x9908b0df
)

// newPyRandom is random.Random(seed) for an int or str seed.
func newPyRandom(seed any) (*pyRandom, error) {
	key, err := seedKey(seed)
	if err != nil {
		return nil, err
	}
	r := &pyRandom{}
	r.initByArray(key)
	return r, nil
}

// seedKey is the key CPython's random_seed hands init_by_array: the
// 32-bit words of abs(seed), least significant first ([0] for 0); a str
// is first made the int of its UTF-8 bytes followed by their SHA-512
// (seed version 2, big-endian).
func seedKey(seed any) ([]uint32, error) {
	switch s := seed.(type) {
	case string:
		b := []byte(s)
		sum := sha512.Sum512(b)
		return wordsOf(append(b, sum[:]...)), nil
	case int:
		u := uint64(s)
		if s < 0 {
			u = uint64(-int64(s)) // two's complement: right for MinInt64 too
		}
		return wordsOf(binary.BigEndian.AppendUint64(nil, u)), nil
	}
	return nil, fmt.Errorf("seed must be an integer or a string, got %T", seed)
}

// wordsOf is the big-endian number b as 32-bit words, least significant
// first, without leading zero words (at least one word).
func wordsOf(b []byte) []uint32 {
	for len(b) > 0 && b[0] == 0 {
		b = b[1:]
	}
	if pad := (4 - len(b)%4) % 4; pad > 0 {
		b = append(make([]byte, pad), b...)
	}
	words := make([]uint32, 0, len(b)/4+1)
	for i := len(b); i > 0; i -= 4 {
		words = append(words, binary.BigEndian.Uint32(b[i-4:i]))
	}
	if len(words) == 0 {
		words = append(words, 0)
	}
	return words
}

// initByArray is MT19937's init_by_array, as CPython's _randommodule.c.
func (r *pyRandom) initByArray(key []uint32) {
	mt := &r.mt
	mt[0] = 19650218
	for i := 1; i < mtN; i++ {
		mt[i] = 1812433253*(mt[i-1]^(mt[i-1]>>30)) + uint32(i)
	}
	i, j := 1, 0
	for k := max(mtN, len(key)); k > 0; k-- {
		mt[i] = (mt[i] ^ ((mt[i-1] ^ (mt[i-1] >> 30)) * 1664525)) + key[j] + uint32(j)
		i, j = i+1, j+1
		if i >= mtN {
			mt[0], i = mt[mtN-1], 1
		}
		if j >= len(key) {
			j = 0
		}
	}
	for k := mtN - 1; k > 0; k-- {
		mt[i] = (mt[i] ^ ((mt[i-1] ^ (mt[i-1] >> 30)) * 1566083941)) - uint32(i)
		i++
		if i >= mtN {
			mt[0], i = mt[mtN-1], 1
		}
	}
	mt[0] = 0x80000000
	r.idx = mtN
}

// uint32 is MT19937's genrand_uint32.
func (r *pyRandom) uint32() uint32 {
	mt := &r.mt
	if r.idx >= mtN {
		for k := 0; k < mtN; k++ {
			y := mt[k]&mtUpper | mt[(k+1)%mtN]&mtLower
			v := mt[(k+mtM)%mtN] ^ y>>1
			if y&1 != 0 {
				v ^= mtMatrix
			}
			mt[k] = v
		}
		r.idx = 0
	}
	y := mt[r.idx]
	r.idx++
	y ^= y >> 11
	y ^= y << 7 & 0x9d2c5680
	y ^= y << 15 & 0xefc60000
	return y ^ y>>18
}

// bits is getrandbits(k) for 0 < k <= 64: words least significant
// first, the last one cut to its top bits.
func (r *pyRandom) bits(k int) uint64 {
	if k <= 32 {
		return uint64(r.uint32() >> (32 - k))
	}
	lo := uint64(r.uint32())
	return lo | uint64(r.uint32()>>(64-k))<<32
}

// below is _randbelow(n) for n > 0: k-bit draws until one is below n.
func (r *pyRandom) below(n uint64) uint64 {
	k := bits.Len64(n)
	for {
		if v := r.bits(k); v < n {
			return v
		}
	}
}

// randrange is Python's randrange(start, stop, step), drawing with below
// (a pyRandom's, or the system's when there is no seed).
func randrange(below func(uint64) uint64, start, stop, step int) (int, error) {
	width := stop - start
	var n int
	switch {
	case step == 1:
		if width <= 0 {
			return 0, fmt.Errorf("empty range for randrange() (%d, %d, %d)", start, stop, width)
		}
		n = width
	case step > 0:
		n = floorDiv(width+step-1, step)
	case step < 0:
		n = floorDiv(width+step+1, step)
	default:
		return 0, fmt.Errorf("zero step for randrange()")
	}
	if n <= 0 {
		return 0, fmt.Errorf("empty range for randrange()")
	}
	return start + step*int(below(uint64(n))), nil
}

// floorDiv is Python's a // b.
func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// randomArgs are the random filter's arguments after its input, as
// Ansible's rand(end, start=None, step=None, seed=None) takes them:
// positional or by name.
type randomArgs struct{ start, step, seed *exec.Value }

// takeRandomArgs reads the random filter's arguments.
func takeRandomArgs(params *exec.VarArgs) (randomArgs, error) {
	var a randomArgs
	keep := func(dst **exec.Value) exec.ArgumentTransmuter {
		return func(v *exec.Value) error { *dst = v; return nil }
	}
	none := exec.AsValue(nil)
	err := params.Take(
		exec.KeywordArgument("start", none, keep(&a.start)),
		exec.KeywordArgument("step", none, keep(&a.step)),
		exec.KeywordArgument("seed", none, keep(&a.seed)),
	)
	return a, err
}

// filterRandom is Ansible's random filter (core.py rand): `N | random`
// is an integer in [0, N) (randrange(start, N, step) with start= and
// step=), `list | random` an element and `'abc' | random` a character.
// seed= makes it repeatable, with the very value Python gives for that
// seed (pyRandom); without one every draw comes from the system.
func filterRandom(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	a, err := takeRandomArgs(params)
	if err != nil {
		return errValue("random: %v", err)
	}
	below := rand.Uint64N
	if !a.seed.IsNil() {
		seed := goValue(a.seed)
		if b, ok := seed.(bool); ok { // a Python bool is an int
			seed = boolInt(b)
		}
		r, err := newPyRandom(seed)
		if err != nil {
			return errValue("random: %v", err)
		}
		below = r.below
	}
	switch {
	case in.IsInteger() || in.IsBool():
		return randomInt(below, pyInt(in), a)
	case in.IsList() || in.IsString():
		if a.start.IsTrue() || a.step.IsTrue() {
			return errValue("random: start and step can only be used with integer values")
		}
		return randomElement(below, in)
	}
	return errValue("random can only be used on sequences and integers, got %s", pyTypeName(in))
}

// randomInt is randrange(start or 0, end, step or 1).
func randomInt(below func(uint64) uint64, end int, a randomArgs) *exec.Value {
	start, step := 0, 1
	for _, p := range []struct {
		name string
		v    *exec.Value
		dst  *int
	}{{"start", a.start, &start}, {"step", a.step, &step}} {
		if !p.v.IsTrue() { // Ansible: `if not start: start = 0`
			continue
		}
		if !p.v.IsInteger() && !p.v.IsBool() {
			return errValue("random: %s must be an integer, got %s", p.name, pyTypeName(p.v))
		}
		*p.dst = pyInt(p.v)
	}
	n, err := randrange(below, start, end, step)
	if err != nil {
		return errValue("random: %v", err)
	}
	return exec.AsValue(n)
}

// randomElement is choice(seq): an element of a list, a character of a
// string.
func randomElement(below func(uint64) uint64, in *exec.Value) *exec.Value {
	if in.IsString() {
		runes := []rune(in.String())
		if len(runes) == 0 {
			return errValue("random: cannot choose from an empty sequence")
		}
		return exec.AsValue(string(runes[below(uint64(len(runes)))]))
	}
	if in.Len() == 0 {
		return errValue("random: cannot choose from an empty sequence")
	}
	return in.Index(int(below(uint64(in.Len()))))
}

// pyInt is an integer or bool value as Python sees it (True is 1).
func pyInt(v *exec.Value) int {
	if v.IsBool() {
		return boolInt(v.IsTrue())
	}
	return v.Integer()
}

// pyTypeName is the Python type name of v, as type_debug gives it.
func pyTypeName(v *exec.Value) string { return filterTypeDebug(nil, v, nil).String() }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

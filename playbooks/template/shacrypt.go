package template

// SHA-crypt ($5$ and $6$, Drepper's specification), as the password_hash
// filter gives it through passlib: Ansible's recorded output is pinned in
// testdata/ansible-exprs.json.

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
	"math/big"
	"strings"
)

const cryptAlphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// shaCryptScheme is one of the two SHA-crypt variants.
type shaCryptScheme struct {
	id            string // "5" or "6"
	newHash       func() hash.Hash
	defaultRounds int      // passlib's default, which Ansible gets
	order         [][3]int // byte triples of the final encoding
	tail          []int    // the bytes left over, most significant first
}

var sha256Crypt = shaCryptScheme{id: "5", newHash: sha256.New, defaultRounds: 535000,
	order: [][3]int{{0, 10, 20}, {21, 1, 11}, {12, 22, 2}, {3, 13, 23}, {24, 4, 14},
		{15, 25, 5}, {6, 16, 26}, {27, 7, 17}, {18, 28, 8}, {9, 19, 29}},
	tail: []int{31, 30}}

var sha512Crypt = shaCryptScheme{id: "6", newHash: sha512.New, defaultRounds: 656000,
	order: [][3]int{{0, 21, 42}, {22, 43, 1}, {44, 2, 23}, {3, 24, 45}, {25, 46, 4}, {47, 5, 26},
		{6, 27, 48}, {28, 49, 7}, {50, 8, 29}, {9, 30, 51}, {31, 52, 10}, {53, 11, 32}, {12, 33, 54},
		{34, 55, 13}, {56, 14, 35}, {15, 36, 57}, {37, 58, 16}, {59, 17, 38}, {18, 39, 60},
		{40, 61, 19}, {62, 20, 41}},
	tail: []int{63}}

// hash returns the crypt string: $id$[rounds=N$]salt$digest. As passlib,
// the rounds field is left out when it is the specification's 5000.
func (s shaCryptScheme) hash(password, salt string, rounds int) string {
	if len(salt) > 16 {
		salt = salt[:16]
	}
	rounds = min(max(rounds, 1000), 999999999)
	digest := s.digest([]byte(password), []byte(salt), rounds)
	var b strings.Builder
	b.WriteString("$" + s.id + "$")
	if rounds != 5000 {
		fmt.Fprintf(&b, "rounds=%d$", rounds)
	}
	b.WriteString(salt + "$")
	for _, t := range s.order {
		encode24(&b, uint(digest[t[0]])<<16|uint(digest[t[1]])<<8|uint(digest[t[2]]), 4)
	}
	if len(s.tail) == 1 {
		encode24(&b, uint(digest[s.tail[0]]), 2)
	} else {
		encode24(&b, uint(digest[s.tail[0]])<<8|uint(digest[s.tail[1]]), 3)
	}
	return b.String()
}

func encode24(b *strings.Builder, w uint, n int) {
	for ; n > 0; n-- {
		b.WriteByte(cryptAlphabet[w&0x3f])
		w >>= 6
	}
}

// digest is the specification's steps 1 to 21.
func (s shaCryptScheme) digest(p, salt []byte, rounds int) []byte {
	sum := func(parts ...[]byte) []byte {
		h := s.newHash()
		for _, x := range parts {
			h.Write(x)
		}
		return h.Sum(nil)
	}
	size := s.newHash().Size()
	b := sum(p, salt, p)
	h := s.newHash()
	h.Write(p)
	h.Write(salt)
	h.Write(repeatTo(b, len(p)))
	for i := len(p); i > 0; i >>= 1 {
		if i&1 != 0 {
			h.Write(b)
		} else {
			h.Write(p)
		}
	}
	a := h.Sum(nil)
	pSeq := repeatTo(sum(bytesRepeat(p, len(p))), len(p))
	sSeq := repeatTo(sum(bytesRepeat(salt, 16+int(a[0]))), len(salt))
	c := a
	for r := 0; r < rounds; r++ {
		h := s.newHash()
		if r&1 != 0 {
			h.Write(pSeq)
		} else {
			h.Write(c)
		}
		if r%3 != 0 {
			h.Write(sSeq)
		}
		if r%7 != 0 {
			h.Write(pSeq)
		}
		if r&1 != 0 {
			h.Write(c)
		} else {
			h.Write(pSeq)
		}
		c = h.Sum(make([]byte, 0, size))
	}
	return c
}

func bytesRepeat(b []byte, n int) []byte {
	out := make([]byte, 0, len(b)*n)
	for ; n > 0; n-- {
		out = append(out, b...)
	}
	return out
}

// repeatTo is b repeated and cut to n bytes.
func repeatTo(b []byte, n int) []byte {
	out := make([]byte, 0, n)
	for len(out) < n {
		out = append(out, b[:min(len(b), n-len(out))]...)
	}
	return out
}

// randomSalt is a 16-character salt from the crypt alphabet.
func randomSalt() (string, error) {
	b := make([]byte, 16)
	for i := range b {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(cryptAlphabet))))
		if err != nil {
			return "", fmt.Errorf("random salt: %w", err)
		}
		b[i] = cryptAlphabet[n.Int64()]
	}
	return string(b), nil
}

// PasswordHash is Ansible's do_encrypt, which vars_prompt's encrypt uses:
// password hashed with scheme (sha512_crypt, sha256_crypt, md5_crypt) at
// the default rounds, as the password_hash filter hashes it. The salt is
// salt, else saltSize random crypt characters (passlib's size when 0).
func PasswordHash(password, scheme, salt string, saltSize int) (string, error) {
	var s shaCryptScheme
	switch scheme {
	case "sha512_crypt":
		s = sha512Crypt
	case "sha256_crypt":
		s = sha256Crypt
	case "md5_crypt":
		if saltSize == 0 {
			saltSize = 8
		}
	default:
		return "", fmt.Errorf("not supported yet: encrypt %s (sha512_crypt, sha256_crypt and md5_crypt are)", scheme)
	}
	if salt == "" {
		r, err := randomSalt()
		if err != nil {
			return "", err
		}
		if saltSize > 0 && saltSize < len(r) {
			r = r[:saltSize]
		}
		salt = r
	}
	if scheme == "md5_crypt" {
		return md5Crypt(password, salt), nil
	}
	return s.hash(password, salt, s.defaultRounds), nil
}

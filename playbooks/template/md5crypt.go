package template

// MD5-crypt ($1$, Poul-Henning Kamp's scheme), for vars_prompt's encrypt:
// md5_crypt, which Ansible hashes through passlib or crypt(3).

import (
	"crypto/md5"
	"strings"
)

// md5Crypt returns $1$salt$digest for password; the salt is cut to 8
// characters, as the scheme does.
func md5Crypt(password, salt string) string {
	if len(salt) > 8 {
		salt = salt[:8]
	}
	p, s := []byte(password), []byte(salt)
	alt := md5.Sum(append(append(append([]byte{}, p...), s...), p...))
	ctx := append(append(append([]byte{}, p...), "$1$"...), s...)
	for n := len(p); n > 0; n -= 16 {
		ctx = append(ctx, alt[:min(n, 16)]...)
	}
	for i := len(p); i > 0; i >>= 1 {
		if i&1 != 0 {
			ctx = append(ctx, 0)
		} else {
			ctx = append(ctx, p[0])
		}
	}
	final := md5.Sum(ctx)
	for i := 0; i < 1000; i++ {
		var c []byte
		if i&1 != 0 {
			c = append(c, p...)
		} else {
			c = append(c, final[:]...)
		}
		if i%3 != 0 {
			c = append(c, s...)
		}
		if i%7 != 0 {
			c = append(c, p...)
		}
		if i&1 != 0 {
			c = append(c, final[:]...)
		} else {
			c = append(c, p...)
		}
		final = md5.Sum(c)
	}
	var b strings.Builder
	b.WriteString("$1$" + salt + "$")
	for _, t := range [][3]int{{0, 6, 12}, {1, 7, 13}, {2, 8, 14}, {3, 9, 15}, {4, 10, 5}} {
		encode24(&b, uint(final[t[0]])<<16|uint(final[t[1]])<<8|uint(final[t[2]]), 4)
	}
	encode24(&b, uint(final[11]), 2)
	return b.String()
}

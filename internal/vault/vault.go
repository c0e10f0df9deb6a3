package vault

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Header starts every piece of vault data.
const Header = "$ANSIBLE_VAULT"

// DefaultID is the vault id of a password given without a label, and of
// data encrypted without one (format 1.1), as in Ansible.
const DefaultID = "default"

// iterations and the key sizes are those of Ansible's VaultAES256.
const (
	iterations = 10000
	keyLen     = 32
	saltLen    = 32
)

// errWrongPassword is a password that does not match the data's HMAC.
var errWrongPassword = errors.New("wrong password")

// IsEncrypted reports whether data is vault data (its first line is a
// vault header), the test Ansible applies to whole files.
func IsEncrypted(data []byte) bool {
	return bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte(Header+";"))
}

// envelope is the parsed vault text: header fields and the binary body.
type envelope struct {
	version, cipher, id string
	salt, mac, text     []byte
}

// parse splits vault text into its header and its hex-encoded body, which
// holds three hex lines: salt, HMAC-SHA256 and ciphertext.
func parse(data []byte) (*envelope, error) {
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	fields := strings.Split(strings.TrimSpace(lines[0]), ";")
	if len(fields) < 3 || fields[0] != Header {
		return nil, errors.New("not vault data: the first line must be a $ANSIBLE_VAULT header")
	}
	env := &envelope{version: strings.TrimSpace(fields[1]), cipher: strings.TrimSpace(fields[2]), id: DefaultID}
	switch {
	case env.version == "1.2" && len(fields) >= 4:
		env.id = strings.TrimSpace(fields[3])
	case env.version != "1.1" && env.version != "1.2":
		return nil, fmt.Errorf("vault format %s is not supported (want 1.1 or 1.2)", env.version)
	}
	if env.cipher != "AES256" {
		return nil, fmt.Errorf("vault cipher %s is not supported (want AES256)", env.cipher)
	}
	var body strings.Builder
	for _, l := range lines[1:] {
		body.WriteString(strings.TrimSpace(l))
	}
	inner, err := hex.DecodeString(body.String())
	if err != nil {
		return nil, errors.New("damaged vault data: the body is not hexadecimal")
	}
	parts := strings.Split(string(inner), "\n")
	if len(parts) != 3 {
		return nil, errors.New("damaged vault data: want salt, HMAC and ciphertext")
	}
	bins := make([][]byte, 3)
	for i, p := range parts {
		if bins[i], err = hex.DecodeString(p); err != nil {
			return nil, errors.New("damaged vault data: a body line is not hexadecimal")
		}
	}
	env.salt, env.mac, env.text = bins[0], bins[1], bins[2]
	return env, nil
}

// keys derives the AES key, the HMAC key and the CTR counter block from a
// password and a salt (PBKDF2-SHA256, 10000 rounds, 80 bytes).
func keys(password, salt []byte) (aesKey, macKey, iv []byte, err error) {
	k, err := pbkdf2.Key(sha256.New, string(password), salt, iterations, 2*keyLen+aes.BlockSize)
	if err != nil {
		return nil, nil, nil, err
	}
	return k[:keyLen], k[keyLen : 2*keyLen], k[2*keyLen:], nil
}

// open decrypts an envelope with one password. The HMAC is checked, in
// constant time, before anything is decrypted.
func (env *envelope) open(password []byte) ([]byte, error) {
	aesKey, macKey, iv, err := keys(password, env.salt)
	if err != nil {
		return nil, err
	}
	m := hmac.New(sha256.New, macKey)
	m.Write(env.text)
	if !hmac.Equal(m.Sum(nil), env.mac) {
		return nil, errWrongPassword
	}
	block, err := aes.NewCipher(aesKey)
	if err != nil {
		return nil, err
	}
	out := make([]byte, len(env.text))
	cipher.NewCTR(block, iv).XORKeyStream(out, env.text)
	return unpad(out)
}

// unpad removes PKCS#7 padding (the block size is AES's, 16).
func unpad(b []byte) ([]byte, error) {
	if len(b) == 0 || len(b)%aes.BlockSize != 0 {
		return nil, errors.New("damaged vault data: bad padding")
	}
	n := int(b[len(b)-1])
	if n == 0 || n > aes.BlockSize || n > len(b) {
		return nil, errors.New("damaged vault data: bad padding")
	}
	for _, c := range b[len(b)-n:] {
		if int(c) != n {
			return nil, errors.New("damaged vault data: bad padding")
		}
	}
	return b[:len(b)-n], nil
}

// Decrypt decrypts vault data with one password.
func Decrypt(data, password []byte) ([]byte, error) {
	env, err := parse(data)
	if err != nil {
		return nil, err
	}
	return env.open(password)
}

// Encrypt encrypts plain as ansible-vault does, with a random salt: format
// 1.1 when id is "" or DefaultID, else 1.2 labelled id. The text is the
// header and the body in lines of 80, each ending in a newline.
func Encrypt(plain, password []byte, id string) ([]byte, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	aesKey, macKey, iv, err := keys(password, salt)
	if err != nil {
		return nil, err
	}
	n := aes.BlockSize - len(plain)%aes.BlockSize
	padded := append(append([]byte(nil), plain...), bytes.Repeat([]byte{byte(n)}, n)...)
	block, err := aes.NewCipher(aesKey)
	if err != nil {
		return nil, err
	}
	text := make([]byte, len(padded))
	cipher.NewCTR(block, iv).XORKeyStream(text, padded)
	m := hmac.New(sha256.New, macKey)
	m.Write(text)
	inner := hex.EncodeToString(salt) + "\n" + hex.EncodeToString(m.Sum(nil)) + "\n" + hex.EncodeToString(text)
	body := hex.EncodeToString([]byte(inner))
	var out strings.Builder
	out.WriteString(Header + ";1.1;AES256\n")
	if id != "" && id != DefaultID {
		out.Reset()
		out.WriteString(Header + ";1.2;AES256;" + id + "\n")
	}
	for len(body) > 80 {
		out.WriteString(body[:80] + "\n")
		body = body[80:]
	}
	out.WriteString(body + "\n")
	return []byte(out.String()), nil
}

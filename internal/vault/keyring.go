package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Secret is one vault password and the vault id it was given for
// (DefaultID when it came without a label).
type Secret struct {
	ID       string
	Password []byte
}

// Keyring is the run's vault passwords. It remembers what it revealed so
// that output can mask it. Safe for concurrent use.
type Keyring struct {
	secrets []Secret

	mu       sync.Mutex
	seen     map[string]bool
	revealed []string
}

// NewKeyring returns a keyring trying secrets in the order given.
func NewKeyring(secrets ...Secret) *Keyring {
	return &Keyring{secrets: slices.Clone(secrets), seen: map[string]bool{}}
}

// IDs are the vault ids of the keyring's secrets, in order.
func (k *Keyring) IDs() []string {
	ids := make([]string, 0, len(k.secrets))
	for _, s := range k.secrets {
		ids = append(ids, s.ID)
	}
	return ids
}

// Error is vault data that could not be decrypted: Where names it
// (FILE:LINE:COL for a value, FILE for a whole file), Tried the vault ids
// whose passwords failed. It is the user's input (BadInput: exit 5).
type Error struct {
	Where string
	Tried []string
	Err   error
	// Whole: the data is a file encrypted whole (DecryptFile), named so
	// in the message, rather than one value.
	Whole bool
}

func (e *Error) Error() string {
	switch {
	case errors.Is(e.Err, errNoSecret) && e.Whole:
		return fmt.Sprintf("vault-encrypted file %s: give --vault-password-file or --ask-vault-pass", e.Where)
	case errors.Is(e.Err, errNoSecret):
		return fmt.Sprintf("vault-encrypted value at %s: give --vault-password-file or --ask-vault-pass", e.Where)
	case len(e.Tried) > 0:
		return fmt.Sprintf("%s: cannot decrypt vault data with vault id %s: %v", e.Where, strings.Join(e.Tried, ", "), e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Where, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// BadInput marks the error as the user's input (sshplay exits 5).
func (e *Error) BadInput() bool { return true }

// errNoSecret is vault data met while no vault password was given.
var errNoSecret = errors.New("no vault password given")

// Decrypt decrypts an inline vault value found at where. The plaintext,
// and each of its lines, is remembered for masking. A nil keyring has no
// secrets.
func (k *Keyring) Decrypt(where string, data []byte) ([]byte, error) {
	plain, err := k.open(where, data)
	if err == nil {
		k.RememberText(string(plain))
	}
	return plain, err
}

// open decrypts vault data found at where. A secret whose id matches the
// data's vault id is tried first, then the others in order, as Ansible
// does.
func (k *Keyring) open(where string, data []byte) ([]byte, error) {
	if k == nil || len(k.secrets) == 0 {
		return nil, &Error{Where: where, Err: errNoSecret}
	}
	env, err := parse(data)
	if err != nil {
		return nil, &Error{Where: where, Err: err}
	}
	order := slices.Clone(k.secrets)
	slices.SortStableFunc(order, func(a, b Secret) int {
		return boolRank(a.ID == env.id) - boolRank(b.ID == env.id)
	})
	var tried []string
	for _, s := range order {
		plain, err := env.open(s.Password)
		if err == nil {
			return plain, nil
		}
		if !errors.Is(err, errWrongPassword) {
			return nil, &Error{Where: where, Err: err}
		}
		if !slices.Contains(tried, s.ID) {
			tried = append(tried, s.ID)
		}
	}
	return nil, &Error{Where: where, Tried: tried, Err: errWrongPassword}
}

func boolRank(b bool) int {
	if b {
		return 0
	}
	return 1
}

// RememberText records a revealed text for masking, and its lines when it
// has several (a task may print one line of a decrypted key or file).
func (k *Keyring) RememberText(plain string) {
	if k == nil {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	// Without its final newline, so that masking a file's text keeps the
	// line structure of a diff.
	vals := []string{strings.TrimRight(plain, "\r\n"), strings.TrimSpace(plain)}
	if strings.Contains(plain, "\n") {
		for _, l := range strings.Split(plain, "\n") {
			vals = append(vals, strings.TrimSpace(l))
		}
	}
	for _, v := range vals {
		if v != "" && !k.seen[v] {
			k.seen[v] = true
			k.revealed = append(k.revealed, v)
		}
	}
}

// Revealed returns every plaintext the keyring decrypted so far: values
// the engine masks in its output whatever variable holds them.
func (k *Keyring) Revealed() []string {
	if k == nil {
		return nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.revealed)
}

// DecryptFile returns data unchanged when it is not vault data, and its
// plaintext when it is: how vars files, group_vars, inventories and copied
// files encrypted whole with ansible-vault are read. Without a keyring
// the error asks for a password. Nothing is remembered: the caller knows
// which parts of the file are values (RememberLeaves, RememberText).
func (k *Keyring) DecryptFile(file string, data []byte) ([]byte, error) {
	if !IsEncrypted(data) {
		return data, nil
	}
	plain, err := k.open(file, data)
	var ve *Error
	if errors.As(err, &ve) {
		ve.Whole = true
	}
	return plain, err
}

// DecryptFile is Keyring.DecryptFile with the keyring ctx carries.
func DecryptFile(ctx context.Context, file string, data []byte) ([]byte, error) {
	return FromContext(ctx).DecryptFile(file, data)
}

// RememberLeaves records every string under v (the values of a vars file
// that was encrypted whole) for masking.
func (k *Keyring) RememberLeaves(v any) {
	switch x := v.(type) {
	case string:
		k.RememberText(x)
	case map[string]any:
		for _, e := range x {
			k.RememberLeaves(e)
		}
	case []any:
		for _, e := range x {
			k.RememberLeaves(e)
		}
	}
}

// Encrypted is an inline `!vault` value kept encrypted (KeepInline), so
// that `sshplay inventory --list` prints it as ansible-inventory does.
type Encrypted struct {
	Ciphertext string
	Where      string // FILE:LINE:COL of the value
}

// MarshalJSON writes the value as ansible-inventory does:
// {"__ansible_vault": "<ciphertext>"}.
func (e *Encrypted) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{"__ansible_vault": e.Ciphertext})
}

type contextKey struct{}

// NewContext returns ctx carrying the run's keyring.
func NewContext(ctx context.Context, k *Keyring) context.Context {
	return context.WithValue(ctx, contextKey{}, k)
}

// FromContext returns the keyring ctx carries, or nil: no vault password
// was given, and any vault data is an error asking for one.
func FromContext(ctx context.Context) *Keyring {
	k, _ := ctx.Value(contextKey{}).(*Keyring)
	return k
}

type keepInlineKey struct{}

// KeepInline returns ctx in which inventories keep their inline `!vault`
// values encrypted even though a keyring is given: `sshplay inventory`
// prints them as ansible-inventory does, and uses the keyring only for
// files encrypted whole.
func KeepInline(ctx context.Context) context.Context {
	return context.WithValue(ctx, keepInlineKey{}, true)
}

// InlineKept reports whether ctx came from KeepInline.
func InlineKept(ctx context.Context) bool {
	kept, _ := ctx.Value(keepInlineKey{}).(bool)
	return kept
}

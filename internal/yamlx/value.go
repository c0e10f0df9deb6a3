package yamlx

import (
	"context"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sshplay/sshplay/internal/vault"
)

// Value converts a node into Go values as yaml.v3 decodes into an `any`:
// each scalar decoded by yaml.v3 itself, lists as []any, merge keys (<<)
// with yaml.v3's precedence, and every mapping a map[string]any (a key
// that is not a string is written with fmt.Sprint, as sshplay's playbooks
// have always read it). Two things differ, and are why it exists: a
// mapping's duplicate keys are found with a map, where yaml.v3 compares
// every pair of keys (a 100,000-key vars file cost minutes); and ctx is
// looked at every few hundred nodes, so a large file stops on Ctrl-C.
//
// Aliases are followed: n must come from Parse or a Decoder, which have
// bounded what they expand to. Errors are *Error, or ctx's error.
func Value(ctx context.Context, file string, n *yaml.Node) (any, error) {
	c := &converter{ctx: ctx, file: file}
	return c.value(n)
}

// converter is the state of one Value.
type converter struct {
	ctx   context.Context
	file  string
	steps int
}

func (c *converter) value(n *yaml.Node) (any, error) {
	if c.steps++; c.steps%checkEvery == 0 {
		if err := c.ctx.Err(); err != nil {
			return nil, fmt.Errorf("%s: %w", c.file, err)
		}
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) != 1 {
			return nil, nil
		}
		return c.value(n.Content[0])
	case yaml.AliasNode:
		return c.value(n.Alias)
	case yaml.ScalarNode:
		return c.scalar(n)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, e := range n.Content {
			v, err := c.value(e)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		if err := c.mapping(n, out, nil); err != nil {
			return nil, err
		}
		return out, nil
	}
	return nil, nil
}

// scalar decodes one scalar with yaml.v3, so that ints, floats, booleans,
// nulls, timestamps and !!binary come out exactly as its Decode gives them;
// strings, by far the most common, skip the decoder.
func (c *converter) scalar(n *yaml.Node) (any, error) {
	if n.Tag == "!vault" || n.Tag == "!vault-encrypted" {
		return c.decrypt(n)
	}
	if n.ShortTag() == "!!str" {
		return n.Value, nil
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, c.refuse(n, "%s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	return v, nil
}

// decrypt turns an ansible-vault value into its plaintext with the
// keyring the context carries. Data that cannot be decrypted is an error
// (*vault.Error), never its ciphertext used as text.
func (c *converter) decrypt(n *yaml.Node) (any, error) {
	where := fmt.Sprintf("%s:%d:%d", c.file, n.Line, n.Column)
	plain, err := vault.FromContext(c.ctx).Decrypt(where, []byte(n.Value))
	if err != nil {
		return nil, err
	}
	return string(plain), nil
}

// dupKey identifies a mapping key as yaml.v3's duplicate check does:
// two keys are the same when their kind and text are.
type dupKey struct {
	kind yaml.Kind
	text string
}

// mapping adds the pairs of n to out. taken is nil for the mapping being
// built; while merging it holds the keys already set, which a merged
// mapping may not replace: a mapping's own keys win over merged ones, and
// an earlier merged mapping over a later one, as in yaml.v3.
func (c *converter) mapping(n *yaml.Node, out map[string]any, taken map[string]bool) error {
	seen := make(map[dupKey]int, len(n.Content)/2)
	var merge *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		dk := dupKey{k.Kind, k.Value}
		if line, dup := seen[dk]; dup {
			return c.refuse(k, "mapping key %q already defined at line %d", k.Value, line)
		}
		seen[dk] = k.Line
		if isMerge(k) {
			merge = v
			continue
		}
		key, err := c.key(k)
		if err != nil {
			return err
		}
		if taken != nil {
			if taken[key] {
				continue
			}
			taken[key] = true
		}
		if out[key], err = c.value(v); err != nil {
			return err
		}
	}
	if merge == nil {
		return nil
	}
	if taken == nil {
		taken = make(map[string]bool, len(out))
		for k := range out {
			taken[k] = true
		}
	}
	return c.merge(merge, out, taken)
}

// merge adds the mapping, or the list of mappings, that a << key names.
func (c *converter) merge(m *yaml.Node, out map[string]any, taken map[string]bool) error {
	srcs := []*yaml.Node{m}
	if m.Kind == yaml.SequenceNode {
		srcs = m.Content
	}
	for _, s := range srcs {
		if s.Kind == yaml.AliasNode {
			s = s.Alias
		}
		if s.Kind != yaml.MappingNode {
			return c.refuse(s, "map merge requires map or sequence of maps as the value")
		}
		if err := c.mapping(s, out, taken); err != nil {
			return err
		}
	}
	return nil
}

// key returns the text a mapping key stands for.
func (c *converter) key(k *yaml.Node) (string, error) {
	if k.Kind == yaml.AliasNode {
		k = k.Alias
	}
	if k.Kind != yaml.ScalarNode {
		return "", c.refuse(k, "invalid map key: a mapping key must be a scalar")
	}
	v, err := c.scalar(k)
	if err != nil {
		return "", err
	}
	if s, ok := v.(string); ok {
		return s, nil
	}
	return fmt.Sprint(v), nil
}

// isMerge is yaml.v3's test for a merge key.
func isMerge(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Value == "<<" && (n.Tag == "" || n.Tag == "!" || n.ShortTag() == "!!merge")
}

func (c *converter) refuse(n *yaml.Node, format string, args ...any) *Error {
	return &Error{File: c.file, Line: n.Line, Col: n.Column, Msg: fmt.Sprintf(format, args...)}
}

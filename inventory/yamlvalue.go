package inventory

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sshplay/sshplay/internal/vault"
	"github.com/sshplay/sshplay/internal/yamlx"
)

// Ansible reads YAML with PyYAML, a YAML 1.1 parser: plain yes/no/on/off are
// booleans, 0755 is octal, 1e3 (without a dot) is a string. yaml.v3 resolves
// plain scalars as YAML 1.2 does, so values are built from the node tree
// here with the YAML 1.1 rules; quoted scalars stay strings.

// readYAML parses one YAML document into its root node (nil when the file
// holds no document), under yamlx's alias rule. Syntax errors and refused
// aliases carry file and line; a cancelled ctx gives its error.
func readYAML(ctx context.Context, file string, data []byte) (*yaml.Node, error) {
	dec := yamlx.NewDecoder(ctx, file, data)
	doc, err := dec.Decode()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, readError(ctx, file, data, err)
	}
	if extra, err := dec.Decode(); err == nil {
		return nil, &Error{File: file, Line: extra.Line, Msg: "expected a single YAML document, found several"}
	} else if !errors.Is(err, io.EOF) {
		return nil, readError(ctx, file, data, err)
	}
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			return nil, nil
		}
		return doc.Content[0], nil
	}
	return doc, nil
}

// readError turns what yamlx returned into this package's *Error, leaving
// a cancelled context's error as it is.
func readError(ctx context.Context, file string, data []byte, err error) error {
	var ye *yamlx.Error
	switch {
	case errors.As(err, &ye):
		return &Error{File: ye.File, Line: ye.Line, Col: ye.Col, Msg: ye.Msg}
	case ctx.Err() != nil:
		return err
	}
	return yamlError(ctx, file, data, err)
}

// yamlError turns a yaml.v3 syntax error into an *Error placed at the
// offending token (yamlx.SyntaxError: the one rule for every YAML input).
func yamlError(ctx context.Context, file string, data []byte, err error) *Error {
	ye := yamlx.SyntaxError(ctx, file, data, err)
	return &Error{File: file, Line: ye.Line, Col: ye.Col, Msg: "yaml: " + ye.Msg}
}

func nodePos(file string, n *yaml.Node) Pos { return Pos{File: file, Line: n.Line, Col: n.Column} }

func kindName(n *yaml.Node) string {
	n = resolveAlias(n)
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if isNull(n) {
			return "null"
		}
		return fmt.Sprintf("the scalar %q", n.Value)
	}
	return "nothing"
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	n = resolveAlias(n)
	if n == nil {
		return true
	}
	if n.Kind != yaml.ScalarNode {
		return false
	}
	if n.Style&yaml.TaggedStyle != 0 {
		return n.Tag == "!!null"
	}
	if n.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return false
	}
	v, _ := resolvePlain11(n.Value)
	return v == nil
}

// valueWalk is the state of building values from one file's nodes: it
// looks at the context every few hundred nodes, so a large file stops
// promptly. How far aliases may multiply the walk was settled before it
// began, by yamlx's rule in readYAML.
type valueWalk struct {
	ctx   context.Context
	file  string
	steps int
}

// step counts one node and returns the context's error once it is
// cancelled.
func (w *valueWalk) step() error {
	if w.steps++; w.steps%256 == 0 {
		if err := w.ctx.Err(); err != nil {
			return fmt.Errorf("%s: %w", w.file, err)
		}
	}
	return nil
}

// isVault reports whether n is an ansible-vault value (!vault).
func isVault(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && (n.Tag == "!vault" || n.Tag == "!vault-encrypted")
}

// vaultValue is a `!vault` value: a *vault.Encrypted when the context says
// to keep it (vault.KeepInline: `sshplay inventory` prints it as
// ansible-inventory does, without asking for a password), else its
// plaintext, decrypted with the context's keyring; without a keyring or
// with a wrong password the load stops, so that no command ever reads
// the ciphertext as the value.
func (w *valueWalk) vaultValue(n *yaml.Node) (any, error) {
	where := fmt.Sprintf("%s:%d:%d", w.file, n.Line, n.Column)
	if vault.InlineKept(w.ctx) {
		return &vault.Encrypted{Ciphertext: n.Value, Where: where}, nil
	}
	plain, err := vault.FromContext(w.ctx).Decrypt(where, []byte(n.Value))
	if err != nil {
		return nil, err
	}
	return string(plain), nil
}

// yamlValue converts a node into Go values: nil, bool, int, float64,
// string, []any and map[string]any; a `!vault` value is a string or a
// *vault.Encrypted (valueWalk.vaultValue).
func yamlValue(file string, n *yaml.Node, w *valueWalk) (any, error) {
	return yamlValueDepth(file, n, 0, w)
}

func yamlValueDepth(file string, n *yaml.Node, depth int, w *valueWalk) (any, error) {
	if depth > 200 {
		return nil, errorf(nodePos(file, n), "YAML nested too deeply")
	}
	if err := w.step(); err != nil {
		return nil, err
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return yamlValueDepth(file, n.Content[0], depth+1, w)
	case yaml.AliasNode:
		return yamlValueDepth(file, n.Alias, depth+1, w)
	case yaml.ScalarNode:
		if isVault(n) {
			return w.vaultValue(n)
		}
		return scalarValue(file, n)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := yamlValueDepth(file, c, depth+1, w)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		out := map[string]any{}
		// Merge keys (<<) first so the mapping's own keys win.
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i]; k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
				if err := mergeInto(file, out, n.Content[i+1], depth, w); err != nil {
					return nil, err
				}
			}
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
				continue
			}
			key, err := mapKey(file, k)
			if err != nil {
				return nil, err
			}
			v, err := yamlValueDepth(file, n.Content[i+1], depth+1, w)
			if err != nil {
				return nil, err
			}
			out[key] = v
		}
		return out, nil
	}
	return nil, nil
}

func mergeInto(file string, out map[string]any, n *yaml.Node, depth int, w *valueWalk) error {
	n = resolveAlias(n)
	var srcs []*yaml.Node
	switch n.Kind {
	case yaml.MappingNode:
		srcs = []*yaml.Node{n}
	case yaml.SequenceNode:
		srcs = n.Content
	default:
		return errorf(nodePos(file, n), "merge key (<<) wants a mapping or a list of mappings, got %s", kindName(n))
	}
	// Earlier mappings in a merge list win over later ones.
	for i := len(srcs) - 1; i >= 0; i-- {
		v, err := yamlValueDepth(file, srcs[i], depth+1, w)
		if err != nil {
			return err
		}
		m, ok := v.(map[string]any)
		if !ok {
			return errorf(nodePos(file, srcs[i]), "merge key (<<) wants a mapping, got %s", kindName(srcs[i]))
		}
		for k, x := range m {
			out[k] = x
		}
	}
	return nil
}

func mapKey(file string, k *yaml.Node) (string, error) {
	k = resolveAlias(k)
	if k.Kind != yaml.ScalarNode {
		return "", errorf(nodePos(file, k), "mapping key must be a scalar, got %s", kindName(k))
	}
	v, err := scalarValue(file, k)
	if err != nil {
		return "", err
	}
	if s, ok := pyKeyString(v); ok {
		return s, nil
	}
	return k.Value, nil
}

func scalarValue(file string, n *yaml.Node) (any, error) {
	if n.Style&yaml.TaggedStyle != 0 {
		switch n.Tag {
		case "!!str", "!unsafe":
			return n.Value, nil
		case "!vault", "!vault-encrypted":
			return nil, errorf(nodePos(file, n), "an ansible-vault value cannot be a mapping key")
		case "!!int", "!!float", "!!bool", "!!null", "!!binary", "!!timestamp":
			var v any
			if err := n.Decode(&v); err != nil {
				return nil, errorf(nodePos(file, n), "%s %q: %v", n.Tag, n.Value, err)
			}
			return normalize(v), nil
		}
		return nil, errorf(nodePos(file, n), "unsupported YAML tag %s", n.Tag)
	}
	if n.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return n.Value, nil
	}
	v, _ := resolvePlain11(n.Value)
	return v, nil
}

// normalize turns what yaml.v3 Decode returns into this package's types.
func normalize(v any) any {
	switch x := v.(type) {
	case int64:
		return int(x)
	case uint64:
		return int(x)
	case []byte:
		return string(x)
	case fmt.Stringer:
		return x.String()
	}
	return v
}

var (
	reInt11   = regexp.MustCompile(`^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$`)
	reFloat11 = regexp.MustCompile(`^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*)$`)
)

// resolvePlain11 resolves a plain scalar with PyYAML's implicit resolvers.
// ok is false when the value is a plain string.
func resolvePlain11(s string) (any, bool) {
	switch s {
	case "", "~", "null", "Null", "NULL":
		return nil, true
	case "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON":
		return true, true
	case "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF":
		return false, true
	}
	if reInt11.MatchString(s) {
		if n, ok := int11(s); ok {
			return n, true
		}
		return s, false
	}
	if reFloat11.MatchString(s) {
		if f, ok := float11(s); ok {
			return f, true
		}
	}
	return s, false
}

func int11(s string) (int, bool) {
	t := strings.ReplaceAll(s, "_", "")
	sign := 1
	if t != "" && (t[0] == '-' || t[0] == '+') {
		if t[0] == '-' {
			sign = -1
		}
		t = t[1:]
	}
	var (
		n   int64
		err error
	)
	switch {
	case t == "0":
		return 0, true
	case strings.HasPrefix(t, "0b"):
		n, err = strconv.ParseInt(t[2:], 2, 64)
	case strings.HasPrefix(t, "0x"):
		n, err = strconv.ParseInt(t[2:], 16, 64)
	case t[0] == '0':
		n, err = strconv.ParseInt(t[1:], 8, 64)
	case strings.Contains(t, ":"):
		for _, part := range strings.Split(t, ":") {
			d, e := strconv.ParseInt(part, 10, 64)
			if e != nil {
				return 0, false
			}
			n = n*60 + d
		}
	default:
		n, err = strconv.ParseInt(t, 10, 64)
	}
	if err != nil {
		return 0, false
	}
	return sign * int(n), true
}

func float11(s string) (float64, bool) {
	t := strings.ReplaceAll(s, "_", "")
	if strings.Contains(t, ":") {
		sign := 1.0
		if t[0] == '-' || t[0] == '+' {
			if t[0] == '-' {
				sign = -1
			}
			t = t[1:]
		}
		var f float64
		for _, part := range strings.Split(t, ":") {
			d, err := strconv.ParseFloat(part, 64)
			if err != nil {
				return 0, false
			}
			f = f*60 + d
		}
		return sign * f, true
	}
	f, err := strconv.ParseFloat(t, 64)
	return f, err == nil
}

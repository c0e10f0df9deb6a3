package yamlx

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/sshplay/sshplay/internal/ctxtest"
)

// decodeAsYAMLv3 is what playbooks did before Value: yaml.v3's Decode into
// an `any`, then map[any]any keys written with fmt.Sprint.
func decodeAsYAMLv3(n *yaml.Node) (any, error) {
	var v any
	err := n.Decode(&v)
	return stringKeys(v), err
}

func stringKeys(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = stringKeys(e)
		}
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[fmt.Sprint(k)] = stringKeys(e)
		}
		return out
	case []any:
		for i, e := range x {
			x[i] = stringKeys(e)
		}
	}
	return v
}

func TestValueDecodesAsYAMLv3(t *testing.T) {
	t.Parallel()
	for _, src := range []string{
		"a: 1\nb: 1.5\nc: true\nd: ~\ne: hello\nf: '007'\ng: 0x1f\nh: 1e3\ni: .inf\nj: 2001-12-14\nk: yes\n",
		"- 1\n- [2, 3]\n- {x: y}\n- null\n- \"\"\n- !!str 12\n- !!binary aGVsbG8=\n- !!float 3\n- !custom thing\n",
		"1: one\ntrue: yes\n~: nothing\n1.5: x\n",
		"base: &b {x: 1, y: 2}\nother: &o {y: 20, z: 30}\nm: {<<: *b, y: 3}\nl: {<<: [*o, *b], w: 0}\n",
		"inner: &i {a: 1, <<: {a: 9, b: 2}}\nouter: {<<: *i, c: 3}\n",
		"list: &l [a, b]\ntwice: [*l, *l]\n",
		"text: |\n  line 1\n  line 2\nfolded: >\n  a\n  b\n",
		"empty: {}\nnone: []\n",
	} {
		doc, err := Parse(context.Background(), "f.yml", []byte(src))
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		want, err := decodeAsYAMLv3(doc)
		if err != nil {
			t.Fatalf("%q: yaml.v3: %v", src, err)
		}
		got, err := Value(context.Background(), "f.yml", doc)
		if err != nil {
			t.Errorf("%q: %v", src, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%q:\n got %#v\nwant %#v", src, got, want)
		}
	}
}

func TestValueRefusesWhatYAMLv3Refuses(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ src, want string }{
		{"a: 1\nb: 2\na: 3\n", `f.yml:3:1: mapping key "a" already defined at line 1`},
		{"s: &s [1]\nm: {<<: *s}\n", "f.yml:1:4: map merge requires map or sequence of maps as the value"},
		{"? [a]\n: b\n", "f.yml:1:3: invalid map key: a mapping key must be a scalar"},
		{"n: !!int abc\n", "f.yml:1:4: cannot decode !!str `abc` as a !!int"},
	} {
		doc, err := Parse(context.Background(), "f.yml", []byte(c.src))
		if err != nil {
			t.Fatalf("%q: %v", c.src, err)
		}
		if _, err := decodeAsYAMLv3(doc); err == nil {
			t.Errorf("%q: yaml.v3 accepts it", c.src)
		}
		_, err = Value(context.Background(), "f.yml", doc)
		var e *Error
		if !errors.As(err, &e) || err.Error() != c.want {
			t.Errorf("%q:\n got %v\nwant %s", c.src, err, c.want)
		}
	}
}

// TestValueOfALargeMappingStopsWhenCancelled: a mapping of 20,000 keys
// (yaml.v3 compares every pair of its keys) converts, and cancelled half
// way the conversion returns the context's error at once.
func TestValueOfALargeMappingStopsWhenCancelled(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	for i := 0; i < 20_000; i++ {
		fmt.Fprintf(&b, "v%d: %d\n", i, i)
	}
	doc, err := Parse(context.Background(), "big.yml", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	full := ctxtest.New(0)
	v, err := Value(full, "big.yml", doc)
	if err != nil || len(v.(map[string]any)) != 20_000 {
		t.Fatalf("got %d keys, %v", len(v.(map[string]any)), err)
	}
	for _, at := range ctxtest.CutPoints(full.Looks()) {
		ctx := ctxtest.New(at)
		if _, err := Value(ctx, "big.yml", doc); !errors.Is(err, context.Canceled) || ctx.Looks() != at {
			t.Errorf("cancelled at look %d of %d: %v after %d looks", at, full.Looks(), err, ctx.Looks())
		}
	}
}

// FuzzValueMatchesYAMLv3: whatever text yaml.v3 can decode, Value decodes
// to the same values, and Check always ends.
func FuzzValueMatchesYAMLv3(f *testing.F) {
	for _, seed := range []string{
		"a: 1\nb: [x, {c: ~}]\n",
		"base: &b {x: 1}\nm: {<<: *b, y: 2}\nl: [*b, *b]\n",
		"- !!binary aGk=\n- 2001-12-14\n- .nan\n- 0o17\n",
		"1: a\n01: b\ntrue: c\n",
		"a: &a [x, *a]\n",
		"l0: &l0 [x,x]\nl1: &l1 [*l0,*l0]\nl2: [*l1,*l1]\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, src string) {
		doc, err := Parse(context.Background(), "f.yml", []byte(src))
		if err != nil || doc == nil {
			return
		}
		want, err := decodeAsYAMLv3(doc)
		if err != nil {
			return
		}
		got, err := Value(context.Background(), "f.yml", doc)
		if err != nil {
			t.Fatalf("yaml.v3 decodes %q, Value fails: %v", src, err)
		}
		if g, w := fmt.Sprintf("%#v", got), fmt.Sprintf("%#v", want); g != w {
			t.Fatalf("%q:\n got %s\nwant %s", src, g, w)
		}
	})
}

package yamlx

import (
	"context"
	"errors"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/sshplay/sshplay/internal/yamlx/yamlxtest"
)

// expandedSize counts the nodes of n with every alias replaced by a copy
// of what it names, the slow way, giving up (returning limit) once the
// count reaches limit or an alias names a node it is inside of (whose
// expansion never ends): the count Check must agree with.
func expandedSize(n *yaml.Node, limit int) int {
	count := 0
	open := map[*yaml.Node]bool{} // the nodes the walk is inside of
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		switch {
		case count >= limit:
			return
		case n.Kind == yaml.AliasNode && n.Alias == nil:
			count++
			return
		case n.Kind == yaml.AliasNode && open[n.Alias]:
			count = limit
			return
		case n.Kind == yaml.AliasNode:
			walk(n.Alias)
			return
		}
		count++
		open[n] = true
		for _, c := range n.Content {
			walk(c)
		}
		delete(open, n)
	}
	walk(n)
	return min(count, limit)
}

// writtenSize counts the nodes of n as written, an alias not followed.
func writtenSize(n *yaml.Node) int {
	if n.Kind == yaml.AliasNode {
		return 0
	}
	total := 1
	for _, c := range n.Content {
		total += writtenSize(c)
	}
	return total
}

// FuzzCheckCountsWhatAliasesAdd: a document yaml.v3 reads is refused
// exactly when expanding its aliases would add more than MaxAliasNodes
// nodes to what is written (an alias inside the node it names adds
// without end), and a refusal names a line of the text.
func FuzzCheckCountsWhatAliasesAdd(f *testing.F) {
	for _, s := range []string{
		"a: 1\n", "a: &a [1, 2]\nb: [*a, *a]\n", "a: &a [x, *a]\n", yamlxtest.Laughs(4, ""), yamlxtest.Laughs(7, ""),
		"base: &b {x: 1}\nm: {<<: *b, y: 2}\n", "- &a x\n- *a\n- &a y\n- *a\n", "? &k [a]\n: *k\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
			return // not YAML: nothing to count
		}
		err := Check(context.Background(), "f.yml", &doc)
		w := writtenSize(&doc)
		grows := expandedSize(&doc, w+MaxAliasNodes+1) > w+MaxAliasNodes
		var e *Error
		switch {
		case err != nil && !errors.As(err, &e):
			t.Fatalf("Check: %T %v", err, err)
		case (err != nil) != grows:
			t.Fatalf("Check says %v, but aliases add more than %d nodes: %v", err, MaxAliasNodes, grows)
		case err != nil && (e.Line < 1 || e.Col < 1):
			t.Fatalf("refusal %v has no position", err)
		}
	})
}

package yamlx

import (
	"context"
	"fmt"

	"gopkg.in/yaml.v3"
)

// checkEvery is how many nodes the counting walk visits between two looks
// at its context: often enough to stop within a millisecond, rarely enough
// to cost nothing.
const checkEvery = 1024

// inProgress marks an anchored node whose walk has begun and not ended: an
// alias that meets it is inside it.
const inProgress = -1

// Check applies the rule to a parsed tree: aliases may add at most
// MaxAliasNodes nodes to it. Each anchored node's expanded size is
// computed once and remembered, so Check visits every written node once,
// whatever the aliases would expand to. It returns an *Error naming the
// alias that crosses the limit (or that sits inside the node it names,
// which no expansion could ever finish), or the context's error.
func Check(ctx context.Context, file string, root *yaml.Node) error {
	c := &counter{ctx: ctx, file: file, size: map[*yaml.Node]int{}}
	_, err := c.walk(root)
	return err
}

// counter is the state of one Check.
type counter struct {
	ctx   context.Context
	file  string
	size  map[*yaml.Node]int // anchored node -> expanded size, or inProgress
	added int                // nodes the aliases walked so far add
	steps int
}

// walk returns the number of nodes n stands for once every alias in it is
// expanded.
func (c *counter) walk(n *yaml.Node) (int, error) {
	if c.steps++; c.steps%checkEvery == 0 {
		if err := c.ctx.Err(); err != nil {
			return 0, fmt.Errorf("%s: %w", c.file, err)
		}
	}
	if n.Kind == yaml.AliasNode {
		return c.alias(n)
	}
	if n.Anchor != "" {
		c.size[n] = inProgress
	}
	total := 1
	for _, child := range n.Content {
		s, err := c.walk(child)
		if err != nil {
			return 0, err
		}
		total += s
	}
	if n.Anchor != "" {
		c.size[n] = total
	}
	return total, nil
}

// alias counts what an alias adds: the expanded size of the node it names.
// That node comes earlier in the stream, so it has been walked already,
// unless it belongs to an earlier document of the stream (yaml.v3 lets an
// alias reach back there); then it is walked here, and only its size
// counts, as its own aliases are not written in this document.
func (c *counter) alias(n *yaml.Node) (int, error) {
	target := n.Alias
	if target == nil {
		return 1, nil
	}
	s, walked := c.size[target]
	if walked && s == inProgress {
		return 0, c.refuse(n, "alias *%s is inside the node it names, so it never ends", n.Value)
	}
	if !walked {
		before := c.added
		var err error
		if s, err = c.walk(target); err != nil {
			return 0, err
		}
		c.added = before
	}
	c.added += s
	if c.added > MaxAliasNodes {
		return 0, c.refuse(n, "excessive aliasing: alias *%s expands the document by more than %d nodes", n.Value, MaxAliasNodes)
	}
	return s, nil
}

func (c *counter) refuse(n *yaml.Node, format string, args ...any) *Error {
	return &Error{File: c.file, Line: n.Line, Col: n.Column, Msg: fmt.Sprintf(format, args...)}
}

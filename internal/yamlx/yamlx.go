package yamlx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"gopkg.in/yaml.v3"
)

// MaxAliasNodes is how many nodes aliases may add to one document, counted
// as if every alias were replaced by a copy of what it names. No real
// input comes near it: the playbooks shipped with sshplay and the YAML
// under testdata use no alias at all, and heavy honest use, an inventory
// of 10,000 hosts that each merge (<<: *defaults) a 40-key mapping, adds
// 810,000. A billion-laughs file crosses it a few levels in, within a few
// hundred bytes. Nodes written out in full are not limited: their cost is
// paid once, in proportion to the bytes read, and a cancelled context
// stops a large file.
const MaxAliasNodes = 1_000_000

// Error is YAML that sshplay refuses: aliases that would add more than
// MaxAliasNodes nodes, or an alias inside the node it names (Line and Col
// are those of the alias); or, from Value, a value yaml.v3 would not
// decode either (a duplicate key, a bad merge, a bad explicit tag). It is
// the user's input (BadInput: exit 5).
type Error struct {
	File      string
	Line, Col int
	Msg       string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// BadInput marks the error as the user's input (sshplay exits 5).
func (e *Error) BadInput() bool { return true }

// Decoder reads the documents of one YAML stream, each checked with Check
// before it is returned.
type Decoder struct {
	ctx  context.Context
	file string
	dec  *yaml.Decoder
}

// NewDecoder reads the YAML stream data, named file in errors. The parse
// stops at the next read of input once ctx is cancelled.
func NewDecoder(ctx context.Context, file string, data []byte) *Decoder {
	r := &ctxReader{ctx: ctx, r: bytes.NewReader(data)}
	return &Decoder{ctx: ctx, file: file, dec: yaml.NewDecoder(r)}
}

// Decode returns the next document (a yaml.DocumentNode), or io.EOF when
// none is left. Other errors are yaml.v3's syntax errors, unchanged for
// the caller to place; an *Error when the document breaks the alias rule;
// or the context's error, wrapped, when ctx was cancelled.
func (d *Decoder) Decode() (*yaml.Node, error) {
	var doc yaml.Node
	if err := d.dec.Decode(&doc); err != nil {
		if cerr := d.ctx.Err(); cerr != nil {
			return nil, fmt.Errorf("%s: %w", d.file, cerr)
		}
		return nil, err
	}
	if err := Check(d.ctx, d.file, &doc); err != nil {
		return nil, err
	}
	return &doc, nil
}

// Parse returns the first document of data (a yaml.DocumentNode), or nil
// when data holds none; later documents are not read. Errors are those of
// Decoder.Decode.
func Parse(ctx context.Context, file string, data []byte) (*yaml.Node, error) {
	doc, err := NewDecoder(ctx, file, data).Decode()
	if errors.Is(err, io.EOF) {
		return nil, nil
	}
	return doc, err
}

// ctxReader gives yaml.v3 its input and fails once ctx is cancelled.
// yaml.v3 pulls input in reads of at most 512 bytes as it scans, so the
// parse of a large document notices a cancellation within one read.
type ctxReader struct {
	ctx context.Context
	r   *bytes.Reader
}

func (c *ctxReader) Read(b []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(b)
}

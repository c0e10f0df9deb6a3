package playbooks

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strings"
)

// Doc is what a playbook's header comment tells its user: one line on what
// it does, how to run it, and the variables it reads with their defaults.
// The header is the only place this is written, so that `sshplay playbooks
// show` and a reader of the YAML file see the same text; ParseDoc reads it
// rather than a second copy kept in Go, which would drift from the file.
type Doc struct {
	Name        string   // the playbook's name (its file name without .yml)
	Description string   // the header's first line, without a "NAME: " prefix
	Usage       []string // the header's example command lines ("sshplay ...")
	Variables   []DocVar // the "Variables" section, in the order written
	// Notes are the other paragraphs of the Variables section (lines at a
	// smaller indent than the entries, such as "Hosts: ..."), each joined
	// into one line.
	Notes []string
}

// DocVar is one documented variable of a playbook.
type DocVar struct {
	Name        string
	Default     string // as written: a value, or a phrase in parentheses
	Description string // its lines joined by single spaces; may be ""
}

// docEntry is the first line of a variable: `name: default  description`,
// the default ending at the first run of two or more spaces.
var docEntry = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*):(?:\s+(.*))?$`)

// ParseDoc reads the header comment of a playbook (the comment lines
// before its first other line). Its format, as postgres-tls.yml has it:
//
//	# NAME: what the playbook does (the first line is the description).
//	#
//	#   sshplay play NAME -i inventory.ini       (usage lines, indented)
//	#
//	# Variables ...:
//	#   pg_port: 5432          server port
//	#                          (continuation lines, indented further)
//	# Notes at a smaller indent end the entry above them.
//	#
//
// The Variables section runs to the next empty comment line. Errors are
// *ParseError naming file:line (bad input, exit 5): an entry that is not
// `name: default  description`, or a variable documented twice.
func ParseDoc(name string, data []byte) (Doc, error) {
	doc := Doc{Name: strings.TrimSuffix(path.Base(name), ".yml")}
	header := headerLines(string(data))
	if len(header) > 0 {
		doc.Description = strings.TrimPrefix(strings.TrimSpace(header[0]), doc.Name+": ")
	}
	for i, l := range header {
		if t := strings.TrimSpace(l); strings.HasPrefix(t, "sshplay ") && indentOf(l) > 1 {
			doc.Usage = append(doc.Usage, t)
		}
		if strings.HasPrefix(strings.TrimSpace(l), "Variables") && indentOf(l) <= 1 {
			if err := doc.parseVars(name, header, i+1); err != nil {
				return Doc{}, err
			}
			break
		}
	}
	return doc, nil
}

// headerLines returns the text after "#" of each leading comment line.
func headerLines(src string) []string {
	var out []string
	for _, l := range strings.Split(src, "\n") {
		l = strings.TrimRight(l, " \t\r")
		if !strings.HasPrefix(l, "#") {
			break
		}
		out = append(out, strings.TrimPrefix(l, "#"))
	}
	return out
}

// indentOf counts the spaces a header line starts with.
func indentOf(l string) int { return len(l) - len(strings.TrimLeft(l, " ")) }

// parseVars reads the Variables section from header[start] (0-based; the
// file's line is start+1) to the next empty comment line. The first line
// shaped like an entry sets the entries' indent; a line indented less is a
// note, and a line indented more continues the entry or note above it.
func (doc *Doc) parseVars(file string, header []string, start int) error {
	var (
		indent = -1
		cur    *string // the text continuation lines add to
		seen   = map[string]int{}
	)
	for i := start; i < len(header) && strings.TrimSpace(header[i]) != ""; i++ {
		l, line := header[i], i+1
		in, text := indentOf(l), strings.TrimSpace(l)
		if indent < 0 && in > 1 && docEntry.MatchString(text) {
			indent = in
		}
		deeper := in > indent // than the entries; than a note before them
		if indent < 0 {
			deeper = in > 1
		}
		switch {
		case deeper && cur != nil:
			*cur = strings.TrimSpace(*cur + " " + text)
		case deeper:
			return &ParseError{File: file, Line: line, Col: in + 2, Msg: "variables: continuation line with nothing above it"}
		case in < indent || indent < 0:
			doc.Notes = append(doc.Notes, text)
			cur = &doc.Notes[len(doc.Notes)-1]
		default:
			v, err := parseDocEntry(file, line, in, text)
			if err != nil {
				return err
			}
			if prev, dup := seen[v.Name]; dup {
				return &ParseError{File: file, Line: line, Col: in + 2, Msg: fmt.Sprintf("variables: %s documented twice (first at line %d)", v.Name, prev)}
			}
			seen[v.Name] = line
			doc.Variables = append(doc.Variables, v)
			cur = &doc.Variables[len(doc.Variables)-1].Description
		}
	}
	return nil
}

// parseDocEntry reads `name: default  description` on line (1-based).
func parseDocEntry(file string, line, indent int, text string) (DocVar, error) {
	m := docEntry.FindStringSubmatch(text)
	if m == nil {
		return DocVar{}, &ParseError{File: file, Line: line, Col: indent + 2, Msg: fmt.Sprintf("variables: want \"name: default  description\", got %q", text)}
	}
	v := DocVar{Name: m[1]}
	rest := m[2]
	if gap := strings.Index(rest, "  "); gap >= 0 {
		v.Default, v.Description = rest[:gap], strings.TrimSpace(rest[gap:])
	} else {
		v.Default = rest
	}
	return v, nil
}

// EmbeddedDoc is ParseDoc of the shipped playbook NAME (or NAME.yml); an
// error wrapping fs.ErrNotExist when sshplay ships no such playbook.
func EmbeddedDoc(name string) (Doc, error) {
	data, err := EmbeddedSource(name)
	if err != nil {
		return Doc{}, err
	}
	return ParseDoc(strings.TrimSuffix(name, ".yml")+".yml", data)
}

// EmbeddedSource returns the YAML of the shipped playbook NAME (or
// NAME.yml); an error wrapping fs.ErrNotExist when there is none.
func EmbeddedSource(name string) ([]byte, error) {
	base := strings.TrimSuffix(name, ".yml")
	if base == "" || strings.ContainsAny(base, "/\\") {
		return nil, fmt.Errorf("playbook %q: %w", name, fs.ErrNotExist)
	}
	data, err := fs.ReadFile(Embedded, base+".yml")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("playbook %q is not shipped with sshplay: %w", name, fs.ErrNotExist)
	}
	return data, err
}

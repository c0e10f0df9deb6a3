package inventory

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sshplay/sshplay/internal/vault"
	"github.com/sshplay/sshplay/internal/yamlx"
)

// ignoredExts are the file endings Ansible skips in an inventory directory:
// the default of INVENTORY_IGNORE_EXTS, REJECT_EXTS + ('.orig', '.ini',
// '.cfg', '.retry') as ansible-core's config/base.yml documents it. So
// `-i DIR` reads DIR/hosts and DIR/hosts.yml but not DIR/hosts.ini (which
// `-i DIR/hosts.ini` still reads).
var ignoredExts = []string{".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md", ".txt", ".rst", ".orig", ".ini", ".cfg", ".retry"}

// Load reads the given inventory sources, in order, as ansible -i does. A
// source is an INI or YAML/JSON file, a directory (every file in it, in
// name order, recursively, skipping hidden files, backups and group_vars/
// host_vars), or a comma-separated host list such as "db1,db2:2222,".
// group_vars/ and host_vars/ beside each file source (inside each directory
// source) are read too.
func Load(paths []string) (*Inventory, error) {
	return LoadContext(context.Background(), paths)
}

// LoadContext is Load that stops, with ctx's error, once ctx is cancelled:
// a large inventory must not hold off Ctrl-C.
func LoadContext(ctx context.Context, paths []string) (*Inventory, error) {
	if len(paths) == 0 {
		return nil, &Error{Msg: "no inventory given"}
	}
	inv := newInventory()
	for _, p := range paths {
		if p == "" {
			return nil, &Error{Msg: "empty inventory path"}
		}
		inv.sources = append(inv.sources, p)
		st, err := os.Stat(p)
		switch {
		case err != nil && strings.Contains(p, ",") && errors.Is(err, fs.ErrNotExist):
			if err := inv.parseHostList(p); err != nil {
				return nil, err
			}
			continue
		case err != nil:
			if errors.Is(err, fs.ErrNotExist) {
				return nil, &Error{File: p, Msg: "no such inventory file or directory"}
			}
			return nil, fmt.Errorf("inventory %s: %w", p, err)
		case st.IsDir():
			if err := inv.loadDir(ctx, p); err != nil {
				return nil, err
			}
			inv.varDirs = append(inv.varDirs, varDir{base: p})
		default:
			if err := inv.loadFile(ctx, p); err != nil {
				return nil, err
			}
			inv.varDirs = append(inv.varDirs, varDir{base: filepath.Dir(p)})
		}
	}
	inv.reconcile()
	if err := inv.loadVarFiles(ctx); err != nil {
		return nil, err
	}
	return inv, nil
}

// parseHostList reads an -i "a,b:2222," list into ungrouped.
func (inv *Inventory) parseHostList(list string) error {
	ung := inv.groupByName["ungrouped"]
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		host, port, ok := parseAddress(item)
		if !ok {
			host, port = item, 0
		}
		inv.addHost(host, Pos{File: list}, ung, port)
	}
	return nil
}

func ignoredName(name string) bool {
	if strings.HasPrefix(name, ".") || name == "group_vars" || name == "host_vars" || name == "vars_plugins" {
		return true
	}
	for _, ext := range ignoredExts {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

func (inv *Inventory) loadDir(ctx context.Context, dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("inventory directory %s: %w", dir, err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if !ignoredName(e.Name()) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("inventory %s: %w", dir, err)
		}
		p := filepath.Join(dir, name)
		st, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("inventory %s: %w", p, err)
		}
		if st.IsDir() {
			err = inv.loadDir(ctx, p)
		} else {
			err = inv.loadFile(ctx, p)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Format is how an inventory file is read.
type Format int

const (
	// FormatINI is Ansible's INI inventory.
	FormatINI Format = iota
	// FormatYAML is Ansible's YAML inventory (JSON is read as YAML).
	FormatYAML
)

func (f Format) String() string {
	if f == FormatYAML {
		return "yaml"
	}
	return "ini"
}

// DetectFormat picks the parser for a file: .yml, .yaml and .json are YAML,
// .ini is INI; anything else is YAML when its content is a YAML mapping
// (as Ansible's yaml plugin accepts files without an extension), else INI.
// A mapping that breaks the YAML alias rule is YAML too, so that the YAML
// reader, not the INI one, refuses it.
func DetectFormat(name string, data []byte) Format {
	return detectFormat(context.Background(), name, data)
}

// detectFormat is DetectFormat whose parse stops once ctx is cancelled;
// its answer is then meaningless and the caller must look at ctx.
func detectFormat(ctx context.Context, name string, data []byte) Format {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yml", ".yaml", ".json":
		return FormatYAML
	case ".ini":
		return FormatINI
	}
	doc, err := yamlx.Parse(ctx, name, data)
	var ye *yamlx.Error
	if errors.As(err, &ye) {
		return FormatYAML
	}
	if err == nil && doc != nil && len(doc.Content) == 1 && doc.Content[0].Kind == yaml.MappingNode {
		return FormatYAML
	}
	return FormatINI
}

func (inv *Inventory) loadFile(ctx context.Context, p string) error {
	data, err := os.ReadFile(p)
	if err != nil {
		return fmt.Errorf("inventory %s: %w", p, err)
	}
	if data, err = vault.DecryptFile(ctx, p, data); err != nil {
		return err
	}
	format := detectFormat(ctx, p, data)
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("inventory %s: %w", p, err)
	}
	if format == FormatYAML {
		return inv.parseYAMLInventory(ctx, p, data)
	}
	err = inv.parseINI(p, data)
	if err != nil && bytes.HasPrefix(data, []byte("#!")) {
		var e *Error
		if errors.As(err, &e) {
			e.Msg += " (executable inventory scripts are not supported)"
		}
	}
	return err
}

package playbooks

import (
	"context"
	"embed"
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
	"github.com/sshplay/sshplay/tasks"
)

// Embedded holds the playbooks shipped inside the sshplay binary (the *.yml
// files of this folder, and their templates/ and files/ folders if any).
//
//go:embed *.yml
var Embedded embed.FS

// EmbeddedNames lists the shipped playbooks (without .yml).
func EmbeddedNames() []string {
	ents, _ := fs.ReadDir(Embedded, ".")
	var out []string
	for _, e := range ents {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".yml") {
			out = append(out, strings.TrimSuffix(e.Name(), ".yml"))
		}
	}
	sort.Strings(out)
	return out
}

// Load finds and parses a playbook whose tasks may use the modules of
// mods: a file path first; then, when no such file exists, NAME or
// NAME.yml among the embedded playbooks.
func Load(mods *tasks.Registry, name string) (*Playbook, error) {
	return LoadContext(context.Background(), mods, name)
}

// LoadOptions say where a playbook's roles are found.
type LoadOptions struct {
	// RolesPath are folders searched for roles after the playbook's
	// roles/ and own folder, and before ~/.ansible/roles,
	// /usr/share/ansible/roles and /etc/ansible/roles (ansible.cfg
	// roles_path, ANSIBLE_ROLES_PATH).
	RolesPath []string
}

// LoadContext is Load that stops, with ctx's error, once ctx is cancelled.
func LoadContext(ctx context.Context, mods *tasks.Registry, name string) (*Playbook, error) {
	return LoadWith(ctx, mods, name, LoadOptions{})
}

// LoadWith is LoadContext with roles also looked for in lo.RolesPath.
func LoadWith(ctx context.Context, mods *tasks.Registry, name string, lo LoadOptions) (*Playbook, error) {
	if _, err := os.Stat(name); err == nil {
		return loadFileWith(ctx, mods, name, lo)
	}
	base := strings.TrimSuffix(name, ".yml")
	if !strings.ContainsAny(base, "/\\") {
		file := base + ".yml"
		if data, err := fs.ReadFile(Embedded, file); err == nil {
			pb, err := parseWith(ctx, mods, "embedded:"+file, data, lo)
			if err != nil {
				return nil, err
			}
			pb.FS = Embedded
			pb.Dir = "."
			if err := pb.checkVarsFiles(ctx); err != nil {
				return nil, err
			}
			return pb, nil
		}
	}
	msg := "playbook not found"
	if names := EmbeddedNames(); len(names) > 0 {
		msg += fmt.Sprintf(" (no such file; shipped playbooks: %s)", strings.Join(names, ", "))
	}
	return nil, &ParseError{File: name, Msg: msg}
}

// parseYAML reads the first YAML document of data under yamlx's alias rule
// and returns its root node (nil when there is none). Errors are
// *ParseError with the file's position, or ctx's error once cancelled.
func parseYAML(ctx context.Context, name string, data []byte) (*yaml.Node, error) {
	doc, err := yamlx.Parse(ctx, name, data)
	var ye *yamlx.Error
	switch {
	case errors.As(err, &ye):
		return nil, &ParseError{File: ye.File, Line: ye.Line, Col: ye.Col, Msg: ye.Msg}
	case err != nil && ctx.Err() != nil:
		return nil, err
	case err != nil:
		return nil, yamlError(ctx, name, data, err)
	case doc == nil || len(doc.Content) == 0:
		return nil, nil
	}
	return doc.Content[0], nil
}

// decodeVars reads a YAML mapping of variables for the engine, which reads
// vars_files when a play starts (a templated name is known only then).
// Static entries have been read once already, with the load's context, by
// checkVarsFiles. The run's vault keyring decrypts what is encrypted.
func (r *runner) decodeVars(name string, data []byte) (map[string]any, error) {
	return readVars(vault.NewContext(context.Background(), r.opts.Vault), name, data)
}

// readVars reads a YAML mapping of variables: a vars_files or include_vars
// file, -e @file or an inline -e mapping. A file encrypted whole with
// ansible-vault is decrypted with the keyring ctx carries, and its values
// are then secrets (masked in output).
func readVars(ctx context.Context, name string, data []byte) (map[string]any, error) {
	encrypted := vault.IsEncrypted(data)
	data, err := vault.DecryptFile(ctx, name, data)
	if err != nil {
		return nil, err
	}
	m, err := decodeVarsFile(ctx, name, data)
	if err == nil && encrypted {
		vault.FromContext(ctx).RememberLeaves(m)
	}
	return m, err
}

// decodeVarsFile decodes the YAML mapping of a vars file.
func decodeVarsFile(ctx context.Context, name string, data []byte) (map[string]any, error) {
	root, err := parseYAML(ctx, name, data)
	if err != nil {
		return nil, err
	}
	if root == nil {
		return map[string]any{}, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, &ParseError{File: name, Line: root.Line, Col: root.Column, Msg: "a vars file must be a mapping of variables, got " + kindName(root)}
	}
	v, err := yamlx.Value(ctx, name, root)
	var ye *yamlx.Error
	if errors.As(err, &ye) {
		return nil, &ParseError{File: ye.File, Line: ye.Line, Col: ye.Col, Msg: ye.Msg}
	}
	if err != nil {
		return nil, err
	}
	return v.(map[string]any), nil
}

// ParseExtraVars reads one -e value: k=v pairs, a JSON/YAML mapping, or
// @file (YAML or JSON).
func ParseExtraVars(arg string) (map[string]any, error) {
	return ParseExtraVarsContext(context.Background(), arg)
}

// ParseExtraVarsContext is ParseExtraVars that stops reading a YAML file
// or mapping, with ctx's error, once ctx is cancelled.
func ParseExtraVarsContext(ctx context.Context, arg string) (map[string]any, error) {
	arg = strings.TrimSpace(arg)
	switch {
	case strings.HasPrefix(arg, "@"):
		file := arg[1:]
		data, err := os.ReadFile(file)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, &ParseError{File: file, Msg: "extra vars file not found"}
			}
			return nil, fmt.Errorf("extra vars %s: %w", file, err)
		}
		return readVars(ctx, file, data)
	case strings.HasPrefix(arg, "{"):
		return readVars(ctx, "-e", []byte(arg))
	}
	kv, err := ParseKV(arg, nil)
	if err != nil || len(kv) == 0 {
		return nil, &ParseError{File: "-e", Msg: fmt.Sprintf("want k=v, a JSON/YAML mapping or @file, got %q", arg)}
	}
	return kv, nil
}

// readSource reads a YAML file of the playbook's language (an imported
// playbook, a tasks, handlers or meta file) and decrypts it when it was
// encrypted whole with ansible-vault, as Ansible's loader does, so that
// positions in later errors refer to the plaintext. The keyring is the
// one ctx carries; without one, vault data is an error naming the file,
// never parsed as text. The plaintext is code, not a value: it is not
// masked.
func readSource(ctx context.Context, file string) ([]byte, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return vault.DecryptFile(ctx, file, data)
}

// sourceError is the error of readSource for file: a vault error as it is
// (it names the file and the vault ids tried), else what failed reading
// it.
func sourceError(file, what string, err error) error {
	if isVaultError(err) {
		return err
	}
	return &ParseError{File: file, Msg: fmt.Sprintf("%s: %v", what, unwrapPathErr(err))}
}

// isVaultError reports vault data that could not be decrypted.
func isVaultError(err error) bool {
	var ve *vault.Error
	return errors.As(err, &ve)
}

// loadFileWith reads and parses a playbook from the disk, with its roles
// found as lo says, and reads the group_vars/ and host_vars/ next to it.
func loadFileWith(ctx context.Context, mods *tasks.Registry, path string, lo LoadOptions) (*Playbook, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &ParseError{File: path, Msg: "playbook not found"}
		}
		return nil, fmt.Errorf("read playbook %s: %w", path, err)
	}
	if data, err = vault.DecryptFile(ctx, path, data); err != nil {
		return nil, err
	}
	pb, err := parseWith(ctx, mods, path, data, lo)
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("playbook %s: %w", path, err)
	}
	pb.Dir = abs
	if err := pb.checkVarsFiles(ctx); err != nil {
		return nil, err
	}
	if pb.GroupVars, err = readVarsDir(ctx, filepath.Join(abs, "group_vars")); err != nil {
		return nil, err
	}
	if pb.HostVars, err = readVarsDir(ctx, filepath.Join(abs, "host_vars")); err != nil {
		return nil, err
	}
	return pb, nil
}

package playbooks

// Roles, read when the playbook is loaded as Ansible reads them: found in
// the roles path, their tasks, handlers, defaults, vars and meta
// dependencies read from their folder, and each turned into a block whose
// tasks see the role's variables (inherit.roles).

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// loadState is what a parse knows beyond the file at hand: where the
// playbook is, where roles are looked for, the role being read, the roles
// a play has taken in and the handlers they bring.
type loadState struct {
	pbDir     string
	rolesPath []string
	role      *Role
	handlers  []*Task
	imported  map[*Task]bool // blocks made by import_tasks
	dynamic   bool           // reading a file included at run time
	depth     int
	// playRoles are the roles of the play whose variables every task of
	// it sees (Play.Roles).
	playRoles []*Role
}

// maxIncludeDepth stops a file that imports itself.
const maxIncludeDepth = 64

func newLoadState(name string, lo LoadOptions) *loadState {
	dir := filepath.Dir(name)
	if strings.HasPrefix(name, "embedded:") {
		dir = ""
	}
	return &loadState{pbDir: dir, rolesPath: lo.RolesPath, imported: map[*Task]bool{}}
}

// sub is a parser for another file (an included tasks file, a role's
// file), sharing the load state, with role the role it belongs to.
func (p *parser) sub(file string, role *Role) *parser {
	ls := *p.load
	ls.role = role
	ls.depth++
	q := &parser{ctx: p.ctx, mods: p.mods, file: file, tpl: p.tpl, walked: map[*yaml.Node]bool{}, load: &ls}
	return q
}

// adopt takes a sub-parser's error and the handlers it collected.
func (p *parser) adopt(q *parser) {
	if q.err != nil && p.err == nil {
		p.err = q.err
	}
	p.load.handlers = q.load.handlers
}

// roleDirs are the folders a role is looked for in, in Ansible's order:
// roles/ next to the playbook, the roles path (when none is configured,
// ~/.ansible/roles, /usr/share/ansible/roles, /etc/ansible/roles), then
// the playbook's own folder. Inside a role, its sibling roles come
// right after roles/.
func (ls *loadState) roleDirs() []string {
	dirs := []string{filepath.Join(ls.pbDir, "roles")}
	if ls.role != nil {
		dirs = append(dirs, filepath.Dir(ls.role.Path))
	}
	if len(ls.rolesPath) > 0 {
		dirs = append(dirs, ls.rolesPath...)
	} else {
		if home, err := os.UserHomeDir(); err == nil {
			dirs = append(dirs, filepath.Join(home, ".ansible", "roles"))
		}
		dirs = append(dirs, "/usr/share/ansible/roles", "/etc/ansible/roles")
	}
	return append(dirs, ls.pbDir)
}

// findRole is the folder of the role name (a name, or a path), or an
// error listing where it was looked for.
func (ls *loadState) findRole(name string) (string, error) {
	if ls.pbDir == "" {
		return "", errors.New("roles are not supported in a playbook shipped inside sshplay")
	}
	if filepath.IsAbs(name) {
		if isDir(name) {
			return name, nil
		}
		return "", fmt.Errorf("role %q not found", name)
	}
	dirs := ls.roleDirs()
	for _, d := range dirs {
		if p := filepath.Join(d, name); isDir(p) {
			return filepath.Abs(p)
		}
	}
	return "", fmt.Errorf("role %q not found in %s", name, strings.Join(dirs, ", "))
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// roleFile is a role's SUB/NAME file (main by default): NAME, NAME.yml,
// NAME.yaml or NAME.json; "" when there is none.
func roleFile(role *Role, sub, name string) string {
	if name == "" {
		name = "main"
	}
	base := filepath.Join(role.Path, sub, name)
	for _, ext := range []string{"", ".yml", ".yaml", ".json"} {
		if st, err := os.Stat(base + ext); err == nil && !st.IsDir() {
			return base + ext
		}
	}
	if st, err := os.Stat(base); err == nil && st.IsDir() && name == "main" {
		if fs := varsDirFiles(base); len(fs) > 0 {
			return base
		}
	}
	return ""
}

// roleVars reads a role's defaults/ or vars/ file (main, or from), or
// the files of its main/ folder.
func (p *parser) roleVars(role *Role, sub, from string, at *yaml.Node) map[string]any {
	f := roleFile(role, sub, from)
	if f == "" {
		if from != "" {
			p.fail(at, "role %q: %s file %q not found in %s", role.Name, sub, from, filepath.Join(role.Path, sub))
		}
		return map[string]any{}
	}
	var m map[string]any
	var err error
	if isDir(f) {
		m, err = readVarsName(p.ctx, f)
	} else if data, rerr := os.ReadFile(f); rerr != nil {
		err = rerr
	} else {
		m, err = readVars(p.ctx, f, data)
	}
	if err != nil && p.err == nil {
		p.err = err
	}
	return m
}

// roleUse is one use of a role: its name, where it is written, its
// parameters and the files it reads instead of main.
type roleUse struct {
	name   string
	at     *yaml.Node
	params map[string]any
	from   map[string]string
	dedup  bool // roles: and dependencies run once per parameters
	// private keeps the role's variables to its own tasks
	// (include_role).
	private bool
}

// loadRole reads a role for one use: its meta dependencies (blocks of
// their own, before it), then the block of its tasks. Its handlers join
// the play's.
func (p *parser) loadRole(u roleUse) []*Task {
	if p.load.depth > maxIncludeDepth {
		p.fail(u.at, "role %q: roles nested too deep (a dependency cycle?)", u.name)
		return nil
	}
	path, err := p.load.findRole(u.name)
	if err != nil {
		p.fail(u.at, "%v", err)
		return nil
	}
	role := &Role{Name: filepath.Base(u.name), Path: path, Params: u.params}
	deps, allowDup := p.roleMeta(role, u.at)
	if u.dedup && !allowDup {
		role.once = path + "\x00" + paramsKey(u.params)
	}
	role.Defaults = p.roleVars(role, "defaults", u.from["defaults_from"], u.at)
	role.Vars = p.roleVars(role, "vars", u.from["vars_from"], u.at)
	out := deps
	tasks := p.roleTasks(role, "tasks", u.from["tasks_from"], u.at, false)
	handlers := p.roleTasks(role, "handlers", u.from["handlers_from"], u.at, true)
	if p.err != nil {
		return nil
	}
	if tasks == nil {
		tasks = []*Task{}
	}
	block := &Task{Pos: p.pos(u.at), Name: role.Name, Block: tasks, Role: role}
	for _, h := range handlers {
		h.parents = append([]*Task{block}, h.parents...)
	}
	p.load.handlers = append(p.load.handlers, handlers...)
	if !u.private {
		p.load.playRoles = append(p.load.playRoles, role)
	}
	return append(out, block)
}

// paramsKey is a role's parameters as a key (two uses with equal
// parameters are one).
func paramsKey(m map[string]any) string {
	b, _ := json.Marshal(m)
	return string(b)
}

// roleTasks reads a role's tasks/ or handlers/ file; every task in it is
// shown under the role's name.
func (p *parser) roleTasks(role *Role, sub, from string, at *yaml.Node, handlers bool) []*Task {
	f := roleFile(role, sub, from)
	if f == "" {
		if from != "" {
			p.fail(at, "role %q: %s file %q not found in %s", role.Name, sub, from, filepath.Join(role.Path, sub))
		}
		return nil
	}
	ts := p.tasksFile(f, role, handlers)
	for _, t := range allTasks(ts) {
		if t.RoleName == "" {
			t.RoleName = role.Name
		}
	}
	return ts
}

// tasksFile reads a file of tasks (or handlers) written in role (nil:
// none); errors name that file.
func (p *parser) tasksFile(f string, role *Role, handlers bool) []*Task {
	data, err := readSource(p.ctx, f)
	if err != nil {
		if p.err == nil {
			p.err = sourceError(f, "read tasks file", err)
		}
		return nil
	}
	q := p.sub(f, role)
	root, err := parseYAML(p.ctx, f, data)
	if err != nil {
		if p.err == nil {
			p.err = err
		}
		return nil
	}
	if root == nil {
		return nil
	}
	what := "a tasks file"
	if handlers {
		what = "a handlers file"
	}
	ts := q.taskList(root, what, handlers)
	p.adopt(q)
	return ts
}

func unwrapPathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// roleMeta reads meta/main.yml: the dependencies (each read as a roles:
// entry) and allow_duplicates.
func (p *parser) roleMeta(role *Role, at *yaml.Node) (deps []*Task, allowDup bool) {
	f := roleFile(role, "meta", "")
	if f == "" {
		return nil, false
	}
	data, err := readSource(p.ctx, f)
	if err != nil {
		if isVaultError(err) && p.err == nil {
			p.err = err
		} else {
			p.fail(at, "role %q: %v", role.Name, err)
		}
		return nil, false
	}
	root, err := parseYAML(p.ctx, f, data)
	if err != nil || root == nil || root.Kind != yaml.MappingNode {
		if err != nil && p.err == nil {
			p.err = err
		}
		return nil, false
	}
	q := p.sub(f, role)
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], resolveAlias(root.Content[i+1])
		switch k.Value {
		case "allow_duplicates":
			allowDup = q.boolean(v, "allow_duplicates")
		case "dependencies":
			if v.Kind == yaml.SequenceNode {
				for _, e := range v.Content {
					deps = append(deps, q.roleEntry(e)...)
				}
			}
		}
	}
	p.adopt(q)
	return deps, allowDup
}

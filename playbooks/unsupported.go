package playbooks

// Constructs of Ansible that sshplay does not implement yet, reported all
// at once: a playbook written for Ansible often uses several, and one
// error per run would make the user discover them one by one.

import (
	"errors"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sshplay/sshplay/playbooks/template"
)

// ansibleModules are modules of ansible-core 2.14 (ansible.builtin) and
// the most used ones of community.general, ansible.posix and
// community.postgresql: a task naming one that the registry lacks is
// "not supported yet", never a misspelling with a wrong "did you mean".
var ansibleModules = func() map[string]bool {
	m := map[string]bool{}
	for _, n := range ansibleModuleNames {
		m[n] = true
	}
	return m
}()

// ansibleModuleNames is the list ansibleModules is made of.
var ansibleModuleNames = []string{
	// ansible.builtin
	"add_host", "apt", "apt_key", "apt_repository", "assemble", "assert", "async_status", "blockinfile",
	"command", "copy", "cron", "debconf", "debug", "dnf", "dpkg_selections", "expect", "fail", "fetch",
	"file", "find", "gather_facts", "get_url", "getent", "git", "group", "group_by", "hostname",
	"import_playbook", "import_role", "import_tasks", "include_role", "include_tasks", "include_vars",
	"iptables", "known_hosts", "lineinfile", "meta", "package", "package_facts", "pause", "ping", "pip",
	"raw", "reboot", "replace", "rpm_key", "script", "service", "service_facts", "set_fact", "set_stats",
	"setup", "shell", "slurp", "stat", "subversion", "systemd", "systemd_service", "sysvinit", "tempfile",
	"template", "unarchive", "uri", "user", "validate_argument_spec", "wait_for", "wait_for_connection",
	"yum", "yum_repository",
	// ansible.posix
	"acl", "at", "authorized_key", "firewalld", "mount", "patch", "seboolean", "selinux", "synchronize",
	"sysctl",
	// community.general
	"alternatives", "archive", "capabilities", "cronvar", "filesystem", "git_config", "htpasswd", "ini_file",
	"interfaces_file", "locale_gen", "lvg", "lvol", "make", "modprobe", "nmcli", "npm", "openssl_privatekey",
	"pam_limits", "parted", "pids", "pipx", "snap", "timezone", "ufw", "xml", "zypper", "homebrew", "pacman",
	"apk", "flatpak", "gem", "sudoers", "ssh_config", "syslogger", "mail", "slack", "docker_container",
	"seport", "sefcontext", "selogin", "apache2_module", "composer", "supervisorctl", "java_cert",
	// community.mysql, community.docker
	"mysql_db", "mysql_user", "mysql_variables", "docker_image", "docker_network", "docker_volume",
	"docker_compose", "docker_compose_v2",
	// community.postgresql
	"postgresql_db", "postgresql_user", "postgresql_privs", "postgresql_query", "postgresql_ext",
	"postgresql_pg_hba", "postgresql_set", "postgresql_schema", "postgresql_slot", "postgresql_info",
	"postgresql_membership", "postgresql_owner", "postgresql_publication", "postgresql_subscription",
	"postgresql_tablespace", "postgresql_script",
}

// isAnsibleModule reports whether name (short or with its collection) is
// one of ansibleModules. Any other collection.namespace.module name is
// one too (it is certainly no typo of a keyword), except an
// ansible.builtin name that Ansible does not have: that is a typo.
func isAnsibleModule(name string) bool {
	if ansibleModules[CanonicalModule(name)] {
		return true
	}
	if strings.HasPrefix(name, "ansible.builtin.") || strings.HasPrefix(name, "ansible.legacy.") {
		return false
	}
	return strings.Count(name, ".") == 2 && !strings.ContainsAny(name, " {}")
}

// ParseErrors is several parse errors of one playbook, in file order.
type ParseErrors []*ParseError

func (e ParseErrors) Error() string {
	lines := make([]string, len(e))
	for i, pe := range e {
		lines[i] = pe.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap gives each *ParseError to errors.As and errors.Is.
func (e ParseErrors) Unwrap() []error {
	out := make([]error, len(e))
	for i, pe := range e {
		out[i] = pe
	}
	return out
}

// BadInput marks the errors as the user's input (exit code 5).
func (e ParseErrors) BadInput() bool { return true }

// withUnsupported is the parse's error, joined by every other construct
// of the playbook that is not supported yet, so that one run lists them
// all.
func (p *parser) withUnsupported(root *yaml.Node) error {
	var first *ParseError
	if !errors.As(p.err, &first) {
		return p.err
	}
	found := p.scanUnsupported(root)
	if len(found) == 0 {
		return p.err
	}
	if !slices.ContainsFunc(found, func(e *ParseError) bool {
		return e.File == first.File && e.Line == first.Line && e.Col == first.Col
	}) {
		found = append(found, first)
	}
	sort.SliceStable(found, func(i, j int) bool {
		a, b := found[i], found[j]
		if fa, fb := absName(a.File), absName(b.File); fa != fb {
			return fa < fb
		}
		return a.Line < b.Line || a.Line == b.Line && a.Col < b.Col
	})
	if len(found) == 1 {
		return found[0]
	}
	return ParseErrors(found)
}

// scanUnsupported walks the plays of root, and the files they load
// statically (unsupported_imports.go), for what sshplay does not
// implement yet: Ansible modules the registry lacks, keywords named in
// unsupportedKeys, and filters or tests of other collections.
func (p *parser) scanUnsupported(root *yaml.Node) []*ParseError {
	if root == nil || root.Kind != yaml.SequenceNode {
		return nil
	}
	p.scan = &unsupportedScan{seen: map[string]bool{p.file: true}}
	for _, play := range root.Content {
		p.scanMapping(resolveAlias(play), playKeys, p.adder())
	}
	return p.scan.found
}

// taskSections are the keys whose value is a list of tasks.
var taskSections = map[string]bool{"tasks": true, "pre_tasks": true, "post_tasks": true, "handlers": true,
	"block": true, "rescue": true, "always": true}

// scanMapping looks at one play or task: its keys, its templates, and the
// task lists under it.
func (p *parser) scanMapping(n *yaml.Node, keywords []string, add func(*yaml.Node, string, ...any)) {
	if n == nil || n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolveAlias(n.Content[i+1])
		p.scanFollow(k, v, keywords)
		switch {
		case taskSections[k.Value] && v.Kind == yaml.SequenceNode:
			for _, t := range v.Content {
				p.scanMapping(resolveAlias(t), taskKeys, add)
			}
			continue
		case slices.Contains(keywords, k.Value) || taskSections[k.Value]:
		case unsupportedKeys[k.Value] != "":
			add(k, "%s", unsupportedKeys[k.Value])
			continue
		case !p.lookupModule(k.Value) && isAnsibleModule(k.Value) && !slices.Equal(keywords, playKeys) && includeKind(k.Value) == "":
			add(k, "not supported yet: module %q", k.Value)
			continue
		}
		p.scanTemplates(v, exprKeys[k.Value], add)
	}
}

// exprKeys hold bare expressions rather than templates.
var exprKeys = map[string]bool{"when": true, "changed_when": true, "failed_when": true, "until": true, "that": true}

// scanTemplates reports the filters and tests of other collections used
// in the templates of a value.
func (p *parser) scanTemplates(n *yaml.Node, expr bool, add func(*yaml.Node, string, ...any)) {
	n = resolveAlias(n)
	if n == nil {
		return
	}
	if n.Kind == yaml.ScalarNode {
		var ue *template.UnsupportedNameError
		if err := p.tpl.CheckNames(n.Value, expr && !template.IsTemplate(n.Value)); errors.As(err, &ue) {
			add(n, "%v", ue)
		}
		return
	}
	for i, c := range n.Content {
		// that: of assert is a list of expressions; keys are no templates
		if n.Kind == yaml.MappingNode && i%2 == 0 {
			continue
		}
		p.scanTemplates(c, expr || n.Kind == yaml.MappingNode && exprKeys[n.Content[i-1].Value], add)
	}
}

// absName is a file's absolute name, so that a role's files (found as
// absolute paths) sort among the playbook's relative ones by place.
func absName(f string) string {
	if a, err := filepath.Abs(f); err == nil {
		return a
	}
	return f
}

package lab

// The files a client needs: known_hosts, pgpass, the become password of
// BecomePasswordUser and the Ansible inventory in INI and YAML form.

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
)

func (l *Lab) writeClientFiles() error {
	pw, err := readPassword(pwFile)
	if err != nil {
		return fmt.Errorf("lab: %s: %w", BecomePasswordUser, err)
	}
	var kh, pp strings.Builder
	for _, h := range l.Hosts {
		fmt.Fprintf(&kh, "%s %s\n", h.Addr, h.HostKeyPub)
		fmt.Fprintf(&pp, "%s:%d:*:%s:%s\n", h.Addr, h.PGPort, PGUser, h.PGPassword)
	}
	for _, f := range []struct {
		path string
		body string
		mode fs.FileMode
	}{
		{l.KnownHostsFile(), kh.String(), 0o644},
		{l.PassFile(), pp.String(), 0o600},
		{l.BecomePasswordFile(), pw + "\n", 0o600},
		{l.InventoryINI(), l.inventoryINI(), 0o644},
		{l.InventoryYAML(), l.inventoryYAML(), 0o644},
	} {
		if err := writeFileAtomic(f.path, []byte(f.body), f.mode); err != nil {
			return fmt.Errorf("lab: write %s: %w", filepath.Base(f.path), err)
		}
	}
	return nil
}

// groupVars are the [all:vars] of the inventory, in order.
func (l *Lab) groupVars() [][2]string {
	return [][2]string{
		{"ansible_user", LoginUser},
		{"ansible_ssh_private_key_file", l.KeyFile()},
		{"ansible_ssh_common_args", "-o UserKnownHostsFile=" + l.KnownHostsFile() + " -o StrictHostKeyChecking=yes"},
		{"pg_passfile", l.PassFile()},
		{"pg_user", PGUser},
	}
}

func (l *Lab) layoutGroups() [][2]any {
	var deb, rhel []string
	for _, h := range l.Hosts {
		if h.Layout == LayoutDebian {
			deb = append(deb, h.Name)
		} else {
			rhel = append(rhel, h.Name)
		}
	}
	return [][2]any{{LayoutDebian, deb}, {LayoutRHEL, rhel}}
}

const inventoryHeader = "# sshplay lab inventory, written by `sshplay lab up` (rewritten on every up).\n"

func (l *Lab) inventoryINI() string {
	var b strings.Builder
	b.WriteString(inventoryHeader)
	b.WriteString("[dbservers]\n")
	for _, h := range l.Hosts {
		fmt.Fprintf(&b, "%s ansible_host=%s pg_host=%s pg_socket_dir=%s\n", h.Name, h.Addr, h.Addr, h.SocketDir)
	}
	for _, g := range l.layoutGroups() {
		fmt.Fprintf(&b, "\n[%s]\n", g[0])
		for _, n := range g[1].([]string) {
			b.WriteString(n + "\n")
		}
	}
	b.WriteString("\n[all:vars]\n")
	for _, kv := range l.groupVars() {
		v := kv[1]
		if strings.ContainsAny(v, " \t") {
			v = "'" + v + "'"
		}
		fmt.Fprintf(&b, "%s=%s\n", kv[0], v)
	}
	return b.String()
}

func (l *Lab) inventoryYAML() string {
	var b strings.Builder
	b.WriteString(inventoryHeader)
	b.WriteString("all:\n  vars:\n")
	for _, kv := range l.groupVars() {
		fmt.Fprintf(&b, "    %s: %s\n", kv[0], yamlString(kv[1]))
	}
	b.WriteString("  children:\n    dbservers:\n      hosts:\n")
	for _, h := range l.Hosts {
		fmt.Fprintf(&b, "        %s:\n          ansible_host: %s\n          pg_host: %s\n          pg_socket_dir: %s\n", h.Name, yamlString(h.Addr), yamlString(h.Addr), yamlString(h.SocketDir))
	}
	for _, g := range l.layoutGroups() {
		names := g[1].([]string)
		if len(names) == 0 {
			fmt.Fprintf(&b, "    %s: {}\n", g[0])
			continue
		}
		fmt.Fprintf(&b, "    %s:\n      hosts:\n", g[0])
		for _, n := range names {
			fmt.Fprintf(&b, "        %s:\n", n)
		}
	}
	return b.String()
}

// yamlString quotes s as a YAML double-quoted scalar (JSON strings are).
func yamlString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

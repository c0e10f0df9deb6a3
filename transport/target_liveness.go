package transport

// target_liveness.go reads the settings that decide how long sshplay waits
// on a host and how often it tries again: the keepalive (ServerAliveInterval,
// ServerAliveCountMax) and the connection retries (ansible_ssh_retries,
// ConnectionAttempts). Like the rest of target.go it never connects.

import (
	"fmt"
	"strconv"
	"strings"
)

// keepaliveFrom sets t's keepalive from ServerAliveInterval and
// ServerAliveCountMax (ssh options in the inventory first, then
// ssh_config), else 15 s × 3. ServerAliveInterval=0 turns it off.
func (t *Target) keepaliveFrom(args *sshArgs, cfg *sshConfig, alias string) error {
	t.KeepaliveInterval, t.KeepaliveCountMax = defaultKeepaliveInterval, defaultKeepaliveCountMax
	if v, src, ok := sshOption(args, cfg, alias, "ServerAliveInterval"); ok {
		d, err := parseSeconds(v)
		if err != nil {
			return fmt.Errorf("%s: %w", src, err)
		}
		t.KeepaliveInterval = d
	}
	if v, src, ok := sshOption(args, cfg, alias, "ServerAliveCountMax"); ok {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 0 {
			return fmt.Errorf("%s: invalid count %q", src, v)
		}
		t.KeepaliveCountMax = max(n, 1)
	}
	return nil
}

// retriesFrom sets t.Retries: sshplay_ssh_retries / ansible_ssh_retries,
// else ssh's ConnectionAttempts (attempts, so one more than retries; ssh
// options first, then ssh_config), else def (--retries). Ansible's ssh
// connection plugin defaults to 0 (reconnection_retries, "default: 0" in
// lib/ansible/plugins/connection/ssh.py), and so does sshplay.
func (t *Target) retriesFrom(vars map[string]any, args *sshArgs, cfg *sshConfig, alias string, def int) error {
	t.Retries = def
	if v, ok := varString(vars, "sshplay_ssh_retries", "ansible_ssh_retries"); ok && v != "" {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 0 {
			return fmt.Errorf("ansible_ssh_retries: invalid count %q", v)
		}
		t.Retries = n
		return nil
	}
	if v, src, ok := sshOption(args, cfg, alias, "ConnectionAttempts"); ok {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 {
			return fmt.Errorf("%s: invalid count %q", src, v)
		}
		t.Retries = n - 1
	}
	return nil
}

// sshOption looks an ssh option up in the inventory's ssh args, then in
// ssh_config; src says where it was found, for error messages.
func sshOption(args *sshArgs, cfg *sshConfig, alias, key string) (val, src string, ok bool) {
	if v, ok := args.get(strings.ToLower(key)); ok {
		return v, "ssh option " + key, true
	}
	if v := cfg.get(alias, key); v != "" {
		return v, "ssh_config " + key + " for " + alias, true
	}
	return "", "", false
}

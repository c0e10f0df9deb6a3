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
func (t *Target) keepaliveFrom(in *targetInput) error {
	t.KeepaliveInterval, t.KeepaliveCountMax = defaultKeepaliveInterval, defaultKeepaliveCountMax
	if err := parsed(in, nil, "ServerAliveInterval", parseSeconds, &t.KeepaliveInterval); err != nil {
		return err
	}
	if err := parsed(in, nil, "ServerAliveCountMax", countAtLeast(0), &t.KeepaliveCountMax); err != nil {
		return err
	}
	t.KeepaliveCountMax = max(t.KeepaliveCountMax, 1)
	return nil
}

// retriesFrom sets t.Retries: sshplay_ssh_retries / ansible_ssh_retries,
// else ssh's ConnectionAttempts (attempts, so one more than retries; ssh
// options first, then ssh_config), else --retries. Ansible's ssh
// connection plugin defaults to 0 (reconnection_retries, "default: 0" in
// lib/ansible/plugins/connection/ssh.py), and so does sshplay.
func (t *Target) retriesFrom(in *targetInput) error {
	t.Retries = in.ov.Retries
	if _, _, ok := lookupVar(in.vars, retriesVars...); ok {
		return parsed(in, retriesVars, "", countAtLeast(0), &t.Retries)
	}
	attempts := 0
	if err := parsed(in, nil, "ConnectionAttempts", countAtLeast(1), &attempts); err != nil || attempts == 0 {
		return err
	}
	t.Retries = attempts - 1
	return nil
}

// countAtLeast reads a whole number no smaller than least.
func countAtLeast(least int) func(string) (int, error) {
	return func(s string) (int, error) {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < least {
			return 0, fmt.Errorf("invalid count %q", s)
		}
		return n, nil
	}
}

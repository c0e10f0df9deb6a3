// Package secret holds the one rule that decides, from its name alone,
// whether a variable's value is secret. Every output that masks secrets
// (the engine's results, diffs and trace; `sshplay inventory --list/--host`)
// asks IsSecretName, so a name is masked everywhere or nowhere.
//
// secret must never see or store a value: it judges names only. It must
// never grow a second, looser rule (matching "pass" anywhere would mask
// "compass" and "passive"); change IsSecretName and its table test instead.
package secret

import "strings"

// secretWords make a name secret wherever they appear in it.
var secretWords = []string{"password", "passwd", "passphrase", "secret", "token"}

// whereSuffixes end names whose value says where something is kept, not
// what it is: pg_password_file, vault_password_file, api_token_path,
// secrets_dir.
var whereSuffixes = []string{"_file", "_files", "_path", "_paths", "_dir", "_dirs"}

// IsSecretName reports whether a variable or mapping key name says its
// value is secret. Case is ignored. A name is secret when it contains
// password, passwd, passphrase, secret or token (ansible_password,
// PGPASSWORD, ssh_passphrase, client_secret, api_token), or when it is
// exactly "pass" or ends in "_pass" (ansible_ssh_pass, ansible_become_pass,
// db_pass). "pass" elsewhere in a name does not count: pg_passfile,
// passive and compass are not secret.
//
// A name ending in _file, _path or _dir (or their plurals) is never
// secret, whatever else it contains: its value is a path
// (pg_password_file: /etc/postgresql/pw), and a masked path hides from
// the user which file a task read or wrote, while the file's content,
// when it is read into a secret-named variable, is still masked.
func IsSecretName(name string) bool {
	n := strings.ToLower(name)
	for _, s := range whereSuffixes {
		if strings.HasSuffix(n, s) {
			return false
		}
	}
	for _, w := range secretWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return n == "pass" || strings.HasSuffix(n, "_pass")
}

// Package inventory reads Ansible inventories, unchanged: INI and YAML files,
// directories of them, comma-separated host lists, and the group_vars/ and
// host_vars/ directories beside them. It merges variables with Ansible's
// precedence, selects hosts with Ansible's host patterns and prints the
// shapes of `ansible-inventory --list`, `--graph` and `--host`.
//
// An *Inventory is immutable once Load returns and is safe for concurrent
// use. Every host and group remembers the file:line that defined it; every
// parse error names one (*Error). Bad user input (parse errors, patterns
// that match no host) reports BadInput() == true.
//
// inventory never touches the network, never runs inventory scripts or
// plugins and never imports cobra or viper. It decrypts vault data only
// with the keyring its context carries (internal/vault), and never reads
// vault text as a value: a `!vault` value it cannot decrypt stops the load,
// unless the context asks to keep it encrypted (vault.KeepInline), as a
// *vault.Encrypted printed as ansible-inventory prints it.
package inventory

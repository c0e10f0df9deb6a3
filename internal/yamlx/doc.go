// Package yamlx is the one place sshplay turns YAML text into a yaml.Node
// tree: playbooks, vars_files, include_vars files, -e @file and inline -e
// mappings, inventories, group_vars and host_vars, the from_yaml filter and
// sshplay.yaml all come through Parse or a Decoder.
//
// It exists for one rule, kept here so every input obeys the same one: a
// document may grow through aliases by at most MaxAliasNodes nodes, counted
// on the tree before anything walks it or decodes it into Go values. A
// "billion laughs" (a: &a [x,x,...]; b: &b [*a,*a,...]; ...) is a few
// hundred bytes that expand to hundreds of millions of nodes; every later
// walk (template checks, value conversion, the engine's variable rendering)
// would pay for each of them, without any point at which a signal is
// noticed. Counting with each anchored node's size remembered keeps the
// count itself linear in the text.
//
// Parsing honours its context: input reaches yaml.v3 through a reader that
// fails once the context is cancelled, and the counting walk checks it too,
// so Ctrl-C stops the parse of a large file promptly.
//
// Value turns a tree into Go values in yaml.v3's dialect (playbooks, vars
// files, -e, from_yaml), in linear time and honouring the context, where
// yaml.v3's own Decode is quadratic in a mapping's size and deaf to
// signals. Inventories keep their own YAML 1.1 conversion. A `!vault`
// value becomes its plaintext, decrypted with the keyring the context
// carries (internal/vault); one that cannot be decrypted is an error,
// never its ciphertext read as text.
//
// SyntaxError places a yaml.v3 syntax error at the offending token, where
// PyYAML (and so Ansible) would: yaml.v3 names only a line, often that of
// the block the bad token breaks, which for an indentation mistake is
// lines away from it. Pinned against PyYAML's answers recorded under
// testdata/syntax.
//
// yamlx never formats errors beyond its own *Error (callers turn it into
// theirs) and never reads files: callers read the bytes and name them.
package yamlx

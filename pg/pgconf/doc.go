// Package pgconf reads and edits postgresql.conf (and postgresql.auto.conf)
// text the way PostgreSQL parses it: "name = value" with the "=" optional,
// case-insensitive names, values bare or in single quotes (a quote doubled, backslash
// escapes), "#" comments, and include / include_if_exists / include_dir
// directives.
//
// Edits are surgical: comments, blank lines, ordering and the layout of
// untouched lines are kept byte for byte, so the diff shown to the user is
// exactly the lines that change. The last active occurrence of a setting is
// the one PostgreSQL applies, so that is the one Set edits.
//
// pgconf works on bytes only. It never reads or writes files, never follows
// include directives (Includes lists them for the caller) and never decides
// whether a change needs a reload or a restart (ask pg_settings.context).
package pgconf

package lab

// What MakeStandby and AddClientCertUser add to a host besides files: pg_hba
// records and roles. Both are recorded so that Reset can take them away
// again and leave the host as Up created it.

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// hbaTCPTypes are the pg_hba record types that match TCP connections.
var hbaTCPTypes = []string{"host", "hostssl", "hostnossl", "hostgssenc", "hostnogssenc"}

// hbaRecord formats a pg_hba record in the columns of the lab's pg_hba.conf.
func hbaRecord(typ, db, user, addr, method string) string {
	return fmt.Sprintf("%-7s %-15s %-15s %-23s %s", typ, db, user, addr, method)
}

// insertHBA returns hba with record placed before its first TCP record (so
// that no broader host line matches first), or appended when there is
// none. It reports false, and returns hba as it is, when an identical
// record is already there.
func insertHBA(hba, record string) (string, bool) {
	want := strings.Fields(record)
	lines := strings.Split(hba, "\n")
	at := -1
	for i, line := range lines {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if slices.Equal(f, want) {
			return hba, false
		}
		if at < 0 && slices.Contains(hbaTCPTypes, f[0]) {
			at = i
		}
	}
	if at < 0 {
		hba = strings.TrimRight(hba, "\n")
		if hba != "" {
			hba += "\n"
		}
		return hba + record + "\n", true
	}
	lines = slices.Insert(lines, at, record)
	return strings.Join(lines, "\n"), true
}

// addHBARecord puts record into the host's live pg_hba.conf (see insertHBA),
// keeping the file's mode and giving it to postgres. It reports whether the
// file changed; the caller reloads.
func addHBARecord(h *Host, record string) (bool, error) {
	b, err := os.ReadFile(h.HBAFile)
	if err != nil {
		return false, fmt.Errorf("host %s: %w", h.Name, err)
	}
	hba, changed := insertHBA(string(b), record)
	if !changed {
		return false, nil
	}
	fi, err := os.Stat(h.HBAFile)
	if err != nil {
		return false, fmt.Errorf("host %s: %w", h.Name, err)
	}
	uid, gid := pgIDs()
	if err := writeOwned(h.HBAFile, []byte(hba), fi.Mode().Perm(), uid, gid); err != nil {
		return false, fmt.Errorf("host %s: pg_hba.conf: %w", h.Name, err)
	}
	return true, nil
}

// roleName is what the lab accepts as a role name: a plain lower-case SQL
// identifier, so it needs no quoting in SQL, pg_hba.conf or a certificate
// subject, and file names made from it are safe.
var roleName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// rolesFile lists, one per line, the roles the lab created in a host's
// cluster after Up (the replication role, client-certificate users).
func rolesFile(p hostPaths) string { return filepath.Join(p.root, "lab_roles") }

// recordRole adds role to the host's rolesFile.
func recordRole(p hostPaths, role string) error {
	roles, err := labRoles(p)
	if err != nil {
		return err
	}
	if slices.Contains(roles, role) {
		return nil
	}
	return writeFileAtomic(rolesFile(p), []byte(strings.Join(append(roles, role), "\n")+"\n"), 0o600)
}

// labRoles reads the host's rolesFile; none is an empty list.
func labRoles(p hostPaths) ([]string, error) {
	b, err := os.ReadFile(rolesFile(p))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return strings.Fields(string(b)), nil
}

// dropLabRoles drops the roles of the host's rolesFile from its (running)
// cluster and forgets them. Only roles the lab created are touched.
func dropLabRoles(ctx context.Context, h *Host, p hostPaths) error {
	roles, err := labRoles(p)
	if err != nil {
		return fmt.Errorf("host %s: %w", h.Name, err)
	}
	if len(roles) > 0 {
		var sql strings.Builder
		for _, r := range roles {
			if !roleName.MatchString(r) {
				return fmt.Errorf("host %s: %s: bad role name %q", h.Name, rolesFile(p), r)
			}
			fmt.Fprintf(&sql, "DROP ROLE IF EXISTS \"%s\";\n", r)
		}
		if _, err := psqlSecret(ctx, h, p, sql.String(), ""); err != nil {
			return err
		}
	}
	return removeIfExists(rolesFile(p))
}

func removeIfExists(path string) error {
	if err := os.RemoveAll(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

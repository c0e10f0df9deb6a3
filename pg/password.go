package pg

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// ResolvePassword finds the password of user for addr:port/db. get returns
// a variable's value ("" when unset). Order: pg_password, pg_password_file
// (the whole file is the password), pg_passfile (pgpass format), then
// PGPASSWORD and PGPASSFILE from the environment. "" with no error means no
// password is known (the server may not need one).
func ResolvePassword(get func(name string) string, addr string, port int, db, user string) (string, error) {
	if pw := get("pg_password"); pw != "" {
		return pw, nil
	}
	if file := get("pg_password_file"); file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("pg_password_file: %w", err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	passfile := get("pg_passfile")
	if passfile == "" {
		if pw := os.Getenv("PGPASSWORD"); pw != "" {
			return pw, nil
		}
		passfile = os.Getenv("PGPASSFILE")
	}
	if passfile == "" {
		return "", nil
	}
	fh, err := os.Open(passfile)
	if err != nil {
		return "", fmt.Errorf("pg_passfile: %w", err)
	}
	defer fh.Close()
	entries, err := ParsePassfile(fh)
	if err != nil {
		return "", fmt.Errorf("pg_passfile %s: %w", passfile, err)
	}
	pw, _ := LookupPassword(entries, addr, strconv.Itoa(port), db, user)
	return pw, nil
}

package pg

// trust.go decides where the control machine keeps the CA and the CSRs by
// default, and which root certificate clients trust, from a host's
// variables. The pg_tls_key/tls_sign/pg_tls_verify modules and `sshplay pg
// status` both use it, so they can never disagree on the trust anchor. It
// only reads local files; it never creates a CA.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sshplay/sshplay/pki"
)

// InventoryDir is where the CA and CSR folders go by default: the directory
// of the first -i source (sshplay_inventory_dir, the same for every host,
// so that a second inventory does not get a CA of its own), else the host's
// inventory_dir, else the directory of inventory_file, else ".". get looks a
// variable up ("" when unset).
func InventoryDir(get func(name string) string) string {
	if d := get("sshplay_inventory_dir"); d != "" {
		return d
	}
	if d := get("inventory_dir"); d != "" {
		return d
	}
	if f := get("inventory_file"); f != "" {
		return filepath.Dir(f)
	}
	return "."
}

// CADir is the control machine's CA directory: tls_ca_dir, default pki/ in
// InventoryDir. It is the only place that default is decided: the
// playbook's modules, `sshplay pg status` and `sshplay ca` (through
// FleetCADir) all ask it, so `sshplay ca init -i INV` makes the CA that
// `sshplay play -i INV` then signs with.
func CADir(get func(name string) string) string {
	if d := get("tls_ca_dir"); d != "" {
		return d
	}
	return filepath.Join(InventoryDir(get), "pki")
}

// FleetCADir is CADir for a command that acts for a whole inventory at once
// (sshplay ca init|show|sign): the CA directory of every host, which must
// be the same one. With no host it is CADir of an inventory in invDir (the
// inventory's sshplay_inventory_dir; "" when there is no inventory, which
// makes it pki/ in the working directory). Hosts that disagree, or a
// tls_ca_dir holding a template (only a play renders templates), are an
// *InputError: only the caller can say which directory is meant.
func FleetCADir(invDir string, hosts []StatusHost) (string, error) {
	if len(hosts) == 0 {
		return CADir(func(name string) string {
			if name == "sshplay_inventory_dir" {
				return invDir
			}
			return ""
		}), nil
	}
	dir, from := "", ""
	for _, h := range hosts {
		d := CADir(VarLookup(h.Vars))
		if strings.Contains(d, "{{") || strings.Contains(d, "{%") {
			return "", &InputError{Host: h.Name, Msg: fmt.Sprintf("tls_ca_dir holds a template (%s), which only a play renders", d)}
		}
		switch {
		case from == "":
			dir, from = d, h.Name
		case filepath.Clean(d) != filepath.Clean(dir):
			return "", &InputError{Host: h.Name, Msg: fmt.Sprintf("CA directory %s differs from host %s's %s (one CA needs one tls_ca_dir for every host)", d, from, dir)}
		}
	}
	return dir, nil
}

// ResolveCADir is the one CA-directory rule of every sshplay command that
// needs the control machine's CA (sshplay ca, sshplay play's postgres-tls
// modules, sshplay pg status), in order:
//
//  1. flag (--ca-dir) when given;
//  2. else tls_ca_dir, when the inventory sets it for the selected hosts:
//     every host must then name the same directory (FleetCADir), since one
//     run works with one CA; hosts that disagree, or a tls_ca_dir holding a
//     template outside a play, are an *InputError naming both hosts, and the
//     user narrows the hosts (PATTERN, -l) or gives --ca-dir;
//  3. else, with an inventory (-i), pki/ beside its first source (invDir,
//     the inventory's sshplay_inventory_dir);
//  4. else pki/ in the working directory (invDir "" and no host).
//
// Per host, steps 2 and 3 are CADir, which the playbook's modules apply; a
// play's --ca-dir reaches them as the tls_ca_dir extra variable, which beats
// every inventory and play value.
func ResolveCADir(flag, invDir string, hosts []StatusHost) (string, error) {
	if flag != "" {
		return flag, nil
	}
	return FleetCADir(invDir, hosts)
}

// CSRDir is where CSRs go out to an external CA and its answers come back:
// tls_csr_dir, default csr/ in InventoryDir.
func CSRDir(get func(name string) string) string {
	if d := get("tls_csr_dir"); d != "" {
		return d
	}
	return filepath.Join(InventoryDir(get), "csr")
}

// ExternalCA reports whether tls_ca_mode is external.
func ExternalCA(get func(name string) string) bool {
	return strings.EqualFold(get("tls_ca_mode"), "external")
}

// TrustDir is the directory whose root.crt clients trust: CSRDir in
// external mode, else CADir.
func TrustDir(get func(name string) string) string {
	if ExternalCA(get) {
		return CSRDir(get)
	}
	return CADir(get)
}

// VarLookup looks variables up in vars with VarString.
func VarLookup(vars map[string]any) func(name string) string {
	return func(name string) string { return VarString(vars, name) }
}

// TrustOverride is what the command line says about the trust anchor. The
// zero value means: from the host's variables.
type TrustOverride struct {
	// RootFile is a root certificate file (--root); it wins over CADir.
	RootFile string
	// CADir is a directory holding root.crt (--ca-dir).
	CADir string
}

// RootFor returns the root certificate (PEM) clients verify a host against:
// o.RootFile, else o.CADir/root.crt, else TrustDir(vars)/root.crt.
func RootFor(vars map[string]any, o TrustOverride) ([]byte, error) {
	if o.RootFile != "" {
		b, err := os.ReadFile(o.RootFile)
		if err != nil {
			return nil, fmt.Errorf("read root certificate: %w", err)
		}
		return b, nil
	}
	dir := o.CADir
	if dir == "" {
		dir = TrustDir(VarLookup(vars))
	}
	return pki.ReadRoot(dir)
}

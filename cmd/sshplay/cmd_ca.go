package main

// sshplay ca: manage the certificate authority kept on the control machine
// (package pki). Wiring only.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sshplay/sshplay/inventory"
	"github.com/sshplay/sshplay/pg"
	"github.com/sshplay/sshplay/pki"
	"github.com/sshplay/sshplay/playbooks"
)

// caDirHelp says where the CA is when --ca-dir is not given.
const caDirHelp = "CA directory (default: tls_ca_dir when the inventory sets one for every host, else pki/ beside the first -i source; ./pki without -i)"

// playCADirHelp is the help of play's --ca-dir (see playCADir).
const playCADirHelp = "CA directory of the postgres-tls modules: sets tls_ca_dir for every host (default: tls_ca_dir, which must agree across the play's hosts, else pki/ beside the first -i source)"

// addCADirFlag registers --ca-dir on a ca command, and --dir, its former
// name, as a deprecated alias (cobra prints a notice when it is used).
func addCADirFlag(f *pflag.FlagSet, dir *string) {
	f.StringVar(dir, "ca-dir", "", caDirHelp)
	f.StringVar(dir, "dir", "", caDirHelp)
	_ = f.MarkDeprecated("dir", "use --ca-dir")
}

// caDirFor applies the one CA-directory rule (pg.ResolveCADir) for a
// command: flag is --ca-dir, inv the -i inventory (nil without -i), hosts
// those the command works on. Hosts whose tls_ca_dir disagree are bad
// input (exit 5) that says how to choose.
func caDirFor(flag string, inv *inventory.Inventory, hosts []*inventory.Host) (string, error) {
	invDir := ""
	var fleet []pg.StatusHost
	if inv != nil {
		invDir = inv.Dir()
		for _, h := range hosts {
			fleet = append(fleet, pg.StatusHost{Name: h.Name, Vars: inv.HostVars(h.Name)})
		}
	}
	d, err := pg.ResolveCADir(flag, invDir, fleet)
	if err != nil {
		return "", fmt.Errorf("CA directory: %w; narrow the hosts (PATTERN, -l) or give --ca-dir", err)
	}
	return d, nil
}

// caDirectory is the CA directory a `sshplay ca` command works on: the
// rule of caDirFor over every host of the -i inventory narrowed by --limit.
func caDirectory(ctx context.Context, g *globals, dir string) (string, error) {
	if dir != "" || len(g.Inventories) == 0 {
		return caDirFor(dir, nil, nil)
	}
	if ctx == nil {
		ctx = context.Background() // cobra's Execute without a context
	}
	inv, err := inventory.LoadContext(ctx, g.Inventories)
	if err != nil {
		return "", fmt.Errorf("inventory: %w", err)
	}
	hosts, err := inv.Limit(inv.Hosts(), g.Limit)
	if err != nil {
		return "", err
	}
	return caDirFor("", inv, hosts)
}

// openCA opens the CA a `sshplay ca` command reads (see caDirectory).
func openCA(ctx context.Context, g *globals, dir string) (*pki.CA, error) {
	d, err := caDirectory(ctx, g, dir)
	if err != nil {
		return nil, err
	}
	return pki.Open(d)
}

func newCACommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ca",
		Short: "Manage the certificate authority sshplay keeps on this machine",
		Example: "  sshplay ca init -i inventory.ini --intermediate   # pki/ beside the inventory\n" +
			"  sshplay ca show -i inventory.ini\n" +
			"  sshplay ca sign --csr db01.csr --san db01.example.com --san IP:10.0.4.11 --out db01.crt",
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newCAInitCommand(g), newCAShowCommand(g), newCASignCommand(g))
	return cmd
}

// caInitOptions are the flags of `sshplay ca init`.
type caInitOptions struct {
	Dir          string
	Intermediate bool
	KeyType      string
	CommonName   string
	Days         int
}

func (o *caInitOptions) AddFlags(f *pflag.FlagSet) {
	addCADirFlag(f, &o.Dir)
	f.BoolVar(&o.Intermediate, "intermediate", false, "also create an intermediate CA that signs server certificates")
	f.StringVar(&o.KeyType, "key-type", pki.KeyECDSAP256, "key type: "+strings.Join(pki.KeyTypes, "|"))
	f.StringVar(&o.CommonName, "cn", "", "common name of the root (default \"sshplay root CA\")")
	f.IntVar(&o.Days, "days", pki.DefaultCADays, "validity of the CA certificates in days")
}

func newCAInitCommand(g *globals) *cobra.Command {
	var o caInitOptions
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create the CA (an existing CA is loaded, never overwritten)",
		Example: "  sshplay ca init -i inventory.ini --intermediate   # pki/ beside the inventory\n" +
			"  sshplay ca init --ca-dir /etc/sshplay/pki --cn 'Example Corp DB root' --days 3650",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runCAInit(cmd.Context(), g, o)
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

func runCAInit(ctx context.Context, g *globals, o caInitOptions) error {
	if o.Days < 1 {
		return usageError{fmt.Errorf("--days: must be at least 1, got %d", o.Days)}
	}
	if !validCAKeyType(o.KeyType) {
		return usageError{fmt.Errorf("--key-type: want one of %s, got %q", strings.Join(pki.KeyTypes, ", "), o.KeyType)}
	}
	dir, err := caDirectory(ctx, g, o.Dir)
	if err != nil {
		return err
	}
	ca, err := pki.Init(dir, pki.InitOptions{Intermediate: o.Intermediate, KeyType: o.KeyType, CommonName: o.CommonName, Days: o.Days})
	if err != nil {
		return err
	}
	return printCA(g.Stdout, ca)
}

func validCAKeyType(t string) bool {
	for _, k := range pki.KeyTypes {
		if k == t {
			return true
		}
	}
	return false
}

// caShowOptions are the flags of `sshplay ca show`.
type caShowOptions struct {
	Dir    string
	Output string
}

func (o *caShowOptions) AddFlags(f *pflag.FlagSet) {
	addCADirFlag(f, &o.Dir)
	f.StringVar(&o.Output, "output", outputText, outputHelp+" (json: one sshplay.ca/v1 document)")
}

func newCAShowCommand(g *globals) *cobra.Command {
	var o caShowOptions
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Show the CA certificates: subjects, expiry, fingerprints",
		Example: "  sshplay ca show -i inventory.ini\n" +
			"  sshplay ca show --ca-dir /etc/sshplay/pki",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runCAShow(cmd.Context(), g, o)
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

func runCAShow(ctx context.Context, g *globals, o caShowOptions) error {
	if err := checkOutput(o.Output); err != nil {
		return err
	}
	ca, err := openCA(ctx, g, o.Dir)
	if err != nil {
		return err
	}
	if o.Output == outputJSON {
		doc, err := newCADoc(ca)
		if err != nil {
			return err
		}
		return writeJSON(g.Stdout, doc)
	}
	return printCA(g.Stdout, ca)
}

func printCA(w io.Writer, ca *pki.CA) error {
	fmt.Fprintf(w, "CA directory %s\n", ca.Dir())
	blocks := []struct {
		label string
		pem   []byte
	}{{"root", ca.RootPEM()}}
	if ca.HasIntermediate() {
		blocks = append(blocks, struct {
			label string
			pem   []byte
		}{"intermediate", ca.ChainPEM()})
	}
	for _, b := range blocks {
		info, err := pki.CertInfo(b.pem)
		if err != nil {
			return fmt.Errorf("%s certificate: %w", b.label, err)
		}
		fmt.Fprintf(w, "%s:\n  subject:   %s\n  issuer:    %s\n  key:       %s\n  not after: %s (%d days left)\n  sha256:    %s\n",
			b.label, info.Subject, info.Issuer, info.KeyAlgo,
			info.NotAfter.UTC().Format(time.RFC3339), int(time.Until(info.NotAfter).Hours()/24), info.SHA256)
	}
	return nil
}

// caSignOptions are the flags of `sshplay ca sign`.
type caSignOptions struct {
	Dir  string
	CSR  string
	SANs []string
	CN   string
	Days int
	Out  string
}

func (o *caSignOptions) AddFlags(f *pflag.FlagSet) {
	addCADirFlag(f, &o.Dir)
	f.StringVar(&o.CSR, "csr", "", "certificate request to sign (PEM); only its public key is used")
	f.StringArrayVar(&o.SANs, "san", nil, "subjectAltName: DNS:name, IP:addr or a bare name/address (repeatable, comma lists allowed)")
	f.StringVar(&o.CN, "cn", "", "subject common name (default: first SAN)")
	f.IntVar(&o.Days, "days", pki.DefaultLeafDays, "validity in days")
	f.StringVar(&o.Out, "out", "", "write the certificate (leaf then intermediates) here; - for stdout")
}

func newCASignCommand(g *globals) *cobra.Command {
	var o caSignOptions
	cmd := &cobra.Command{
		Use:   "sign",
		Short: "Sign a CSR by hand with the names given on the command line",
		Example: "  sshplay ca sign -i inventory.ini --csr db01.csr --san db01.example.com --out db01.crt\n" +
			"  sshplay ca sign --ca-dir pki --csr app.csr --san DNS:app.example.com,IP:10.0.4.7 --cn app --days 90 --out -",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runCASign(cmd.Context(), g, o)
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

func runCASign(ctx context.Context, g *globals, o caSignOptions) error {
	if o.CSR == "" || o.Out == "" || len(o.SANs) == 0 {
		return usageError{errors.New("ca sign: --csr, --san and --out are required")}
	}
	if o.Days < 1 {
		return usageError{fmt.Errorf("--days: must be at least 1, got %d", o.Days)}
	}
	var vals []string
	for _, s := range o.SANs {
		for _, v := range strings.Split(s, ",") {
			if v = strings.TrimSpace(v); v != "" {
				vals = append(vals, v)
			}
		}
	}
	dns, ips, err := pki.ClassifySANs(vals)
	if err != nil {
		return usageError{fmt.Errorf("--san: %w", err)}
	}
	csr, err := os.ReadFile(o.CSR)
	if err != nil {
		return usageError{fmt.Errorf("--csr: %w", err)}
	}
	ca, err := openCA(ctx, g, o.Dir)
	if err != nil {
		return err
	}
	leaf, err := ca.Sign(csr, pki.SignRequest{DNSNames: dns, IPs: ips, CommonName: o.CN, Days: o.Days})
	if err != nil {
		if errors.Is(err, pki.ErrBadCSR) {
			return usageError{fmt.Errorf("%s: %w", o.CSR, err)}
		}
		return err
	}
	bundle := append(leaf, ca.ChainPEM()...)
	w := g.Stdout
	if o.Out == "-" {
		_, err := w.Write(bundle)
		return err
	}
	if err := os.WriteFile(o.Out, bundle, 0o644); err != nil {
		return fmt.Errorf("ca sign: %w", err)
	}
	info, err := pki.CertInfo(leaf)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "wrote %s: %s, not after %s, sha256 %s\n", o.Out, info.Subject, info.NotAfter.UTC().Format(time.RFC3339), info.SHA256)
	return nil
}

// caModule reports whether a playbook module reads the control machine's
// CA directory (tls_ca_dir): the plays that use one are held to the rule.
func caModule(name string) bool {
	switch name {
	case "pg_tls_key", "tls_sign", "pg_tls_sign", "pg_replication", "pg_tls_verify":
		return true
	}
	return false
}

// playCADir applies the CA-directory rule to `sshplay play`: with --ca-dir
// (flag) it sets the tls_ca_dir extra variable, the highest precedence, so
// every module of every host uses DIR (-e tls_ca_dir naming another
// directory is refused). Without it, the hosts of the plays that use a CA
// module must agree on tls_ca_dir, as for `sshplay ca` and `pg status`;
// the modules then compute the same directory per host (pg.CADir). A
// tls_ca_dir holding a template is left to the engine, which renders it.
func playCADir(inv *inventory.Inventory, pbs []*playbooks.Playbook, g *globals, flag string, extra map[string]any) error {
	if flag != "" {
		if v, ok := extra["tls_ca_dir"]; ok && fmt.Sprint(v) != flag {
			return usageError{fmt.Errorf("--ca-dir %s and -e tls_ca_dir=%v disagree: give one", flag, v)}
		}
		extra["tls_ca_dir"] = flag
		return nil
	}
	if _, ok := extra["tls_ca_dir"]; ok {
		return nil // -e beats every host's value: one directory
	}
	seen := map[string]bool{}
	var hosts []*inventory.Host
	for _, pb := range pbs {
		for _, play := range pb.Plays {
			if !usesCAModule(play) {
				continue
			}
			matched, err := playHosts(inv, play, g, extra)
			if err != nil {
				continue // checkPlayTargets reports bad patterns and limits
			}
			for _, h := range matched {
				d := pg.VarString(inv.HostVars(h.Name), "tls_ca_dir")
				if !seen[h.Name] && !strings.Contains(d, "{{") && !strings.Contains(d, "{%") {
					seen[h.Name] = true
					hosts = append(hosts, h)
				}
			}
		}
	}
	_, err := caDirFor("", inv, hosts)
	return err
}

// usesCAModule reports whether a task of play (blocks and handlers
// included) runs a module that reads the CA directory.
func usesCAModule(play *playbooks.Play) bool {
	var walk func(ts []*playbooks.Task) bool
	walk = func(ts []*playbooks.Task) bool {
		for _, t := range ts {
			if caModule(t.Module) || walk(t.Block) || walk(t.Rescue) || walk(t.Always) {
				return true
			}
		}
		return false
	}
	return walk(play.PreTasks) || walk(play.Tasks) || walk(play.PostTasks) || walk(play.Handlers)
}

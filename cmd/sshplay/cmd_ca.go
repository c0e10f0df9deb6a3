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
)

// caDirHelp says where the CA is when --dir is not given.
const caDirHelp = "CA directory (default: the one \"sshplay play\" uses with the same -i: tls_ca_dir, else pki/ beside the first -i source; ./pki without -i)"

// caDirectory is the CA directory a `sshplay ca` command works on: dir
// (--dir) when given, else the one the playbook uses for the -i inventory,
// narrowed by --limit (pg.FleetCADir decides; this only loads the
// inventory).
func caDirectory(ctx context.Context, g *globals, dir string) (string, error) {
	if dir != "" {
		return dir, nil
	}
	if len(g.Inventories) == 0 {
		return pg.FleetCADir("", nil)
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
	fleet := make([]pg.StatusHost, len(hosts))
	for i, h := range hosts {
		fleet[i] = pg.StatusHost{Name: h.Name, Vars: inv.HostVars(h.Name)}
	}
	d, err := pg.FleetCADir(inv.Dir(), fleet)
	if err != nil {
		return "", fmt.Errorf("ca: %w; give --dir", err)
	}
	return d, nil
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
	f.StringVar(&o.Dir, "dir", "", caDirHelp)
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
			"  sshplay ca init --dir /etc/sshplay/pki --cn 'Example Corp DB root' --days 3650",
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
	f.StringVar(&o.Dir, "dir", "", caDirHelp)
	f.StringVar(&o.Output, "output", outputText, outputHelp+" (json: one sshplay.ca/v1 document)")
}

func newCAShowCommand(g *globals) *cobra.Command {
	var o caShowOptions
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Show the CA certificates: subjects, expiry, fingerprints",
		Example: "  sshplay ca show -i inventory.ini\n" +
			"  sshplay ca show --dir /etc/sshplay/pki",
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
	f.StringVar(&o.Dir, "dir", "", caDirHelp)
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
			"  sshplay ca sign --dir pki --csr app.csr --san DNS:app.example.com,IP:10.0.4.7 --cn app --days 90 --out -",
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

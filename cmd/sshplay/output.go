package main

// output.go holds the --output rule shared by every command that has the
// flag, and the JSON documents of `sshplay pg status` and `sshplay ca show`.
// The documents are views built here from the packages' values: their
// field names are a contract with scripts (versioned by "schema"), so they
// live apart from the Go structs, which may change freely.

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/sshplay/sshplay/pg"
	"github.com/sshplay/sshplay/pki"
)

// Output formats of --output.
const (
	outputText = "text"
	outputJSON = "json"
)

// outputHelp is the help of every --output flag.
const outputHelp = "output format: text or json"

// checkOutput refuses an --output value other than text or json: bad
// input (exit 5), before anything runs.
func checkOutput(o string) error {
	if o != outputText && o != outputJSON {
		return usageError{fmt.Errorf("--output: want text or json, got %q", o)}
	}
	return nil
}

// Schemas of the JSON documents. A change that removes or renames a field
// gets a new version; adding a field does not.
const (
	pgStatusSchema = "sshplay.pg-status/v1"
	caSchema       = "sshplay.ca/v1"
)

// pgStatusDoc is `sshplay pg status --output json`. Every field is always
// present (empty strings, empty lists, null certificate) so that a script
// never has to tell a missing key from an empty value.
type pgStatusDoc struct {
	Schema string         `json:"schema"`
	Hosts  []pgStatusHost `json:"hosts"`
}

// pgStatusHost is one host: the table's row with its parts kept apart.
type pgStatusHost struct {
	Host        string `json:"host"`
	OK          bool   `json:"ok"`
	Unreachable bool   `json:"unreachable"`
	Error       string `json:"error"`
	SSL         bool   `json:"ssl"`
	Enforced    bool   `json:"enforced"`
	// EnforceWanted is false when the host's pg_tls_enforce is off: then
	// "enforced": false is what the operator asked for.
	EnforceWanted  bool            `json:"enforce_wanted"`
	Certificate    *pgStatusCert   `json:"certificate"`
	Addresses      []pgStatusProof `json:"addresses"`
	KeyProblem     string          `json:"key_problem"`
	NotApplied     []string        `json:"not_applied"`
	PendingRestart []string        `json:"pending_restart"`
}

// pgStatusCert is the certificate the server is configured with.
type pgStatusCert struct {
	Subject  string   `json:"subject"`
	SANs     []string `json:"sans"`
	Issuer   string   `json:"issuer"`
	SHA256   string   `json:"sha256"`
	NotAfter string   `json:"not_after"` // RFC 3339, UTC
	DaysLeft int      `json:"days_left"`
}

// pgStatusProof is the verify-full attempt on one address.
type pgStatusProof struct {
	Address      string `json:"address"`
	Port         int    `json:"port"`
	VerifyFullOK bool   `json:"verify_full_ok"`
	TLSVersion   string `json:"tls_version"`
	Cipher       string `json:"cipher"`
	Bits         int    `json:"bits"`
	SHA256       string `json:"sha256"` // of the certificate the server presented
	// PlaintextRefused is true when a plaintext login was tried (only on
	// a host that enforces TLS) and refused.
	PlaintextRefused bool   `json:"plaintext_refused"`
	Error            string `json:"error"`
}

// newPGStatusDoc builds the document from pg.StatusAll's results (nil
// entries, hosts never inspected, are left out as in the table).
func newPGStatusDoc(results []*pg.HostStatus) pgStatusDoc {
	doc := pgStatusDoc{Schema: pgStatusSchema, Hosts: []pgStatusHost{}}
	for _, s := range results {
		if s == nil {
			continue
		}
		h := pgStatusHost{
			Host: s.Host, OK: s.OK(), Unreachable: s.Unreachable, Error: s.Err,
			SSL: s.SSL, Enforced: s.Enforced, EnforceWanted: !s.EnforceOff,
			Addresses: []pgStatusProof{}, KeyProblem: s.KeyProblem,
			NotApplied: nonNil(s.NotApplied), PendingRestart: nonNil(s.PendingRestart),
		}
		if s.HasCert {
			h.Certificate = &pgStatusCert{
				Subject: s.Subject, SANs: nonNil(s.SANs), Issuer: s.Issuer, SHA256: s.CertSHA256,
				NotAfter: jsonTime(s.NotAfter), DaysLeft: s.DaysLeft,
			}
		}
		for _, v := range s.Verify {
			if v == nil {
				continue
			}
			h.Addresses = append(h.Addresses, pgStatusProof{
				Address: v.Addr, Port: v.Port, VerifyFullOK: v.OK, TLSVersion: v.Version,
				Cipher: v.Cipher, Bits: v.Bits, SHA256: v.SHA256,
				PlaintextRefused: v.PlainRefused, Error: v.Error,
			})
		}
		doc.Hosts = append(doc.Hosts, h)
	}
	return doc
}

// caDoc is `sshplay ca show --output json`.
type caDoc struct {
	Schema    string `json:"schema"`
	Directory string `json:"directory"`
	Root      caCert `json:"root"`
	// Intermediate is null when the root signs server certificates itself.
	Intermediate *caCert `json:"intermediate"`
}

// caCert is one CA certificate.
type caCert struct {
	Subject   string `json:"subject"`
	Issuer    string `json:"issuer"`
	KeyType   string `json:"key_type"`
	Serial    string `json:"serial"` // hex
	NotBefore string `json:"not_before"`
	NotAfter  string `json:"not_after"`
	SHA256    string `json:"sha256"`
}

// newCADoc reads the CA's certificates into the document.
func newCADoc(ca *pki.CA) (caDoc, error) {
	doc := caDoc{Schema: caSchema, Directory: ca.Dir()}
	root, err := pki.CertInfo(ca.RootPEM())
	if err != nil {
		return caDoc{}, fmt.Errorf("root certificate: %w", err)
	}
	doc.Root = caCertOf(root)
	if ca.HasIntermediate() {
		in, err := pki.CertInfo(ca.ChainPEM())
		if err != nil {
			return caDoc{}, fmt.Errorf("intermediate certificate: %w", err)
		}
		c := caCertOf(in)
		doc.Intermediate = &c
	}
	return doc, nil
}

// caCertOf keeps the fields of i a script checks a CA by: who it is, what
// key, how long it is valid, and the fingerprint to pin.
func caCertOf(i *pki.Info) caCert {
	return caCert{
		Subject: i.Subject, Issuer: i.Issuer, KeyType: i.KeyAlgo, Serial: i.Serial,
		NotBefore: jsonTime(i.NotBefore), NotAfter: jsonTime(i.NotAfter), SHA256: i.SHA256,
	}
}

// writeJSON writes v as one indented JSON document and a newline.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // a subject "CN=a&b" stays readable
	return enc.Encode(v)
}

// jsonTime is t in RFC 3339, UTC, "" for the zero time.
func jsonTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// nonNil makes a nil list an empty one, so JSON shows [] rather than null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

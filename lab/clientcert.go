package lab

// Client-certificate users: what a host looks like where a DBA lets some
// roles in by TLS client certificate (hba `cert`), the setup that
// replacing ssl_ca_file or forcing a new server certificate can break.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// ClientCert is what a client needs to log in as a client-certificate user
// made by AddClientCertUser. Every file is in DIR/client-certs.
type ClientCert struct {
	// Role is the PostgreSQL role, also the certificate's CN.
	Role string
	// CAFile is the lab's client CA certificate (client-ca.crt, ECDSA
	// P-256): the trust anchor each such host holds a copy of as its
	// ssl_ca_file. Its key, client-ca.key (0600), stays next to it.
	CAFile string
	// CertFile (ROLE.crt, clientAuth) and KeyFile (ROLE.key, mode 0600)
	// are the client's certificate and key, for sslcert and sslkey.
	CertFile, KeyFile string
}

// ClientCertFiles returns where the lab keeps the client CA and role's
// certificate and key; AddClientCertUser makes them.
func (l *Lab) ClientCertFiles(role string) ClientCert {
	d := filepath.Join(l.Dir, "client-certs")
	return ClientCert{
		Role:     role,
		CAFile:   filepath.Join(d, "client-ca.crt"),
		CertFile: filepath.Join(d, role+".crt"),
		KeyFile:  filepath.Join(d, role+".key"),
	}
}

func (c ClientCert) caKeyFile() string { return strings.TrimSuffix(c.CAFile, ".crt") + ".key" }

// tlsDir holds a host's TLS files that live outside its data directory
// (DIR/hosts/NAME/tls); Reset removes it.
func tlsDir(p hostPaths) string { return filepath.Join(p.root, "tls") }

// clientCAPath is the host's ssl_ca_file: its copy of the client CA.
func clientCAPath(p hostPaths) string { return filepath.Join(tlsDir(p), "client-ca.crt") }

// reservedRoles are names that mean something else in pg_hba.conf (all
// would let every user in by certificate) or that PostgreSQL reserves, and
// the lab's own roles.
var reservedRoles = []string{"all", "sameuser", "samerole", "samegroup", "replication", "public", "none",
	"current_user", "session_user", "current_role", PGUser, ReplicationUser}

// checkClientRole refuses role names the lab will not create.
func checkClientRole(role string) error {
	switch {
	case !roleName.MatchString(role):
		return &ConfigError{Msg: fmt.Sprintf("client-certificate role %q: want a lower-case name of letters, digits and _", role)}
	case slices.Contains(reservedRoles, role) || strings.HasPrefix(role, "pg_"):
		return &ConfigError{Msg: fmt.Sprintf("client-certificate role %q: reserved (so are pg_* and %s)", role, strings.Join(reservedRoles, ", "))}
	}
	return nil
}

// AddClientCertUser gives host what a DBA with client-certificate users
// has: a self-signed server certificate and key in the data directory
// (server.crt, server.key; unless ssl is on already, then its own stay),
// ssl = on, ssl_ca_file = DIR/hosts/NAME/tls/client-ca.crt (a copy of the
// lab's client CA), a role named role (LOGIN, no password) and, ahead of
// the other TCP records, `hostssl all ROLE 127.0.0.0/8 cert`. It reloads
// and returns once role logs in with its certificate. Calling it again
// (for the same or another role) is fine. A host whose ssl_ca_file is
// someone else's, or a standby, is refused.
func (l *Lab) AddClientCertUser(ctx context.Context, host, role string) (*ClientCert, error) {
	if err := checkClientRole(role); err != nil {
		return nil, err
	}
	unlock, err := lock(ctx, l.lockFile())
	if err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	defer unlock()
	return l.addClientCertUser(ctx, host, role)
}

// addClientCertUser is AddClientCertUser for a caller holding the lab lock.
func (l *Lab) addClientCertUser(ctx context.Context, host, role string) (*ClientCert, error) {
	h, err := l.Host(host)
	if err != nil {
		return nil, &ConfigError{Msg: fmt.Sprintf("client-certificate user %s on %s: no host %s in %s", role, host, host, l.Dir)}
	}
	if h.Primary != "" {
		return nil, &ConfigError{Msg: fmt.Sprintf("client-certificate user %s on %s: %s is a standby (read-only); add the user on its primary %s", role, host, host, h.Primary)}
	}
	p := pathsFor(l.Dir, h.Name)
	cc, err := l.ensureClientCert(role)
	if err != nil {
		return nil, err
	}
	if err := enableClientCertTLS(ctx, h, p, cc.CAFile); err != nil {
		return nil, err
	}
	if _, err := psql(ctx, h, p, fmt.Sprintf(`DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '%[1]s') THEN CREATE ROLE "%[1]s" LOGIN; END IF; END$$`, role)); err != nil {
		return nil, err
	}
	if err := recordRole(p, role); err != nil {
		return nil, fmt.Errorf("host %s: %w", h.Name, err)
	}
	if _, err := addHBARecord(h, hbaRecord("hostssl", "all", role, "127.0.0.0/8", "cert")); err != nil {
		return nil, err
	}
	if _, err := psql(ctx, h, p, "SELECT pg_reload_conf()"); err != nil {
		return nil, err
	}
	if err := waitCertLogin(ctx, h, p, cc); err != nil {
		return nil, err
	}
	return &cc, nil
}

// enableClientCertTLS installs the client CA as the host's ssl_ca_file
// and, when ssl is off, a self-signed server certificate with ssl = on.
// The caller reloads.
func enableClientCertTLS(ctx context.Context, h *Host, p hostPaths, caFile string) error {
	out, err := psql(ctx, h, p, "SELECT current_setting('ssl') || '|' || current_setting('ssl_ca_file')")
	if err != nil {
		return err
	}
	ssl, current, _ := strings.Cut(out, "|")
	want := clientCAPath(p)
	if current != "" && current != want {
		return fmt.Errorf("host %s: ssl_ca_file is already %s; the lab adds client-certificate users only where it is unset or the lab's own", h.Name, current)
	}
	ca, err := os.ReadFile(caFile)
	if err != nil {
		return fmt.Errorf("lab: client CA: %w", err)
	}
	uid, gid := pgIDs()
	if err := mkdirOwned(tlsDir(p), 0o755, uid, gid); err != nil {
		return fmt.Errorf("host %s: %w", h.Name, err)
	}
	if err := writeOwned(want, ca, 0o644, uid, gid); err != nil {
		return fmt.Errorf("host %s: %w", h.Name, err)
	}
	settings := [][2]string{{"ssl_ca_file", quoteConf(want)}}
	if ssl != "on" {
		if err := ensureServerCert(h, p); err != nil {
			return err
		}
		settings = append(settings, [2]string{"ssl", "on"},
			[2]string{"ssl_cert_file", quoteConf("server.crt")}, [2]string{"ssl_key_file", quoteConf("server.key")})
	}
	return editConf(h, h.ConfigFile, settings)
}

// ensureServerCert writes a self-signed server certificate and key into
// the data directory (as Debian's snakeoil, but where RHEL DBAs put
// theirs), unless a matching pair is there already.
func ensureServerCert(h *Host, p hostPaths) error {
	crt, key := filepath.Join(p.data, "server.crt"), filepath.Join(p.data, "server.key")
	if _, err := tls.LoadX509KeyPair(crt, key); err == nil {
		return nil
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: h.Name},
		DNSNames:    []string{h.Name},
		IPAddresses: []net.IP{net.ParseIP(h.Addr)},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	uid, gid := pgIDs()
	if err := issue(tmpl, nil, nil, crt, key, uid, gid); err != nil {
		return fmt.Errorf("host %s: server certificate: %w", h.Name, err)
	}
	return nil
}

// ensureClientCert makes the lab's client CA (once) and role's client
// certificate (once per CA), reusing what is there and still matches.
func (l *Lab) ensureClientCert(role string) (ClientCert, error) {
	cc := l.ClientCertFiles(role)
	if err := os.MkdirAll(filepath.Dir(cc.CAFile), 0o755); err != nil {
		return cc, fmt.Errorf("lab: %w", err)
	}
	ca, err := tls.LoadX509KeyPair(cc.CAFile, cc.caKeyFile())
	if errors.Is(err, fs.ErrNotExist) {
		tmpl := &x509.Certificate{
			Subject:               pkix.Name{CommonName: "sshplay lab client CA"},
			IsCA:                  true,
			BasicConstraintsValid: true,
			MaxPathLenZero:        true,
			KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		}
		if err := issue(tmpl, nil, nil, cc.CAFile, cc.caKeyFile(), -1, -1); err != nil {
			return cc, fmt.Errorf("lab: client CA: %w", err)
		}
		ca, err = tls.LoadX509KeyPair(cc.CAFile, cc.caKeyFile())
	}
	if err != nil {
		return cc, fmt.Errorf("lab: client CA %s: %w", cc.CAFile, err)
	}
	if ca.Leaf == nil {
		return cc, fmt.Errorf("lab: client CA %s: no certificate", cc.CAFile)
	}
	if pair, err := tls.LoadX509KeyPair(cc.CertFile, cc.KeyFile); err == nil && pair.Leaf != nil && pair.Leaf.CheckSignatureFrom(ca.Leaf) == nil {
		return cc, nil
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: role},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if err := issue(tmpl, ca.Leaf, ca.PrivateKey, cc.CertFile, cc.KeyFile, -1, -1); err != nil {
		return cc, fmt.Errorf("lab: client certificate for %s: %w", role, err)
	}
	return cc, nil
}

// issue makes a new ECDSA P-256 key and a certificate from tmpl (valid
// from an hour ago for ten years) signed by parent with parentKey, or
// self-signed when parent is nil, and writes them as PEM: the key with
// mode 0600, both owned by uid:gid (-1 keeps root).
func issue(tmpl, parent *x509.Certificate, parentKey any, crtPath, keyPath string, uid, gid int) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	if tmpl.SerialNumber, err = rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127)); err != nil {
		return err
	}
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = tmpl.NotBefore.AddDate(10, 0, 0)
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := writeOwned(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600, uid, gid); err != nil {
		return err
	}
	return writeOwned(crtPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644, uid, gid)
}

// waitCertLogin polls until cc's role logs in over TLS with its
// certificate: the reload is applied shortly after pg_reload_conf returns.
func waitCertLogin(ctx context.Context, h *Host, p hostPaths, cc ClientCert) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	for {
		err := certLogin(ctx, h, cc)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("host %s: log in as %s with its client certificate: %w; log: %s", h.Name, cc.Role, err, tail(p.pgLog, 3))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// certLogin connects once as cc's role with its certificate and checks
// that the session is that role, over TLS.
func certLogin(ctx context.Context, h *Host, cc ClientCert) error {
	cfg, err := pgconn.ParseConfig(fmt.Sprintf("host=%s port=%d user=%s dbname=postgres sslmode=require sslcert=%s sslkey=%s connect_timeout=5",
		h.Addr, h.PGPort, cc.Role, quoteConninfo(cc.CertFile), quoteConninfo(cc.KeyFile)))
	if err != nil {
		return err
	}
	c, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer c.Close(context.Background())
	res, err := c.Exec(ctx, "SELECT current_user || ' ' || ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").ReadAll()
	if err != nil {
		return err
	}
	if want := cc.Role + " true"; len(res) != 1 || len(res[0].Rows) != 1 || string(res[0].Rows[0][0]) != want {
		return fmt.Errorf("session is not %q over TLS", cc.Role)
	}
	return nil
}

// quoteConninfo quotes a value for a libpq key=value connection string.
func quoteConninfo(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

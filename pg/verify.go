package pg

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// VerifyOptions say how to prove one address of one server.
type VerifyOptions struct {
	Addr     string
	Port     int
	User     string
	Password string
	Database string
	// RootPEM is the trust anchor (our CA's root); nothing else is trusted.
	RootPEM []byte
	Timeout time.Duration
	// ExpectSHA256 (hex) is the certificate the server must present; ""
	// skips the comparison.
	ExpectSHA256 string
	// CheckPlainRefused makes a second, sslmode=disable attempt that must be
	// refused by pg_hba.
	CheckPlainRefused bool
}

// VerifyResult is the proof for one address.
type VerifyResult struct {
	Addr    string `json:"address"`
	Port    int    `json:"port"`
	OK      bool   `json:"ok"`
	SSL     bool   `json:"ssl"`
	Version string `json:"version"`
	Cipher  string `json:"cipher"`
	Bits    int    `json:"bits"`
	SHA256  string `json:"sha256"`
	// PlainRefused is set when CheckPlainRefused ran and a plaintext
	// connection was refused.
	PlainRefused bool   `json:"plain_refused"`
	Error        string `json:"error,omitempty"`
}

// CertSHA256 returns the hex SHA-256 of the first certificate in pemData.
func CertSHA256(pemData []byte) (string, error) {
	for {
		var b *pem.Block
		b, pemData = pem.Decode(pemData)
		if b == nil {
			return "", errors.New("no certificate in PEM data")
		}
		if b.Type == "CERTIFICATE" {
			s := sha256.Sum256(b.Bytes)
			return hex.EncodeToString(s[:]), nil
		}
	}
}

func baseConfig(o VerifyOptions, sslmode string) (*pgx.ConnConfig, error) {
	port := o.Port
	if port == 0 {
		port = 5432
	}
	timeout := o.Timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	db := o.Database
	if db == "" {
		db = "postgres"
	}
	user := o.User
	if user == "" {
		user = "postgres"
	}
	// Keyword/value with the password set afterwards so it never goes
	// through a string that could be printed.
	cs := "host=" + quoteConnValue(o.Addr) + " port=" + strconv.Itoa(port) + " dbname=" + quoteConnValue(db) +
		" user=" + quoteConnValue(user) + " sslmode=" + sslmode + " connect_timeout=" + strconv.Itoa(int(timeout.Seconds()+0.5))
	cfg, err := pgx.ParseConfig(cs)
	if err != nil {
		return nil, err
	}
	cfg.Password = o.Password
	cfg.Fallbacks = nil
	cfg.ConnectTimeout = timeout
	cfg.RuntimeParams["application_name"] = "sshplay-verify"
	return cfg, nil
}

func quoteConnValue(s string) string {
	out := []byte{'\''}
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' || s[i] == '\\' {
			out = append(out, '\\')
		}
		out = append(out, s[i])
	}
	return string(append(out, '\''))
}

// Verify connects with verify-full semantics (chain to RootPEM only, host
// name or IP checked against the SANs, no plaintext fallback), records the
// negotiated TLS, compares the presented certificate, and optionally checks
// that a plaintext connection is refused.
func Verify(ctx context.Context, o VerifyOptions) *VerifyResult {
	r := &VerifyResult{Addr: o.Addr, Port: o.Port}
	if r.Port == 0 {
		r.Port = 5432
	}
	fail := func(format string, a ...any) *VerifyResult {
		r.OK = false
		r.Error = fmt.Sprintf(format, a...)
		return r
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(o.RootPEM) {
		return fail("no CA certificate to verify against")
	}
	cfg, err := baseConfig(o, "disable")
	if err != nil {
		return fail("connection config: %v", err)
	}
	serverName := o.Addr
	if ip := net.ParseIP(o.Addr); ip != nil {
		serverName = ip.String()
	}
	cfg.TLSConfig = &tls.Config{RootCAs: pool, ServerName: serverName, MinVersion: tls.VersionTLS12}
	cfg.Fallbacks = nil

	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fail("verify-full: %s", connError(err))
	}
	defer conn.Close(context.Background())
	tc, ok := conn.PgConn().Conn().(*tls.Conn)
	if !ok {
		return fail("verify-full: connection is not TLS")
	}
	st := tc.ConnectionState()
	if len(st.PeerCertificates) == 0 {
		return fail("verify-full: server presented no certificate")
	}
	sum := sha256.Sum256(st.PeerCertificates[0].Raw)
	r.SHA256 = hex.EncodeToString(sum[:])
	var ssl bool
	var version, cipher *string
	var bits *int
	err = conn.QueryRow(ctx, `SELECT ssl, version, cipher, bits FROM pg_stat_ssl WHERE pid = pg_backend_pid()`).Scan(&ssl, &version, &cipher, &bits)
	if err != nil {
		return fail("read pg_stat_ssl: %s", connError(err))
	}
	r.SSL = ssl
	if version != nil {
		r.Version = *version
	}
	if cipher != nil {
		r.Cipher = *cipher
	}
	if bits != nil {
		r.Bits = *bits
	}
	if !ssl {
		return fail("pg_stat_ssl says the session is not encrypted")
	}
	if o.ExpectSHA256 != "" && o.ExpectSHA256 != r.SHA256 {
		return fail("server presents certificate %s, not the uploaded %s (the reload did not take the new TLS files)", short(r.SHA256), short(o.ExpectSHA256))
	}
	if o.CheckPlainRefused {
		pc, err := baseConfig(o, "disable")
		if err != nil {
			return fail("connection config: %v", err)
		}
		plain, err := pgx.ConnectConfig(ctx, pc)
		if err == nil {
			plain.Close(context.Background())
			return fail("a plaintext (sslmode=disable) connection was accepted")
		}
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || (pe.Code != "28000" && pe.Code != "28P01") {
			return fail("plaintext check: unexpected error: %s", connError(err))
		}
		r.PlainRefused = true
	}
	r.OK = true
	return r
}

// connError shortens pgx's errors (which never contain the password).
func connError(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return fmt.Sprintf("%s (SQLSTATE %s)", pe.Message, pe.Code)
	}
	return err.Error()
}

func short(h string) string {
	if len(h) > 16 {
		return h[:16] + "..."
	}
	return h
}

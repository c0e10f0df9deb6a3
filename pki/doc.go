// Package pki is the small certificate authority sshplay keeps on the control
// machine, plus the certificate checks the PostgreSQL TLS job needs.
//
// Init creates (or loads) a CA directory: an ECDSA P-256 or RSA root, and
// optionally one intermediate that then signs every leaf. Sign turns a
// server's CSR into a serverAuth leaf certificate, taking only the public key
// from the CSR: the names always come from the caller (the inventory), so a
// host cannot obtain a certificate for a name it chose itself. CertInfo,
// NeedsRenewal, PublicKeyMatches and VerifyChain answer "is the certificate a
// host presents still the one we want?". WriteCSR and ReadSigned are the file
// exchange used when an external CA signs instead. NewTrustBundle builds a
// server's ssl_ca_file: sshplay's root plus the client CAs the server
// trusted before, which clients presenting certificates depend on.
//
// pki never sees a server's private key (keys are made on the server, only
// CSRs travel), never opens a network connection, never overwrites an
// existing CA, and never creates Ed25519/Ed448 keys or signs for them: libpq's
// SCRAM channel binding fails with those certificates.
package pki

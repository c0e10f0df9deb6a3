// Package lab runs local "lab hosts" on this machine so that tests,
// benchmarks and the demo work against a real OpenSSH sshd and a real
// PostgreSQL 15, not against mocks.
//
// Each host dbNN gets its own loopback address 127.0.0.X (allocated with
// machine-wide claim files so that parallel test processes never collide),
// its own sshd on X:22 and its own PostgreSQL cluster on X:5432. Odd hosts use
// the Debian layout (configuration in DIR/hosts/dbNN/etc), even hosts the
// RHEL layout (configuration in the data directory). Up also writes the
// client key, known_hosts, pgpass and an Ansible inventory (INI and YAML)
// into the lab directory. Besides the login user sshplay (passwordless
// sudo) there is a second login user, sshplay-pw, whose sudo needs its
// password (DIR/become_password); it is not in the inventory.
//
// To look like production, a lab can also have streaming standbys
// (MakeStandby: pg_basebackup clones with primary_conninfo, as a DBA makes
// them) and client-certificate users (AddClientCertUser: ssl on, a client
// CA as ssl_ca_file, hostssl cert records). Reset undoes both, so every
// host is again as Up created it.
//
// lab must never install packages (it tells the user which command to run),
// never listen on anything but 127.0.0.0/8, and never stop or signal a
// process it did not start: it only acts on the pids named in the pid files
// of its own hosts, and checks that such a pid really is an sshd or a
// postgres before it signals it.
package lab

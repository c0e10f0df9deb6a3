package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// version, when a build stamps it (go build -ldflags "-X main.version=v1.2.3"),
// beats the module version Go records, which is "(devel)" for a build from a
// working tree: a release built by the Makefile can then name itself.
var version string

// readBuildInfo is what the running binary says about its own build, with
// the -X stamp applied; nil fields mean Go recorded nothing.
func readBuildInfo() *debug.BuildInfo {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = &debug.BuildInfo{GoVersion: runtime.Version()}
	}
	if version != "" {
		cp := *bi
		cp.Main.Version = version
		bi = &cp
	}
	return bi
}

// versionLine formats a build as one line, so a bug report can quote it
// whole: "sshplay v1.2.3 (commit abc1234, modified) go1.26.8 linux/amd64".
// The commit is left out when Go recorded none (a build outside a VCS tree);
// "modified" says the tree had uncommitted changes, so the commit alone does
// not reproduce the binary.
func versionLine(bi *debug.BuildInfo) string {
	ver := bi.Main.Version
	if ver == "" {
		ver = "(devel)"
	}
	var rev, goos, goarch string
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		case "GOOS":
			goos = s.Value
		case "GOARCH":
			goarch = s.Value
		}
	}
	if goos == "" {
		goos = runtime.GOOS
	}
	if goarch == "" {
		goarch = runtime.GOARCH
	}
	var b strings.Builder
	fmt.Fprintf(&b, "sshplay %s", ver)
	if rev != "" {
		if len(rev) > 7 {
			rev = rev[:7]
		}
		b.WriteString(" (commit " + rev)
		if modified {
			b.WriteString(", modified")
		}
		b.WriteString(")")
	}
	goVer := bi.GoVersion
	if goVer == "" {
		goVer = runtime.Version()
	}
	fmt.Fprintf(&b, " %s %s/%s", goVer, goos, goarch)
	return b.String()
}

// newVersionCommand is `sshplay version`, the same line as --version.
func newVersionCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the sshplay version, commit and Go version",
		Example: "  sshplay version\n" +
			"  sshplay --version",
		Args: cobra.NoArgs,
		// Printing the version reads no configuration: it must work even
		// when sshplay.yaml is broken, to be quoted in the report about it.
		PersistentPreRunE: func(*cobra.Command, []string) error { return nil },
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(g.Stdout, versionLine(readBuildInfo()))
			return err
		},
	}
}

package main

import (
	"os"
	"regexp"
	"runtime/debug"
	"testing"
)

func TestVersionLineNamesModuleCommitAndGo(t *testing.T) {
	settings := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	for _, tc := range []struct {
		name string
		bi   debug.BuildInfo
		want string
	}{
		{
			"clean tree",
			debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"},
				Settings: settings("GOOS", "linux", "GOARCH", "amd64", "vcs.revision", "abc1234def5678", "vcs.modified", "false")},
			"sshplay v1.2.3 (commit abc1234) go1.26.8 linux/amd64",
		},
		{
			"modified tree",
			debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261205120000-abc1234def56+dirty"},
				Settings: settings("GOOS", "darwin", "GOARCH", "arm64", "vcs.revision", "abc1234def5678", "vcs.modified", "true")},
			"sshplay v0.0.0-20261205120000-abc1234def56+dirty (commit abc1234, modified) go1.26.8 darwin/arm64",
		},
		{
			"no version and no VCS",
			debug.BuildInfo{GoVersion: "go1.26.8", Settings: settings("GOOS", "linux", "GOARCH", "386")},
			"sshplay (devel) go1.26.8 linux/386",
		},
		{
			"short revision kept whole",
			debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"},
				Settings: settings("GOOS", "linux", "GOARCH", "amd64", "vcs.revision", "abc")},
			"sshplay (devel) (commit abc) go1.26.8 linux/amd64",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := versionLine(&tc.bi); got != tc.want {
				t.Errorf("versionLine:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestVersionStampOverridesModuleVersion(t *testing.T) {
	old := version
	t.Cleanup(func() { version = old })
	version = "v9.9.9"
	if got := readBuildInfo().Main.Version; got != "v9.9.9" {
		t.Errorf("with -X main.version=v9.9.9, Main.Version = %q", got)
	}
}

// versionShape is the one line `sshplay --version` and `sshplay version`
// print: name, version, optional commit, Go version, platform.
var versionShape = regexp.MustCompile(`^sshplay \S+( \(commit [0-9a-f]{1,7}(, modified)?\))? go\S+ \w+/\w+\n$`)

func TestVersionFlagAndCommandPrintOneLine(t *testing.T) {
	// A broken sshplay.yaml must not stop either form: the version is
	// what a report about that breakage quotes.
	t.Chdir(t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	if err := os.WriteFile("sshplay.yaml", []byte("forkz: 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var outs []string
	for _, args := range [][]string{{"--version"}, {"version"}} {
		code, out, stderr := runCLI(t, args...)
		if code != exitOK || stderr != "" {
			t.Fatalf("sshplay %v: exit %d, stderr %q", args, code, stderr)
		}
		if !versionShape.MatchString(out) {
			t.Errorf("sshplay %v printed %q, want one line like \"sshplay v1.2.3 (commit abc1234) go1.26.8 linux/amd64\"", args, out)
		}
		outs = append(outs, out)
	}
	if outs[0] != outs[1] {
		t.Errorf("--version %q and version %q differ", outs[0], outs[1])
	}
}

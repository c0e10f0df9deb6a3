package shlex

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"al.essio.dev/pkg/shellescape"
)

// FuzzSplit: any text splits without a panic into words or one of the
// package's errors; words quoted for a shell (as sshplay quotes every value
// it sends) split back to themselves under all three rules; and a comment
// only ever removes words from the end of a one-line input.
func FuzzSplit(f *testing.F) {
	for _, s := range []string{"", "a b", `"a b" 'c d' e\ f`, `x="1 2"#c`, "a\\", `"\$x"`, "a\nb # c\nd", "'", `"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for name, split := range map[string]func(string) ([]string, error){"Split": Split, "SplitComments": SplitComments, "SplitShell": SplitShell} {
			if _, err := split(s); err != nil && !errors.Is(err, ErrNoClosingQuote) && !errors.Is(err, ErrNoEscapedChar) && !errors.Is(err, ErrShellSyntax) {
				t.Fatalf("%s(%q): unexpected error %v", name, s, err)
			}
		}
		words := strings.Fields(s)
		quoted := make([]string, len(words))
		for i, w := range words {
			quoted[i] = shellescape.Quote(w)
		}
		line := strings.Join(quoted, " ")
		for name, split := range map[string]func(string) ([]string, error){"Split": Split, "SplitComments": SplitComments, "SplitShell": SplitShell} {
			got, err := split(line)
			if err != nil || !slices.Equal(got, words) && !(len(got) == 0 && len(words) == 0) {
				if name == "SplitComments" && strings.Contains(line, "#") {
					continue // an unquoted # is a comment there, by design
				}
				t.Fatalf("%s(%q) = %q, %v; want %q", name, line, got, err, words)
			}
		}
		if !strings.Contains(s, "\n") {
			all, err1 := Split(s)
			some, err2 := SplitComments(s)
			if err1 == nil && err2 == nil && len(some) > len(all) {
				t.Fatalf("SplitComments(%q) = %q has more words than Split: %q", s, some, all)
			}
		}
	})
}

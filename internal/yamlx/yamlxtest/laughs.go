// Package yamlxtest holds YAML inputs the tests of every reader share.
package yamlxtest

import (
	"fmt"
	"strings"
)

// Laughs is a "billion laughs" as mapping lines under indent: level 0 is a
// list of nine scalars, each further level a list of nine aliases to the
// one before, so levels stand for 9^levels nodes in a few hundred bytes.
// At seven levels (4.8 million nodes once expanded) yamlx refuses it at
// the first alias to l5: aliases add 672,588 nodes up to level 5.
func Laughs(levels int, indent string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%sl0: &l0 [%s]\n", indent, strings.TrimSuffix(strings.Repeat("lol,", 9), ","))
	for i := 1; i < levels; i++ {
		alias := fmt.Sprintf("*l%d", i-1)
		fmt.Fprintf(&b, "%sl%d: &l%d [%s]\n", indent, i, i, strings.TrimSuffix(strings.Repeat(alias+",", 9), ","))
	}
	return b.String()
}

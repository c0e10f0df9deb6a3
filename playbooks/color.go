package playbooks

// Colour of the text output. Whether there is colour at all is the
// caller's decision (Options.Color: a terminal, NO_COLOR, TERM=dumb,
// --color); this file only says which colour each thing gets, as
// Ansible's default callback does.

import "strings"

const (
	cRed    = "\033[0;31m"
	cGreen  = "\033[0;32m"
	cYellow = "\033[0;33m"
	cCyan   = "\033[0;36m"
	cBold   = "\033[1m"
	cReset  = "\033[0m"
)

// paint wraps s in colour c when on.
func paint(on bool, c, s string) string {
	if !on {
		return s
	}
	return c + s + cReset
}

// colorDiff colours a unified diff line by line: file headers bold, hunk
// headers cyan, added lines green, removed lines red. Without colour it
// returns the diff unchanged.
func colorDiff(on bool, diff string) string {
	if !on || diff == "" {
		return diff
	}
	lines := strings.SplitAfter(diff, "\n")
	var b strings.Builder
	for _, l := range lines {
		body := strings.TrimSuffix(l, "\n")
		nl := l[len(body):]
		if body == "" {
			b.WriteString(l)
			continue
		}
		c := ""
		switch {
		case strings.HasPrefix(body, "+++"), strings.HasPrefix(body, "---"):
			c = cBold
		case strings.HasPrefix(body, "@@"):
			c = cCyan
		case strings.HasPrefix(body, "+"):
			c = cGreen
		case strings.HasPrefix(body, "-"):
			c = cRed
		}
		if c == "" {
			b.WriteString(l)
			continue
		}
		b.WriteString(c + body + cReset + nl)
	}
	return b.String()
}

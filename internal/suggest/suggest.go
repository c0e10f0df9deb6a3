// Package suggest finds the known name closest to a misspelt one, for the
// "did you mean" hints of every error sshplay prints on bad input (playbook
// keys, modules, arguments, choices, config keys, commands). One rule
// everywhere, so the same typo gets the same hint wherever it is made.
//
// suggest must never decide anything: a suggestion only decorates an error
// that the caller has already decided to return, and is never applied in
// place of what the user wrote. It must never format the error itself
// (beyond the "did you mean" hint) nor know which names are valid: callers
// pass their candidates. No other package may carry its own distance rule.
package suggest

import (
	"fmt"
	"sort"
)

// Closest returns the candidate closest to word by edit distance
// (Levenshtein with adjacent transposition), or "" when none is close
// enough: at most 2 edits (3 for words longer than 8), and fewer edits than
// the word has letters. Ties go to the alphabetically first candidate.
func Closest(word string, candidates []string) string {
	sorted := append([]string(nil), candidates...)
	sort.Strings(sorted)
	best, bestD := "", 1<<30
	for _, c := range sorted {
		if d := Distance(word, c); d < bestD {
			best, bestD = c, d
		}
	}
	limit := 2
	if len([]rune(word)) > 8 {
		limit = 3
	}
	if best == "" || bestD > limit || bestD >= len([]rune(word)) {
		return ""
	}
	return best
}

// Hint is ` (did you mean "x"?)` for the closest candidate, or "".
func Hint(word string, candidates []string) string {
	if c := Closest(word, candidates); c != "" {
		return fmt.Sprintf(" (did you mean %q?)", c)
	}
	return ""
}

// Distance is the Levenshtein distance with adjacent transposition.
func Distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

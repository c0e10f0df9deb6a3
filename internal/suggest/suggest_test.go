package suggest

import "testing"

func TestClosest(t *testing.T) {
	for _, tc := range []struct {
		word  string
		known []string
		want  string
	}{
		{"comand", []string{"command", "copy", "shell"}, "command"},
		{"contnet", []string{"content", "dest"}, "content"},
		{"directry", []string{"file", "directory", "link"}, "directory"},
		{"forkz", []string{"forks", "inventory"}, "forks"},
		{"zzzzzz", []string{"command"}, ""},
		{"ab", []string{"xy"}, ""},
		{"becme_user", []string{"become_user", "become"}, "become_user"},
	} {
		if got := Closest(tc.word, tc.known); got != tc.want {
			t.Errorf("Closest(%q) = %q, want %q", tc.word, got, tc.want)
		}
	}
	if got := Hint("comand", []string{"command"}); got != ` (did you mean "command"?)` {
		t.Errorf("Hint = %q", got)
	}
	if d := Distance("ab", "ba"); d != 1 {
		t.Errorf("transposition distance = %d, want 1", d)
	}
}

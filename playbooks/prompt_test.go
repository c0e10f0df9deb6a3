package playbooks

import (
	"strings"
	"testing"
)

const promptPlay = `- hosts: db01
  vars_prompt:
    - name: user
      prompt: Who
      private: false
      default: admin
    - name: secret
      confirm: true
  tasks:
    - debug: {msg: "user={{ user }} secret={{ secret }}"}
`

// TestVarsPromptAsksWhatExtraVarsDoNotGive: -e answers a prompt (nothing
// asked); the rest are asked, private by default, confirm asking again
// until both answers match, an empty answer taking the default.
func TestVarsPromptAsksWhatExtraVarsDoNotGive(t *testing.T) {
	t.Parallel()
	var asked []string
	answers := []string{"", "s1", "s2", "s3", "s3"}
	ask := func(msg string, private bool) (string, error) {
		asked = append(asked, msg+map[bool]string{true: "(private)", false: ""}[private])
		a := answers[0]
		answers = answers[1:]
		return a, nil
	}
	_, out := runYAML(t, newFleet(1), promptPlay, func(o *Options) { o.Prompt = ask })
	if !strings.Contains(out, "user=admin secret=s3") {
		t.Errorf("answers not used:\n%s", out)
	}
	want := "Who [admin]: |secret: (private)|confirm secret: (private)|secret: (private)|confirm secret: (private)"
	if got := strings.Join(asked, "|"); got != want {
		t.Errorf("asked %q, want %q", got, want)
	}
	asked = nil
	_, out = runYAML(t, newFleet(1), promptPlay, func(o *Options) {
		o.Prompt = ask
		o.ExtraVars = map[string]any{"user": "bob", "secret": "x"}
	})
	if len(asked) != 0 || !strings.Contains(out, "user=bob secret=x") {
		t.Errorf("asked %q with -e given:\n%s", asked, out)
	}
}

// TestVarsPromptParseErrors: unknown keys and encrypt are refused at parse.
func TestVarsPromptParseErrors(t *testing.T) {
	t.Parallel()
	pe := parseErr(t, testModules(), "- hosts: all\n  vars_prompt:\n    - name: p\n      encrypt: sha512_crypt\n  tasks: []\n")
	if pe.Line != 4 || !strings.Contains(pe.Msg, "not supported yet: vars_prompt encrypt") {
		t.Errorf("%d: %s", pe.Line, pe.Msg)
	}
}

// TestVarsPromptWithoutTerminalIsRefused: with no terminal (as under go
// test) and no -e, the run stops before anything runs, naming the prompt.
func TestVarsPromptWithoutTerminalIsRefused(t *testing.T) {
	t.Parallel()
	f := newFleet(1)
	out, err := runFleet(f, f, promptPlay, map[string]any{"user": "bob"})
	if err == nil || !strings.Contains(err.Error(), `site.yml:7:7: vars_prompt "secret": no terminal to ask on; give it with -e secret=...`) {
		t.Fatalf("got %v\n%s", err, out)
	}
	if strings.Contains(out, "TASK") {
		t.Errorf("tasks ran:\n%s", out)
	}
}

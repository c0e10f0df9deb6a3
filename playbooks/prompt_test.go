package playbooks

import (
	"regexp"
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

// TestVarsPromptParseErrors: unknown keys and an encrypt scheme sshplay
// lacks are refused at parse.
func TestVarsPromptParseErrors(t *testing.T) {
	t.Parallel()
	pe := parseErr(t, testModules(), "- hosts: all\n  vars_prompt:\n    - name: p\n      encrypt: bcrypt\n  tasks: []\n")
	if pe.Line != 4 || !strings.Contains(pe.Msg, "not supported yet: vars_prompt encrypt bcrypt") {
		t.Errorf("%d: %s", pe.Line, pe.Msg)
	}
}

const encryptPlay = `- hosts: db01
  vars_prompt:
    - {name: pw, prompt: pw, encrypt: sha512_crypt, salt: abcdefgh}
    - {name: pw2, prompt: pw2, private: no, encrypt: sha256_crypt, salt: saltsalt}
    - {name: pw3, encrypt: sha512_crypt, salt_size: 8}
    - {name: pw4, encrypt: md5_crypt, salt: abcdefgh}
  tasks:
    - debug: {msg: "pw={{ pw }} pw2={{ pw2 }} pw3={{ pw3 }} pw4={{ pw4 }}"}
`

// TestVarsPromptEncryptHashesTheAnswer: an answer is hashed as Ansible's
// do_encrypt hashes it (the hashes are Ansible 2.14's password_hash of the
// same password and salt, which do_encrypt shares), salt_size giving a
// random salt of that length; a value given with -e is used as given,
// unhashed, as ansible-playbook does (testdata/prompt/encrypt_extra_vars.ansible).
func TestVarsPromptEncryptHashesTheAnswer(t *testing.T) {
	t.Parallel()
	ask := func(msg string, private bool) (string, error) { return "secret", nil }
	_, out := runYAML(t, newFleet(1), encryptPlay, func(o *Options) { o.Prompt = ask })
	for _, want := range []string{
		"pw=$6$rounds=656000$abcdefgh$/Ei/7YaGhLUaj/.Vzhbn8/qTav7snBIiSWc4ltNfH/h5CKGCnV8KtAzHxd56WDXc3DF7SfbULGkU/EoGIlOV70 ",
		"pw4=$1$abcdefgh$cHJi5PXp/ki/ktXzqlk6I1",
		"pw2=$5$rounds=535000$saltsalt$VSmVlMm.XSbjLKI0G48ksoE0xc0243La2Jr.EPuau75 ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("want %q in\n%s", want, out)
		}
	}
	if !regexp.MustCompile(`pw3=\$6\$rounds=656000\$[./0-9A-Za-z]{8}\$`).MatchString(out) {
		t.Errorf("salt_size 8 should give an 8-character salt:\n%s", out)
	}
	_, out = runYAML(t, newFleet(1), encryptPlay, func(o *Options) {
		o.Prompt = ask
		o.ExtraVars = map[string]any{"pw": "secret", "pw2": "x", "pw3": "y", "pw4": "z"}
	})
	if !strings.Contains(out, "pw=secret pw2=x pw3=y pw4=z") {
		t.Errorf("-e values must not be hashed:\n%s", out)
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

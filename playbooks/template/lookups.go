package template

// The pipe and password lookups. Like every lookup they run on the control
// machine (where sshplay runs), never on the managed host.

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/nikolalohinski/gonja/v2/exec"
)

// lookupPipe runs term with sh on the control machine and returns its
// output without trailing whitespace; a non-zero exit fails the lookup
// with Ansible's message.
func lookupPipe(ctx context.Context, term string) (string, error) {
	cmd := osexec.CommandContext(ctx, "/bin/sh", "-c", term)
	var out bytes.Buffer
	cmd.Stdout = &out
	err := cmd.Run()
	var exit *osexec.ExitError
	if errors.As(err, &exit) {
		return "", &lookupError{fmt.Sprintf("lookup_plugin.pipe(%s) returned %d", term, exit.ExitCode())}
	}
	if err != nil {
		return "", &lookupError{fmt.Sprintf("lookup pipe %s: %v", term, err)}
	}
	return strings.TrimRight(out.String(), " \t\r\n"), nil
}

// passwordChars are the names of Python's string constants that the
// password lookup's chars= accepts; anything else is taken literally.
var passwordChars = map[string]string{
	"ascii_letters":   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
	"ascii_lowercase": "abcdefghijklmnopqrstuvwxyz",
	"ascii_uppercase": "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
	"digits":          "0123456789",
	"hexdigits":       "0123456789abcdefABCDEF",
	"octdigits":       "01234567",
	"punctuation":     "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
}

// passwordTerm is "path [length=N] [chars=a,b]".
type passwordTerm struct {
	path   string
	length int
	chars  string
}

func parsePasswordTerm(term string) (passwordTerm, error) {
	fields := strings.Fields(term)
	if len(fields) == 0 {
		return passwordTerm{}, &lookupError{"lookup password: needs a file path"}
	}
	pt := passwordTerm{path: fields[0], length: 20,
		chars: passwordChars["ascii_letters"] + passwordChars["digits"] + ".,:-_"}
	for _, f := range fields[1:] {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "length":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return pt, &lookupError{fmt.Sprintf("lookup password: length=%s is not a positive number", v)}
			}
			pt.length = n
		case "chars":
			pt.chars = ""
			// ",," is a literal comma, as in Ansible.
			for _, name := range strings.Split(strings.ReplaceAll(v, ",,", "\x00"), ",") {
				name = strings.ReplaceAll(name, "\x00", ",")
				if set, ok := passwordChars[name]; ok {
					name = set
				}
				pt.chars += name
			}
		default:
			return pt, &lookupError{fmt.Sprintf("lookup password option %q is not supported yet (length and chars are)", k)}
		}
	}
	return pt, nil
}

// lookupPassword returns the password stored in the term's file, or
// makes a random one and stores it there (directories 0700, file 0600,
// one line), so later runs get the same one. /dev/null stores nothing.
func lookupPassword(term string) (string, error) {
	pt, err := parsePasswordTerm(term)
	if err != nil {
		return "", err
	}
	if pt.path != "/dev/null" {
		if b, err := os.ReadFile(pt.path); err == nil {
			pw, _, _ := strings.Cut(strings.TrimRight(string(b), "\r\n"), " salt=")
			return pw, nil
		}
	}
	runes := []rune(pt.chars)
	out := make([]rune, pt.length)
	for i := range out {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(runes))))
		if err != nil {
			return "", &lookupError{fmt.Sprintf("lookup password: %v", err)}
		}
		out[i] = runes[n.Int64()]
	}
	if pt.path == "/dev/null" {
		return string(out), nil
	}
	if err := os.MkdirAll(filepath.Dir(pt.path), 0o700); err != nil {
		return "", &lookupError{fmt.Sprintf("lookup password: %v", err)}
	}
	if err := os.WriteFile(pt.path, []byte(string(out)+"\n"), 0o600); err != nil {
		return "", &lookupError{fmt.Sprintf("lookup password: %v", err)}
	}
	return string(out), nil
}

// scopeKey is the context entry that carries the Scope a template is
// rendered with, so that lookup('template') sees every variable.
const scopeKey = "__sshplay_scope"

// lookupTemplate renders a template file with the current variables, as
// the template module renders its src (trim_blocks): a relative name is
// looked for in templates/ next to the playbook, then next to it.
func lookupTemplate(ev *exec.Evaluator, name string) (string, error) {
	v, ok := ev.Environment.Context.Get(scopeKey)
	s, isScope := v.(*Scope)
	if !ok || !isScope {
		return "", &lookupError{"lookup template: no variables to render with"}
	}
	paths := []string{name}
	if !filepath.IsAbs(name) {
		dir, _ := s.Raw("playbook_dir")
		d := fmt.Sprint(dir)
		paths = []string{filepath.Join(d, "templates", name), filepath.Join(d, name)}
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		out, err := s.RenderFile(string(b))
		if err != nil {
			return "", &lookupError{fmt.Sprintf("lookup template %s: %v", name, err)}
		}
		return out, nil
	}
	return "", &lookupError{fmt.Sprintf("lookup template: %s not found (looked in %s)", name, strings.Join(paths, ", "))}
}

package playbooks

// vars_prompt: a play's variables asked of the user before the run. A
// variable given with -e is not asked, as in Ansible; the others are
// asked through Options.Prompt, or on the terminal sshplay runs in, and
// without a terminal the run is refused before anything connects.

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/term"
	"gopkg.in/yaml.v3"

	"github.com/sshplay/sshplay/playbooks/template"
)

// VarPrompt is one vars_prompt entry.
type VarPrompt struct {
	Pos
	Name    string
	Prompt  string
	Private bool // input not echoed (Ansible's default)
	Default any  // nil: none
	Confirm bool // asked twice, until both answers match
	// Encrypt is the crypt scheme the answer is hashed with
	// (sha512_crypt, sha256_crypt, md5_crypt), Salt and SaltSize its salt; a value
	// given with -e is used as given, as Ansible does.
	Encrypt, Salt string
	SaltSize      int
}

// PromptFunc asks msg of the user and returns the answer, without echo
// when private. It is called from one goroutine, before any host runs.
type PromptFunc func(msg string, private bool) (string, error)

// varsPrompt reads a play's vars_prompt: a list of mappings.
func (p *parser) varsPrompt(play *Play, v *yaml.Node) {
	if v.Kind != yaml.SequenceNode {
		p.fail(v, "vars_prompt must be a list, got %s", kindName(v))
		return
	}
	for _, n := range v.Content {
		vp := VarPrompt{Pos: p.pos(n), Private: true}
		p.pairs(n, "vars_prompt entry", func(k, v *yaml.Node) {
			switch k.Value {
			case "name":
				vp.Name = p.str(v, "name")
			case "prompt":
				vp.Prompt = p.str(v, "prompt")
			case "private":
				vp.Private = p.boolean(v, "private")
			case "default":
				vp.Default = p.value(v, "default")
			case "confirm":
				vp.Confirm = p.boolean(v, "confirm")
			case "encrypt":
				vp.Encrypt = p.str(v, "encrypt")
				if vp.Encrypt != "sha512_crypt" && vp.Encrypt != "sha256_crypt" && vp.Encrypt != "md5_crypt" {
					p.fail(v, "not supported yet: vars_prompt encrypt %s (sha512_crypt, sha256_crypt and md5_crypt are)", vp.Encrypt)
				}
			case "salt":
				vp.Salt = p.str(v, "salt")
			case "salt_size":
				vp.SaltSize = p.integer(v, "salt_size")
			case "unsafe":
				p.fail(k, "not supported yet: vars_prompt %s", k.Value)
			default:
				p.unknownKey(k, []string{"name", "prompt", "private", "default", "confirm", "encrypt", "salt", "salt_size"}, "vars_prompt")
			}
		})
		if p.err == nil && !reIdent.MatchString(vp.Name) {
			p.fail(n, "vars_prompt: name %q is not a valid variable name", vp.Name)
		}
		play.VarsPrompt = append(play.VarsPrompt, vp)
	}
}

// promptVars asks every vars_prompt of the plays that -e does not give,
// and sets the answers as the plays' vars.
func (r *runner) promptVars(pbs []*Playbook) error {
	ask := r.opts.Prompt
	for _, pb := range pbs {
		for _, play := range pb.Plays {
			for _, vp := range play.VarsPrompt {
				if _, given := r.opts.ExtraVars[vp.Name]; given {
					continue
				}
				if ask == nil {
					ask = terminalPrompt()
				}
				if ask == nil {
					return &ParseError{File: vp.File, Line: vp.Line, Col: vp.Col,
						Msg: fmt.Sprintf("vars_prompt %q: no terminal to ask on; give it with -e %s=...", vp.Name, vp.Name)}
				}
				v, err := vp.ask(ask)
				if err != nil {
					return fmt.Errorf("vars_prompt %q: %w", vp.Name, err)
				}
				if play.Vars == nil {
					play.Vars = map[string]any{}
				}
				play.Vars[vp.Name] = v
			}
		}
	}
	return nil
}

// ask asks vp, twice with confirm (again until both match); an empty
// answer is the default when there is one.
func (vp VarPrompt) ask(ask PromptFunc) (any, error) {
	msg := vp.Prompt
	if msg == "" {
		msg = vp.Name
	}
	if vp.Default != nil {
		msg += fmt.Sprintf(" [%v]", vp.Default)
	}
	for tries := 0; tries < 10; tries++ {
		a, err := ask(msg+": ", vp.Private)
		if err != nil {
			return nil, err
		}
		if vp.Confirm {
			b, err := ask("confirm "+msg+": ", vp.Private)
			if err != nil {
				return nil, err
			}
			if a != b {
				continue // Ansible: "***** VALUES ENTERED DO NOT MATCH ****", asked again
			}
		}
		if a == "" && vp.Default != nil {
			return vp.encrypt(vp.Default)
		}
		return vp.encrypt(a)
	}
	return nil, errors.New("the values entered did not match")
}

// terminalPrompt asks on the terminal of stdin, or is nil without one.
func terminalPrompt() PromptFunc {
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return nil
	}
	in := bufio.NewReader(os.Stdin)
	return func(msg string, private bool) (string, error) {
		fmt.Fprint(os.Stderr, msg)
		if private {
			b, err := term.ReadPassword(fd)
			fmt.Fprintln(os.Stderr)
			return string(b), err
		}
		line, err := in.ReadString('\n')
		return strings.TrimRight(line, "\r\n"), err
	}
}

// encrypt hashes an answer when vp says encrypt, as Ansible's do_encrypt.
func (vp VarPrompt) encrypt(v any) (any, error) {
	if vp.Encrypt == "" {
		return v, nil
	}
	return template.PasswordHash(fmt.Sprint(v), vp.Encrypt, vp.Salt, vp.SaltSize)
}

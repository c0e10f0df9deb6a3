package template

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"

	"github.com/nikolalohinski/gonja/v2/builtins"
	"github.com/nikolalohinski/gonja/v2/config"
	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/loaders"
	"github.com/nikolalohinski/gonja/v2/logging"
	"github.com/nikolalohinski/gonja/v2/nodes"
	"github.com/nikolalohinski/gonja/v2/tokens"

	"github.com/sshplay/sshplay/internal/vault"
)

// Engine parses and caches templates. It is safe for concurrent use.
type Engine struct {
	cfg   *config.Config
	env   *exec.Environment
	cache sync.Map // cacheKey -> *parsed
	mode  literalMode

	fileOnce sync.Once
	file     *Engine // trim_blocks, for the template module's files

	vault *vault.Keyring // decrypts the files lookups read (NewWithVault)
}

// fileEngine is the engine for files of the template module: Ansible
// renders those with trim_blocks=True (a newline after a block tag is
// removed) and lstrip_blocks=False; module arguments keep Jinja's defaults.
func (e *Engine) fileEngine() *Engine {
	e.fileOnce.Do(func() {
		cfg := e.cfg.Inherit()
		cfg.TrimBlocks = true
		cfg.LeftStripBlocks = false
		e.file = &Engine{cfg: cfg, env: e.env, mode: decodeMode, vault: e.vault}
	})
	return e.file
}

type parsed struct {
	tpl   *exec.Template
	names []string // every Name token: candidate variables
	err   error
}

var disableLogging sync.Once

// New returns an engine with the Jinja builtins and sshplay's Ansible
// filters and tests.
func New() *Engine {
	disableLogging.Do(func() { logging.SetEnabled(false) })
	cfg := config.New()
	cfg.StrictUndefined = true
	cfg.KeepTrailingNewline = true
	filters := exec.NewFilterSet(map[string]exec.FilterFunction{}).Update(builtins.Filters)
	for name, f := range ansibleFilters {
		if filters.Exists(name) {
			_ = filters.Replace(name, f)
		} else {
			_ = filters.Register(name, f)
		}
	}
	tests := exec.NewTestSet(map[string]exec.TestFunction{}).Update(builtins.Tests)
	for name, t := range ansibleTests {
		if tests.Exists(name) {
			_ = tests.Replace(name, t)
		} else {
			_ = tests.Register(name, t)
		}
	}
	ctx := exec.EmptyContext().Update(builtins.GlobalFunctions).Update(builtins.GlobalVariables)
	ctx.Set("lookup", lookupFunction)
	ctx.Set("query", queryFunction)
	return &Engine{cfg: cfg, env: &exec.Environment{
		Context:           ctx,
		Filters:           filters,
		Tests:             tests,
		ControlStructures: builtins.ControlStructures,
		Methods:           ansibleMethods(),
	}}
}

// IsTemplate reports whether s contains Jinja markup.
func IsTemplate(s string) bool {
	return strings.Contains(s, "{{") || strings.Contains(s, "{%") || strings.Contains(s, "{#")
}

// sourceLoader serves exactly one template text.
type sourceLoader struct{ src string }

func (l sourceLoader) Read(string) (io.Reader, error)         { return bytes.NewReader([]byte(l.src)), nil }
func (l sourceLoader) Resolve(p string) (string, error)       { return p, nil }
func (l sourceLoader) Inherit(string) (loaders.Loader, error) { return l, nil }

// cacheKey is a template text and how its literals are read.
type cacheKey struct {
	src  string
	mode literalMode
}

func (e *Engine) parse(src string) *parsed { return e.parseAs(src, e.mode) }

func (e *Engine) parseAs(orig string, mode literalMode) *parsed {
	key := cacheKey{orig, mode}
	if p, ok := e.cache.Load(key); ok {
		return p.(*parsed)
	}
	p := &parsed{}
	src, err := rewriteSource(orig, mode)
	if err == nil {
		var tpl *exec.Template
		tpl, err = e.newTemplate(src)
		p.tpl = tpl
	}
	if err != nil {
		p.err = cleanParseError(err, src)
		p.tpl = nil
	} else {
		seen := map[string]bool{}
		for st := tokens.LexAll(src, e.cfg); !st.End(); st.Next() {
			if t := st.Current(); t.Type == tokens.Name && !seen[t.Val] {
				seen[t.Val] = true
				p.names = append(p.names, t.Val)
			}
		}
	}
	e.cache.Store(key, p)
	return p
}

// newTemplate parses src with gonja. gonja's parser panics on a few
// malformed texts (a test whose name is not a name: "x is !0"); that is a
// syntax error in the user's template, so it is returned as one rather
// than ending the program.
func (e *Engine) newTemplate(src string) (tpl *exec.Template, err error) {
	defer func() {
		if recover() != nil {
			tpl, err = nil, errors.New("the template parser cannot read it")
		}
	}()
	return exec.NewTemplate("template", e.cfg, sourceLoader{src}, e.env)
}

// Check reports a syntax error in a template text, without rendering it.
func (e *Engine) Check(text string) error {
	if !IsTemplate(text) {
		return nil
	}
	return e.parse(text).err
}

// CheckExpr reports a syntax error in a bare expression (a when: condition).
func (e *Engine) CheckExpr(expr string) error {
	_, err := e.exprTemplate(expr)
	return err
}

func (e *Engine) exprTemplate(expr string) (*parsed, error) {
	expr = strings.TrimSpace(expr)
	if expr == "" {
		return nil, errors.New("empty expression")
	}
	if strings.HasPrefix(expr, "{{") && strings.HasSuffix(expr, "}}") && strings.Count(expr, "{{") == 1 {
		// Ansible tolerates (and warns about) templated conditions.
		expr = strings.TrimSpace(expr[2 : len(expr)-2])
	}
	// Ansible evaluates a condition inside {% if %}: literals decoded.
	p := e.parseAs("{{ ("+expr+") }}", decodeMode)
	if p.err != nil {
		return nil, fmt.Errorf("expression %q: %w", expr, p.err)
	}
	if single(p) == nil {
		return nil, fmt.Errorf("expression %q: not a single expression", expr)
	}
	return p, nil
}

// single returns the expression of a template that is exactly one
// {{ expression }} with nothing around it, or nil.
func single(p *parsed) nodes.Expression {
	root := p.tpl.Root()
	if root == nil || len(root.Nodes) != 1 {
		return nil
	}
	out, ok := root.Nodes[0].(*nodes.Output)
	if !ok || out.Condition != nil {
		return nil
	}
	return out.Expression
}

var (
	reUndefName = regexp.MustCompile(`(?i)unable to evaluate name "([^"]+)"`)
	reUndefAttr = regexp.MustCompile(`(?:attribute|item) '?([^' ]+)'? not found`)
	reParseLine = regexp.MustCompile(`^failed to parse template '(?s:.*)': `)
)

// UndefinedError says a template used a variable that is not defined.
type UndefinedError struct {
	Name string
	// Attr is set when an attribute or key of a defined value was missing.
	Attr bool
	// Hint is a " (did you mean ...?)" suffix for a misspelt variable.
	Hint string
}

func (e *UndefinedError) Error() string {
	if e.Attr {
		return fmt.Sprintf("undefined attribute or key %q%s", e.Name, e.Hint)
	}
	return fmt.Sprintf("undefined variable %q%s", e.Name, e.Hint)
}

func cleanRenderError(err error) error {
	msg := err.Error()
	if m := reUndefName.FindStringSubmatch(msg); m != nil {
		return &UndefinedError{Name: m[1]}
	}
	if m := reUndefAttr.FindStringSubmatch(msg); m != nil {
		return &UndefinedError{Name: m[1], Attr: true}
	}
	var le *lookupError
	if errors.As(err, &le) {
		return le
	}
	// A lookup's message names its file before the cause, both needed.
	if i := strings.Index(msg, ": lookup "); i >= 0 {
		return errors.New(msg[i+2:])
	}
	// gonja wraps with "unable to execute template: Unable to render ...:";
	// keep the innermost cause, which is what the user can act on.
	parts := strings.Split(msg, ": ")
	return errors.New(strings.TrimSpace(parts[len(parts)-1]))
}

func cleanParseError(err error, src string) error {
	msg := reParseLine.ReplaceAllString(err.Error(), "")
	return fmt.Errorf("template syntax error: %s", msg)
}

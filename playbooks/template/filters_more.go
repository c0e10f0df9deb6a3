package template

// More of Ansible's filters: regex_escape, realpath, strftime, to_uuid,
// password_hash. Each is pinned against Ansible's output in
// testdata/ansible-exprs.json.

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/nikolalohinski/gonja/v2/exec"
)

// argOr is positional argument i, else keyword name, else nil.
func argOr(params *exec.VarArgs, i int, name string) *exec.Value {
	if len(params.Args) > i {
		return params.Args[i]
	}
	if v := params.GetKeywordArgument(name, nil); !v.IsNil() {
		return v
	}
	return nil
}

// pyRegexSpecial are the characters Python's re.escape escapes (3.7+).
const pyRegexSpecial = "()[]{}?*+-|^$\\.&~# \t\n\r\v\f"

func regexEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(pyRegexSpecial, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// realpath resolves a path on the control machine, as Ansible's filter
// (os.path.realpath) does: a missing tail is kept, cleaned.
func realpath(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		return r
	}
	return abs
}

func filterStrftime(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	t := time.Now()
	if s := argOr(params, 0, "second"); s != nil {
		sec := s.Float()
		t = time.Unix(int64(sec), int64((sec-float64(int64(sec)))*1e9))
	}
	out, err := strftime(in.String(), t)
	if err != nil {
		return errValue("strftime: %v", err)
	}
	return exec.AsValue(out)
}

// strftime formats t with the C library's directives Python passes on
// (the common ones; others are an error rather than a wrong date).
func strftime(format string, t time.Time) (string, error) {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		if format[i] != '%' || i+1 == len(format) {
			b.WriteByte(format[i])
			continue
		}
		i++
		s, ok := strftimeDirective(format[i], t)
		if !ok {
			return "", fmt.Errorf("directive %%%c is not supported", format[i])
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

func strftimeDirective(c byte, t time.Time) (string, bool) {
	hour12 := t.Hour() % 12
	if hour12 == 0 {
		hour12 = 12
	}
	_, week := t.ISOWeek()
	switch c {
	case 'Y':
		return fmt.Sprintf("%04d", t.Year()), true
	case 'y':
		return fmt.Sprintf("%02d", t.Year()%100), true
	case 'm':
		return fmt.Sprintf("%02d", int(t.Month())), true
	case 'd':
		return fmt.Sprintf("%02d", t.Day()), true
	case 'e':
		return fmt.Sprintf("%2d", t.Day()), true
	case 'H':
		return fmt.Sprintf("%02d", t.Hour()), true
	case 'I':
		return fmt.Sprintf("%02d", hour12), true
	case 'M':
		return fmt.Sprintf("%02d", t.Minute()), true
	case 'S':
		return fmt.Sprintf("%02d", t.Second()), true
	case 'j':
		return fmt.Sprintf("%03d", t.YearDay()), true
	case 'a':
		return t.Format("Mon"), true
	case 'A':
		return t.Format("Monday"), true
	case 'b', 'h':
		return t.Format("Jan"), true
	case 'B':
		return t.Format("January"), true
	case 'p':
		return t.Format("PM"), true
	case 'Z':
		return t.Format("MST"), true
	case 'z':
		return t.Format("-0700"), true
	case 's':
		return fmt.Sprint(t.Unix()), true
	case 'u':
		return fmt.Sprint((int(t.Weekday())+6)%7 + 1), true
	case 'w':
		return fmt.Sprint(int(t.Weekday())), true
	case 'V':
		return fmt.Sprintf("%02d", week), true
	case 'F':
		return t.Format("2006-01-02"), true
	case 'T':
		return t.Format("15:04:05"), true
	case '%':
		return "%", true
	}
	return "", false
}

// ansibleUUIDNamespace is Ansible's default to_uuid namespace.
const ansibleUUIDNamespace = "361e6d51-faec-444a-9079-341386da8e2e"

func filterToUUID(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	ns := ansibleUUIDNamespace
	if v := argOr(params, 0, "namespace"); v != nil {
		ns = v.String()
	}
	out, err := uuid5(ns, in.String())
	if err != nil {
		return errValue("to_uuid: %v", err)
	}
	return exec.AsValue(out)
}

// uuid5 is Python's uuid.uuid5(namespace, name).
func uuid5(namespace, name string) (string, error) {
	ns, err := hex.DecodeString(strings.ReplaceAll(namespace, "-", ""))
	if err != nil || len(ns) != 16 {
		return "", fmt.Errorf("invalid namespace %q", namespace)
	}
	h := sha1.New()
	h.Write(ns)
	h.Write([]byte(name))
	u := h.Sum(nil)[:16]
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	x := hex.EncodeToString(u)
	return x[:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:], nil
}

// filterPasswordHash is password_hash(hashtype, salt, rounds): the
// SHA-crypt schemes, with passlib's default rounds as Ansible uses them.
func filterPasswordHash(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	kind := "sha512"
	if v := argOr(params, 0, "hashtype"); v != nil {
		kind = v.String()
	}
	var scheme shaCryptScheme
	switch kind {
	case "sha512", "sha512_crypt":
		scheme = sha512Crypt
	case "sha256", "sha256_crypt":
		scheme = sha256Crypt
	default:
		return errValue("not supported yet: password_hash(%q) (sha512 and sha256 are)", kind)
	}
	var salt string
	if v := argOr(params, 1, "salt"); v != nil && !v.IsNil() && v.String() != "" {
		salt = v.String()
	} else {
		s, err := randomSalt()
		if err != nil {
			return errValue("password_hash: %v", err)
		}
		salt = s
	}
	rounds := scheme.defaultRounds
	if v := argOr(params, 2, "rounds"); v != nil && !v.IsNil() {
		rounds = v.Integer()
	}
	return exec.AsValue(scheme.hash(in.String(), salt, rounds))
}

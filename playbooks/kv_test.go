package playbooks

import "testing"

// TestParseKVDecodesEachEscapeOnce: as Ansible's parse_kv, escapes in a
// value are decoded once (\" is a quote, \\ a backslash) and the outer
// quotes are then stripped; what the decoding gave is kept as it is, so
// "a\\\"b" is a\"b, not a"b.
func TestParseKVDecodesEachEscapeOnce(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`msg="say \"hi\""`: `say "hi"`,
		`msg="a\\\"b"`:     `a\"b`,
		`msg="a\\b"`:       `a\b`,
		`msg='a\"b'`:       `a"b`,
	} {
		args, err := ParseKV(in, nil)
		if err != nil || args["msg"] != want {
			t.Errorf("%s: got %q, %v; want %q", in, args["msg"], err, want)
		}
	}
}

package pg

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// TestParseConninfoReadsAsLibpq pins the keyword/value reading to libpq's
// conninfo_parse: C's white space (form feed and vertical tab too), values
// glued to a closing quote, a trailing backslash dropped.
func TestParseConninfoReadsAsLibpq(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		want [][2]string
	}{
		{"host=db1 port = 5432", [][2]string{{"host", "db1"}, {"port", "5432"}}},
		{`password='it\'s' user=a\ b`, [][2]string{{"password", "it's"}, {"user", "a b"}}},
		{"a='x'b=1", [][2]string{{"a", "x"}, {"b", "1"}}},
		{"a=x\fb=1\vc=2", [][2]string{{"a", "x"}, {"b", "1"}, {"c", "2"}}},
		{`a=x\`, [][2]string{{"a", "x"}}},
		{"a=''", [][2]string{{"a", ""}}},
		{"a=", [][2]string{{"a", ""}}},
	} {
		got, err := ParseConninfo(c.in)
		if err != nil || !slices.Equal(got.pairs, c.want) {
			t.Errorf("ParseConninfo(%q) = %v, %v; want %q", c.in, got, err, c.want)
		}
		if want, _ := libpqConninfo(c.in); !slices.Equal(want, c.want) {
			t.Errorf("the libpq port reads %q as %q", c.in, want)
		}
	}
	for in, at := range map[string]int{"a": 1, "=x": 0, "a b=1": 2, "a='x": 2, `a='x\`: 2} {
		_, err := ParseConninfo(in)
		var ce *ConninfoError
		if !errors.As(err, &ce) || ce.Offset != at {
			t.Errorf("ParseConninfo(%q): %v, want a *ConninfoError at byte %d", in, err, at)
		}
	}
}

// TestConninfoEncodeReadsBack: what Encode writes parses to the same
// pairs, so editing primary_conninfo keeps every parameter; a URI whose
// parameter name cannot be written as keyword=value is refused instead of
// encoded into a string that no longer parses.
func TestConninfoEncodeReadsBack(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"host=db1 password='a b\\'c\\\\' sslmode=prefer",
		"a=\"x\" b='x\fy' c='\v'",
		"postgresql://rep:p%40ss@db1:5433/postgres?sslmode=require&application_name=walreceiver",
	} {
		c, err := ParseConninfo(in)
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		back, err := ParseConninfo(c.Encode())
		if err != nil || !slices.Equal(back.pairs, c.pairs) {
			t.Errorf("%q encodes as %q: %v, %v", in, c.Encode(), back, err)
		}
	}
	for _, in := range []string{"postgres://h/?a%20b=1", "postgres://h/?=x", "postgres://h/?a%3Db=1"} {
		_, err := ParseConninfo(in)
		var ce *ConninfoError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), "invalid parameter name") {
			t.Errorf("ParseConninfo(%q): %v, want an invalid parameter name", in, err)
		}
	}
}

// TestConninfoSetChangesTheValueLibpqUses: of a parameter written twice,
// libpq uses the last, so that is the one Set changes; switching sslmode
// must not leave a later sslmode=prefer in charge.
func TestConninfoSetChangesTheValueLibpqUses(t *testing.T) {
	t.Parallel()
	c, err := ParseConninfo("sslmode=disable host=db1 sslmode=prefer")
	if err != nil {
		t.Fatal(err)
	}
	c.Set("sslmode", "verify-full")
	if got, _ := c.Get("sslmode"); got != "verify-full" {
		t.Errorf("sslmode = %q after Set", got)
	}
	if got := c.Encode(); got != "sslmode=disable host=db1 sslmode=verify-full" {
		t.Errorf("Encode = %q", got)
	}
}

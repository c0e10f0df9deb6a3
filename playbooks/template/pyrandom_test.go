package template

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// randomRow is one call of Ansible's random filter and its answer,
// recorded by testdata/record.py.
type randomRow struct {
	End, Start, Step, Seed any
	Result                 json.RawMessage
	Error                  string
}

// randomValue turns a recorded argument into the Go value a playbook
// variable would hold (json.Number: int when integral).
func randomValue(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return int(i)
		}
		f, _ := x.Float64()
		return f
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = randomValue(e)
		}
		return out
	}
	return v
}

func TestRandomFilterMatchesAnsible(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("testdata/ansible-random.json")
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var rec struct{ Rows []randomRow }
	if err := dec.Decode(&rec); err != nil {
		t.Fatal(err)
	}
	if len(rec.Rows) < 100 {
		t.Fatalf("%d recorded rows, want the full record", len(rec.Rows))
	}
	for _, r := range rec.Rows {
		vars := map[string]any{"end": randomValue(r.End), "start": randomValue(r.Start),
			"step": randomValue(r.Step), "seed": randomValue(r.Seed)}
		got, err := New().Scope(vars).Template("{{ end | random(start=start, step=step, seed=seed) }}")
		call, _ := json.Marshal(vars)
		if r.Error != "" {
			if err == nil || !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(r.Error)) {
				t.Errorf("%s: got %v, %v; want the error %q", call, got, err, r.Error)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", call, err)
			continue
		}
		if r.Seed == nil {
			continue // unseeded: only that it draws (TestRandomFilterDrawsInRange)
		}
		if gotJSON, _ := json.Marshal(got); !bytes.Equal(gotJSON, r.Result) {
			t.Errorf("%s: got %s, Ansible %s", call, gotJSON, r.Result)
		}
	}
}

func TestRandomFilterDrawsInRange(t *testing.T) {
	t.Parallel()
	s := New().Scope(map[string]any{"hosts": []any{"db01", "db02", "db03"}})
	seen := map[any]bool{}
	for range 300 {
		for in, ok := range map[string]func(any) bool{
			"{{ 60 | random }}":                    func(v any) bool { n, _ := v.(int); seen[n] = true; return n >= 0 && n < 60 },
			"{{ 100 | random(start=90, step=5) }}": func(v any) bool { n, _ := v.(int); return n == 90 || n == 95 },
			"{{ hosts | random }}":                 func(v any) bool { return v == "db01" || v == "db02" || v == "db03" },
			"{{ 'ab' | random }}":                  func(v any) bool { return v == "a" || v == "b" },
		} {
			v, err := s.Template(in)
			if err != nil || !ok(v) {
				t.Fatalf("%s: got %#v, %v", in, v, err)
			}
		}
	}
	if len(seen) < 30 {
		t.Errorf("300 draws of 60 | random gave only %d values: not random", len(seen))
	}
	a, _ := s.Template("{{ 1000000 | random(seed='db01') }}")
	b, _ := s.Template("{{ 1000000 | random(seed='db01') }}")
	if a != b {
		t.Errorf("the same seed gave %v then %v", a, b)
	}
}

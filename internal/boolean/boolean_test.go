package boolean

import (
	"encoding/json"
	"os"
	"testing"
)

// TestTruthTableMatchesAnsible pins Parse and Filter to Ansible's own
// boolean(strict=True) and `bool` filter, recorded from ansible-core in
// testdata/ansible-truth.json by testdata/record.py.
func TestTruthTableMatchesAnsible(t *testing.T) {
	raw, err := os.ReadFile("testdata/ansible-truth.json")
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Rows []struct {
			Value   any `json:"value"`
			Boolean any `json:"boolean"`
			Filter  any `json:"filter"`
		} `json:"rows"`
	}
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatal(err)
	}
	if len(rec.Rows) < 40 {
		t.Fatalf("only %d recorded rows", len(rec.Rows))
	}
	for _, r := range rec.Rows {
		for _, v := range forms(r.Value) {
			got, err := Parse(v)
			if r.Boolean == "error" {
				if err == nil {
					t.Errorf("Parse(%#v) = %v; Ansible: error", v, got)
				}
			} else if err != nil || got != r.Boolean {
				t.Errorf("Parse(%#v) = %v, %v; Ansible: %v", v, got, err, r.Boolean)
			}
			want := r.Filter == true // Ansible's None is false here
			if got := Filter(v); got != want {
				t.Errorf("Filter(%#v) = %v; Ansible: %v", v, got, r.Filter)
			}
		}
	}
}

// forms gives a recorded value as the Go types it reaches sshplay in: a
// JSON number comes as float64, YAML gives int for integral numbers.
func forms(v any) []any {
	f, ok := v.(float64)
	if !ok || f != float64(int(f)) {
		return []any{v}
	}
	out := []any{f, int(f), int64(f)}
	if f >= 0 {
		out = append(out, uint8(f))
	}
	return out
}

func TestErrorNamesTheValue(t *testing.T) {
	_, err := Parse("enable")
	if err == nil || err.Error() != `"enable" is not a valid boolean; use true or false` {
		t.Fatalf("error = %v", err)
	}
}

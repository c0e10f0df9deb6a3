package playbooks

// Unit tests of debug's verbosity gate and of handlers after a fatal
// error, on the in-memory fleet.

import (
	"strings"
	"testing"
)

func TestDebugVerbosity(t *testing.T) {
	t.Parallel()
	const src = `
- hosts: dbservers
  tasks:
    - debug: {msg: shown-at-v2, verbosity: 2}
      register: r
    - debug: {var: r}
`
	for _, format := range []string{"text", "json"} {
		for v := 0; v <= 3; v++ {
			f := newFleet(1)
			sum, out := runYAML(t, f, src, func(o *Options) { o.Verbose, o.Format = v, format })
			if strings.Contains(out, "_verbosity") {
				t.Errorf("%s -v%d: _verbosity in output:\n%s", format, v, out)
			}
			st := stats(t, sum, "db01")
			if v < 2 {
				if st.Skipped != 1 || st.OK != 1 || strings.Count(out, "shown-at-v2") != 0 {
					t.Errorf("%s -v%d: stats %+v, output:\n%s", format, v, st, out)
				}
				if format == "text" && !strings.Contains(out, "skipping: [db01]") {
					t.Errorf("-v%d: no skipping line:\n%s", v, out)
				}
				if !strings.Contains(out, "Verbosity threshold not met.") {
					t.Errorf("%s -v%d: registered result lacks the skip reason:\n%s", format, v, out)
				}
				continue
			}
			// Shown, and registered as shown.
			if st.Skipped != 0 || st.OK != 2 || !strings.Contains(out, "shown-at-v2") {
				t.Errorf("%s -v%d: stats %+v, output:\n%s", format, v, st, out)
			}
		}
	}
}

func TestAnyErrorsFatalSkipsHandlersUnlessForced(t *testing.T) {
	t.Parallel()
	for _, force := range []bool{false, true} {
		f := newFleet(3)
		f.hosts["db02"].fail = "step2"
		runYAML(t, f, `
- hosts: dbservers
  any_errors_fatal: true
  handlers:
    - name: h
      trun: handler
  tasks:
    - trun: step1
      notify: h
    - trun: step2
    - trun: step3
`, func(o *Options) { o.ForceHandlers = force })
		for _, h := range []string{"db01", "db02", "db03"} {
			ran := strings.Join(f.ran(h), ",")
			if strings.Contains(ran, "step3") {
				t.Errorf("force=%v %s ran %s after the fatal task", force, h, ran)
			}
			if got := strings.Contains(ran, "handler"); got != force {
				t.Errorf("force=%v %s: handler ran=%v (%s)", force, h, got, ran)
			}
		}
	}
}

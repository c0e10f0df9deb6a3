package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sshplay/sshplay/internal/golden"
	"github.com/sshplay/sshplay/transport"
)

// exactFacts are the facts whose values must equal Ansible's on the same
// machine at the same moment.
var exactFacts = []string{
	"os_family", "distribution", "distribution_version", "distribution_major_version", "distribution_minor_version",
	"distribution_release", "hostname", "fqdn", "nodename", "domain", "system", "kernel", "kernel_version",
	"machine", "architecture", "userspace_bits", "userspace_architecture",
	"default_ipv4", "default_ipv6", "all_ipv4_addresses", "all_ipv6_addresses",
	"processor", "processor_count", "processor_cores", "processor_threads_per_core", "processor_vcpus",
	"processor_nproc", "memtotal_mb", "swaptotal_mb", "service_mgr", "pkg_mgr",
	"user_id", "user_uid", "user_gid", "user_dir", "user_shell", "user_gecos",
	"effective_user_id", "effective_group_id", "real_user_id", "real_group_id",
	"virtualization_type", "virtualization_role", "selinux", "apparmor", "lsb", "local", "dns",
}

// interfaceKeys are the per-interface facts compared with Ansible's.
var interfaceKeys = []string{"device", "active", "ipv4", "ipv6", "mtu", "macaddress", "type", "promisc", "pciid"}

// mountKeys are the mount facts that do not move while a machine runs.
var mountKeys = []string{"mount", "device", "fstype", "options", "block_size", "block_total", "inode_total", "size_total", "uuid"}

const (
	rawFile     = "testdata/setup/localhost.raw"
	ansibleFile = "testdata/setup/ansible-localhost.json"
)

// TestFactsMatchAnsibleSetupOnTheSameMachine parses the recorded output
// of the gathering command and compares it with what `ansible -m setup`
// reported on the same machine at the same moment (both recorded by
// -update; only the compared facts are kept, so no secret is stored).
func TestFactsMatchAnsibleSetupOnTheSameMachine(t *testing.T) {
	if golden.Updating() {
		recordSetupGoldens(t)
	}
	raw, err := os.ReadFile(rawFile)
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]any
	data, err := os.ReadFile(ansibleFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatal(err)
	}
	on, _ := FactOptions{}.parts()
	got := normalize(t, comparable(parseFacts(splitSections(raw), on)))
	for k := range want {
		if !reflect.DeepEqual(got[k], want[k]) {
			g, _ := json.Marshal(got[k])
			w, _ := json.Marshal(want[k])
			t.Errorf("%s:\n got %s\nwant %s", k, g, w)
		}
	}
	if len(want) < len(exactFacts) {
		t.Errorf("golden has %d facts, want at least %d", len(want), len(exactFacts))
	}
}

// comparable keeps the facts compared with Ansible's, the interface list
// sorted (Ansible lists /sys/class/net in directory order).
func comparable(f map[string]any) map[string]any {
	out := map[string]any{}
	for _, k := range exactFacts {
		if v, ok := f["ansible_"+k]; ok {
			out[k] = v
		}
	}
	if env, ok := f["ansible_env"].(map[string]any); ok {
		out["env.HOME"] = env["HOME"]
	}
	if dt, ok := f["ansible_date_time"].(map[string]any); ok {
		keys := make([]string, 0, len(dt))
		for k := range dt {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out["date_time.keys"] = keys
		out["date_time.tz"] = dt["tz"]
	}
	names, _ := f["ansible_interfaces"].([]any)
	var sorted []string
	for _, n := range names {
		s := n.(string)
		sorted = append(sorted, s)
		dev, _ := f["ansible_"+s].(map[string]any)
		d := map[string]any{}
		for _, k := range interfaceKeys {
			if v, ok := dev[k]; ok {
				d[k] = v
			}
		}
		out["iface."+s] = d
	}
	sort.Strings(sorted)
	out["interfaces"] = sorted
	var mounts []any
	ms, _ := f["ansible_mounts"].([]any)
	for _, m := range ms {
		mm := m.(map[string]any)
		d := map[string]any{}
		for _, k := range mountKeys {
			d[k] = mm[k]
		}
		mounts = append(mounts, d)
	}
	out["mounts"] = mounts
	return out
}

// normalize passes facts through JSON so that numbers compare alike.
func normalize(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// recordSetupGoldens runs the gathering command and `ansible -m setup`
// on this machine, back to back, and keeps what the test compares: the
// command's output with the environment cut down to HOME, and Ansible's
// facts reduced by comparable.
func recordSetupGoldens(t *testing.T) {
	if _, err := exec.LookPath("ansible"); err != nil {
		t.Fatalf("-update needs ansible (apt-get install ansible-core): %v", err)
	}
	on, _ := FactOptions{}.parts()
	res, err := transport.NewLocalConn("localhost").Run(context.Background(), factScript(on, DefaultFactPath), transport.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ansible", "-i", "localhost,", "-c", "local", "-m", "setup", "localhost")
	cmd.Env = append(os.Environ(), "ANSIBLE_PYTHON_INTERPRETER=auto_silent", "ANSIBLE_NOCOLOR=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ansible -m setup: %v", err)
	}
	var reply struct {
		Facts map[string]any `json:"ansible_facts"`
	}
	if err := json.Unmarshal(out[strings.Index(string(out), "{"):], &reply); err != nil {
		t.Fatal(err)
	}
	secs := splitSections(res.Stdout)
	env := envFacts(secs["env"])
	raw := strings.Replace(string(res.Stdout), "\n@@sshplay:env\n"+secs["env"]+"\n", "\n@@sshplay:env\nHOME="+env["HOME"].(string)+"\n", 1)
	reply.Facts["ansible_local"] = map[string]any{} // local facts: tested on their own
	g, _ := json.MarshalIndent(normalize(t, comparable(reply.Facts)), "", "  ")
	for path, data := range map[string][]byte{rawFile: []byte(raw), ansibleFile: append(g, '\n')} {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestGatherSubsetChoosesPartsAsAnsibleDoes pins gather_subset against
// what `ansible -m setup -a gather_subset=...` (ansible-core 2.14)
// gathered on this machine.
func TestGatherSubsetChoosesPartsAsAnsibleDoes(t *testing.T) {
	for _, c := range []struct {
		subset []string
		want   string // the parts on, sorted
	}{
		{nil, "hardware,network,virtual"},
		{[]string{"all"}, "hardware,network,virtual"},
		{[]string{"min"}, ""},
		{[]string{"network"}, "network"},
		{[]string{"!hardware"}, ""},
		{[]string{"!all"}, ""},
		{[]string{"!all", "hardware"}, "hardware"},
		{[]string{"all", "!network"}, "hardware,virtual"},
		{[]string{"!all", "!min", "network"}, "network"},
	} {
		on, err := FactOptions{Subset: c.subset}.parts()
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for p, ok := range on {
			if ok {
				got = append(got, p)
			}
		}
		sort.Strings(got)
		if strings.Join(got, ",") != c.want {
			t.Errorf("gather_subset %v: parts %v, want %s", c.subset, got, c.want)
		}
	}
	if _, err := (FactOptions{Subset: []string{"hardwar"}}).parts(); err == nil || !strings.Contains(err.Error(), `"hardwar"`) {
		t.Errorf("unknown subset: got %v", err)
	}
}

func TestMinSubsetLeavesOutNetworkHardwareAndVirtualFacts(t *testing.T) {
	raw, err := os.ReadFile(rawFile)
	if err != nil {
		t.Fatal(err)
	}
	on, _ := FactOptions{Subset: []string{"min"}}.parts()
	if s := factScript(on, DefaultFactPath); strings.Contains(s, "/proc/meminfo") || strings.Contains(s, "ip -o addr") {
		t.Errorf("min script still reads hardware or network:\n%s", s)
	}
	f := parseFacts(splitSections(raw), on)
	for _, k := range []string{"ansible_memtotal_mb", "ansible_default_ipv4", "ansible_virtualization_type", "ansible_mounts"} {
		if _, ok := f[k]; ok {
			t.Errorf("min gathered %s", k)
		}
	}
	if f["ansible_distribution"] != "Debian" || f["ansible_service_mgr"] == nil {
		t.Errorf("min lacks distribution or service_mgr: %v %v", f["ansible_distribution"], f["ansible_service_mgr"])
	}
}

func TestFilterKeepsFactsMatchingAnyGlob(t *testing.T) {
	f := map[string]any{"ansible_eth0": 1, "ansible_lo": 2, "ansible_memtotal_mb": 3, "ansible_kernel": 4}
	got := filterFacts(f, stringList("ansible_eth*, *_mb"))
	if len(got) != 2 || got["ansible_eth0"] != 1 || got["ansible_memtotal_mb"] != 3 {
		t.Errorf("filter: got %v", got)
	}
	if len(filterFacts(f, nil)) != 4 {
		t.Error("no filter dropped facts")
	}
}

func TestLocalFactsReadJSONAndINI(t *testing.T) {
	got := localFacts(map[string]string{
		"local:app.fact":   `{"version": "1.2", "ports": [80, 443]}`,
		"local:prefs.fact": "[general]\nasdf=1\nBar = baz\n",
		"local:bad.fact":   "not facts",
		"os_release":       "ID=debian",
	})
	want := map[string]any{
		"app":   map[string]any{"version": "1.2", "ports": []any{float64(80), float64(443)}},
		"prefs": map[string]any{"general": map[string]any{"asdf": "1", "bar": "baz"}},
		"bad":   "error loading facts as JSON or ini - please check content: bad.fact",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("local facts:\n got %v\nwant %v", got, want)
	}
}

func TestDateTimeFactsInTheHostsZone(t *testing.T) {
	// 2024-03-10 01:02:03.000456 UTC is 02:02:03 in CET (+0100), a Sunday.
	got := dateTimeFacts("1710032523 000456789 +0100 CET")
	want := map[string]any{
		"year": "2024", "month": "03", "day": "10", "hour": "02", "minute": "02", "second": "03",
		"epoch": "1710032523", "epoch_int": "1710032523", "date": "2024-03-10", "time": "02:02:03",
		"iso8601": "2024-03-10T01:02:03Z", "iso8601_micro": "2024-03-10T01:02:03.000456Z",
		"iso8601_basic": "20240310T020203000456", "iso8601_basic_short": "20240310T020203",
		"tz": "CET", "tz_dst": "CET", "tz_offset": "+0100", "weekday": "Sunday", "weekday_number": "0",
		"weeknumber": "10",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("date_time:\n got %v\nwant %v", got, want)
	}
}

func TestCPUFactsCountProcessorsOnARM(t *testing.T) {
	cpuinfo := "processor\t: 0\nBogoMIPS\t: 48.00\nCPU implementer\t: 0x41\n\nprocessor\t: 1\nBogoMIPS\t: 48.00\n\n" +
		"processor\t: 2\n\nprocessor\t: 3\n"
	got := cpuFacts(cpuinfo, "aarch64")
	if got["processor_count"] != 4 || got["processor_cores"] != 1 || got["processor_vcpus"] != 4 {
		t.Errorf("arm cpu facts: %v", got)
	}
}

func TestMountPathsWithSpacesAreDecoded(t *testing.T) {
	got := mountFacts(`/dev/sdb1 /mnt/my\040disk ext4 rw 4096 4096 100 40 10 4`)
	m := got[0].(map[string]any)
	if m["mount"] != "/mnt/my disk" || m["size_total"] != int64(409600) || m["size_available"] != int64(163840) || m["inode_used"] != int64(6) {
		t.Errorf("mount: %v", m)
	}
}

func TestSetupModuleRejectsUnknownArguments(t *testing.T) {
	if err := (setupModule{}).CheckArgs(map[string]any{"filters": "x"}); err == nil || !strings.Contains(err.Error(), `"filters"`) {
		t.Errorf("got %v", err)
	}
	if err := (setupModule{}).CheckArgs(map[string]any{"gather_subset": "!all,network", "filter": []any{"a*"}, "gather_timeout": 5}); err != nil {
		t.Errorf("valid arguments refused: %v", err)
	}
}

// blockingConn is a host whose commands run until they are cancelled.
type blockingConn struct{ transport.Conn }

func (blockingConn) Run(ctx context.Context, cmd string, o transport.RunOptions) (*transport.Result, error) {
	<-ctx.Done()
	return nil, fmt.Errorf("host h: %w", ctx.Err())
}

func TestGatherTimeoutStopsTheGathering(t *testing.T) {
	start := time.Now()
	_, err := Gather(context.Background(), blockingConn{}, FactOptions{Timeout: 50 * time.Millisecond})
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("got %v after %v, want the deadline", err, time.Since(start))
	}
}

// FuzzParseFacts: no output of the gathering command makes parsing panic.
func FuzzParseFacts(f *testing.F) {
	if raw, err := os.ReadFile(rawFile); err == nil {
		f.Add(raw)
	}
	f.Add([]byte("\n@@sshplay:cpuinfo\ncpu cores: 0\nsiblings: x\n@@sshplay:mounts\n/dev/x /a ext4 rw 1 2\n@@sshplay:ifaces\nlo|||"))
	on, _ := FactOptions{}.parts()
	f.Fuzz(func(t *testing.T, out []byte) {
		parseFacts(splitSections(out), on)
	})
}

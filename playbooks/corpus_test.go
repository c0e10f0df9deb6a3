package playbooks

// The corpus: real public playbooks (testdata/corpus/NAME, each with a
// SOURCE file naming its repository, commit and paths) and what
// ansible-playbook itself says about them (NAME/golden, recorded by
// testdata/corpus/record.sh). For each playbook sshplay must parse it,
// list its tasks and hosts as Ansible lists them and, where a check run is
// safe, end a --check run with Ansible's PLAY RECAP.
//
// corpusToday holds, per playbook, sshplay's exact answer today wherever
// it is not Ansible's: a refusal, the first listing line that differs, a
// recap that differs. An empty field means "like Ansible". The tests fail
// both ways: when sshplay's answer changes from the one written here (a
// feature landed, or something broke) and when an entry is left in place
// although sshplay now answers like Ansible. Run with
//
//	go test -run Corpus ./playbooks
//
// and, after a change, rewrite corpusToday with what sshplay answers now:
//
//	go test -run Corpus ./playbooks -args -corpus.update

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"go/format"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/sshplay/sshplay/inventory"
	"github.com/sshplay/sshplay/transport"
)

// corpusCase is one corpus playbook and how record.sh ran Ansible on it.
type corpusCase struct {
	dir, playbook string
	extraVars     map[string]any
	// rolesPath is ansible.cfg's roles_path, relative to dir.
	rolesPath []string
	// checkRun: a --check run of the playbook touches nothing on this
	// machine (record.sh check=yes). k3s-reboot is never check-run.
	checkRun bool
}

// corpusAnswer is sshplay's answer about a corpus playbook today, field by
// field, where it is not Ansible's; "" is Ansible's answer.
type corpusAnswer struct {
	// parse is the exact error sshplay's parser gives ("" parses); path
	// prefixes testdata/corpus/DIR/ are removed.
	parse string
	// list and hosts are the first line where sshplay's --list-tasks
	// and --list-hosts differ from Ansible's golden, or the listing's
	// error.
	list, hosts string
	// check is sshplay's --check outcome where it is not Ansible's: the
	// recap, or the run's error.
	check string
}

// corpusCases is the corpus, in record.sh's order.
var corpusCases = []corpusCase{
	{dir: "ae-lamp_simple", playbook: "site.yml", checkRun: true},
	{dir: "ae-tomcat-standalone", playbook: "site.yml", checkRun: true},
	{dir: "ae-intermediate_example", playbook: "intermediate_example.yml", checkRun: true},
	{dir: "ae-conditionals_part2", playbook: "conditionals_part2.yml", checkRun: true},
	{dir: "ae-prompts", playbook: "prompts.yml", checkRun: true,
		extraVars: map[string]any{"some_password": "pw", "release_version": "1.0", "my_password2": "pw2"}},
	{dir: "ae-roletest", playbook: "roletest.yml", checkRun: true},
	{dir: "ae-delegation", playbook: "delegation.yml", checkRun: true},
	{dir: "ae-batch_size_control", playbook: "batch_size_control.yml", checkRun: true},
	{dir: "ae-loop_nested", playbook: "loop_nested.yml", checkRun: true},
	{dir: "ae-register_logic", playbook: "register_logic.yml", checkRun: true},
	{dir: "ae-tags", playbook: "tags.yml", checkRun: true},
	{dir: "afd-first-ansible-playbook", playbook: "playbook.yml", checkRun: true},
	{dir: "afd-includes", playbook: "playbook.yml", checkRun: true},
	{dir: "afd-nodejs", playbook: "playbook.yml", checkRun: true},
	{dir: "afd-nodejs-role", playbook: "playbook.yml", checkRun: true},
	{dir: "afd-security", playbook: "main.yml", checkRun: true},
	{dir: "afd-drupal", playbook: "playbook.yml", checkRun: true},
	{dir: "afd-solr", playbook: "playbook.yml", checkRun: true},
	{dir: "pd-linux-temp_sudo", playbook: "temp_sudo.yml", checkRun: true,
		extraVars: map[string]any{"_hosts": "all"}},
	{dir: "pd-linux-run_script", playbook: "run_script.yml", checkRun: true,
		extraVars: map[string]any{"_hosts": "all", "shell_script": "uptime"}},
	{dir: "pd-linux-service_start", playbook: "service_start.yml", checkRun: true,
		extraVars: map[string]any{"_hosts": "all"}},
	{dir: "pd-linux-fact_scan", playbook: "fact_scan.yml", checkRun: true,
		extraVars: map[string]any{"_hosts": "all"}},
	{dir: "k3s-site", playbook: "playbooks/site.yml", rolesPath: []string{"roles"}, checkRun: true},
	{dir: "k3s-reboot", playbook: "playbooks/reboot.yml"},
	{dir: "internet-pi", playbook: "main.yml", checkRun: true},
}

// corpusToday is sshplay's answer per corpus playbook where it is not yet
// Ansible's (written by -corpus.update; keep the markers).
//
// One entry is a deliberate difference, not a gap: ae-roletest applies
// role foo twice with the same files, and Ansible's check run reports the
// second copy/template as changed again, since check mode wrote nothing;
// sshplay's check run is a plan in which the first application's files
// exist, so it reports what a real run would (changed=2, not 4).
//
// corpus-today-begin
var corpusToday = map[string]corpusAnswer{
	"ae-lamp_simple": {
		parse: "roles/common/tasks/main.yml:5:3: not supported yet: module \"yum\"\nroles/db/tasks/main.yml:5:3: not supported yet: module \"yum\"\nroles/db/tasks/main.yml:15:3: not supported yet: module \"seboolean\"\nroles/db/tasks/main.yml:44:3: not supported yet: module \"mysql_db\"\nroles/db/tasks/main.yml:49:3: not supported yet: module \"mysql_user\"",
	},
	"ae-tomcat-standalone": {
		parse: "roles/selinux/tasks/main.yml:4:3: not supported yet: module \"get_url\"\nroles/selinux/tasks/main.yml:13:3: not supported yet: module \"get_url\"\nroles/selinux/tasks/main.yml:21:3: not supported yet: module \"yum\"\nroles/tomcat/tasks/main.yml:3:3: not supported yet: module \"yum\"\nroles/tomcat/tasks/main.yml:6:3: not supported yet: module \"group\"\nroles/tomcat/tasks/main.yml:9:3: not supported yet: module \"user\"\nroles/tomcat/tasks/main.yml:14:3: not supported yet: module \"get_url\"\nroles/tomcat/tasks/main.yml:45:3: not supported yet: module \"firewalld\"\nroles/tomcat/tasks/main.yml:49:3: not supported yet: module \"firewalld\"",
	},
	"ae-roletest": {
		check: "host1 ok=5 changed=2 unreachable=0 failed=0 skipped=6 rescued=0 ignored=0 (ansible: host1 ok=5 changed=4 unreachable=0 failed=0 skipped=6 rescued=0 ignored=0)",
	},
	"afd-first-ansible-playbook": {
		parse: "playbook.yml:7:5: not supported yet: module \"dnf\"\nplaybook.yml:21:5: not supported yet: module \"dnf\"",
	},
	"afd-includes": {
		parse: "playbook.yml:10:7: not supported yet: module \"apt\"\ntasks/apache.yml:3:3: not supported yet: module \"apache2_module\"\ntasks/common.yml:3:3: not supported yet: module \"apt\"\ntasks/common.yml:10:3: not supported yet: module \"apt_repository\"\ntasks/common.yml:13:3: not supported yet: module \"apt\"\ntasks/composer.yml:3:3: not supported yet: module \"get_url\"\ntasks/drupal.yml:3:3: not supported yet: module \"git\"\ntasks/drush.yml:3:3: not supported yet: module \"git\"\ntasks/mysql.yml:3:3: not supported yet: module \"mysql_db\"\ntasks/mysql.yml:6:3: not supported yet: module \"mysql_user\"\ntasks/mysql.yml:14:3: not supported yet: module \"mysql_user\"",
	},
	"afd-nodejs": {
		parse: "playbook.yml:10:7: not supported yet: module \"dnf\"\nplaybook.yml:13:7: not supported yet: module \"rpm_key\"\nplaybook.yml:18:7: not supported yet: module \"dnf\"\nplaybook.yml:26:7: not supported yet: module \"dnf\"\nplaybook.yml:29:7: not supported yet: module \"npm\"\nplaybook.yml:38:7: not supported yet: module \"npm\"",
	},
	"afd-nodejs-role": {
		parse: "playbook.yml:9:7: not supported yet: module \"rpm_key\"\nplaybook.yml:14:7: not supported yet: module \"dnf\"\nplaybook.yml:19:7: not supported yet: module \"dnf\"\nplaybook.yml:35:7: not supported yet: module \"npm\"\nroles/nodejs/tasks/main.yml:3:3: not supported yet: module \"dnf\"\nroles/nodejs/tasks/main.yml:6:3: not supported yet: module \"npm\"",
	},
	"afd-security": {
		parse: "main.yml:12:7: not supported yet: module \"seport\"\nmain.yml:37:7: not supported yet: module \"user\"\nmain.yml:52:7: not supported yet: module \"package\"\nmain.yml:68:7: not supported yet: module \"dnf\"\nmain.yml:80:7: not supported yet: module \"apt\"\nmain.yml:104:7: not supported yet: module \"firewalld\"\nmain.yml:117:7: not supported yet: module \"dnf\"\nmain.yml:123:7: not supported yet: module \"dnf\"\nmain.yml:130:7: not supported yet: module \"apt\"\nmain.yml:143:7: not supported yet: module \"dnf\"\nmain.yml:148:7: not supported yet: module \"selinux\"\nmain.yml:153:7: not supported yet: module \"seboolean\"",
	},
	"afd-drupal": {
		parse: "playbook.yml:10:7: not supported yet: module \"apt\"\nplaybook.yml:18:7: not supported yet: module \"apt\"\nplaybook.yml:25:7: not supported yet: module \"apt_repository\"\nplaybook.yml:28:7: not supported yet: module \"apt\"\nplaybook.yml:63:7: not supported yet: module \"apache2_module\"\nplaybook.yml:96:7: not supported yet: module \"mysql_db\"\nplaybook.yml:99:7: not supported yet: module \"mysql_user\"\nplaybook.yml:107:7: not supported yet: module \"get_url\"\nplaybook.yml:136:7: not supported yet: module \"composer\"\nplaybook.yml:145:7: not supported yet: module \"composer\"",
	},
	"afd-solr": {
		parse: "playbook.yml:10:7: not supported yet: module \"apt\"\nplaybook.yml:14:7: not supported yet: module \"apt\"\nplaybook.yml:17:7: not supported yet: module \"get_url\"\nplaybook.yml:23:7: not supported yet: module \"unarchive\"",
	},
	"pd-linux-temp_sudo": {
		parse: "temp_sudo.yml:14:7: not supported yet: module \"ansible.builtin.getent\"\ntemp_sudo.yml:19:7: not supported yet: module \"ansible.builtin.dnf\"\ntemp_sudo.yml:37:7: not supported yet: module \"ansible.posix.at\"",
	},
	"pd-linux-service_start": {
		parse: "service_start.yml:10:7: not supported yet: module \"ansible.builtin.service_facts\"",
	},
	"pd-linux-fact_scan": {
		parse: "fact_scan.yml:8:7: not supported yet: module \"ansible.builtin.package_facts\"\nfact_scan.yml:11:7: not supported yet: module \"ansible.builtin.service_facts\"",
	},
	"k3s-site": {
		parse: "roles/airgap/tasks/main.yml:27:11: not supported yet: module \"ansible.builtin.get_url\"\nroles/airgap/tasks/main.yml:80:11: not supported yet: module \"ansible.builtin.dnf\"\nroles/k3s_agent/tasks/main.yml:21:7: not supported yet: module \"ansible.builtin.get_url\"\nroles/k3s_agent/tasks/main.yml:46:25: not supported yet: filter \"ansible.utils.ipwrap\"\nroles/k3s_server/tasks/main.yml:70:28: not supported yet: filter \"ansible.utils.ipwrap\"\nroles/k3s_server/tasks/main.yml:89:7: not supported yet: module \"ansible.builtin.get_url\"\nroles/k3s_server/tasks/main.yml:180:7: not supported yet: module \"ansible.builtin.pause\"\nroles/k3s_server/tasks/main.yml:218:34: not supported yet: filter \"ansible.utils.ipwrap\"\nroles/k3s_server/tasks/main.yml:258:11: not supported yet: module \"ansible.builtin.slurp\"\nroles/prereq/tasks/main.yml:10:3: not supported yet: module \"ansible.builtin.apt\"\nroles/prereq/tasks/main.yml:19:3: not supported yet: module \"ansible.builtin.dnf\"\nroles/prereq/tasks/main.yml:27:3: not supported yet: module \"ansible.builtin.dnf\"\nroles/prereq/tasks/main.yml:32:3: not supported yet: module \"ansible.posix.sysctl\"\nroles/prereq/tasks/main.yml:39:3: not supported yet: module \"ansible.posix.sysctl\"\nroles/prereq/tasks/main.yml:53:7: not supported yet: module \"ansible.builtin.package_facts\"\nroles/prereq/tasks/main.yml:57:7: not supported yet: module \"community.general.pacman\"\nroles/prereq/tasks/main.yml:65:7: not supported yet: module \"community.general.pacman\"\nroles/prereq/tasks/main.yml:72:7: not supported yet: module \"ansible.builtin.service_facts\"\nroles/prereq/tasks/main.yml:105:3: not supported yet: module \"ansible.builtin.service_facts\"\nroles/prereq/tasks/main.yml:122:7: not supported yet: module \"community.general.ufw\"\nroles/prereq/tasks/main.yml:131:7: not supported yet: module \"community.general.ufw\"\nroles/prereq/tasks/main.yml:139:7: not supported yet: module \"community.general.ufw\"\nroles/prereq/tasks/main.yml:153:7: not supported yet: module \"community.general.ufw\"\nroles/prereq/tasks/main.yml:165:7: not supported yet: module \"ansible.posix.firewalld\"\nroles/prereq/tasks/main.yml:174:7: not supported yet: module \"ansible.posix.firewalld\"\nroles/prereq/tasks/main.yml:182:7: not supported yet: module \"ansible.posix.firewalld\"\nroles/prereq/tasks/main.yml:196:7: not supported yet: module \"ansible.posix.firewalld\"\nroles/prereq/tasks/main.yml:215:7: not supported yet: module \"ansible.posix.firewalld\"\nroles/prereq/tasks/main.yml:231:3: not supported yet: module \"community.general.modprobe\"\nroles/prereq/tasks/main.yml:237:3: not supported yet: module \"ansible.posix.sysctl\"\nroles/prereq/tasks/main.yml:264:3: not supported yet: module \"ansible.builtin.package\"\nroles/prereq/tasks/main.yml:274:3: not supported yet: module \"ansible.builtin.package\"\nroles/prereq/tasks/main.yml:279:3: not supported yet: module \"ansible.builtin.package_facts\"\nroles/raspberrypi/handlers/main.yml:3:3: not supported yet: module \"ansible.builtin.reboot\"",
	},
	"k3s-reboot": {
		parse: "playbooks/reboot.yml:9:7: not supported yet: module \"ansible.builtin.reboot\"\nplaybooks/reboot.yml:19:7: not supported yet: module \"ansible.builtin.reboot\"",
	},
	"internet-pi": {
		parse: "main.yml:14:7: not supported yet: module \"ansible.builtin.apt\"\nmain.yml:21:7: not supported yet: module \"community.general.pacman\"\ntasks/debian-libseccomp-update.yml:3:3: not supported yet: module \"ansible.builtin.apt_key\"\ntasks/debian-libseccomp-update.yml:13:3: not supported yet: module \"ansible.builtin.apt_repository\"\ntasks/debian-libseccomp-update.yml:19:3: not supported yet: module \"ansible.builtin.apt\"\ntasks/docker.yml:10:3: not supported yet: module \"ansible.builtin.get_url\"\ntasks/docker.yml:29:3: not supported yet: module \"ansible.builtin.apt\"\ntasks/docker.yml:43:3: not supported yet: module \"community.general.pacman\"\ntasks/docker.yml:56:3: not supported yet: module \"ansible.builtin.user\"\ntasks/handlers.yml:3:3: not supported yet: module \"community.docker.docker_compose_v2\"\ntasks/handlers.yml:10:3: not supported yet: module \"community.docker.docker_compose_v2\"\ntasks/handlers.yml:17:3: not supported yet: module \"community.docker.docker_compose_v2\"\ntasks/handlers.yml:24:3: not supported yet: module \"community.docker.docker_compose_v2\"\ntasks/internet-monitoring.yml:3:3: not supported yet: module \"ansible.builtin.package_facts\"\ntasks/internet-monitoring.yml:15:3: not supported yet: module \"ansible.posix.synchronize\"\ntasks/internet-monitoring.yml:48:3: not supported yet: module \"community.docker.docker_compose_v2\"\ntasks/pi-hole.yml:21:3: not supported yet: module \"community.docker.docker_compose_v2\"\ntasks/shelly-plug.yml:3:3: not supported yet: module \"ansible.builtin.git\"\ntasks/shelly-plug.yml:20:3: not supported yet: module \"community.docker.docker_compose_v2\"\ntasks/starlink.yml:18:3: not supported yet: module \"community.docker.docker_compose_v2\"",
	},
}

// corpus-today-end

// updateCorpus rewrites corpusToday with today's answers instead of
// failing on them.
var updateCorpus = flag.Bool("corpus.update", false, "rewrite corpusToday in corpus_test.go with sshplay's answers now")

// corpusRoot is where the corpus lives, relative to this package.
const corpusRoot = "testdata/corpus"

// TestCorpusPlaybooksAnswerLikeAnsible: for every corpus playbook, sshplay
// parses it with the real module registry, lists its tasks and hosts as
// ansible-playbook does, and a --check run on this machine (every
// inventory host local, every connection read-only) ends with Ansible's
// PLAY RECAP; or it gives exactly the answer corpusToday records. The
// tally of playbooks alike is logged (go test -v).
func TestCorpusPlaybooksAnswerLikeAnsible(t *testing.T) {
	if *updateCorpus && testing.Short() {
		t.Fatal("-corpus.update needs the check runs: drop -short")
	}
	now := map[string]corpusAnswer{}
	for _, c := range corpusCases {
		t.Run(c.dir, func(t *testing.T) {
			today := corpusToday[c.dir]
			got, log := corpusAnswers(t, c)
			now[c.dir] = got
			if *updateCorpus {
				return
			}
			compareField(t, "parse", today.parse, got.parse)
			compareField(t, "list-tasks", today.list, got.list)
			compareField(t, "list-hosts", today.hosts, got.hosts)
			if testing.Short() {
				return // no check run in -short
			}
			if got.check != "" {
				t.Logf("sshplay's check run (not Ansible's recap):\n%s", log)
			}
			compareField(t, "check", today.check, got.check)
		})
	}
	t.Log(corpusTally(now))
	if *updateCorpus {
		writeCorpusToday(t, now)
	}
}

// corpusAnswers is what sshplay answers about c, field by field ("" where
// it is Ansible's), and the output of its check run. A playbook that does
// not parse has only its refusal; one that is not check-run, no check.
func corpusAnswers(t *testing.T, c corpusCase) (corpusAnswer, string) {
	t.Helper()
	pb, perr := loadCorpus(c)
	if perr != "" {
		return corpusAnswer{parse: perr}, ""
	}
	var a corpusAnswer
	a.list = listDiff(t, c, pb, mustGolden(t, c.dir, "list-tasks.txt"), ListOptions{Tasks: true})
	a.hosts = listDiff(t, c, pb, mustGolden(t, c.dir, "list-hosts.txt"), ListOptions{Hosts: true})
	if !c.checkRun || testing.Short() {
		return a, ""
	}
	var out strings.Builder
	a.check = checkDiff(t, c, pb, mustGolden(t, c.dir, "check.txt"), &out)
	return a, out.String()
}

// corpusTally counts the playbooks sshplay handles like Ansible, among
// those the test ran (now).
func corpusTally(now map[string]corpusAnswer) string {
	var parse, list, hosts, check, checkable int
	for _, c := range corpusCases {
		a, ran := now[c.dir]
		if !ran || a.parse != "" {
			continue
		}
		parse++
		if a.list == "" {
			list++
		}
		if a.hosts == "" {
			hosts++
		}
		if c.checkRun {
			checkable++
			if a.check == "" {
				check++
			}
		}
	}
	return fmt.Sprintf("corpus: %d playbooks; %d parse, %d list tasks like Ansible, %d list hosts like Ansible, %d of %d parsed and check-runnable end --check with Ansible's PLAY RECAP",
		len(now), parse, list, hosts, check, checkable)
}

// compareField fails the test when sshplay's answer got is not what
// corpusToday says (want; "" is Ansible's answer), printing the new value.
func compareField(t *testing.T, field, want, got string) {
	t.Helper()
	if got == want {
		return
	}
	switch {
	case want == "":
		t.Errorf("%s: sshplay no longer answers like Ansible;\n now: %q", field, got)
	case got == "":
		t.Errorf("%s: sshplay now answers like Ansible: clear the corpusToday entry (was %q)", field, want)
	default:
		t.Errorf("%s: sshplay's answer changed (-corpus.update rewrites corpusToday);\n was: %q\n now: %q", field, want, got)
	}
}

// writeCorpusToday replaces corpusToday's literal in this file with now.
func writeCorpusToday(t *testing.T, now map[string]corpusAnswer) {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("var corpusToday = map[string]corpusAnswer{\n")
	for _, c := range corpusCases {
		a := now[c.dir]
		if a == (corpusAnswer{}) {
			continue
		}
		fmt.Fprintf(&b, "%q: {", c.dir)
		for _, f := range []struct{ name, v string }{{"parse", a.parse}, {"list", a.list}, {"hosts", a.hosts}, {"check", a.check}} {
			if f.v != "" {
				fmt.Fprintf(&b, "\n%s: %q,", f.name, f.v)
			}
		}
		b.WriteString("\n},\n")
	}
	b.WriteString("}\n\n")
	const file = "corpus_test.go"
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	begin, end := []byte("// corpus-today-begin\n"), []byte("// corpus-today-end")
	i, j := bytes.Index(src, begin), bytes.Index(src, end)
	if i < 0 || j < i {
		t.Fatalf("%s: corpus-today markers not found", file)
	}
	out := append(append(append([]byte(nil), src[:i+len(begin)]...), b.Bytes()...), src[j:]...)
	if out, err = format.Source(out); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

// ansibleAnswer is one recorded ansible-playbook answer.
type ansibleAnswer struct {
	exit   string // "0", "2", ...
	stdout string
}

// mustGolden reads NAME/golden/FILE as record.sh wrote it: three header
// lines (version, command, exit), stdout, then "# stderr:" and stderr.
func mustGolden(t *testing.T, dir, file string) ansibleAnswer {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(corpusRoot, dir, "golden", file))
	if err != nil {
		t.Fatalf("%v (record.sh %s records it)", err, dir)
	}
	lines := strings.SplitAfter(string(data), "\n")
	if len(lines) < 4 || !strings.HasPrefix(lines[0], "# ansible-playbook") ||
		!strings.HasPrefix(lines[2], "# exit: ") {
		t.Fatalf("%s/golden/%s: not a record.sh golden file", dir, file)
	}
	body := strings.Join(lines[3:], "")
	if i := strings.Index(body, "# stderr:\n"); i >= 0 {
		body = body[:i]
	}
	return ansibleAnswer{exit: strings.TrimSpace(strings.TrimPrefix(lines[2], "# exit: ")), stdout: body}
}

// loadCorpus parses a corpus playbook with the module registry a real run
// uses. The error comes back as text without the corpus path, as
// corpusToday writes it.
func loadCorpus(c corpusCase) (*Playbook, string) {
	base := filepath.Join(corpusRoot, c.dir)
	var lo LoadOptions
	for _, p := range c.rolesPath {
		lo.RolesPath = append(lo.RolesPath, filepath.Join(base, p))
	}
	pb, err := LoadWith(context.Background(), AllModules(), filepath.Join(base, c.playbook), lo)
	if err != nil {
		return nil, trimCorpusPath(c, err)
	}
	return pb, ""
}

// trimCorpusPath is err's text without the corpus directory of c.
func trimCorpusPath(c corpusCase, err error) string {
	base := filepath.Join(corpusRoot, c.dir) + string(filepath.Separator)
	abs, _ := filepath.Abs(base)
	msg := strings.ReplaceAll(err.Error(), abs+string(filepath.Separator), "")
	return strings.ReplaceAll(msg, base, "")
}

// corpusInventory is the engine's view of a corpus inventory (the command's
// adapter, without --limit).
type corpusInventory struct{ inv *inventory.Inventory }

func (c corpusInventory) Hosts(pattern string) ([]string, error) {
	hs, err := c.inv.Match(pattern)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.Name
	}
	return out, nil
}

func (c corpusInventory) HostVars(host string) map[string]any { return c.inv.HostVars(host) }
func (c corpusInventory) Groups() map[string][]string         { return c.inv.GroupHosts() }

func loadCorpusInventory(t *testing.T, dir string) corpusInventory {
	t.Helper()
	inv, err := inventory.Load([]string{filepath.Join(corpusRoot, dir, "inventory.ini")})
	if err != nil {
		t.Fatal(err)
	}
	return corpusInventory{inv}
}

// listDiff lists pb as ansible-playbook does with opts and returns "" when
// the listing is Ansible's golden, else the first differing line (or the
// error). The playbook line names the file as each tool was given it.
func listDiff(t *testing.T, c corpusCase, pb *Playbook, g ansibleAnswer, opts ListOptions) string {
	t.Helper()
	opts.ExtraVars = c.extraVars
	var b strings.Builder
	if err := List(&b, []*Playbook{pb}, loadCorpusInventory(t, c.dir), opts); err != nil {
		return "error: " + trimCorpusPath(c, err)
	}
	got := strings.Replace(b.String(), "playbook: "+pb.Path, "playbook: "+c.playbook, 1)
	if g.exit != "0" {
		return "ansible refuses to list (exit " + g.exit + "); sshplay lists"
	}
	return firstDiff(g.stdout, got)
}

// firstDiff names the first line where got differs from want ("" when
// they are equal).
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d: ansible %q, sshplay %q", i+1, wl, gl)
		}
	}
	return ""
}

// recapLine is one host's line of a PLAY RECAP.
var recapLine = regexp.MustCompile(`^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)\s+rescued=(\d+)\s+ignored=(\d+)`)

// goldenRecap is the PLAY RECAP of a recorded check run, one
// "host ok=.. changed=.. ..." per host, sorted; "" without a recap.
func goldenRecap(out string) string {
	var lines []string
	in := false
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "PLAY RECAP") {
			in = true
			continue
		}
		if m := recapLine.FindStringSubmatch(sc.Text()); in && m != nil {
			lines = append(lines, fmt.Sprintf("%s ok=%s changed=%s unreachable=%s failed=%s skipped=%s rescued=%s ignored=%s",
				m[1], m[2], m[3], m[4], m[5], m[6], m[7], m[8]))
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "; ")
}

// summaryRecap is goldenRecap's form of an sshplay run's counters.
func summaryRecap(s *Summary) string {
	var lines []string
	for h, st := range s.Stats {
		lines = append(lines, fmt.Sprintf("%s ok=%d changed=%d unreachable=%d failed=%d skipped=%d rescued=%d ignored=%d",
			h, st.OK, st.Changed, st.Unreachable, st.Failed, st.Skipped, st.Rescued, st.Ignored))
	}
	sort.Strings(lines)
	return strings.Join(lines, "; ")
}

// readOnlyLocal connects every host to this machine, read-only: a check run
// plans through it and can change nothing, whatever a module does.
type readOnlyLocal struct{}

func (readOnlyLocal) Conn(ctx context.Context, host string, vars map[string]any) (transport.Conn, error) {
	return transport.ReadOnly(transport.NewLocalConn(host)), nil
}

// checkDiff runs pb in check mode and returns "" when its recap is the
// golden's, else sshplay's recap (or the run's error). The run's output
// goes to out.
func checkDiff(t *testing.T, c corpusCase, pb *Playbook, g ansibleAnswer, out io.Writer) string {
	t.Helper()
	want := goldenRecap(g.stdout)
	if want == "" {
		return "ansible has no PLAY RECAP (exit " + g.exit + ")"
	}
	local := transport.ReadOnly(transport.NewLocalConn("localhost"))
	s, err := Run(context.Background(), []*Playbook{pb}, Options{
		Modules: AllModules(), Inventory: loadCorpusInventory(t, c.dir),
		Connector: readOnlyLocal{}, Local: local, Check: true,
		ExtraVars: c.extraVars, Forks: 5, Out: out,
		Gathering: GatherImplicit, // as sshplay play runs, Ansible's default
	})
	if err != nil {
		return "error: " + trimCorpusPath(c, err)
	}
	if got := summaryRecap(s); got != want {
		return got + " (ansible: " + want + ")"
	}
	return ""
}

package core

// Parsing the gathering script's sections into Ansible's facts: the min
// subset (platform, distribution, user, date_time, env, service and
// package manager, selinux, dns, local facts). Names and value types follow
// Ansible's fact collectors (module_utils/facts/system/*.py): numbers that
// Ansible reports as strings (distribution_major_version, date_time.epoch,
// ipv4.prefix) stay strings here.

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// parseFacts turns the sections into facts named as Ansible names them.
func parseFacts(secs map[string]string, on map[string]bool) map[string]any {
	f := map[string]any{}
	merge := func(m map[string]any) {
		for k, v := range m {
			f["ansible_"+k] = v
		}
	}
	merge(platformFacts(secs["uname"], secs["fqdn"]))
	merge(distributionFacts(secs["os_release"], secs["debian_version"], secs["lsb"]))
	merge(userFacts(secs["user"]))
	merge(map[string]any{"date_time": dateTimeFacts(secs["date"]), "env": envFacts(secs["env"])})
	merge(miscFacts(kvLines(secs["misc"]), f["ansible_os_family"]))
	merge(map[string]any{"dns": dnsFacts(secs["dns"])})
	f["ansible_local"] = localFacts(secs)
	if on["network"] {
		merge(networkFacts(secs["ifaces"], secs["ip_addr"], secs["route4"], secs["route6"]))
	}
	if on["hardware"] {
		merge(hardwareFacts(secs["meminfo"], secs["cpuinfo"], procStatus(secs["user"])["Cpus_allowed_list"], secs["mounts"], f["ansible_architecture"]))
	}
	if on["virtual"] {
		merge(virtualFacts(secs["virtual"]))
	}
	return f
}

// lines splits a section into its non-empty lines.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

// kvLines reads key=value lines; a key seen twice keeps every value,
// joined with newlines (pkg= lines).
func kvLines(s string) map[string]string {
	out := map[string]string{}
	for _, l := range lines(s) {
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			continue
		}
		if old, seen := out[k]; seen {
			v = old + "\n" + v
		}
		out[k] = v
	}
	return out
}

// platformFacts reads the kernel's type, node name, release, version and
// machine (uname -s -n -r -v -m) and the reverse lookup of the node name
// (getent hosts), as Ansible's platform collector and socket.getfqdn do.
func platformFacts(uname, fqdnLine string) map[string]any {
	l := strings.Split(uname, "\n")
	for len(l) < 5 {
		l = append(l, "")
	}
	node, machine := l[1], l[4]
	arch := machine
	if len(machine) == 4 && machine[0] == 'i' && strings.HasSuffix(machine, "86") {
		arch = "i386"
	}
	f := map[string]any{
		"system": l[0], "nodename": node, "hostname": strings.SplitN(node, ".", 2)[0],
		"kernel": l[2], "kernel_version": l[3], "machine": machine, "architecture": arch,
		"userspace_architecture": arch, "userspace_bits": "32",
	}
	if strings.Contains(machine, "64") || machine == "s390x" {
		f["userspace_bits"] = "64"
	}
	fqdn := node
	if fields := strings.Fields(fqdnLine); len(fields) > 1 {
		fqdn = fields[1]
		for _, a := range fields[1:] {
			if strings.Contains(a, ".") {
				fqdn = a
				break
			}
		}
	}
	f["fqdn"] = fqdn
	f["domain"] = ""
	if _, d, ok := strings.Cut(fqdn, "."); ok {
		f["domain"] = d
	}
	return f
}

// procStatus reads /proc/PID/status lines ("Uid:\t0\t0\t0\t0") into
// their fields.
func procStatus(s string) map[string][]string {
	out := map[string][]string{}
	for _, l := range lines(s) {
		if k, v, ok := strings.Cut(l, ":"); ok && !strings.Contains(k, " ") {
			out[k] = strings.Fields(v)
		}
	}
	return out
}

// userFacts reads the user section: the login name (LOGNAME, USER, or
// id -un, as Python's getpass.getuser), the shell's real and effective
// ids from /proc/$$/status, and the user's passwd entry.
func userFacts(s string) map[string]any {
	first, _, _ := strings.Cut(s, "\n")
	st := procStatus(s)
	id := func(key string, i int) any {
		if len(st[key]) > i {
			if n, err := strconv.Atoi(st[key][i]); err == nil {
				return n
			}
		}
		return nil
	}
	f := map[string]any{
		"user_id": first, "real_user_id": id("Uid", 0), "effective_user_id": id("Uid", 1),
		"real_group_id": id("Gid", 0), "effective_group_id": id("Gid", 1),
	}
	for _, l := range lines(s) {
		pw := strings.Split(strings.TrimPrefix(l, "passwd="), ":")
		if !strings.HasPrefix(l, "passwd=") || len(pw) < 7 {
			continue
		}
		uid, _ := strconv.Atoi(pw[2])
		gid, _ := strconv.Atoi(pw[3])
		f["user_uid"], f["user_gid"] = uid, gid
		f["user_gecos"], f["user_dir"], f["user_shell"] = pw[4], pw[5], pw[6]
	}
	return f
}

// cpusAllowed counts the CPUs of a Cpus_allowed_list ("0-3,8"): what
// nproc and Python's sched_getaffinity report.
func cpusAllowed(list []string) (int, bool) {
	if len(list) != 1 {
		return 0, false
	}
	n := 0
	for _, r := range strings.Split(list[0], ",") {
		lo, hi, isRange := strings.Cut(r, "-")
		a, err1 := strconv.Atoi(lo)
		b, err2 := a, error(nil)
		if isRange {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || b < a {
			return 0, false
		}
		n += b - a + 1
	}
	return n, true
}

// dateTimeFacts reads `date '+%s %N %z %Z'` into Ansible's date_time: the
// local fields in the host's time zone, iso8601 and iso8601_micro in UTC.
func dateTimeFacts(s string) map[string]any {
	fs := strings.Fields(s)
	if len(fs) < 4 {
		return map[string]any{}
	}
	sec, _ := strconv.ParseInt(fs[0], 10, 64)
	nsec, err := strconv.ParseInt(fs[1], 10, 64)
	if err != nil {
		nsec = 0 // date without %N (busybox)
	}
	off, _ := time.Parse("-0700", fs[2])
	_, offSec := off.Zone()
	t := time.Unix(sec, nsec).In(time.FixedZone(fs[3], offSec))
	u := t.UTC()
	return map[string]any{
		"year": t.Format("2006"), "month": t.Format("01"), "day": t.Format("02"),
		"hour": t.Format("15"), "minute": t.Format("04"), "second": t.Format("05"),
		"epoch": fs[0], "epoch_int": fs[0], "date": t.Format("2006-01-02"), "time": t.Format("15:04:05"),
		"iso8601_micro": u.Format("2006-01-02T15:04:05.000000Z"), "iso8601": u.Format("2006-01-02T15:04:05Z"),
		"iso8601_basic":       t.Format("20060102T150405") + fmt.Sprintf("%06d", nsec/1000),
		"iso8601_basic_short": t.Format("20060102T150405"),
		"tz":                  fs[3], "tz_dst": fs[3], "tz_offset": fs[2],
		"weekday": t.Weekday().String(), "weekday_number": strconv.Itoa(int(t.Weekday())),
		"weeknumber": strconv.Itoa(weekNumberMonday(t)),
	}
}

// weekNumberMonday is strftime's %W: the week of the year, Monday as its
// first day, days before the first Monday in week 0.
func weekNumberMonday(t time.Time) int {
	yday := t.YearDay() - 1
	wday := (int(t.Weekday()) + 6) % 7 // Monday = 0
	return (yday + 7 - wday) / 7
}

// envFacts reads the environment (NUL-separated from /proc/$$/environ, or
// env's lines where /proc is not readable).
func envFacts(s string) map[string]any {
	sep := "\x00"
	if !strings.Contains(s, sep) {
		sep = "\n"
	}
	out := map[string]any{}
	for _, kv := range strings.Split(s, sep) {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			out[k] = v
		}
	}
	return out
}

// dnsFacts reads resolv.conf as Ansible's dns collector does.
func dnsFacts(s string) map[string]any {
	out := map[string]any{}
	for _, l := range lines(s) {
		fs := strings.Fields(l)
		if len(fs) < 2 || strings.HasPrefix(fs[0], "#") || strings.HasPrefix(fs[0], ";") {
			continue
		}
		switch fs[0] {
		case "nameserver":
			ns, _ := out["nameservers"].([]any)
			out["nameservers"] = append(ns, fs[1])
		case "domain":
			out["domain"] = fs[1]
		case "search", "sortlist":
			l := []any{}
			for _, x := range fs[1:] {
				l = append(l, x)
			}
			out[fs[0]] = l
		case "options":
			opts := map[string]any{}
			for _, o := range fs[1:] {
				k, v, ok := strings.Cut(o, ":")
				if ok {
					opts[k] = v
				} else {
					opts[k] = true
				}
			}
			out["options"] = opts
		}
	}
	return out
}

// localFacts reads the local:NAME sections (fact_path/NAME.fact): JSON, or
// INI whose sections become maps, as Ansible's local collector does; a
// file that is neither gives an error string as Ansible does.
func localFacts(secs map[string]string) map[string]any {
	out := map[string]any{}
	for k, text := range secs {
		name, ok := strings.CutPrefix(k, "local:")
		if !ok {
			continue
		}
		name = strings.TrimSuffix(name, ".fact")
		var v any
		if err := json.Unmarshal([]byte(text), &v); err == nil {
			out[name] = v
			continue
		}
		if ini, ok := parseFactINI(text); ok {
			out[name] = ini
			continue
		}
		out[name] = "error loading facts as JSON or ini - please check content: " + name + ".fact"
	}
	return out
}

// parseFactINI reads an INI local fact: [section] then key=value lines.
func parseFactINI(text string) (map[string]any, bool) {
	out := map[string]any{}
	var cur map[string]any
	for _, l := range lines(text) {
		l = strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(l, "#") || strings.HasPrefix(l, ";"):
		case strings.HasPrefix(l, "[") && strings.HasSuffix(l, "]"):
			cur = map[string]any{}
			out[l[1:len(l)-1]] = cur
		default:
			k, v, ok := strings.Cut(l, "=")
			if !ok {
				k, v, ok = strings.Cut(l, ":")
			}
			if !ok || cur == nil {
				return nil, false
			}
			cur[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
		}
	}
	return out, len(out) > 0
}

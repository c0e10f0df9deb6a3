package core

// Distribution, service manager and package manager facts, read as
// Ansible's distribution.py, service_mgr.py and pkg_mgr.py read them.

import (
	"strconv"
	"strings"
)

// distributionNames maps os-release IDs to the names Ansible reports
// where they are not the ID capitalised.
var distributionNames = map[string]string{
	"rhel": "RedHat", "centos": "CentOS", "ol": "OracleLinux", "amzn": "Amazon", "almalinux": "AlmaLinux",
	"opensuse-leap": "openSUSE Leap", "opensuse-tumbleweed": "openSUSE Tumbleweed", "sles": "SLES", "sled": "SLED",
	"arch": "Archlinux", "linuxmint": "Linux Mint", "pop": "Pop!_OS", "raspbian": "Debian", "neon": "KDE neon",
	"opensuse": "openSUSE", "clear-linux-os": "Clear Linux OS", "cumulus-linux": "Cumulus Linux",
	"openeuler": "openEuler", "euleros": "EulerOS", "tencentos": "TencentOS", "eurolinux": "EuroLinux",
}

// osFamilies maps distributions to Ansible's os_family (OS_FAMILY_MAP);
// any other distribution is its own family.
var osFamilies = map[string][]string{
	"RedHat": {"RedHat", "Fedora", "CentOS", "Scientific", "SLC", "Ascendos", "CloudLinux", "PSBM", "OracleLinux",
		"OVS", "OEL", "Amazon", "Virtuozzo", "XenServer", "Alibaba", "EulerOS", "openEuler", "AlmaLinux", "Rocky",
		"TencentOS", "EuroLinux", "Kylin Linux Advanced Server"},
	"Suse": {"SuSE", "SLES", "SLED", "openSUSE", "openSUSE Tumbleweed", "SLES_SAP", "SUSE_LINUX", "openSUSE Leap"},
	"Debian": {"Debian", "Ubuntu", "Raspbian", "Neon", "KDE neon", "Linux Mint", "SteamOS", "Devuan", "Kali",
		"Cumulus Linux", "Pop!_OS", "Parrot", "Pardus GNU/Linux", "Uos", "Deepin", "OSMC"},
	"Gentoo":    {"Gentoo", "Funtoo"},
	"Archlinux": {"Archlinux", "Antergos", "Manjaro"},
	"Mandrake":  {"Mandrake", "Mandriva", "Mageia"},
	"Alpine":    {"Alpine"},
}

// osFamily is the os_family of a distribution.
func osFamily(dist string) string {
	for fam, members := range osFamilies {
		if contains(members, dist) {
			return fam
		}
	}
	return dist
}

// parseOSRelease reads os-release's KEY=value lines, quotes removed.
func parseOSRelease(s string) map[string]string {
	out := map[string]string{}
	for _, l := range lines(s) {
		k, v, ok := strings.Cut(strings.TrimSpace(l), "=")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		if uq, err := strconv.Unquote(v); err == nil && strings.HasPrefix(v, `"`) {
			v = uq
		} else {
			v = strings.Trim(v, `'"`)
		}
		out[k] = v
	}
	return out
}

// distributionFacts reads os-release (and /etc/debian_version, which
// carries Debian's point release: 12.11 where os-release says 12), and
// lsb: /etc/lsb-release, or what lsb_release would print, taken from
// os-release without running it (it is a Python script on Debian).
func distributionFacts(osRelease, debianVersion, lsb string) map[string]any {
	os := parseOSRelease(osRelease)
	id := strings.ToLower(os["ID"])
	dist := distributionNames[id]
	if dist == "" && id != "" {
		dist = strings.ToUpper(id[:1]) + id[1:]
	}
	if dist == "" {
		dist = "OtherLinux"
	}
	version := os["VERSION_ID"]
	if dist == "Debian" && debianVersion != "" && debianVersion[0] >= '0' && debianVersion[0] <= '9' {
		version = strings.TrimSpace(debianVersion)
	}
	release := os["VERSION_CODENAME"]
	if release == "" {
		release = os["UBUNTU_CODENAME"]
	}
	if release == "" {
		if _, rest, ok := strings.Cut(os["VERSION"], "("); ok {
			release = strings.TrimSuffix(strings.TrimSpace(rest), ")")
		}
	}
	if release == "" {
		release = "NA"
	}
	vparts := strings.Split(version, ".")
	f := map[string]any{
		"distribution": dist, "distribution_version": version, "distribution_major_version": vparts[0],
		"distribution_release": release, "os_family": osFamily(dist),
	}
	if len(vparts) > 1 {
		f["distribution_minor_version"] = vparts[1]
	}
	if l := lsbFacts(lsb, os); len(l) > 0 {
		f["lsb"] = l
	}
	return f
}

// lsbFacts reads /etc/lsb-release, or, where only lsb_release is
// installed, derives what it prints from os-release.
func lsbFacts(s string, os map[string]string) map[string]any {
	kv := parseOSRelease(s)
	out := map[string]any{}
	for key, name := range map[string]string{"DISTRIB_ID": "id", "DISTRIB_RELEASE": "release",
		"DISTRIB_DESCRIPTION": "description", "DISTRIB_CODENAME": "codename"} {
		if v, ok := kv[key]; ok {
			out[name] = v
		}
	}
	if len(out) == 0 && kv["SSHPLAY_LSB_RELEASE"] == "1" {
		out["id"] = strings.Fields(os["NAME"] + " n/a")[0]
		out["description"] = os["PRETTY_NAME"]
		out["release"] = os["VERSION_ID"]
		out["codename"] = os["VERSION_CODENAME"]
	}
	if r, ok := out["release"].(string); ok {
		out["major_release"] = strings.Split(r, ".")[0]
	}
	return out
}

// pkgManagers maps the paths pkg_mgr.py checks to the names it reports;
// as in Ansible, the last one found wins outside the Debian and RedHat
// families.
var pkgManagers = [][2]string{
	{"/usr/bin/yum", "yum"}, {"/usr/bin/dnf", "dnf"}, {"/usr/bin/apt-get", "apt"}, {"/usr/bin/zypper", "zypper"},
	{"/usr/sbin/urpmi", "urpmi"}, {"/usr/bin/pacman", "pacman"}, {"/bin/opkg", "opkg"}, {"/usr/pkg/bin/pkgin", "pkgin"},
	{"/opt/local/bin/port", "macports"}, {"/usr/local/bin/brew", "homebrew"}, {"/sbin/apk", "apk"},
	{"/usr/sbin/pkg", "pkgng"}, {"/usr/sbin/swlist", "swdepot"}, {"/usr/bin/emerge", "portage"},
	{"/usr/sbin/swupd", "swupd"}, {"/usr/bin/xbps-install", "xbps"},
}

// miscFacts reads the misc section: service_mgr, pkg_mgr, selinux,
// apparmor, uptime, load average and machine id.
func miscFacts(kv map[string]string, family any) map[string]any {
	f := map[string]any{
		"service_mgr": serviceManager(kv), "pkg_mgr": pkgMgr(strings.Split(kv["pkg"], "\n"), family),
		"selinux": map[string]any{"status": "disabled"}, "apparmor": map[string]any{"status": "disabled"},
	}
	if e, ok := kv["selinux"]; ok {
		mode := map[string]string{"1": "enforcing", "0": "permissive"}[e]
		f["selinux"] = map[string]any{"status": "enabled", "mode": mode}
	}
	if kv["apparmor"] == "1" {
		f["apparmor"] = map[string]any{"status": "enabled"}
	}
	if up := strings.Fields(kv["uptime"]); len(up) > 0 {
		if s, err := strconv.ParseFloat(up[0], 64); err == nil {
			f["uptime_seconds"] = int(s)
		}
	}
	if la := strings.Fields(kv["loadavg"]); len(la) >= 3 {
		m := map[string]any{}
		for i, k := range []string{"1m", "5m", "15m"} {
			m[k], _ = strconv.ParseFloat(la[i], 64)
		}
		f["loadavg"] = m
	}
	if id := kv["machine_id"]; id != "" {
		f["machine_id"] = id
	}
	return f
}

// serviceManager decides service_mgr as service_mgr.py does: PID 1's name,
// unless it is init or a shell; then systemd, upstart, openrc, sysvinit,
// or "service".
func serviceManager(kv map[string]string) string {
	comm := strings.TrimSpace(kv["comm"])
	if i := strings.LastIndex(comm, "/"); i >= 0 {
		comm = comm[i+1:]
	}
	switch {
	case comm == "runit-init":
		return "runit"
	case comm == "openrc-init":
		return "openrc"
	case comm != "" && comm != "COMMAND" && comm != "init" && !strings.HasSuffix(comm, "sh"):
		return comm
	case kv["systemd"] != "":
		return "systemd"
	case kv["upstart"] != "":
		return "upstart"
	case kv["openrc"] != "":
		return "openrc"
	case kv["sysvinit"] != "":
		return "sysvinit"
	}
	return "service"
}

// pkgMgr decides pkg_mgr from the package manager binaries present.
func pkgMgr(found []string, family any) string {
	has := map[string]bool{}
	name := "unknown"
	for _, p := range pkgManagers {
		if contains(found, p[0]) {
			has[p[1]] = true
			name = p[1]
		}
	}
	switch family {
	case "Debian":
		if has["apt"] {
			return "apt"
		}
	case "RedHat":
		if has["dnf"] {
			return "dnf"
		}
		if has["yum"] {
			return "yum"
		}
	}
	return name
}

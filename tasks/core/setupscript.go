package core

// The one command that gathers a host's facts: POSIX sh, builtins where it
// can (read instead of cat for one-line files), every probe silenced so a
// missing tool only leaves its section empty. Each section starts with a
// "@@sshplay:NAME" line.

import (
	"bytes"
	"strings"
)

// scriptMin gathers what gather_subset "min" covers. R reads a one-line
// file into $v and C prints a file, both without starting a process (a
// fork costs more than the read on small hosts and sandboxes).
const scriptMin = `P() { printf '\n@@sshplay:%s\n' "$1"; }
R() { v=; [ -r "$1" ] && { read -r v < "$1" || [ -n "$v" ]; }; } 2>/dev/null
C() { while IFS= read -r l || [ -n "$l" ]; do printf '%s\n' "$l"; done < "$1"; } 2>/dev/null
P os_release; [ -r /etc/os-release ] && C /etc/os-release || C /usr/lib/os-release
P debian_version; R /etc/debian_version; echo "$v"
P lsb; C /etc/lsb-release; command -v lsb_release >/dev/null 2>&1 && echo SSHPLAY_LSB_RELEASE=1
P uname; if R /proc/sys/kernel/ostype; then echo "$v"; R /proc/sys/kernel/hostname; echo "$v"; R /proc/sys/kernel/osrelease; echo "$v"; R /proc/sys/kernel/version; echo "$v"; else uname -s; uname -n; uname -r; uname -v; fi; uname -m
P fqdn; n=$(uname -n); ip=$(getent hosts "$n" 2>/dev/null) && getent hosts "${ip%%[ 	]*}" 2>/dev/null
P user; u=${LOGNAME:-${USER:-$(id -un)}}; echo "$u"
if [ -r /proc/$$/status ]; then C /proc/$$/status; else echo "Uid: $(id -ru) $(id -u)"; echo "Gid: $(id -rg) $(id -g)"; fi
found=; while IFS= read -r l; do case $l in "$u":*) echo "passwd=$l"; found=1; break;; esac; done < /etc/passwd
[ -n "$found" ] || echo "passwd=$(getent passwd "$u")"
P date; date '+%s %N %z %Z'
P env; cat /proc/$$/environ 2>/dev/null || env
P misc; R /proc/1/comm; echo "comm=$v"
command -v systemctl >/dev/null 2>&1 && for d in /run/systemd/system/ /dev/.run/systemd/ /dev/.systemd/; do [ -d "$d" ] && echo systemd=1; done
command -v initctl >/dev/null 2>&1 && [ -d /etc/init ] && echo upstart=1
[ -e /sbin/openrc ] && echo openrc=1
[ -d /etc/init.d ] && echo sysvinit=1
for p in /usr/bin/yum /usr/bin/dnf /usr/bin/apt-get /usr/bin/zypper /usr/sbin/urpmi /usr/bin/pacman /bin/opkg /usr/pkg/bin/pkgin /opt/local/bin/port /usr/local/bin/brew /sbin/apk /usr/sbin/pkg /usr/sbin/swlist /usr/bin/emerge /usr/sbin/swupd /usr/bin/xbps-install; do [ -e "$p" ] && echo "pkg=$p"; done
[ -d /sys/fs/selinux ] && R /sys/fs/selinux/enforce && echo "selinux=$v"
[ -d /sys/kernel/security/apparmor ] && echo apparmor=1
R /proc/uptime; echo "uptime=$v"
R /proc/loadavg; echo "loadavg=$v"
R /etc/machine-id; echo "machine_id=$v"
P dns; C /etc/resolv.conf
for f in "$FP"/*.fact; do [ -f "$f" ] || continue; P "local:${f##*/}"; if [ -x "$f" ]; then "$f" 2>/dev/null; else C "$f"; fi; done
`

// scriptNetwork gathers the network subset.
const scriptNetwork = `P ifaces; for d in /sys/class/net/*; do [ -e "$d" ] || continue
R "$d/address"; a=$v; R "$d/mtu"; m=$v; R "$d/operstate"; o=$v; R "$d/type"; t=$v; R "$d/flags"; f=$v
printf '%s|%s|%s|%s|%s|%s|' "${d##*/}" "$a" "$m" "$o" "$t" "$f"
[ -e "$d/device" ] && l=$(readlink "$d/device") && printf '%s' "${l##*/}"; echo; done
P ip_addr; ip -o addr show 2>/dev/null
P route4; ip -4 route get 8.8.8.8 2>/dev/null
P route6; ip -6 route get 2404:6800:4001:c01::67 2>/dev/null
`

// scriptHardware gathers the hardware subset.
const scriptHardware = `P meminfo; C /proc/meminfo
P cpuinfo; C /proc/cpuinfo
P mounts; while read -r dev mnt fs opts rest; do case $dev in /*|*:/*) [ "$fs" = none ] && continue
printf '%s %s %s %s ' "$dev" "$mnt" "$fs" "$opts"; stat -f -c '%S %s %b %a %c %d' "$(printf '%b' "$mnt")" 2>/dev/null || echo; esac; done < /proc/mounts
`

// scriptVirtual gathers the virtual subset.
const scriptVirtual = `P virtual; cat /proc/1/cgroup 2>/dev/null; [ -r /proc/1/environ ] && tr '\0' '\n' < /proc/1/environ | grep '^container='
[ -e /.dockerenv ] || [ -e /.dockerinit ] && echo dockerenv=1
R /run/systemd/container && echo "systemd_container=$v"
command -v systemd-detect-virt >/dev/null 2>&1 && echo "detect_virt=$(systemd-detect-virt -v 2>/dev/null)"
`

// factScript is the command for the parts that are on, reading local
// facts from factPath.
func factScript(on map[string]bool, factPath string) string {
	var b strings.Builder
	b.WriteString("FP=" + sh(factPath) + "\n")
	b.WriteString(scriptMin)
	for _, p := range []struct {
		name, script string
	}{{"network", scriptNetwork}, {"hardware", scriptHardware}, {"virtual", scriptVirtual}} {
		if on[p.name] {
			b.WriteString(p.script)
		}
	}
	b.WriteString("exit 0\n")
	return b.String()
}

// splitSections cuts the script's output at its "@@sshplay:NAME" lines.
func splitSections(out []byte) map[string]string {
	secs := map[string]string{}
	var name string
	var cur bytes.Buffer
	flush := func() {
		if name != "" {
			secs[name] = strings.TrimSuffix(cur.String(), "\n")
		}
		cur.Reset()
	}
	for _, line := range bytes.SplitAfter(out, []byte("\n")) {
		if n, ok := bytes.CutPrefix(bytes.TrimRight(line, "\n"), []byte("@@sshplay:")); ok {
			flush()
			name = string(n)
			continue
		}
		cur.Write(line)
	}
	flush()
	return secs
}

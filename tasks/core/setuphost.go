package core

// Network, hardware and virtualisation facts (the network, hardware and
// virtual subsets), read as Ansible's linux network, hardware and virtual
// collectors read them.

import (
	"net"
	"strconv"
	"strings"
)

// ifTypes are the ARPHRD codes of /sys/class/net/*/type Ansible names.
var ifTypes = map[string]string{"1": "ether", "32": "infiniband", "512": "ppp", "772": "loopback", "65534": "tunnel"}

// networkFacts builds interfaces, ansible_<dev>, default_ipv4/6 and the
// lists of addresses from /sys/class/net, `ip -o addr` and the routes to
// Ansible's two probe addresses.
func networkFacts(ifaces, ipAddr, route4, route6 string) map[string]any {
	f := map[string]any{}
	devs := map[string]map[string]any{}
	names := []any{}
	for _, l := range lines(ifaces) {
		p := strings.Split(l, "|")
		for len(p) < 7 {
			p = append(p, "")
		}
		d := map[string]any{"device": p[0], "active": p[3] != "down", "type": "unknown"}
		if p[1] != "" && p[1] != "00:00:00:00:00:00" {
			d["macaddress"] = p[1]
		}
		if mtu, err := strconv.Atoi(p[2]); err == nil {
			d["mtu"] = mtu
		}
		if t, ok := ifTypes[p[4]]; ok {
			d["type"] = t
		}
		if flags, err := strconv.ParseInt(strings.TrimPrefix(p[5], "0x"), 16, 64); err == nil {
			d["promisc"] = flags&0x100 != 0
		}
		if p[6] != "" {
			d["pciid"] = p[6]
		}
		devs[p[0]] = d
		names = append(names, p[0])
	}
	def4, def6 := routeFacts(route4), routeFacts(route6)
	all4, all6 := []any{}, []any{}
	for _, l := range lines(ipAddr) {
		addAddress(devs, l, def4, def6, &all4, &all6)
	}
	for n, d := range devs {
		f[strings.NewReplacer("-", "_", ":", "_", ".", "_").Replace(n)] = d
	}
	f["interfaces"] = names
	f["default_ipv4"], f["default_ipv6"] = def4, def6
	f["all_ipv4_addresses"], f["all_ipv6_addresses"] = all4, all6
	return f
}

// routeFacts reads `ip route get`: the interface, source address and
// gateway of the default route.
func routeFacts(s string) map[string]any {
	out := map[string]any{}
	fs := strings.Fields(s)
	for i := 0; i+1 < len(fs); i++ {
		switch fs[i] {
		case "dev":
			out["interface"] = fs[i+1]
		case "src":
			out["address"] = fs[i+1]
		case "via":
			out["gateway"] = fs[i+1]
		}
	}
	if out["address"] == nil {
		return map[string]any{}
	}
	return out
}

// addAddress reads one line of `ip -o addr` into its interface, and into
// default_ipv4/6 when it is the default route's source address.
func addAddress(devs map[string]map[string]any, line string, def4, def6 map[string]any, all4, all6 *[]any) {
	fs := strings.Fields(strings.SplitN(line, `\`, 2)[0])
	if len(fs) < 4 {
		return
	}
	d := devs[fs[1]]
	if d == nil {
		return
	}
	addr, prefix, _ := strings.Cut(fs[3], "/")
	attr := map[string]string{}
	for i := 4; i+1 < len(fs); i++ {
		attr[fs[i]] = fs[i+1]
	}
	secondary := strings.Contains(line, " secondary ")
	if fs[2] == "inet6" {
		v6 := map[string]any{"address": addr, "prefix": prefix, "scope": attr["scope"]}
		l, _ := d["ipv6"].([]any)
		d["ipv6"] = append(l, v6)
		if addr != "::1" {
			*all6 = append(*all6, addr)
		}
		if def6["address"] == addr {
			copyKeys(def6, v6, "prefix", "scope")
			copyKeys(def6, d, "macaddress", "mtu", "type")
		}
		return
	}
	if fs[2] != "inet" {
		return
	}
	v4 := ipv4Facts(addr, prefix, attr["brd"])
	if secondary {
		l, _ := d["ipv4_secondaries"].([]any)
		d["ipv4_secondaries"] = append(l, v4)
	} else if d["ipv4"] == nil {
		d["ipv4"] = v4
	}
	if !strings.HasPrefix(addr, "127.") {
		*all4 = append(*all4, addr)
	}
	if def4["address"] == addr {
		copyKeys(def4, v4, "broadcast", "netmask", "network", "prefix")
		copyKeys(def4, d, "macaddress", "mtu", "type")
		def4["alias"] = fs[len(fs)-1]
	}
}

// ipv4Facts is one IPv4 address as Ansible shows it (prefix a string).
func ipv4Facts(addr, prefix, brd string) map[string]any {
	v4 := map[string]any{"address": addr, "broadcast": brd, "prefix": prefix}
	if n, err := strconv.Atoi(prefix); err == nil {
		mask := net.CIDRMask(n, 32)
		v4["netmask"] = net.IP(mask).String()
		if ip := net.ParseIP(addr).To4(); ip != nil {
			v4["network"] = ip.Mask(mask).String()
		}
	}
	return v4
}

func copyKeys(dst, src map[string]any, keys ...string) {
	for _, k := range keys {
		if v, ok := src[k]; ok {
			dst[k] = v
		}
	}
}

// hardwareFacts reads memory, processors and mounts.
func hardwareFacts(meminfo, cpuinfo string, cpusAllowedList []string, mounts string, arch any) map[string]any {
	f := memoryFacts(meminfo)
	for k, v := range cpuFacts(cpuinfo, arch) {
		f[k] = v
	}
	if n, ok := cpusAllowed(cpusAllowedList); ok {
		f["processor_nproc"] = n
	}
	f["mounts"] = mountFacts(mounts)
	return f
}

// memoryFacts reads /proc/meminfo into the *_mb facts and memory_mb.
func memoryFacts(s string) map[string]any {
	mb := map[string]int{}
	for _, l := range lines(s) {
		k, v, _ := strings.Cut(l, ":")
		n, _ := strconv.Atoi(strings.Fields(v + " 0")[0])
		mb[k] = n / 1024
	}
	nocache := mb["MemFree"] + mb["Buffers"] + mb["Cached"]
	return map[string]any{
		"memtotal_mb": mb["MemTotal"], "memfree_mb": mb["MemFree"],
		"swaptotal_mb": mb["SwapTotal"], "swapfree_mb": mb["SwapFree"],
		"memory_mb": map[string]any{
			"real":    map[string]any{"total": mb["MemTotal"], "free": mb["MemFree"], "used": mb["MemTotal"] - mb["MemFree"]},
			"nocache": map[string]any{"free": nocache, "used": mb["MemTotal"] - nocache},
			"swap": map[string]any{"total": mb["SwapTotal"], "free": mb["SwapFree"],
				"used": mb["SwapTotal"] - mb["SwapFree"], "cached": mb["SwapCached"]},
		},
	}
}

// cpuScan is what cpuinfo's lines add up to, as Ansible counts them.
type cpuScan struct {
	procs                          []any
	sockets, cores                 map[string]int
	sockOrder, coreOrder           []string
	i, vendors, models, processors int
}

// scanCPUInfo reads /proc/cpuinfo line by line as Ansible's linux
// hardware collector does, quirks included (a "core id" equal to a known
// physical id is not counted).
func scanCPUInfo(s string) *cpuScan {
	c := &cpuScan{sockets: map[string]int{}, cores: map[string]int{}}
	physid, coreid := "0", "0"
	for _, l := range strings.Split(s, "\n") {
		k, v, _ := strings.Cut(l, ":")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "model name", "Processor", "vendor_id", "cpu", "Vendor", "processor":
			c.procs = append(c.procs, v)
			c.i++
			c.models += b2i(k == "model name")
			c.processors += b2i(k == "processor")
			c.vendors += b2i(k == "vendor_id")
		case "physical id":
			physid = v
			if _, ok := c.sockets[physid]; !ok {
				c.sockets[physid] = 1
				c.sockOrder = append(c.sockOrder, physid)
			}
		case "core id":
			coreid = v
			if _, ok := c.sockets[coreid]; !ok {
				c.setCore(coreid, 1)
			}
		case "cpu cores":
			if _, ok := c.sockets[physid]; !ok {
				c.sockOrder = append(c.sockOrder, physid)
			}
			c.sockets[physid], _ = strconv.Atoi(v)
		case "siblings":
			n, _ := strconv.Atoi(v)
			c.setCore(coreid, n)
		}
	}
	return c
}

func (c *cpuScan) setCore(id string, n int) {
	if _, ok := c.cores[id]; !ok {
		c.coreOrder = append(c.coreOrder, id)
	}
	c.cores[id] = n
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// cpuFacts reads /proc/cpuinfo as Ansible does: processor lists each
// CPU's number, vendor and model; processor_count is the number of
// physical ids; processor_cores the first "cpu cores"; threads per core
// the first "siblings" divided by it.
func cpuFacts(s string, arch any) map[string]any {
	c := scanCPUInfo(s)
	i := c.i
	if c.vendors > 0 && c.vendors == c.models {
		i = c.vendors
	}
	if a, _ := arch.(string); strings.HasPrefix(a, "armv") || strings.HasPrefix(a, "aarch") || strings.HasPrefix(a, "ppc") {
		i = c.processors
	}
	first := func(order []string, m map[string]int) int {
		if len(order) > 0 && m[order[0]] != 0 {
			return m[order[0]]
		}
		return 1
	}
	count := i
	if len(c.sockets) > 0 {
		count = len(c.sockets)
	}
	perSocket := first(c.sockOrder, c.sockets)
	threads := first(c.coreOrder, c.cores) / perSocket
	return map[string]any{
		"processor": c.procs, "processor_count": count, "processor_cores": perSocket,
		"processor_threads_per_core": threads, "processor_vcpus": threads * count * perSocket,
		"processor_nproc": c.processors,
	}
}

// mountFacts reads the mounts section: /proc/mounts lines of real
// devices, each followed by `stat -f` numbers, as Ansible's mount facts
// (octal escapes in paths decoded, sizes from statvfs).
func mountFacts(s string) []any {
	out := []any{}
	for _, l := range lines(s) {
		fs := strings.Fields(l)
		if len(fs) < 4 {
			continue
		}
		m := map[string]any{"device": unescapeMount(fs[0]), "mount": unescapeMount(fs[1]), "fstype": fs[2],
			"options": fs[3], "uuid": "N/A"}
		if len(fs) >= 10 {
			n := make([]int64, 6)
			for j := range n {
				n[j], _ = strconv.ParseInt(fs[4+j], 10, 64)
			}
			frsize, bsize, blocks, avail, files, ffree := n[0], n[1], n[2], n[3], n[4], n[5]
			m["size_total"], m["size_available"] = frsize*blocks, frsize*avail
			m["block_size"], m["block_total"], m["block_available"], m["block_used"] = bsize, blocks, avail, blocks-avail
			m["inode_total"], m["inode_available"], m["inode_used"] = files, ffree, files-ffree
		}
		out = append(out, m)
	}
	return out
}

// unescapeMount decodes /proc/mounts' octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// detectVirtNames maps systemd-detect-virt's VM names to Ansible's.
var detectVirtNames = map[string]string{"kvm": "kvm", "qemu": "kvm", "bochs": "kvm", "amazon": "kvm",
	"vmware": "VMware", "oracle": "virtualbox", "xen": "xen", "microsoft": "VirtualPC", "parallels": "parallels",
	"bhyve": "bhyve", "powervm": "powervm"}

// virtualFacts decides virtualization_type and _role: containers first
// (cgroups, PID 1's container= variable, /.dockerenv,
// /run/systemd/container), then the hypervisor systemd-detect-virt names.
func virtualFacts(s string) map[string]any {
	var typ string
	guest := []any{}
	add := func(t string) {
		if typ == "" {
			typ = t
		}
		if !containsAny(guest, t) {
			guest = append(guest, t)
		}
	}
	for _, l := range lines(s) {
		k, v, _ := strings.Cut(l, "=")
		switch {
		case strings.Contains(l, "/docker/") || strings.Contains(l, "/docker-"):
			add("docker")
		case strings.Contains(l, "/lxc/") || strings.Contains(l, "machine-lxc"):
			add("lxc")
		case k == "container" && v != "":
			add(map[string]string{"podman": "podman", "lxc": "lxc"}[v])
			add("container")
		case k == "dockerenv":
			add("docker")
		case k == "systemd_container" && v != "":
			add(map[string]string{"lxc": "lxc", "systemd-nspawn": "systemd-nspawn", "docker": "docker", "podman": "podman"}[v])
		case k == "detect_virt" && v != "" && v != "none":
			if name, ok := detectVirtNames[v]; ok {
				add(name)
			}
		}
	}
	role := "guest"
	if typ == "" {
		typ, role = "NA", "NA"
	}
	return map[string]any{"virtualization_type": typ, "virtualization_role": role,
		"virtualization_tech_guest": guest, "virtualization_tech_host": []any{}}
}

func containsAny(l []any, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return s == ""
}

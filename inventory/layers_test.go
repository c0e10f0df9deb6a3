package inventory

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// The layers cut a host's variables where Ansible slots in the playbook's
// group_vars/all, group_vars/<group> and host_vars, and merged they are
// exactly HostVars (what ansible-inventory shows).
func TestHostVarLayersSplitWhereThePlaybookFoldersGo(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"hosts": "[web]\nh1 x=host_file\n[zweb]\nh1\n[aweb]\nh1\n" +
			"[app:children]\nweb\nzweb\naweb\n" +
			"[all:vars]\na=all_file\n[aweb:vars]\nansible_group_priority=5\nb=aweb_file\n",
		"group_vars/all.yml":  "c: group_vars_all\nb: group_vars_all\n",
		"group_vars/app.yml":  "d: group_vars_app\n",
		"group_vars/aweb.yml": "d: group_vars_aweb\n",
		"host_vars/h1.yml":    "e: host_vars\nx: host_vars\n",
	})
	inv := mustLoad(t, filepath.Join(dir, "hosts"))
	l, ok := inv.HostVarLayers("h1")
	if !ok {
		t.Fatal("h1 unknown")
	}
	if want := []string{"app", "web", "zweb", "aweb"}; !reflect.DeepEqual(l.GroupOrder, want) {
		t.Errorf("group order %v, want %v (depth, then priority, then name)", l.GroupOrder, want)
	}
	if want := map[string]any{"a": "all_file", "b": "group_vars_all", "c": "group_vars_all"}; !reflect.DeepEqual(l.All, want) {
		t.Errorf("All layer %v, want %v", l.All, want)
	}
	if want := map[string]any{"d": "group_vars_aweb"}; !reflect.DeepEqual(l.Groups, want) {
		t.Errorf("Groups layer %v, want %v", l.Groups, want)
	}
	if l.Host["x"] != "host_vars" || l.Host["e"] != "host_vars" || l.Host["inventory_hostname"] != "h1" {
		t.Errorf("Host layer %v lacks host_vars or magic", l.Host)
	}
	merged := map[string]any{}
	for _, m := range []map[string]any{l.All, l.Groups, l.Host} {
		for k, v := range m {
			merged[k] = v
		}
	}
	if hv := inv.HostVars("h1"); !reflect.DeepEqual(merged, hv) {
		t.Errorf("layers merged %v, HostVars %v", merged, hv)
	}
	l.All["a"] = "changed"
	if again, _ := inv.HostVarLayers("h1"); again.All["a"] != "all_file" {
		t.Error("layers share maps with the inventory")
	}
	if _, ok := inv.HostVarLayers("nope"); ok {
		t.Error("unknown host has layers")
	}
}

// ansible-inventory reads a playbook folder's group_vars/ and host_vars/
// too (--playbook-dir, by default the working directory), each between the
// inventory's levels; the golden files are its output for
// testdata/playdir, where every level sets its own value.
func TestOutputReadsThePlaybookDirAsAnsibleInventory(t *testing.T) {
	dir := filepath.Join("testdata", "playdir")
	inv := mustLoad(t, filepath.Join(dir, "inv", "hosts"))
	if err := inv.AddPlaybookDir(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	var list, host bytes.Buffer
	if err := inv.ListJSON(&list, false); err != nil {
		t.Fatal(err)
	}
	if err := inv.HostJSON(&host, "localhost", false); err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string]string{"list.json": list.String(), "host.json": host.String()} {
		want, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got != string(want) {
			t.Errorf("%s differs from ansible-inventory's:\n%s\nwant:\n%s", name, got, want)
		}
	}
	if hv := inv.HostVars("localhost"); hv["v17"] != "inv_host" {
		t.Errorf("HostVars v17 = %v, want inv_host: a play reads its own folder", hv["v17"])
	}
}

#!/bin/bash
# Records what Ansible itself says about every corpus playbook, as golden
# files under NAME/golden/ (playbooks/corpus_test.go compares sshplay with
# them). Run from anywhere: bash playbooks/testdata/corpus/record.sh [NAME...]
#
# Every host of every corpus inventory is this machine through
# ansible_connection=local, so only listing and --check ever run here: no
# real run, nothing installed or changed. A playbook whose check run could
# still act (reboot) is listed with check=no and never check-run.
#
# Each golden file starts with the ansible-playbook version, the command
# (run from the playbook's corpus directory, so its ansible.cfg is read as
# Ansible would) and the exit code; then stdout; then, after "# stderr:",
# stderr.
set -u
cd "$(dirname "$0")"
export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 ANSIBLE_RETRY_FILES_ENABLED=0 \
       ANSIBLE_HOST_KEY_CHECKING=0 ANSIBLE_STDOUT_CALLBACK=default PAGER=cat
version=$(ansible-playbook --version | head -1)

# name | playbook (relative to the corpus directory) | extra arguments | check run
corpus() {
cat <<'LIST'
ae-lamp_simple|site.yml||yes
ae-tomcat-standalone|site.yml||yes
ae-intermediate_example|intermediate_example.yml||yes
ae-conditionals_part2|conditionals_part2.yml||yes
ae-prompts|prompts.yml|-e some_password=pw -e release_version=1.0 -e my_password2=pw2|yes
ae-roletest|roletest.yml||yes
ae-delegation|delegation.yml||yes
ae-batch_size_control|batch_size_control.yml||yes
ae-loop_nested|loop_nested.yml||yes
ae-register_logic|register_logic.yml||yes
ae-tags|tags.yml||yes
afd-first-ansible-playbook|playbook.yml||yes
afd-includes|playbook.yml||yes
afd-nodejs|playbook.yml||yes
afd-nodejs-role|playbook.yml||yes
afd-security|main.yml||yes
afd-drupal|playbook.yml||yes
afd-solr|playbook.yml||yes
pd-linux-temp_sudo|temp_sudo.yml|-e _hosts=all|yes
pd-linux-run_script|run_script.yml|-e _hosts=all -e shell_script=uptime|yes
pd-linux-service_start|service_start.yml|-e _hosts=all|yes
pd-linux-fact_scan|fact_scan.yml|-e _hosts=all|yes
k3s-site|playbooks/site.yml||yes
k3s-reboot|playbooks/reboot.yml||no
internet-pi|main.yml||yes
LIST
}

# record DIR OUT ARGS...: run ansible-playbook ARGS in DIR into DIR/golden/OUT.
record() {
	local dir=$1 out=$2; shift 2
	local so se rc
	so=$(mktemp) se=$(mktemp)
	(cd "$dir" && timeout 600 ansible-playbook "$@" </dev/null >"$so" 2>"$se"); rc=$?
	{
		echo "# $version"
		echo "# command: ansible-playbook $*"
		echo "# exit: $rc"
		cat "$so"
		echo "# stderr:"
		cat "$se"
	} >"$dir/golden/$out"
	rm -f "$so" "$se"
}

corpus | while IFS='|' read -r name pb extra check; do
	if [ $# -gt 0 ] && ! printf '%s\n' "$@" | grep -qx "$name"; then continue; fi
	mkdir -p "$name/golden"
	# shellcheck disable=SC2086 # extra is a list of words
	{
		record "$name" syntax-check.txt -i inventory.ini $extra --syntax-check "$pb"
		record "$name" list-tasks.txt -i inventory.ini $extra --list-tasks "$pb"
		record "$name" list-hosts.txt -i inventory.ini $extra --list-hosts "$pb"
		if [ "$check" = yes ]; then
			record "$name" check.txt -i inventory.ini $extra --check "$pb"
		else
			rm -f "$name/golden/check.txt"
		fi
	}
	echo "$name: recorded" >&2
done

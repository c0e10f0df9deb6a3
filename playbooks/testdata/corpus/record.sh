#!/bin/bash
# Records what Ansible itself says about every corpus playbook, as golden
# files under NAME/golden/ (playbooks/corpus_test.go compares sshplay with
# them). Run from anywhere: bash playbooks/testdata/corpus/record.sh [NAME...]
#
# Every host of every corpus inventory is this machine through
# ansible_connection=local, so only listing and --check run against them:
# nothing installed or changed. A playbook whose check run could
# still act (reboot) is listed with check=no and never check-run.
#
# Each golden file starts with the ansible-playbook version, the command
# (run from the playbook's corpus directory, so its ansible.cfg is read as
# Ansible would) and the exit code; then stdout; then, after "# stderr:",
# stderr.
#
# With --real LABDIR first, it records instead the real runs of the
# playbooks listed by real() below (the ones whose effects stay in /tmp or
# the login user's home; each one's RUN file says why it is safe) against
# the lab host db01 of LABDIR's inventory (make it with
# `sshplay lab up 1 --dir LABDIR`): golden/run.txt is the first run,
# golden/run2.txt the second. Before the first run the playbook's own
# /tmp files are removed, so the first run starts from nothing, as
# corpus_lab_test.go's runs do.
set -u
cd "$(dirname "$0")"
real=""
if [ "${1:-}" = --real ]; then real=$2; shift 2; fi
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

# name | playbook | /tmp files the playbook makes (removed before its first real run) | extra arguments
real() {
cat <<'LIST'
ae-conditionals_part2|conditionals_part2.yml|
ae-roletest|roletest.yml|/tmp/roles_test1.txt /tmp/roles_test2.txt
ae-batch_size_control|batch_size_control.yml|
ae-loop_nested|loop_nested.yml|
ae-register_logic|register_logic.yml|
ae-delegation|delegation.yml|
ae-prompts|prompts.yml|/tmp/1.0-alpha|-e some_password=pw -e release_version=1.0 -e my_password2=pw2
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

if [ -n "$real" ]; then
	real | while IFS='|' read -r name pb files extra; do
		if [ $# -gt 0 ] && ! printf '%s\n' "$@" | grep -qx "$name"; then continue; fi
		# shellcheck disable=SC2086 # files and extra are lists of words
		{
			rm -f $files
			record "$name" run.txt -i "$real/inventory.yml" -l db01 $extra "$pb"
			record "$name" run2.txt -i "$real/inventory.yml" -l db01 $extra "$pb"
			rm -f $files
		}
		echo "$name: real runs recorded" >&2
	done
	exit 0
fi

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

# Records what Ansible's own templar gives for the expressions in
# ansible-exprs.json ("template" rows render a string; "cond" rows are when:
# conditions). exprs_test.go renders the same rows through sshplay.
# Run with the Python that has ansible-core (and passlib, as Ansible uses it
# for password_hash when present):
#   /usr/bin/python3 playbooks/template/testdata/record-exprs.py
import json, os
import ansible
from ansible.template import Templar
from ansible.parsing.dataloader import DataLoader

VARS = {"x": "a.b.c", "v": ["a", "b"], "d": {"k": [1, {"a": 2}], "z": "s"}, "n": 3,
        "nested": {"l": [[1, 2], {"m": "n"}], "e": {}}, "z": None}
TEMPLATES = [
    "{{ ''.find('x') }}", "{{ 'abc'.find('c') }}", "{{ 'abc'.find('z') }}", "{{ 'abc'.index('c') }}",
    "{{ 'Abc'.startswith('A') }}", "{{ 'Abc'.endswith('c') }}", "{{ 'a,b'.split(',') }}",
    "{{ ' a '.strip() }}", "{{ 'abc'.upper() }}", "{{ 'a-b'.replace('-', '_') }}",
    "{{ x | regex_replace('\\.', '-') }}", "{{ 'ab' | regex_replace('(a)', '\\1X') }}",
    "{{ 'ab' | regex_replace('(a)', '\\\\1X') }}", "{{ 'a\\tb' }}", "{{ 'it\\'s' }}",
    "pre\\n{{ 'a\\\\b' }}", "{% if 'a\\tb' | length == 3 %}tab{% else %}no{% endif %}",
    "{{ '10.0.0.1' | regex_search('\\d+') }}",
    "{{ d | to_nice_yaml }}", "{{ v | to_nice_yaml }}", "{{ nested | to_nice_yaml }}",
    "{{ nested | to_nice_yaml(indent=2) }}", "{{ nested | to_yaml }}", "{{ [] | to_nice_yaml }}",
    "{{ 'x' | ansible.builtin.to_json }}", "{{ v | ansible.builtin.join(',') }}",
    "{{ 'a' is ansible.builtin.match('a') }}", "{{ lookup('ansible.builtin.env', 'NO_SUCH_VAR_L') }}",
    "{{ 'a.b*c[d]' | regex_escape }}", "{{ 'www.example.com' | to_uuid }}",
    "{{ 'x' | to_uuid(namespace='361e6d51-faec-444a-9079-341386da8e2e') }}",
    "{{ 'secret' | password_hash('sha512', 'mysalt') }}", "{{ 'secret' | password_hash('sha256', 'mysalt') }}",
    "{{ 'secret' | password_hash('sha512_crypt', 'mysalt', rounds=5000) }}",
    "{{ 'secret' | password_hash('sha512', 'mysalt', rounds=10000) }}",
    "{{ '1.2' is version_compare('1.10', '<') }}", "{{ '2.14.3' is version('2.14', '>=') }}",
    "{{ '1.2' is ansible.builtin.version('1.2', 'eq') }}",
    "{{ '%Y-%m-%d %H:%M:%S' | strftime(0) }}", "{{ '%d/%m/%y %a %b %j' | strftime(86400 * 40) }}",
    "{{ '/etc/../etc/./hosts' | realpath }}", "{{ n | string }}",
    "{{ z }}", "a{{ z }}b", "{{ z | string }}", "{{ z is none }}",
]
CONDS = ["'abc'.find('z') == -1", "x | regex_search('\\.')", "'a\\tb' | length == 3",
         "x.startswith('a.')", "'a' is ansible.builtin.string", "z is none", "z"]

t = Templar(loader=DataLoader(), variables=VARS)
rows = []
for s in TEMPLATES:
    try:
        rows.append({"template": s, "result": t.template(s)})
    except Exception as e:
        rows.append({"template": s, "error": str(e)})
for c in CONDS:
    try:
        r = t.template("{%% if %s %%} True {%% else %%} False {%% endif %%}" % c).strip()
        rows.append({"cond": c, "result": r == "True"})
    except Exception as e:
        rows.append({"cond": c, "error": str(e)})
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "ansible-exprs.json"), "w") as f:
    f.write('{"ansible_core": %s, "vars": %s, "rows": [\n' % (json.dumps(ansible.__version__), json.dumps(VARS)))
    f.write(",\n".join(json.dumps(r, ensure_ascii=False) for r in rows))
    f.write("\n]}\n")
print(len(rows), "rows")

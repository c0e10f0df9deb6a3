# Records Ansible's own random filter (core.py rand) into ansible-random.json:
# for each input and start/step/seed, the value it gives with that seed, or
# that it fails. pyrandom_test.go renders the same calls through sshplay.
# Run with the Python that has ansible-core:
#   /usr/bin/python3 playbooks/template/testdata/record.py
import json, os
import ansible
from ansible.plugins.filter.core import rand

seeds = ["db01", "db02", "pg-primary.example.com", "", "ünïcødé ☕", "a" * 300,
         0, 1, -1, 42, 2**32, 2**32 - 1, 2**63 - 1, -(2**63), True]
calls = []
for seed in seeds:
    calls += [dict(end=60, seed=seed), dict(end=1, seed=seed), dict(end=2**40 + 7, seed=seed),
              dict(end=2**63 - 1, seed=seed), dict(end=100, start=10, step=7, seed=seed),
              dict(end=-50, start=10, step=-3, seed=seed),
              dict(end=["a", "b", "c", 4, [5]], seed=seed), dict(end="héllo", seed=seed)]
calls += [dict(end=10, start=10), dict(end=10, step=0, start=1), dict(end=[]), dict(end=["a"], start=1),
          dict(end=1.5), dict(end=0), dict(end=5, start=0, step=0, seed=3), dict(end=True, seed=9),
          dict(end=7, start=False, step=None, seed="x")]
rows = []
for c in calls:
    kw = {k: v for k, v in c.items() if k != "end"}
    try:
        rows.append(dict(c, result=rand(None, c["end"], **kw)))
    except Exception as e:
        rows.append(dict(c, error=str(e)))
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "ansible-random.json"), "w") as f:
    f.write('{"ansible_core": %s, "rows": [\n' % json.dumps(ansible.__version__))
    f.write(",\n".join(json.dumps(r, ensure_ascii=False) for r in rows))
    f.write("\n]}\n")
print(len(rows), "rows")

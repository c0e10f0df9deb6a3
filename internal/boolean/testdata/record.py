# Records Ansible's own answers into ansible-truth.json: boolean(v, strict=True)
# (module arguments, play keywords) and the `bool` template filter (to_bool).
# Run with the Python that has ansible-core: /usr/bin/python3 testdata/record.py
import json, os, sys
import ansible
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.filter.core import to_bool

values = [True, False, None, 0, 1, 2, -1, 0.0, 1.0, 0.5,
          "", " ", "y", "Y", "yes", "YES", "Yes", " yes ", "on", "ON", "1", "true", "True", "TRUE", "t", "T",
          "n", "N", "no", "NO", "off", "OFF", "0", "false", "False", "f", "F", " no",
          "1.0", "0.0", "2", "none", "None", "null", "enable", "yess", "tru", "oui", "\tfalse\n"]
rows = []
for v in values:
    try:
        strict = boolean(v, strict=True)
    except TypeError:
        strict = "error"
    rows.append({"value": v, "boolean": strict, "filter": to_bool(v)})
path = os.path.join(os.path.dirname(__file__), "ansible-truth.json")
json.dump({"ansible_core": ansible.__version__, "rows": rows}, open(path, "w"), indent=1)

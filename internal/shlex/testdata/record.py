# Records Python's shlex.split on each input into python-shlex.json.
import json, os, shlex, sys
cases = [
 "",
 "   ",
 "a b  c",
 "'a b' c",
 "\"a b\" c",
 "a\"b c\"d",
 "a'b'c",
 "\"a\\\"b\"",
 "\"a\\\\b\"",
 "\"a\\$b\"",
 "\"a\\nb\"",
 "a\\ b",
 "a\\\\b",
 "\\'",
 "''",
 "\"\"",
 "a '' b",
 "x \"\" y",
 "a#b c",
 "a #b c",
 "# all",
 "a\n# c\nb",
 "a\tb\rc\nd",
 "ssh -o 'ProxyCommand=ssh -W %h:%p jump' -C",
 "-o ControlMaster=auto -o ControlPersist=60s",
 "echo 'it''s'",
 "echo \\\"hi\\\"",
 "'unterminated",
 "\"unterminated",
 "trail\\",
 "\"esc\\",
 "a 'b # c' d",
 "a \"b # c\" d",
 "ünï côdé 'ok'",
 "\"\\a\\b\"",
 "'\\'",
 "x='1 2' y=3"
]
out = []
for c in cases:
    row = {"in": c}
    for name, kw in (("split", {}), ("comments", {"comments": True})):
        try:
            row[name] = shlex.split(c, **kw)
        except ValueError as e:
            row[name] = "error: " + str(e)
    out.append(row)
path = os.path.join(os.path.dirname(__file__), "python-shlex.json")
json.dump({"python": sys.version.split()[0], "cases": out}, open(path, "w"), indent=1, ensure_ascii=False)

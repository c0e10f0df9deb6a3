# Records PyYAML's answers into pyyaml.json: for every line of base.yml
# (but blank and comment lines) shifted by -2, -1, +1 or +2 spaces, where
# PyYAML's problem mark (and context mark, when there is one) places the
# error, when the shifted text fails.
# syntax_test.go (TestSyntaxErrorsPlacedWherePyYAMLPlacesThem) builds the
# same texts. Run from internal/yamlx: python3 testdata/syntax/record.py
import json, os, yaml

here = os.path.dirname(os.path.abspath(__file__))
lines = open(os.path.join(here, "base.yml")).read().split("\n")
rows = []
for i, line in enumerate(lines):
    if not line.strip() or line.lstrip().startswith("#"):
        continue
    for d in (-2, -1, 1, 2):
        if d < 0 and not line.startswith(" " * -d):
            continue
        shifted = list(lines)
        shifted[i] = line[-d:] if d < 0 else " " * d + line
        try:
            yaml.safe_load("\n".join(shifted))
        except yaml.MarkedYAMLError as e:
            m, c = e.problem_mark, e.context_mark
            row = {"line": i + 1, "shift": d, "at": [m.line + 1, m.column + 1], "problem": e.problem}
            if c is not None:
                row["context"] = [c.line + 1, c.column + 1]
            rows.append(row)
with open(os.path.join(here, "pyyaml.json"), "w") as f:
    f.write('{"pyyaml": %s, "rows": [\n' % json.dumps(yaml.__version__))
    f.write(",\n".join(json.dumps(r) for r in rows))
    f.write("\n]}\n")
print(len(rows), "rows")

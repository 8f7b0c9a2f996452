"""Print the value of a Go string constant from kind's source, e.g. its default CNI manifest.

kind keeps the manifests it writes into node images (/kind/manifests/default-cni.yaml,
default-storage.yaml) as Go constants. Offline we assemble the node image ourselves, so we read
them from the kind module of the pinned version at build time instead of keeping copies.

    go_string_const.py <file.go> <constName> [<file.go> ...]   # other files supply referenced constants
Understands `const name = "..."` and `` const name = `...` + other + `...` `` (raw strings and
identifiers joined with +), which is all these files use.
"""

import re
import sys

TOKEN = re.compile(r'\s*(?:`([^`]*)`|"((?:[^"\\]|\\.)*)"|([A-Za-z_][A-Za-z0-9_]*)|(\+))', re.S)


def constants(source: str) -> dict:
    found = {}
    for match in re.finditer(r'^(?:const|var)\s+([A-Za-z_]\w*)\s*=\s*', source, re.M):
        parts, pos, expect_value = [], match.end(), True
        while True:
            token = TOKEN.match(source, pos)
            if not token:
                break
            raw, quoted, name, plus = token.groups()
            if expect_value and plus is None:
                parts.append(("raw", raw) if raw is not None else ("str", quoted) if quoted is not None
                             else ("ref", name))
                expect_value = False
            elif not expect_value and plus:
                expect_value = True
            else:
                break
            pos = token.end()
        if parts and not expect_value:
            found[match.group(1)] = parts
    return found


def evaluate(name: str, table: dict, depth: int = 0) -> str:
    if depth > 10 or name not in table:
        raise SystemExit(f"constant {name} not found")
    out = []
    for kind, value in table[name]:
        if kind == "ref":
            out.append(evaluate(value, table, depth + 1))
        elif kind == "str":
            out.append(bytes(value, "utf-8").decode("unicode_escape"))
        else:
            out.append(value)
    return "".join(out)


def main() -> None:
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    files = [sys.argv[1]] + sys.argv[3:]
    table = {}
    for path in files:
        with open(path, encoding="utf-8") as handle:
            table.update(constants(handle.read()))
    sys.stdout.write(evaluate(sys.argv[2], table).lstrip("\n"))


if __name__ == "__main__":
    main()

# -*- coding: utf-8 -*-
# Copyright: contributors to the gitops platform
# Apache License 2.0
"""Change one scalar in a YAML document without touching anything else in the text.

A round-trip dump would re-indent, re-quote or re-wrap a hand-written values file. Instead the
parser only tells where the value is; the edit replaces exactly those characters, and the result
is parsed again to prove that nothing but that one value changed.
"""

from __future__ import annotations

import copy
import io
from typing import Any, Mapping

try:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    HAS_RUAMEL = True
except ImportError:  # pragma: no cover - reported by the module
    HAS_RUAMEL = False
    YAMLError = Exception


class ValuesFileError(Exception):
    """The file cannot be edited as asked; the message says why, for the user."""


class KeyMissing(ValuesFileError):
    """A key of the dotted path is not in the file (its parents are mappings)."""


def _load(text: str) -> Any:
    yaml = YAML(typ="rt")
    try:
        return yaml.load(io.StringIO(text))
    except YAMLError as exc:
        raise ValuesFileError(f"the file is not valid YAML: {exc}") from exc


def _plain(data: Any) -> Any:
    """Comments and styles stripped, for comparing two parses."""
    if isinstance(data, dict):
        return {str(k): _plain(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_plain(v) for v in data]
    if isinstance(data, str):
        return str(data)
    return data


def _parent(data: Any, keys: list[str]) -> Any:
    """The mapping that holds the last key of `keys`."""
    node = data
    for depth, key in enumerate(keys):
        where = ".".join(keys[:depth]) or "the document"
        if not isinstance(node, dict):
            raise ValuesFileError(f"'{where}' is not a mapping, so it has no key '{key}'")
        if key not in node:
            raise KeyMissing(f"key '{'.'.join(keys[: depth + 1])}' not found")
        if depth == len(keys) - 1:
            return node
        node = node[key]
    raise ValuesFileError("an empty key path")  # pragma: no cover - split() never gives []


def get_scalar(text: str, key_path: str) -> Any:
    """The value at a dotted key path, e.g. `image.tag`; ValuesFileError when absent."""
    keys = key_path.split(".")
    value = _parent(_load(text), keys)[keys[-1]]
    return None if value is None else _plain(value)


def _quoted_end(line: str, start: int) -> int:
    """Index just past the closing quote of the quoted scalar starting at `start`."""
    quote = line[start]
    i = start + 1
    while i < len(line):
        if quote == '"' and line[i] == "\\":
            i += 2
            continue
        if line[i] == quote:
            if quote == "'" and line[i + 1 : i + 2] == "'":
                i += 2
                continue
            return i + 1
        i += 1
    raise ValuesFileError("the value is a quoted scalar that spans lines; write it on one line")


def _plain_end(line: str, start: int) -> int:
    """Index just past a plain scalar: up to a comment or the end of the line."""
    end = len(line)
    hash_at = line.find(" #", start)
    if hash_at != -1:
        end = hash_at
    return len(line[:end].rstrip())


def _render(value: str, style: str) -> str:
    """`value` written in the original quoting style, or double-quoted where plain would change type."""
    if style == "'":
        return "'" + value.replace("'", "''") + "'"
    if style == "plain":
        parsed = _load(f"k: {value}\n")
        if isinstance(parsed, dict) and isinstance(parsed.get("k"), str) and str(parsed["k"]) == value:
            return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def set_scalar(text: str, key_path: str, value: str) -> tuple[str, Any]:
    """Return (new_text, previous_value) with the scalar at `key_path` set to the string `value`.

    Only the characters of the old value change; the quoting style is kept where it can be.
    """
    keys = key_path.split(".")
    data = _load(text)
    parent = _parent(data, keys)
    previous = parent[keys[-1]]
    if isinstance(previous, (dict, list)):
        raise ValuesFileError(f"key '{key_path}' holds a {type(previous).__name__}, not a scalar")

    lines = text.splitlines(keepends=True)
    if previous is None:
        # `tag:` with nothing after it: the value goes right after the colon.
        line_no, col = parent.lc.key(keys[-1])
        line = lines[line_no]
        colon = line.index(":", col + len(keys[-1]))
        rest = line[colon + 1 :].lstrip(" ")
        if rest.strip():
            rest = " " + rest  # keep a space before a trailing comment
        new_line = line[: colon + 1] + " " + _render(value, "plain") + rest
    else:
        line_no, col = parent.lc.value(keys[-1])
        line = lines[line_no]
        if line[col:col + 1] in ("|", ">"):
            raise ValuesFileError(f"key '{key_path}' is a block scalar; write it as a one-line value")
        if line[col:col + 1] in ("'", '"'):
            style = line[col]
            end = _quoted_end(line, col)
        else:
            style = "plain"
            end = _plain_end(line, col)
        new_line = line[:col] + _render(value, style) + line[end:]
    lines[line_no] = new_line
    new_text = "".join(lines)

    expected = copy.deepcopy(_plain(data))
    node = expected
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value
    if _plain(_load(new_text)) != expected:
        raise ValuesFileError(
            f"editing '{key_path}' in place would change other values; the file was left as it was"
        )
    return new_text, (None if previous is None else _plain(previous))


def set_scalars(text: str, values: Mapping[str, str]) -> tuple[str, dict[str, Any]]:
    """Return (new_text, previous_values) with each dotted key path of `values` set to its string.

    The keys are set one after the other with set_scalar(), so each edit keeps its guarantees: only the
    characters of that value change, and a re-parse proves nothing else did. A last re-parse of the result
    against the original checks the whole: exactly these keys differ, and they hold the new values.
    """
    new_text = text
    previous: dict[str, Any] = {}
    for key_path, value in values.items():
        new_text, previous[key_path] = set_scalar(new_text, key_path, value)

    expected = copy.deepcopy(_plain(_load(text)))
    for key_path, value in values.items():
        keys = key_path.split(".")
        node = expected
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value
    if _plain(_load(new_text)) != expected:  # pragma: no cover - each set_scalar already proved its part
        raise ValuesFileError(
            f"editing {', '.join(values)} in place would change other values; the file was left as it was"
        )
    return new_text, previous

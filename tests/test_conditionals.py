"""Every conditional in the project's YAML is a string, as Ansible requires.

A plain YAML scalar that holds a colon followed by a space (`x is search(name ~ ': ([0-9]+)')`) is read as a
mapping, not as the expression it looks like. ansible-lint and the syntax check pass it; Ansible fails only when the
task runs ("Conditional expressions must be strings"), which for a check deep in a Molecule verify is half an hour
into a run. This finds such items in `that`, `when`, `failed_when`, `changed_when` and `until` of every file.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CONDITION_KEYS = ("that", "when", "failed_when", "changed_when", "until")
SKIPPED_DIRS = {".venv", "build", ".git", "node_modules"}


def yaml_files() -> list[Path]:
    return sorted(path for pattern in ("*.yml", "*.yaml") for path in ROOT.rglob(pattern)
                  if not SKIPPED_DIRS.intersection(path.relative_to(ROOT).parts)
                  and "templates" not in path.relative_to(ROOT).parts)


def non_string_conditions(node: object) -> list[object]:
    found: list[object] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in CONDITION_KEYS and isinstance(value, list | dict):
                items = value if isinstance(value, list) else [value]
                found += [item for item in items if not isinstance(item, str | bool)]
            found += non_string_conditions(value)
    elif isinstance(node, list):
        for item in node:
            found += non_string_conditions(item)
    return found


def test_the_check_finds_a_condition_that_yaml_reads_as_a_mapping() -> None:
    task = yaml.safe_load("- ansible.builtin.assert:\n    that:\n      - out is search(name ~ ': ([0-9]+)')\n")
    assert non_string_conditions(task) == [{"out is search(name ~ '": "([0-9]+)')"}]
    quoted = yaml.safe_load("- ansible.builtin.assert:\n    that:\n      - \"out is search(name ~ ': ([0-9]+)')\"\n")
    assert non_string_conditions(quoted) == []


@pytest.mark.parametrize("path", yaml_files(), ids=lambda path: str(path.relative_to(ROOT)))
def test_every_condition_is_a_string(path: Path) -> None:
    documents = list(yaml.safe_load_all(path.read_text()))
    assert non_string_conditions(documents) == [], f"{path.relative_to(ROOT)}: quote these conditions"

"""Role interfaces: every role has a README naming each of its inputs, and every entry point is declared.

A README is where a user of the role (here or from the gitops.platform collection) looks for its variables, so
every option of every entry point in meta/argument_specs.yml must appear in it by its exact name. A role with no
argument spec (roles/platform, defaults only) must name each of its defaults instead. Every `tasks_from` used
by a playbook or role must be an entry point declared under that exact name, which is how Ansible finds the spec
to validate the call against.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
ROLES = sorted(path for path in (ROOT / "roles").iterdir() if path.is_dir())

# Roles whose README lags behind their argument spec while another change owns the role; each entry names the
# options still missing. The test fails as soon as one of them is documented, so that the entry goes.
KNOWN_GAPS: dict[str, set[str]] = {}


def argument_specs(role: Path) -> dict:
    path = role / "meta" / "argument_specs.yml"
    return yaml.safe_load(path.read_text())["argument_specs"] if path.exists() else {}


def role_defaults(role: Path) -> set[str]:
    files = [role / "defaults" / "main.yml", *sorted((role / "defaults" / "main").glob("*.yml"))]
    names: set[str] = set()
    for path in files:
        if path.is_file():
            names.update(yaml.safe_load(path.read_text()) or {})
    return names


def named_in(text: str, name: str) -> bool:
    return re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", text) is not None


def documented_inputs(role: Path) -> dict[str, list[str]]:
    """Entry point -> the inputs its README must name (defaults, for a role without an argument spec)."""
    specs = argument_specs(role)
    if specs:
        return {entry: list(spec.get("options") or {}) for entry, spec in specs.items()}
    return {"defaults": sorted(role_defaults(role))}


@pytest.mark.parametrize("role", ROLES, ids=[role.name for role in ROLES])
def test_role_has_a_readme(role: Path) -> None:
    readme = role / "README.md"
    assert readme.is_file(), f"roles/{role.name} has no README.md"
    assert readme.read_text().startswith(f"# {role.name}\n"), f"roles/{role.name}/README.md must start with '# {role.name}'"


@pytest.mark.parametrize("role", ROLES, ids=[role.name for role in ROLES])
def test_readme_names_every_input(role: Path) -> None:
    readme = (role / "README.md").read_text() if (role / "README.md").is_file() else ""
    inputs = documented_inputs(role)
    assert any(inputs.values()), f"roles/{role.name} declares no inputs at all"
    missing = {name for names in inputs.values() for name in names if not named_in(readme, name)}
    known = KNOWN_GAPS.get(role.name, set())
    assert not (known - missing), (
        f"roles/{role.name}/README.md now names {sorted(known - missing)}: remove them from KNOWN_GAPS in {__file__}"
    )
    unexplained = {entry: [name for name in names if name in missing - known] for entry, names in inputs.items()}
    assert not any(unexplained.values()), (
        f"roles/{role.name}/README.md does not name these inputs (entry point: options): "
        f"{ {entry: names for entry, names in unexplained.items() if names} }"
    )


def test_the_readme_check_catches_a_missing_option(tmp_path: Path) -> None:
    role = tmp_path / "demo"
    (role / "meta").mkdir(parents=True)
    (role / "meta" / "argument_specs.yml").write_text(
        "---\nargument_specs:\n  main:\n    options:\n      demo_port: {type: int}\n      demo_port_name: {type: str}\n"
        "  reload:\n    options:\n      demo_reload_timeout: {type: int}\n"
    )
    readme = "# demo\n\n| `demo_port_name` | name |\n| `demo.demo_reload_timeout` | not the option itself |\n"
    inputs = documented_inputs(role)
    assert inputs == {"main": ["demo_port", "demo_port_name"], "reload": ["demo_reload_timeout"]}
    assert [name for names in inputs.values() for name in names if not named_in(readme, name)] == [
        "demo_port", "demo_reload_timeout",
    ]


def tasks_from_calls() -> list[tuple[str, str, str]]:
    """(file, role, tasks_from) of every include_role/import_role with tasks_from in playbooks, roles, molecule."""
    calls = []
    files = [ROOT / "site.yml", *ROOT.glob("playbooks/**/*.yml"), *ROOT.glob("roles/*/tasks/**/*.yml"),
             *ROOT.glob("molecule/**/*.yml")]
    for path in files:
        def walk(node) -> None:
            if isinstance(node, dict):
                for key in ("ansible.builtin.include_role", "ansible.builtin.import_role", "include_role", "import_role"):
                    call = node.get(key)
                    if isinstance(call, dict) and "tasks_from" in call:
                        calls.append((str(path.relative_to(ROOT)), str(call.get("name")), str(call["tasks_from"])))
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)

        walk(yaml.safe_load(path.read_text()))
    return calls


def test_tasks_from_calls_are_found() -> None:
    assert ("playbooks/argocd-refresh.yml", "argocd_app", "sync") in tasks_from_calls()


@pytest.mark.parametrize(("path", "role", "tasks_from"), tasks_from_calls())
def test_every_tasks_from_is_a_declared_entry_point(path: str, role: str, tasks_from: str) -> None:
    role_dir = ROOT / "roles" / role.split(".")[-1]
    assert (role_dir / "tasks" / f"{Path(tasks_from).stem}.yml").is_file(), f"{path}: roles/{role} has no tasks/{tasks_from}"
    specs = argument_specs(role_dir)
    assert tasks_from in specs, (
        f"{path}: tasks_from: {tasks_from} of role {role} is not an entry point of its meta/argument_specs.yml "
        f"(declared: {sorted(specs)}); Ansible validates a call only against the entry point named exactly like "
        f"tasks_from, so declare it and call it without the .yml extension"
    )


@pytest.mark.parametrize("role", ROLES, ids=[role.name for role in ROLES])
def test_every_entry_point_has_its_tasks_file(role: Path) -> None:
    for entry in argument_specs(role):
        assert (role / "tasks" / f"{entry}.yml").is_file(), f"roles/{role.name}: entry point {entry} has no tasks/{entry}.yml"

"""The pytest mark `bundle` splits the suite for `make test` (scripts/run-tests.py): the tests without it run beside
Molecule's clusters, so they must not use Docker or what the bundle builds. Two guards keep it that way: at run time
tests/docker_engine.py refuses Docker and promtool in that run, and here every test module that imports them is
checked for the mark."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

# Imported as a module, not `from tests.docker_engine import docker`: this file calls it only to see it refused.
from tests import docker_engine

REPO = Path(__file__).resolve().parents[1]
# What only a test with the mark may use: the Docker CLI wrapper, the registry helpers (which run Docker), promtool.
NEEDS_BUNDLE = {("tests.docker_engine", "docker"), ("tests.registry_role", None), ("tests", "promtool_path"),
                ("tests.promtool_path", None)}


def _imports_needing_bundle(tree: ast.Module) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                if (node.module, alias.name) in NEEDS_BUNDLE or (node.module, None) in NEEDS_BUNDLE:
                    found.append(f"{node.module}.{alias.name}")
    return found


def _is_bundle_mark(node: ast.AST) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "bundle" and isinstance(node.value, ast.Attribute)
            and node.value.attr == "mark" and isinstance(node.value.value, ast.Name) and node.value.value.id == "pytest")


def _marked_bundle(tree: ast.Module) -> bool:
    """The module's `pytestmark` holds pytest.mark.bundle, or a test or class is decorated with it."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets):
            if any(_is_bundle_mark(inner) for inner in ast.walk(node.value)):
                return True
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and any(_is_bundle_mark(d) for d in node.decorator_list):
            return True
    return False


def test_every_module_that_uses_docker_or_promtool_carries_the_mark() -> None:
    unmarked = []
    for path in sorted((REPO / "tests").rglob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        uses = _imports_needing_bundle(tree)
        if uses and not _marked_bundle(tree):
            unmarked.append(f"{path.relative_to(REPO)} imports {', '.join(uses)}")
    assert not unmarked, "these need `pytestmark = pytest.mark.bundle`:\n" + "\n".join(unmarked)


def test_the_static_check_finds_an_unmarked_module() -> None:
    source = "from tests.docker_engine import docker\n\ndef test_x():\n    docker('ps')\n"
    assert _imports_needing_bundle(ast.parse(source)) == ["tests.docker_engine.docker"]
    assert not _marked_bundle(ast.parse(source))
    assert _marked_bundle(ast.parse("import pytest\npytestmark = pytest.mark.bundle\n" + source))
    assert _marked_bundle(ast.parse("import pytest\npytestmark = [pytest.mark.bundle, pytest.mark.slow]\n" + source))
    assert not _marked_bundle(ast.parse("# pytest.mark.bundle in a comment\n" + source))


def test_docker_is_refused_in_the_run_beside_molecule(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITOPS_TESTS_WITHOUT_BUNDLE", "1")
    with pytest.raises(AssertionError, match="needs `pytestmark = pytest.mark.bundle`"):
        docker_engine.docker("version")
    with pytest.raises(AssertionError, match="promtool from the bundle"):
        docker_engine.refuse_without_bundle("promtool from the bundle")


def test_the_guard_is_quiet_outside_that_run_and_at_collection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITOPS_TESTS_WITHOUT_BUNDLE", raising=False)
    docker_engine.refuse_without_bundle("the Docker engine")
    # At collection time (no PYTEST_CURRENT_TEST) a marked module may ask whether Docker answers.
    monkeypatch.setenv("GITOPS_TESTS_WITHOUT_BUNDLE", "1")
    monkeypatch.delenv("PYTEST_CURRENT_TEST", raising=False)
    docker_engine.refuse_without_bundle("the Docker engine")

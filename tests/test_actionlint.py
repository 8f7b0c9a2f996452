"""actionlint on the GitHub Actions workflows in .github/workflows, with the binary roles/host_prereqs builds.

tests/test_workflows.py checks this project's own rules (pinned actions, timeouts, permissions); actionlint
checks what GitHub itself would reject or misread: workflow syntax, expressions and their types, `needs`,
matrix and input references, runner labels. The binary is the one `make prerequisites` links into the
platform's bin directory (`$GITOPS_CACHE_DIR/bin`, by default `~/.cache/gitops-platform/bin`), at the version
pinned in versions.yml; when it is missing the test fails and says how to get it, it does not skip.

actionlint runs shellcheck and pyflakes on `run:` scripts when they are on PATH. They are switched off here so
that the result is the same on every machine (GitHub's runners have shellcheck, this project's test machine
does not); the bash of the promote step is executed by tests/test_workflows.py instead.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO / ".github" / "workflows"
PINNED = yaml.safe_load((REPO / "inventory" / "group_vars" / "all" / "versions.yml").read_text())["platform_versions"][
    "actionlint"
]
# Deterministic everywhere: no shellcheck or pyflakes integration, whatever is on PATH.
FLAGS = ["-shellcheck=", "-pyflakes="]


def actionlint() -> Path:
    cache = os.environ.get("GITOPS_CACHE_DIR") or str(Path.home() / ".cache" / "gitops-platform")
    binary = Path(cache) / "bin" / "actionlint"
    if not os.access(binary, os.X_OK):
        pytest.fail(f"{binary} is missing: run `make prerequisites` (roles/host_prereqs builds actionlint {PINNED})")
    return binary


def workflow_files() -> list[Path]:
    return sorted([*WORKFLOWS.glob("*.yml"), *WORKFLOWS.glob("*.yaml")])


def test_the_binary_is_the_pinned_actionlint() -> None:
    done = subprocess.run([str(actionlint()), "-version"], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    found = done.stdout.splitlines()[0]
    assert found == PINNED.removeprefix("v"), (
        f"{actionlint()} is actionlint {found}, versions.yml pins {PINNED}: run `make prerequisites`"
    )


def test_the_workflows_pass_actionlint() -> None:
    files = workflow_files()
    assert files, f"no workflows in {WORKFLOWS}"
    done = subprocess.run([str(actionlint()), *FLAGS, *map(str, files)], cwd=REPO, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, f"actionlint found problems (exit {done.returncode}):\n{done.stdout}{done.stderr}"


def test_actionlint_reports_a_broken_workflow(tmp_path: Path) -> None:
    """The check above can fail: an undefined job in `needs` and a misspelt context are reported."""
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(
        "on: push\njobs:\n  test:\n    runs-on: ubuntu-24.04\n    needs: [build]\n"
        "    steps:\n      - run: echo ${{ githb.sha }}\n"
    )
    done = subprocess.run([str(actionlint()), *FLAGS, str(broken)], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    assert '"build"' in done.stdout and "githb" in done.stdout, done.stdout

"""The skip policy: under CI an unlisted skip fails the run, a listed one stays a skip."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.skip_policy import ALLOWED_SKIPS, allowed

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("nodeid", "expected"),
    [
        ("tests/offline/test_argocd_images.py::test_dex_image_or_its_fallback", True),
        ("tests/offline/test_argocd_images.py::test_redis_cli_answers_inside_the_image", False),
        ("tests/test_app_image.py::test_image_runs", False),
    ],
)
def test_allowlist_lookup(nodeid: str, expected: bool) -> None:
    assert (allowed(nodeid) is not None) is expected


def test_every_allowed_skip_has_a_reason_and_names_an_existing_file() -> None:
    for nodeid, reason in ALLOWED_SKIPS.items():
        assert len(reason) > 40, nodeid
        assert (ROOT / nodeid.split("::")[0]).is_file(), nodeid


@pytest.mark.parametrize(
    ("ci", "expected_outcome"),
    [("true", "1 failed"), ("", "1 skipped")],
)
def test_unlisted_skip_fails_only_under_ci(tmp_path: Path, ci: str, expected_outcome: str) -> None:
    # A real pytest run in a scratch directory that uses this project's conftest.py.
    (tmp_path / "conftest.py").write_text((ROOT / "conftest.py").read_text())
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "__init__.py").write_text("")
    (tmp_path / "tests" / "skip_policy.py").write_text((ROOT / "tests" / "skip_policy.py").read_text())
    (tmp_path / "test_sample.py").write_text(textwrap.dedent("""
        import pytest

        def test_needs_something():
            pytest.skip("the thing is missing")
    """))
    env = {"PATH": "/usr/bin:/bin", "CI": ci, "PYTHONPATH": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "test_sample.py"],
        cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120, check=False,
    )
    assert expected_outcome in result.stdout, result.stdout + result.stderr
    if ci:
        assert "not in the allowlist" in result.stdout
        assert "the thing is missing" in result.stdout
        assert result.returncode == 1

"""The Docker CLI as the test suites that build or run images use it, and why it cannot be used here."""

from __future__ import annotations

import os
import shutil
import subprocess


def docker(*args: str, check: bool = True, timeout: float = 120, input_bytes: bytes | None = None,
           env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the docker CLI; `env` adds to this process's environment (e.g. DOCKER_CONFIG)."""
    refuse_without_bundle("the Docker engine")
    result = subprocess.run(["docker", *args], capture_output=True, input=input_bytes, check=False, timeout=timeout,
                            env={**os.environ, **env} if env else None)
    done = subprocess.CompletedProcess(result.args, result.returncode, result.stdout.decode(errors="replace"),
                                       result.stderr.decode(errors="replace"))
    if check and done.returncode != 0:
        raise subprocess.CalledProcessError(done.returncode, done.args, done.stdout, done.stderr)
    return done


def refuse_without_bundle(what: str) -> None:
    """Fail a test that uses `what` in the run `make test` starts beside Molecule (scripts/run-tests.py sets
    GITOPS_TESTS_WITHOUT_BUNDLE there): such a test needs the pytest mark `bundle`, or it would run into the clusters.
    Only while a test runs (PYTEST_CURRENT_TEST): the marked modules may ask Docker at collection time."""
    if os.environ.get("GITOPS_TESTS_WITHOUT_BUNDLE") and os.environ.get("PYTEST_CURRENT_TEST"):
        raise AssertionError(f"this test uses {what}, so it needs `pytestmark = pytest.mark.bundle` (or the mark on "
                             "the test): make test runs the unmarked tests beside Molecule, where Docker is the scenarios'")


def docker_unreachable() -> str | None:
    """Return why the Docker daemon cannot be used, or None when it answers."""
    if shutil.which("docker") is None:
        return "the docker CLI is not installed"
    try:
        result = docker("version", "--format", "{{.Server.Version}}", check=False, timeout=30)
    except subprocess.TimeoutExpired:
        return "the Docker daemon did not answer within 30 s"
    if result.returncode != 0:
        return f"the Docker daemon is not reachable: {result.stderr.strip()}"
    return None

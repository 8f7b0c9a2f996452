"""The Docker CLI as the test suites that build or run images use it, and why it cannot be used here."""

from __future__ import annotations

import shutil
import subprocess


def docker(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, timeout=timeout)


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

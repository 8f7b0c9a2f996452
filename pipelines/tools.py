"""Where the pipelines find the platform's pinned versions and the programs `make prerequisites` builds."""

from __future__ import annotations

import os
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
VERSIONS_FILE = ROOT / "inventory" / "group_vars" / "all" / "versions.yml"
PLATFORM_FILE = ROOT / "inventory" / "group_vars" / "all" / "platform.yml"
COMMAND_TIMEOUT = 300


class PipelineError(RuntimeError):
    """A stage could not run (a missing program, an unreadable revision); its message says what to do."""


def cache_dir() -> Path:
    return Path(os.environ.get("GITOPS_CACHE_DIR") or Path.home() / ".cache" / "gitops-platform")


@cache
def platform_versions() -> dict[str, Any]:
    return yaml.safe_load(VERSIONS_FILE.read_text(encoding="utf-8"))["platform_versions"]


@cache
def platform_settings() -> dict[str, Any]:
    return yaml.safe_load(PLATFORM_FILE.read_text(encoding="utf-8"))


def tool(name: str) -> str:
    """The program on PATH, else in the platform's bin directory; a missing one is an error that says how to get it."""
    found = shutil.which(name) or shutil.which(name, path=str(cache_dir() / "bin"))
    if not found:
        raise PipelineError(f"{name} is not on PATH nor in {cache_dir() / 'bin'}: run `make prerequisites`, which "
                            f"installs it (offline: built from its Go module at the version pinned in versions.yml)")
    return found


def run(argv: list[str], cwd: Path | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, input=stdin, capture_output=True, text=True, check=False,
                          timeout=COMMAND_TIMEOUT)

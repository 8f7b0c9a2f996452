"""Where promtool is: built from the pinned Prometheus module with the offline bundle (`make bundle`), the same build
as the image's. The alert rule tests and the canary query test run it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from tests.docker_engine import refuse_without_bundle

_VERSIONS = Path(__file__).resolve().parents[1] / "inventory" / "group_vars" / "all" / "versions.yml"
_CACHE = Path(os.environ.get("GITOPS_CACHE_DIR") or Path.home() / ".cache" / "gitops-platform")
PROMTOOL = (_CACHE / "bundle" / f"prometheus-{yaml.safe_load(_VERSIONS.read_text())['platform_versions']['prometheus']}"
            / "bin" / "promtool")


def promtool() -> str:
    """promtool's path; fails the test, saying how to build it, when the bundle lacks it."""
    refuse_without_bundle("promtool from the bundle")
    if not PROMTOOL.is_file():
        pytest.fail(f"{PROMTOOL} is missing: `make bundle` builds it (the Prometheus component)", pytrace=False)
    return str(PROMTOOL)

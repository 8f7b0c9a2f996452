"""Fixtures for the demo-flask-app chart tests: the real helm binary and the Kubernetes schemas.

Nothing is mocked: charts are linted and rendered by the helm the platform installs
(`ansible-playbook playbooks/prerequisites.yml` links it into ~/.cache/gitops-platform/bin).
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from chart_helpers import CHART_DIR, HELM_FALLBACK, Helm, find_helm, k8s_schema, platform_versions


@pytest.fixture(scope="session")
def helm() -> Helm:
    binary = find_helm()
    if binary is None:
        pytest.fail(
            f"helm not found on PATH nor at {HELM_FALLBACK}. Install it with "
            "`ansible-playbook playbooks/prerequisites.yml` (then put ~/.cache/gitops-platform/bin on PATH).",
            pytrace=False,
        )
    version = subprocess.run([binary, "version", "--short"], capture_output=True, text=True, check=False)
    if version.returncode != 0 or not version.stdout.startswith("v3."):
        pytest.fail(f"{binary} is not a working Helm 3 ({version.stdout.strip()} {version.stderr.strip()})", pytrace=False)
    return Helm(binary=binary, kube_version=str(platform_versions()["kubernetes"]))


@pytest.fixture(scope="session")
def chart_metadata() -> dict[str, Any]:
    return yaml.safe_load((CHART_DIR / "Chart.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def swagger_path() -> Path:
    """swagger.json of the pinned Kubernetes version, looked up once per session (Go module cache)."""
    version = str(platform_versions()["kubernetes"])
    try:
        return k8s_schema.download_swagger(version)
    except k8s_schema.SwaggerUnavailable as error:
        pytest.fail(f"cannot get the Kubernetes {version} OpenAPI schema: {error}", pytrace=False)


@pytest.fixture(scope="session")
def k8s_schemas(swagger_path: Path) -> k8s_schema.KubernetesSchemas:
    return k8s_schema.KubernetesSchemas.from_file(swagger_path)

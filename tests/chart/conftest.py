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
    """The pinned Kubernetes' schemas plus the CRDs of the pinned Argo Rollouts (Rollout, AnalysisTemplate), from the
    manifests/crds of its Go module: the canary's objects are validated as strictly as the rest."""
    schemas = k8s_schema.KubernetesSchemas.from_file(swagger_path)
    module = f"github.com/argoproj/argo-rollouts@{platform_versions()['argo_rollouts']}"
    try:
        # Its go.mod asks for a newer Go than the platform's: the toolchain the bundle builds it with.
        crds_dir = k8s_schema.download_module(module, env={"GOTOOLCHAIN": str(platform_versions()["argo_rollouts_go"])})
        crds_dir = crds_dir / "manifests" / "crds"
    except k8s_schema.SwaggerUnavailable as error:
        pytest.fail(f"cannot get Argo Rollouts' CRDs: {error}", pytrace=False)
    documents = [doc for path in sorted(crds_dir.glob("*.yaml")) for doc in yaml.safe_load_all(path.read_text(encoding="utf-8"))]
    added = schemas.add_crds(documents)
    if not {"argoproj.io/v1alpha1/Rollout", "argoproj.io/v1alpha1/AnalysisTemplate"} <= set(added):
        pytest.fail(f"{crds_dir} did not define Rollout and AnalysisTemplate (it defined {added})", pytrace=False)
    return schemas

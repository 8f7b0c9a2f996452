"""The app pipeline's e2e stage for real (playbooks/app-e2e.yml, `make app-e2e`): an ephemeral kind cluster from the
offline node image, the chart installed with helm and the image under test, its answers checked through the node
port, and the cluster deleted whether the release passed or not.

Needs the Docker engine and what `make bundle` builds (the node image, kind and helm): `make test` runs it once the
bundle is built, beside Molecule (the cluster, its port and its kubeconfig are its own).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.docker_engine import docker, docker_unreachable
from tests.test_app_image import IMAGE_NAME, build_image

REPO = Path(__file__).resolve().parents[1]
PLAYBOOK = REPO / "playbooks" / "app-e2e.yml"
CACHE = Path(os.environ.get("GITOPS_CACHE_DIR") or Path.home() / ".cache" / "gitops-platform")
CLUSTER = "gitops-app-e2e"
RUN_TIMEOUT = 900

_DOCKER_UNREACHABLE = docker_unreachable()
pytestmark = [
    pytest.mark.bundle,
    pytest.mark.skipif(_DOCKER_UNREACHABLE is not None, reason=_DOCKER_UNREACHABLE or ""),
]


def run_e2e(version: str, *extra_vars: str) -> subprocess.CompletedProcess[str]:
    """ansible-playbook playbooks/app-e2e.yml; its output with every run of whitespace made one space."""
    ansible_playbook = Path(sys.executable).with_name("ansible-playbook")
    command = [
        str(ansible_playbook) if ansible_playbook.exists() else "ansible-playbook", str(PLAYBOOK),
        "-e", f"app_e2e_version={version}", "-e", f"app_e2e_repository={IMAGE_NAME}",
        *(arg for extra in extra_vars for arg in ("-e", extra)),
    ]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False)
    # One line per message: the callback folds long ones, which would split the phrases checked below.
    return subprocess.CompletedProcess(done.args, done.returncode, " ".join(done.stdout.split()),
                                       " ".join(done.stderr.split()))


def cluster_nodes() -> list[str]:
    """The node containers of the e2e cluster that exist on the engine (kind labels them with their cluster)."""
    found = docker("ps", "--all", "--filter", f"label=io.x-k8s.kind.cluster={CLUSTER}", "--format", "{{.Names}}")
    return found.stdout.split()


@pytest.fixture
def released() -> Iterator[str]:
    """A release of the app built for the test; its image is removed afterwards."""
    version = f"e2e-{secrets.token_hex(3)}"
    build_image(version)
    yield version
    docker("rmi", "--force", f"{IMAGE_NAME}:{version}", check=False)


def test_the_release_is_served_by_an_ephemeral_cluster_that_is_deleted_afterwards(released: str) -> None:
    result = run_e2e(released)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert f"serving version {released} on an ephemeral cluster" in output, output[-3000:]
    assert cluster_nodes() == [], "the e2e cluster was left behind"


def test_a_release_that_never_gets_ready_fails_with_its_pods_state_and_still_deletes_the_cluster(released: str) -> None:
    # The good release with a server that never answers /readyz, as a broken build would be.
    broken = f"{released}-broken"
    dockerfile = f'FROM {IMAGE_NAME}:{released}\nCMD ["python3", "-m", "http.server", "8000"]\n'
    docker("build", "--quiet", "--tag", f"{IMAGE_NAME}:{broken}", "-", input_bytes=dockerfile.encode())
    try:
        result = run_e2e(broken, "app_e2e_timeout=25")
    finally:
        docker("rmi", "--force", f"{IMAGE_NAME}:{broken}", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    assert f"{IMAGE_NAME}:{broken} did not become ready on the ephemeral cluster within 25 s" in output, output[-4000:]
    assert "Running" in output and "not ready" in output, output[-4000:]
    assert cluster_nodes() == [], "the e2e cluster was left behind after the failure"


def test_an_image_that_is_not_built_is_refused_before_any_cluster_exists() -> None:
    result = run_e2e("never-built-0.0.1")
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    assert "is not on this machine's Docker engine: build it first with `make app-image VERSION=never-built-0.0.1`" \
        in output, output[-3000:]
    assert "Create the ephemeral cluster" not in output
    assert cluster_nodes() == []


@pytest.mark.parametrize("version", ["", "../etc", "1.0:latest"])
def test_a_version_that_is_not_a_tag_is_refused(version: str) -> None:
    result = run_e2e(version)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    assert "app_e2e_version must be an image tag (make app-e2e VERSION=<tag>)" in output, output[-3000:]

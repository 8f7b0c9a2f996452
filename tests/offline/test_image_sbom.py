"""SBOMs for real: syft (built from its Go module by `make prerequisites`/`make sbom`) describes every image the
platform built (playbooks/sbom.yml, roles/image_sbom), and what it lists is what went into the images: the Go
modules the bundle compiled at the versions it pinned, the Debian packages of the bases, the app's Python packages.
Needs the Docker engine and what `make bundle` builds; the fixture runs playbooks/sbom.yml, which finds the SBOMs
of `make sbom` current (or writes them, a few minutes).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.ansible_run import run_role
from tests.docker_engine import docker, docker_unreachable

REPO = Path(__file__).resolve().parents[2]
VERSIONS = yaml.safe_load((REPO / "inventory" / "group_vars" / "all" / "versions.yml").read_text())["platform_versions"]
CACHE_DIR = Path(os.environ.get("GITOPS_CACHE_DIR") or Path.home() / ".cache" / "gitops-platform")
SBOM_DIR = CACHE_DIR / "sbom"
SYFT = CACHE_DIR / "bin" / "syft"
KUBE_ROUTER = VERSIONS["kube_router_image"]
KUBE_PROXY = f"registry.k8s.io/kube-proxy:{VERSIONS['kubernetes']}"
PAUSE = f"registry.k8s.io/pause:{VERSIONS['pause']}"

_DOCKER_UNREACHABLE = docker_unreachable()
pytestmark = [
    pytest.mark.bundle,
    pytest.mark.skipif(_DOCKER_UNREACHABLE is not None, reason=_DOCKER_UNREACHABLE or ""),
]


def ansible_playbook(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    sibling = Path(sys.executable).with_name("ansible-playbook")
    return subprocess.run([str(sibling) if sibling.exists() else "ansible-playbook", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=1800, check=False,
                          env=os.environ | {"ANSIBLE_FORCE_COLOR": "0", "GITOPS_OFFLINE": "true"} | (env or {}))


@pytest.fixture(scope="module")
def index() -> dict:
    """playbooks/sbom.yml once: every image the platform built has its SBOMs; their index."""
    done = ansible_playbook("playbooks/sbom.yml")
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    return json.loads((SBOM_DIR / "index.json").read_text())


def image_id(ref: str) -> str:
    return docker("image", "inspect", "--format", "{{.Id}}", ref).stdout.strip()


def artifacts(index: dict, ref: str) -> dict[tuple[str, str], str]:
    """(type, name) -> version of what syft found in the image."""
    document = json.loads((SBOM_DIR / index[ref]["files"]["syft-json"]).read_text())
    return {(item["type"], item["name"]): item["version"] for item in document["artifacts"]}


def test_every_image_the_platform_built_is_described_as_it_is_now(index: dict) -> None:
    expected = {KUBE_ROUTER, KUBE_PROXY, VERSIONS["argocd_images"]["argocd"], VERSIONS["sealed_secrets_image"],
                f"gitops-local/kind-node:{VERSIONS['kubernetes']}", f"gitops-local/registry:{VERSIONS['debian_suite']}"}
    assert expected <= set(index), sorted(expected - set(index))
    for ref, entry in index.items():
        assert entry["id"] == image_id(ref), f"{ref}: the SBOM describes another build of the image"
        spdx = json.loads((SBOM_DIR / entry["files"]["spdx-json"]).read_text())
        assert spdx["spdxVersion"] == "SPDX-2.3", ref
        assert len(spdx["packages"]) > 1, f"{ref}: syft found nothing in the image"


def test_a_go_image_lists_the_modules_it_was_compiled_from_at_the_pinned_versions(index: dict) -> None:
    found = artifacts(index, KUBE_ROUTER)
    assert found[("go-module", "github.com/cloudnativelabs/kube-router/v2")] == VERSIONS["kube_router"]
    # The fixed release the bundle raised x/net to (roles/offline_bundle/vars/main.yml), not v2.1.0's own.
    upgrades = {line.split("@")[0]: line.split("@")[1] for component in yaml.safe_load(
        (REPO / "roles" / "offline_bundle" / "vars" / "main.yml").read_text())["__offline_bundle_components"]
        if component["name"] == "kube-router" for line in component["upgrades"]}
    assert found[("go-module", "golang.org/x/net")] == upgrades["golang.org/x/net"]
    go_version = subprocess.run(["go", "env", "GOVERSION"], capture_output=True, text=True, check=True).stdout.strip()
    assert found[("go-module", "stdlib")] == go_version, "the Go toolchain the bundle compiled with"
    # Its Debian base's packet filters, from dpkg's database.
    assert re.fullmatch(r"1\.8\.\d+-\d+", found[("deb", "iptables")])


def test_the_app_image_lists_its_python_packages_at_the_pinned_versions(index: dict) -> None:
    app = next(ref for ref in index if "/demo-flask-app:" in ref)
    found = artifacts(index, app)
    pinned = dict(line.split("==") for line in (REPO / "app" / "requirements.txt").read_text().splitlines()
                  if "==" in line and not line.startswith("#"))
    for name in ("flask", "gunicorn", "werkzeug"):
        assert found[("python", name)] == pinned[name], name
        # SPDX, the exchange format, says the same.
    spdx = json.loads((SBOM_DIR / index[app]["files"]["spdx-json"]).read_text())
    assert {"name": "flask", "version": pinned["flask"]} in [
        {"name": package["name"], "version": package.get("versionInfo")} for package in spdx["packages"]]


def test_an_image_is_scanned_again_only_when_it_changed(tmp_path: Path) -> None:
    """The role on its own directory: a first run scans, a re-run scans nothing, a rebuilt image is scanned again
    and only it; a missing image stops the run with what to do, and nothing is recorded."""
    assert SYFT.exists(), "make sbom (or make prerequisites with syft) builds syft"
    ref = "gitops-test/sbom-subject:1"
    build = tmp_path / "build"
    build.mkdir()
    variables = {"image_sbom_images": [ref, PAUSE], "image_sbom_dir": str(tmp_path / "sbom"),
                 "image_sbom_syft": str(SYFT)}
    try:
        for revision in ("1", "2"):
            (build / "Dockerfile").write_text(f"FROM {PAUSE}\nLABEL io.gitops-platform.test.revision={revision}\n")
            docker("build", "--quiet", "--tag", ref, str(build), timeout=300)
            first = run_role(tmp_path, "image_sbom", variables)
            assert first.rc == 0, first.output[-3000:]
            collapsed = " ".join(first.output.split())
            if revision == "1":
                assert "2 to scan with syft" in collapsed, collapsed[-2000:]
                again = run_role(tmp_path, "image_sbom", variables)
                assert again.rc == 0 and again.changed == 0, again.output[-3000:]
                assert "all current" in " ".join(again.output.split())
            else:
                assert f"1 to scan with syft ({ref}), 1 unchanged" in collapsed, collapsed[-2000:]
            recorded = json.loads((tmp_path / "sbom" / "index.json").read_text())
            assert recorded[ref]["id"] == image_id(ref)
            described = json.loads((tmp_path / "sbom" / recorded[ref]["files"]["syft-json"]).read_text())
            assert described["source"]["metadata"]["labels"]["io.gitops-platform.test.revision"] == revision

        missing = run_role(tmp_path / "build", "image_sbom", {**variables, "image_sbom_dir": str(tmp_path / "none"),
                                                                "image_sbom_images": ["gitops-test/not-built:1", PAUSE]})
        assert missing.rc != 0
        assert ("1 image(s) to describe are not in the Docker engine: gitops-test/not-built:1. Build them first"
                in " ".join(missing.output.split()))
        assert not (tmp_path / "none").exists(), "nothing is written for a run that stopped"
    finally:
        docker("image", "rm", "--force", ref, check=False)

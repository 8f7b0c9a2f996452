"""promote.yml's registry check, registry_v2.manifest_digest and the promotion gate against a real registry: the
platform's own (roles/image_registry)."""

from __future__ import annotations

import base64
import hashlib
import urllib.request

import pytest

from ansible_collections.gitops.platform.plugins.module_utils.registry_v2 import RegistryError, manifest_digest
from tests.docker_engine import docker, docker_unreachable
from tests.registry_role import RegistryUnderTest, tiny_image

from .conftest import CHART, playbook
from .test_promote_module import change_remote, run_module

# Needs the Docker engine or what `make bundle` builds: `make test` runs it once the bundle is built.
pytestmark = pytest.mark.bundle

PORT = 5057
NAME = "pytest-promotion-registry"
PUSH = ("promoter", "verify-s3cret-pw")
# The check only reads: CI can run it with the read-only account.
PULL = ("promotion-reader", "verify-reader-pw")
REGISTRY = f"127.0.0.1:{PORT}"
IMAGE = f"{REGISTRY}/demo-flask-app"
USER, PASSWORD = PULL


@pytest.fixture(scope="module")
def pushed_tag(tmp_path_factory):
    """A registry with `demo-flask-app:1.2.3` pushed by the real Docker engine."""
    unreachable = docker_unreachable()
    if unreachable:
        pytest.fail(unreachable)
    workdir = tmp_path_factory.mktemp("promotion-registry")
    registry = RegistryUnderTest(workdir, NAME, PORT, PUSH, PULL)
    applied = registry.apply()
    assert applied.rc == 0, applied.output[-3000:]
    env = {"DOCKER_CONFIG": str(workdir / "docker-config")}
    tiny_image(f"{IMAGE}:1.2.3", env, b"promotion test image\n")
    docker("login", REGISTRY, "-u", PUSH[0], "--password-stdin", input_bytes=PUSH[1].encode(), env=env)
    docker("push", f"{IMAGE}:1.2.3", env=env)
    docker("image", "rm", f"{IMAGE}:1.2.3", env=env, check=False)
    yield "1.2.3"
    registry.apply(state="absent")


def verify_vars(tag: str, remote, password: str = PASSWORD) -> dict:
    return {"image_tag": tag, "gitops_repo": str(remote.path), "image_promotion_verify_image": True,
            "image_promotion_image": IMAGE, "image_promotion_registry_insecure": True,
            "image_promotion_registry_username": USER, "image_promotion_registry_password": password}


def test_a_pushed_tag_is_promoted(pushed_tag, remote):
    run = playbook("promote.yml", verify_vars(pushed_tag, remote))
    assert run.rc == 0, run.output
    assert "Promoted-To: 1.2.3" in remote.message()


def test_a_tag_missing_from_the_registry_is_refused_and_nothing_changes(pushed_tag, remote):
    head = remote.head()
    run = playbook("promote.yml", verify_vars("9.9.9", remote))
    assert run.rc != 0
    assert "does not exist in the registry" in " ".join(run.output.split())
    assert remote.head() == head


def test_a_wrong_registry_password_is_refused_without_showing_it(pushed_tag, remote):
    head = remote.head()
    run = playbook("promote.yml", verify_vars(pushed_tag, remote, password="wrong-registry-pw-77"), "-vvv")
    assert run.rc != 0
    assert "check the registry username and password" in " ".join(run.output.split())
    assert "wrong-registry-pw-77" not in run.output
    assert remote.head() == head


MANIFEST_TYPES = ", ".join([
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
])


def served_manifest_digest(tag: str) -> str:
    """sha256 of the manifest bytes the registry serves for `tag` (GET): what a digest is, computed here."""
    request = urllib.request.Request(f"http://{REGISTRY}/v2/demo-flask-app/manifests/{tag}", headers={
        "Accept": MANIFEST_TYPES,
        "Authorization": "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode(),
    })
    with urllib.request.urlopen(request, timeout=10) as response:
        return "sha256:" + hashlib.sha256(response.read()).hexdigest()


def test_manifest_digest_is_the_digest_of_the_manifest_served(pushed_tag):
    digest = manifest_digest(IMAGE, pushed_tag, USER, PASSWORD, insecure=True)
    assert digest == served_manifest_digest(pushed_tag)


@pytest.mark.parametrize(
    ("tag", "password", "words"),
    [
        ("9.9.9", PASSWORD, "demo-flask-app:9.9.9 does not exist in the registry"),
        ("1.2.3", "wrong-digest-pw-12", "check the registry username and password"),
    ],
)
def test_manifest_digest_refusals(pushed_tag, tag, password, words):
    with pytest.raises(RegistryError) as raised:
        manifest_digest(IMAGE, tag, USER, password, insecure=True)
    assert words in str(raised.value)
    assert password not in str(raised.value)


def gate_pod(name: str, digest: str, tag: str) -> dict:
    image = f"{IMAGE}:{tag}"
    return {"metadata": {"name": name}, "spec": {"containers": [{"name": "app", "image": image}]},
            "status": {"conditions": [{"type": "Ready", "status": "True"}],
                       "containerStatuses": [{"name": "app", "image": image, "imageID": f"{IMAGE}@{digest}"}]}}


@pytest.mark.parametrize("same_build", [True, False], ids=["pushed-digest", "other-digest"])
def test_the_gate_compares_the_pods_digest_with_the_registry(same_build, pushed_tag, remote, tmp_path):
    values_file = f"helm/{CHART}/values-devtest.yaml"

    def write(work):
        (work / values_file).write_text(f'image:\n  tag: "{pushed_tag}"\n')
    revision = change_remote(remote, tmp_path, write, f"Promote {pushed_tag} to dev")
    digest = served_manifest_digest(pushed_tag) if same_build else "sha256:" + "e" * 64
    result = run_module("promotion_gate", {
        "application": {"metadata": {"name": "demo-dev"}, "status": {
            "sync": {"status": "Synced", "revision": revision}, "health": {"status": "Healthy"},
            "operationState": {"phase": "Succeeded", "finishedAt": "2024-05-01T12:00:00Z"}}},
        "pods": [gate_pod("app-1", digest, pushed_tag)], "source_environment": "dev", "repo": str(remote.path),
        "values_file": values_file, "image": IMAGE, "registry_username": USER, "registry_password": PASSWORD,
        "registry_insecure": True, "soak": 60, "now": "2024-05-01T12:05:00Z",
    }, tmp_path)
    assert PASSWORD not in result.output
    if same_build:
        assert result.rc == 0, result.output
        assert result.data["digest"] == digest
        assert result.data["tag"] == pushed_tag
    else:
        assert result.rc != 0
        assert result.data["failed_condition"] == "pods"
        assert "the tag was pushed again since, or the pod runs an older build" in result.msg, result.output

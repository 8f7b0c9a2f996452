"""promote.yml's registry check against a real registry: the platform's own (roles/image_registry)."""

from __future__ import annotations

import pytest

from tests.docker_engine import docker, docker_unreachable
from tests.registry_role import RegistryUnderTest, tiny_image

from .conftest import playbook

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

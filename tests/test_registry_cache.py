"""Real tests for gitops.platform.registry_cache through roles/registry_push: a registry of the test's own
(roles/image_registry), the real Docker daemon, a cache directory.

A first push goes through `docker push` and keeps the image in the cache as the registry stored it; a new,
empty registry then gets the image back from the cache without `docker push`, and the daemon pulls it from there
with the same ID. An incomplete cache entry is not trusted: the image is pushed again.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.ansible_run import Run, run_role
from tests.docker_engine import docker, docker_unreachable
from tests.registry_role import RegistryUnderTest, tiny_image

# Needs the Docker engine or what `make bundle` builds: `make test` runs it once the bundle is built.
pytestmark = pytest.mark.bundle

PORT = 5057
NAME = "pytest-registry-cache"
PUSH = ("pytest", "cache-Pa55")
PULL = ("pytest-reader", "reader-Pa55")
SOURCE = "localhost/pytest-registry-cache:1"
TARGET = f"127.0.0.1:{PORT}/cache/demo:1"


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory):
    unreachable = docker_unreachable()
    if unreachable:
        pytest.fail(unreachable)
    reg = RegistryUnderTest(tmp_path_factory.mktemp("registry-cache"), NAME, PORT, PUSH, PULL)
    started = reg.apply()
    assert started.rc == 0, started.output[-3000:]
    yield reg
    reg.apply(state="absent")


def push(registry: RegistryUnderTest, cache: Path, env: dict) -> Run:
    return run_role(registry.workdir, "registry_push", {
        "registry_push_images": [{"source": SOURCE, "target": TARGET}],
        "registry_push_registry": registry.host,
        "registry_push_api_url": f"http://{registry.host}",
        "registry_push_username": PUSH[0],
        "registry_push_password": PUSH[1],
        "registry_push_cache_dir": str(cache),
    }, env=env)


def emptied(registry: RegistryUnderTest) -> None:
    """The same registry again, with a new, empty store (as after a teardown)."""
    assert registry.apply(state="absent").rc == 0
    assert registry.apply().rc == 0


@pytest.fixture()
def daemon(tmp_path: Path, registry: RegistryUnderTest) -> dict:
    env = {"DOCKER_CONFIG": str(tmp_path / "docker-config")}
    docker("login", registry.host, "-u", PUSH[0], "--password-stdin", input_bytes=PUSH[1].encode(), env=env)
    tiny_image(SOURCE, env, content=b"cached layer")
    yield env
    docker("image", "rm", "--force", SOURCE, TARGET, check=False)


def test_a_new_registry_gets_the_image_back_from_the_cache_without_docker_push(
        tmp_path: Path, registry: RegistryUnderTest, daemon: dict) -> None:
    cache = tmp_path / "cache"
    first = push(registry, cache, daemon)
    assert first.rc == 0, first.output[-3000:]
    assert f"Pushed {TARGET}" in first.output
    image_id = docker("image", "inspect", "--format", "{{.Id}}", SOURCE).stdout.strip()
    entry = json.loads((cache / "manifests" / f"{image_id.split(':')[1]}.json").read_text())
    manifest = json.loads(entry["manifest"])
    assert manifest["config"]["digest"] == image_id
    assert all((cache / "blobs" / "sha256" / layer["digest"].split(":")[1]).is_file() for layer in manifest["layers"])

    emptied(registry)
    again = push(registry, cache, daemon)
    assert again.rc == 0, again.output[-3000:]
    assert f"put back from the cache: cache/demo:1" in again.output
    assert f"Pushed nothing" in again.output

    docker("image", "rm", "--force", TARGET, check=False)
    docker("pull", "--quiet", TARGET, env=daemon)
    assert docker("image", "inspect", "--format", "{{.Id}}", TARGET).stdout.strip() == image_id

    third = push(registry, cache, daemon)
    assert third.rc == 0 and third.changed == 0, third.output[-3000:]


def test_an_incomplete_cache_entry_is_pushed_again(tmp_path: Path, registry: RegistryUnderTest, daemon: dict) -> None:
    cache = tmp_path / "cache"
    emptied(registry)
    assert push(registry, cache, daemon).rc == 0
    blobs = sorted((cache / "blobs" / "sha256").iterdir())
    blobs[0].unlink()

    emptied(registry)
    again = push(registry, cache, daemon)
    assert again.rc == 0, again.output[-3000:]
    assert f"Pushed {TARGET}" in again.output and "put back from the cache" not in again.output
    assert len(list((cache / "blobs" / "sha256").iterdir())) == len(blobs)

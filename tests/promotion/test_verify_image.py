"""promote.yml's registry check against a real registry (Debian's docker-registry, htpasswd auth)."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from .conftest import ROOT, playbook

PORT = 5057
REGISTRY = f"127.0.0.1:{PORT}"
IMAGE = f"{REGISTRY}/demo-flask-app"
USER, PASSWORD = "promoter", "verify-s3cret-pw"
STATE = Path("/var/tmp/pytest-promotion-registry")
SERVICE = "pytest-promotion-registry"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="installs and starts a registry: run as root")


def registry_role(state: str) -> None:
    variables = {
        "local_registry_state": state, "local_registry_port": PORT, "local_registry_service_name": SERVICE,
        "local_registry_config_dir": str(STATE / "config"), "local_registry_data_dir": str(STATE / "data"),
        "local_registry_users": [{"name": USER, "password": PASSWORD}],
    }
    play = STATE.parent / f"{SERVICE}.yml"
    play.write_text("---\n- name: Registry for the promotion tests\n  hosts: localhost\n  gather_facts: false\n"
                    "  roles:\n    - role: local_registry\n")
    result = subprocess.run(
        [str(Path(sys.executable).with_name("ansible-playbook")), str(play), "-e", json.dumps(variables)],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    play.unlink()
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


@pytest.fixture(scope="module")
def pushed_tag(tmp_path_factory):
    """A registry with `demo-flask-app:1.2.3` pushed by the real Docker engine."""
    if subprocess.run(["docker", "version"], capture_output=True, check=False).returncode != 0:
        pytest.fail("Docker does not answer: run `ansible-playbook playbooks/prerequisites.yml`")
    registry_role("present")
    docker_config = tmp_path_factory.mktemp("docker-config")
    env = {**os.environ, "DOCKER_CONFIG": str(docker_config)}
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as tar:
        data = b"promotion test image\n"
        info = tarfile.TarInfo("hello.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    subprocess.run(["docker", "import", "-", f"{IMAGE}:1.2.3"], input=layer.getvalue(), env=env,
                   check=True, capture_output=True)
    subprocess.run(["docker", "login", REGISTRY, "-u", USER, "--password-stdin"], input=PASSWORD.encode(),
                   env=env, check=True, capture_output=True)
    subprocess.run(["docker", "push", f"{IMAGE}:1.2.3"], env=env, check=True, capture_output=True)
    subprocess.run(["docker", "image", "rm", f"{IMAGE}:1.2.3"], env=env, check=False, capture_output=True)
    yield "1.2.3"
    registry_role("absent")
    shutil.rmtree(STATE, ignore_errors=True)


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

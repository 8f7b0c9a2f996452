"""Real tests for roles/image_registry (the platform's registry) and roles/registry_login.

A registry of the test's own (containers, Docker network, loopback port, password file) runs beside
anything else on the machine; the real Docker daemon pushes, pulls and logs in. molecule/registry_login
covers the login end to end; these tests cover what that scenario cannot: who may do what (push account,
read-only pull account, anonymous mirror port), the files' owners, idempotence and check mode, a password
change, removal, and the login noticing a password that was rotated on the registry.
"""

from __future__ import annotations

import base64
import json
import stat
import subprocess
from pathlib import Path

import pytest

from tests.docker_engine import docker, docker_unreachable
from tests.registry_role import RegistryUnderTest, run_role, tiny_image

# Needs the Docker engine or what `make bundle` builds: `make test` runs it once the bundle is built.
pytestmark = pytest.mark.bundle

PORT = 5056
NAME = "pytest-registry-login"
PUSH = ("pytest", "first-Pa55")
PULL = ("pytest-reader", "reader-Pa55")
UPSTREAM = "mirrored/upstream"


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory):
    """The test registry, started once for the module; tests record password changes in `push`."""
    unreachable = docker_unreachable()
    if unreachable:
        pytest.fail(unreachable)
    reg = RegistryUnderTest(tmp_path_factory.mktemp("registry-login"), NAME, PORT, PUSH, PULL, [UPSTREAM])
    first = reg.apply()
    assert first.rc == 0, first.output[-3000:]
    assert first.changed > 0
    yield reg
    reg.apply(state="absent")


def docker_env(tmp_path: Path) -> dict:
    return {"DOCKER_CONFIG": str(tmp_path / "docker-config")}


def login(registry: RegistryUnderTest, account: tuple[str, str], env: dict) -> None:
    docker("login", registry.host, "-u", account[0], "--password-stdin", input_bytes=account[1].encode(), env=env)


def front_address(registry: RegistryUnderTest) -> str:
    return docker("inspect", "--format", f'{{{{(index .NetworkSettings.Networks "{registry.name}").IPAddress}}}}',
                  registry.name).stdout.strip()


def started_at(container: str) -> str:
    return docker("inspect", "--format", "{{.State.StartedAt}}", container).stdout.strip()


def test_every_account_logs_in_and_anonymous_requests_get_401(registry: RegistryUnderTest) -> None:
    assert registry.status() == 401
    assert registry.status(account=registry.push) == 200
    assert registry.status(account=registry.pull) == 200
    assert registry.status(account=(registry.push[0], "not-the-password")) == 401
    assert registry.status(account=(registry.pull[0], registry.push[1])) == 401


def test_the_pull_account_reads_and_cannot_write(registry: RegistryUnderTest, tmp_path: Path) -> None:
    env = docker_env(tmp_path)
    ref = f"{registry.host}/app/demo:pushed"
    tiny_image(ref, env)
    login(registry, registry.push, env)
    docker("push", ref, env=env)

    login(registry, registry.pull, env)
    refused_ref = f"{registry.host}/app/demo:by-reader"
    docker("tag", ref, refused_ref, env=env)
    refused = docker("push", refused_ref, env=env, check=False)
    assert refused.returncode != 0
    assert f"account {registry.pull[0]} is read-only" in refused.stdout + refused.stderr
    assert registry.status("/v2/app/demo/manifests/by-reader", account=registry.push) == 404
    assert registry.status("/v2/app/demo/manifests/pushed", account=registry.push, method="DELETE") != 403

    docker("image", "rm", ref, refused_ref, env=env, check=False)
    tiny_image(ref, env)  # pushed again for the pull below
    login(registry, registry.push, env)
    docker("push", ref, env=env)
    docker("image", "rm", ref, env=env)
    login(registry, registry.pull, env)
    docker("pull", ref, env=env)


def test_the_anonymous_port_serves_only_the_listed_repositories(registry: RegistryUnderTest, tmp_path: Path) -> None:
    env = docker_env(tmp_path)
    login(registry, registry.push, env)
    for ref in (f"{registry.host}/{UPSTREAM}:1", f"{registry.host}/app/private:1"):
        tiny_image(ref, env)
        docker("push", ref, env=env)
    address = front_address(registry)
    accept = "application/vnd.docker.distribution.manifest.v2+json"

    def anonymous(path: str, method: str = "GET") -> str:
        return subprocess.run(
            ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", method, "-H", f"Accept: {accept}",
             f"http://{address}:5002{path}"], capture_output=True, text=True, check=False, timeout=30).stdout

    assert anonymous("/v2/") == "200"
    assert anonymous(f"/v2/{UPSTREAM}/manifests/1") == "200"
    assert anonymous("/v2/app/private/manifests/1") == "404"
    assert anonymous("/v2/_catalog") == "404"
    assert anonymous(f"/v2/{UPSTREAM}/manifests/1", "DELETE") == "403"
    assert anonymous(f"/v2/{UPSTREAM}/blobs/uploads/", "POST") == "403"
    # The authenticated port, from the network too, asks for credentials.
    assert subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", f"http://{address}:5000/v2/"],
                          capture_output=True, text=True, check=False, timeout=30).stdout == "401"


def test_the_store_is_reachable_only_through_the_front(registry: RegistryUnderTest) -> None:
    networks = json.loads(docker("inspect", "--format", "{{json .NetworkSettings.Networks}}", f"{NAME}-store").stdout)
    assert list(networks) == [f"{NAME}-internal"]
    assert docker("network", "inspect", "--format", "{{.Internal}}", f"{NAME}-internal").stdout.strip() == "true"
    assert docker("port", f"{NAME}-store", check=False).stdout.strip() == ""


def test_secrets_stay_root_only_here_and_belong_to_the_containers_own_accounts_there(registry: RegistryUnderTest) -> None:
    directory, htpasswd = registry.config_dir, registry.config_dir / "htpasswd"
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(htpasswd.stat().st_mode) == 0o600
    assert (htpasswd.stat().st_uid, htpasswd.stat().st_gid) == (0, 0)
    assert [line.split(":")[0] for line in htpasswd.read_text().splitlines()] == [PUSH[0], PULL[0]]
    mounts = json.loads(docker("inspect", "--format", "{{json .Mounts}}", NAME).stdout)
    assert mounts == [], "the front mounts files from this machine"
    inside = docker("exec", NAME, "stat", "-c", "%a %U", "/etc/nginx/registry.htpasswd",
                    "/etc/nginx/registry-front.conf").stdout.split("\n")
    assert inside[:2] == ["400 www-data", "400 www-data"]


@pytest.mark.parametrize("flags", [(), ("--check", "--diff")], ids=["again", "check-mode"])
def test_a_second_run_changes_nothing_and_restarts_nothing(registry: RegistryUnderTest, flags: tuple) -> None:
    before = (started_at(NAME), started_at(f"{NAME}-store"))
    result = registry.apply(*flags)
    assert result.rc == 0, result.output[-3000:]
    assert result.changed == 0, result.output[-3000:]
    assert (started_at(NAME), started_at(f"{NAME}-store")) == before


def test_a_password_change_takes_effect_without_a_restart(registry: RegistryUnderTest) -> None:
    before = started_at(NAME)
    check = registry.apply("--check", "--diff", push=(PUSH[0], "second-Pa55"))
    assert check.rc == 0 and check.changed > 0, check.output[-3000:]
    assert registry.status(account=registry.push) == 200, "check mode changed the registry"

    result = registry.apply(push=(PUSH[0], "second-Pa55"))
    assert result.rc == 0, result.output[-3000:]
    assert registry.status(account=(PUSH[0], "second-Pa55")) == 200
    assert registry.status(account=registry.push) == 401
    assert started_at(NAME) == before, "nginx reads the password file per request: no restart needed"
    assert "second-Pa55" not in result.output and "first-Pa55" not in result.output
    registry.push = (PUSH[0], "second-Pa55")


def test_login_is_idempotent_and_notices_a_rotated_password(registry: RegistryUnderTest, tmp_path: Path) -> None:
    def login_role(password: str, **variables: object):
        return run_role(tmp_path, "registry_login", {
            "registry_login_registry": registry.host,
            "registry_login_username": registry.push[0],
            "registry_login_password": password,
            "registry_login_pull_secret_enabled": False,
            **variables,
        }, env=docker_env(tmp_path))

    old = registry.push[1]
    first = login_role(old)
    assert first.rc == 0 and first.changed == 1, first.output[-3000:]
    again = login_role(old)
    assert again.rc == 0 and again.changed == 0, again.output[-3000:]

    rotated = registry.apply(push=(PUSH[0], "third-Pa55"))
    assert rotated.rc == 0, rotated.output[-3000:]
    registry.push = (PUSH[0], "third-Pa55")

    # The stored credentials still match the variables, but the registry no longer takes them.
    stale = login_role(old)
    assert stale.rc != 0
    assert f"Login to {registry.host} as {PUSH[0]} was refused: wrong username or password." in stale.output
    assert old not in stale.output
    # docker_login alone (no re-authentication) would have reported success without asking.
    trusting = login_role(old, registry_login_verify=False)
    assert trusting.rc == 0 and trusting.changed == 0, trusting.output[-3000:]

    renewed = login_role("third-Pa55")
    assert renewed.rc == 0 and renewed.changed == 1, renewed.output[-3000:]
    auths = json.loads((tmp_path / "docker-config" / "config.json").read_text())["auths"]
    assert auths[registry.host]["auth"] == base64.b64encode(f"{PUSH[0]}:third-Pa55".encode()).decode()


def test_absent_removes_everything_it_made(registry: RegistryUnderTest) -> None:
    check = registry.apply("--check", state="absent")
    assert check.rc == 0 and check.changed > 0, check.output[-3000:]
    assert registry.status(account=registry.push) == 200, "check mode removed the registry"

    result = registry.apply(state="absent")
    assert result.rc == 0, result.output[-3000:]
    for kind, name in (("container", NAME), ("container", f"{NAME}-store"), ("network", NAME),
                       ("network", f"{NAME}-internal"), ("volume", f"{NAME}-data")):
        assert docker(kind, "inspect", name, check=False).returncode != 0, f"{kind} {name} is left behind"
    assert not registry.config_dir.exists()

    again = registry.apply(state="absent")
    assert again.rc == 0 and again.changed == 0, again.output[-3000:]

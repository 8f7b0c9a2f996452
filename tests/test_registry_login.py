"""Real tests for roles/local_registry and roles/registry_login.

A registry from Debian's docker-registry package runs on its own loopback port, directories, pid
file and log, next to anything else on the machine; the real Docker daemon performs the logins.
molecule/registry_login covers the login end to end (push, pull, wrong password, logout); these
tests cover what that scenario cannot: the registry role's own idempotence and check mode, a
password change (hash rewritten, registry restarted, old password refused), removal, and the login
noticing a password that was rotated on the registry.

Needs root (apt, start-stop-daemon) and a Docker daemon that answers; skipped otherwise.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
ANSIBLE_PLAYBOOK = Path(sys.executable).with_name("ansible-playbook")
PORT = 5056
HOST = f"127.0.0.1:{PORT}"
ROOT = Path("/var/tmp/pytest-registry-login")
SERVICE = "pytest-registry-login"
PIDFILE = Path(f"/run/{SERVICE}.pid")
LOGFILE = Path(f"/var/log/{SERVICE}.log")
ACCOUNT = "pytest"

PLAYBOOK = """\
---
- name: Apply one role with the variables of the test
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Apply the role under test
      ansible.builtin.include_role:
        name: "{{ test_role }}"
"""


def _docker_answers() -> bool:
    try:
        return subprocess.run(["docker", "version"], capture_output=True, check=False).returncode == 0
    except FileNotFoundError:
        return False


pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="installs packages and starts a daemon: run as root"),
    pytest.mark.skipif(not _docker_answers(), reason="Docker does not answer: run playbooks/prerequisites.yml"),
]


@dataclass
class Run:
    rc: int
    output: str

    @property
    def changed(self) -> int:
        match = re.search(r"localhost\s+: ok=\d+\s+changed=(\d+)", self.output)
        assert match, self.output[-3000:]
        return int(match.group(1))


class Ansible:
    """Runs one role through ansible-playbook; variables go through a file, never the command line."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.playbook = workdir / "play.yml"
        self.playbook.write_text(PLAYBOOK)
        self.docker_config = workdir / "docker-config"

    def run(self, role: str, variables: dict, *flags: str) -> Run:
        varfile = self.workdir / "vars.json"
        varfile.write_text(json.dumps({"test_role": role, **variables}))
        env = {
            **os.environ,
            "ANSIBLE_ROLES_PATH": str(PROJECT / "roles"),
            "ANSIBLE_COLLECTIONS_PATH": str(PROJECT / "collections"),
            "ANSIBLE_FORCE_COLOR": "0",
            "DOCKER_CONFIG": str(self.docker_config),
        }
        proc = subprocess.run(
            [str(ANSIBLE_PLAYBOOK), str(self.playbook), "-e", f"@{varfile}", *flags],
            cwd=PROJECT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        varfile.unlink()
        return Run(proc.returncode, proc.stdout + proc.stderr)

    def registry(self, password: str, *flags: str, state: str = "present") -> Run:
        return self.run(
            "local_registry",
            {
                "local_registry_state": state,
                "local_registry_port": PORT,
                "local_registry_config_dir": str(ROOT / "config"),
                "local_registry_data_dir": str(ROOT / "data"),
                "local_registry_service_name": SERVICE,
                "local_registry_users": [{"name": ACCOUNT, "password": password}],
            },
            *flags,
        )

    def login(self, password: str, *flags: str, **variables: object) -> Run:
        return self.run(
            "registry_login",
            {
                "registry_login_registry": HOST,
                "registry_login_username": ACCOUNT,
                "registry_login_password": password,
                "registry_login_pull_secret_enabled": False,
                **variables,
            },
            *flags,
        )


def v2_status(password: str | None) -> int:
    request = urllib.request.Request(f"http://{HOST}/v2/")
    if password is not None:
        token = base64.b64encode(f"{ACCOUNT}:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def registry_pid() -> int:
    return int(PIDFILE.read_text().strip())


@pytest.fixture(scope="module")
def ansible(tmp_path_factory: pytest.TempPathFactory):
    runner = Ansible(tmp_path_factory.mktemp("registry-login"))
    yield runner
    runner.registry("unused", state="absent")
    shutil.rmtree(ROOT, ignore_errors=True)


@pytest.fixture(scope="module")
def registry(ansible: Ansible) -> dict:
    """The test registry, started once for the module; tests record password changes in it."""
    first = ansible.registry("first-Pa55")
    assert first.rc == 0, first.output[-3000:]
    assert first.changed > 0
    return {"password": "first-Pa55"}


def test_registry_answers_401_without_and_200_with_credentials(registry: dict) -> None:
    assert v2_status(None) == 401
    assert v2_status(registry["password"]) == 200
    assert v2_status("not-the-password") == 401


def test_registry_config_has_the_required_settings(registry: dict) -> None:
    config = (ROOT / "config" / "config.yml").read_text()
    assert f'addr: "{HOST}"' in config
    assert "delete:\n    enabled: true" in config
    assert f"path: {ROOT / 'config' / 'htpasswd'}" in config
    line = (ROOT / "config" / "htpasswd").read_text().strip()
    assert re.fullmatch(rf"{ACCOUNT}:\$2y\$10\$[./A-Za-z0-9]{{53}}", line), "one bcrypt line expected"


@pytest.mark.parametrize("flags", [(), ("--check", "--diff")], ids=["again", "check-mode"])
def test_registry_second_run_changes_nothing(ansible: Ansible, registry: dict, flags: tuple) -> None:
    pid = registry_pid()
    result = ansible.registry(registry["password"], *flags)
    assert result.rc == 0, result.output[-3000:]
    assert result.changed == 0, result.output[-3000:]
    assert registry_pid() == pid, "the registry was restarted although nothing changed"


def test_registry_password_change_rewrites_the_hash_and_restarts(ansible: Ansible, registry: dict) -> None:
    pid = registry_pid()
    check = ansible.registry("second-Pa55", "--check", "--diff")
    assert check.rc == 0 and check.changed > 0, check.output[-3000:]
    assert v2_status(registry["password"]) == 200, "check mode changed the registry"

    result = ansible.registry("second-Pa55")
    assert result.rc == 0, result.output[-3000:]
    assert registry_pid() != pid, "the registry kept its old password file in memory"
    assert v2_status("second-Pa55") == 200
    assert v2_status(registry["password"]) == 401
    registry["password"] = "second-Pa55"
    assert "second-Pa55" not in result.output and "first-Pa55" not in result.output


def test_login_is_idempotent_and_notices_a_rotated_password(ansible: Ansible, registry: dict) -> None:
    old = registry["password"]
    first = ansible.login(old)
    assert first.rc == 0 and first.changed == 1, first.output[-3000:]
    again = ansible.login(old)
    assert again.rc == 0 and again.changed == 0, again.output[-3000:]

    rotated = ansible.registry("third-Pa55")
    assert rotated.rc == 0, rotated.output[-3000:]
    registry["password"] = "third-Pa55"

    # The stored credentials still match the variables, but the registry no longer takes them.
    stale = ansible.login(old)
    assert stale.rc != 0
    assert f"Login to {HOST} as {ACCOUNT} was refused: wrong username or password." in stale.output
    assert old not in stale.output
    # docker_login alone (no re-authentication) would have reported success without asking.
    trusting = ansible.login(old, registry_login_verify=False)
    assert trusting.rc == 0 and trusting.changed == 0, trusting.output[-3000:]

    renewed = ansible.login("third-Pa55")
    assert renewed.rc == 0 and renewed.changed == 1, renewed.output[-3000:]
    auths = json.loads((ansible.docker_config / "config.json").read_text())["auths"]
    assert auths[HOST]["auth"] == base64.b64encode(f"{ACCOUNT}:third-Pa55".encode()).decode()


def test_registry_absent_stops_it_and_removes_its_state(ansible: Ansible, registry: dict) -> None:
    check = ansible.registry(registry["password"], "--check", state="absent")
    assert check.rc == 0 and check.changed > 0, check.output[-3000:]
    assert v2_status(registry["password"]) == 200, "check mode stopped the registry"

    result = ansible.registry(registry["password"], state="absent")
    assert result.rc == 0, result.output[-3000:]
    with pytest.raises(urllib.error.URLError) as refused:
        urllib.request.urlopen(f"http://{HOST}/v2/", timeout=5)
    assert not isinstance(refused.value, urllib.error.HTTPError), "something still answers on the port"
    for path in (ROOT / "config", ROOT / "data", PIDFILE, LOGFILE):
        assert not path.exists(), f"{path} is left behind"

    again = ansible.registry(registry["password"], state="absent")
    assert again.rc == 0 and again.changed == 0, again.output[-3000:]

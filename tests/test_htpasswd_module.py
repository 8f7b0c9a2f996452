"""gitops.platform.htpasswd_bcrypt through a real ansible-playbook run: check mode, idempotence, modes."""

from __future__ import annotations

import json
import re
import stat
import subprocess
import sys
from pathlib import Path

import bcrypt
import pytest

PROJECT = Path(__file__).resolve().parents[1]
ANSIBLE_PLAYBOOK = Path(sys.executable).with_name("ansible-playbook")

PLAYBOOK = """\
---
- name: Keep an htpasswd file
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Write the accounts
      gitops.platform.htpasswd_bcrypt:
        path: "{{ path }}"
        accounts: "{{ accounts }}"
        cost: 4
        mode: "0640"
      register: result
      no_log: true

    - name: Show what changed (names only)
      ansible.builtin.debug:
        msg: "RESULT {{ {'changed': result.changed, 'rehashed': result.rehashed | default([])} | to_json }}"
"""


def apply(tmp_path: Path, accounts: list[dict], *extra: str) -> tuple[dict, str]:
    playbook = tmp_path / "playbook.yml"
    playbook.write_text(PLAYBOOK)
    extra_vars = json.dumps({"path": str(tmp_path / "conf" / "htpasswd"), "accounts": accounts})
    run = subprocess.run(
        [str(ANSIBLE_PLAYBOOK), str(playbook), "-e", extra_vars, *extra],
        cwd=PROJECT, capture_output=True, text=True, timeout=300, check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    found = re.search(r"RESULT (\{.*?\})", run.stdout)
    assert found, run.stdout
    return json.loads(found.group(1)), run.stdout + run.stderr


@pytest.fixture()
def accounts() -> list[dict]:
    return [{"name": "push", "password": "push-secret-1"}, {"name": "pull", "password": "pull-secret-2"}]


def test_check_mode_writes_nothing_then_apply_then_no_change(tmp_path: Path, accounts: list[dict]) -> None:
    (tmp_path / "conf").mkdir()
    target = tmp_path / "conf" / "htpasswd"

    checked, _ = apply(tmp_path, accounts, "--check")
    assert checked["changed"] and not target.exists()

    applied, output = apply(tmp_path, accounts)
    assert applied == {"changed": True, "rehashed": ["push", "pull"]}
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    lines = dict(line.split(":", 1) for line in target.read_text().splitlines())
    assert bcrypt.checkpw(b"pull-secret-2", lines["pull"].encode())
    assert "push-secret-1" not in output and "pull-secret-2" not in output

    again, _ = apply(tmp_path, accounts)
    assert again == {"changed": False, "rehashed": []}


def test_password_change_rewrites_only_that_account(tmp_path: Path, accounts: list[dict]) -> None:
    (tmp_path / "conf").mkdir()
    apply(tmp_path, accounts)
    before = (tmp_path / "conf" / "htpasswd").read_text().splitlines()
    accounts[1]["password"] = "rotated-3"
    changed, _ = apply(tmp_path, accounts)
    after = (tmp_path / "conf" / "htpasswd").read_text().splitlines()
    assert changed == {"changed": True, "rehashed": ["pull"]}
    assert after[0] == before[0] and after[1] != before[1]

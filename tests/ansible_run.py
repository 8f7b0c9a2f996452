"""Run one of the project's roles through a real ansible-playbook, as the role tests do."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
ANSIBLE_PLAYBOOK = Path(sys.executable).with_name("ansible-playbook")

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


@dataclass
class Run:
    rc: int
    output: str

    @property
    def changed(self) -> int:
        match = re.search(r"localhost\s+: ok=\d+\s+changed=(\d+)", self.output)
        assert match, self.output[-3000:]
        return int(match.group(1))


def run_role(workdir: Path, role: str, variables: dict, *flags: str, env: dict | None = None) -> Run:
    """ansible-playbook on one role; the variables go through a file, never the command line."""
    playbook = workdir / "play.yml"
    playbook.write_text(PLAYBOOK)
    varfile = workdir / "vars.json"
    varfile.write_text(json.dumps({"test_role": role, **variables}))
    environment = {
        **os.environ,
        "ANSIBLE_ROLES_PATH": str(PROJECT / "roles"),
        "ANSIBLE_COLLECTIONS_PATH": str(PROJECT / "collections"),
        "ANSIBLE_FORCE_COLOR": "0",
        **(env or {}),
    }
    try:
        proc = subprocess.run(
            [str(ANSIBLE_PLAYBOOK), str(playbook), "-e", f"@{varfile}", *flags],
            cwd=PROJECT, env=environment, capture_output=True, text=True, check=False, timeout=1800,
        )
    finally:
        varfile.unlink(missing_ok=True)
    return Run(proc.returncode, proc.stdout + proc.stderr)

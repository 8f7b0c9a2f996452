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


def module_playbook(module: str, options: tuple[str, ...]) -> str:
    """A playbook that calls `module` once with `params[<option>]` for each option given, never failing,
    and saves the registered result as JSON to `out`."""
    return "\n".join([
        "---",
        f"- name: Run {module} once",
        "  hosts: localhost",
        "  gather_facts: false",
        "  tasks:",
        f"    - name: Run {module}",
        f"      {module}:",
        *[f"        {key}: \"{{{{ params['{key}'] | default(omit) }}}}\"" for key in options],
        "      register: result",
        "      ignore_errors: true",
        "",
        "    - name: Save the result for the test",
        "      ansible.builtin.copy:",
        "        content: \"{{ result | to_json }}\"",
        "        dest: \"{{ out }}\"",
        "        mode: \"0644\"",
        "      check_mode: false",
        "",
    ])


def module_command(workdir: Path, module: str, options: tuple[str, ...], params: dict, *flags: str) -> tuple[list, Path]:
    """The ansible-playbook command that runs `module` with `params` (see module_playbook), and where it saves the result."""
    playbook = workdir / "module.yml"
    playbook.write_text(module_playbook(module, options))
    out = workdir / "result.json"
    out.unlink(missing_ok=True)
    return [str(ANSIBLE_PLAYBOOK), str(playbook), "-e", json.dumps({"params": params, "out": str(out)}), *flags], out


def run_module(workdir: Path, module: str, options: tuple[str, ...], params: dict, *flags: str,
               timeout: int = 1800) -> dict:
    """Run `module` once through a real ansible-playbook with the project's collections; its registered result."""
    command, out = module_command(workdir, module, options, params, *flags)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(PROJECT / "collections"))
    completed = subprocess.run(command, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=timeout,
                               check=False)
    assert completed.returncode == 0 and out.exists(), completed.stdout + completed.stderr
    return json.loads(out.read_text())

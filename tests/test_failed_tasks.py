"""scripts/failed-tasks.py on the output of a real ansible-playbook: which failures it reports, and how."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
SCRIPT = PROJECT / "scripts" / "failed-tasks.py"
ANSIBLE_PLAYBOOK = Path(sys.executable).with_name("ansible-playbook")

PLAYBOOK = """\
---
- name: Fail in each way Ansible can
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Fail and be ignored
      ansible.builtin.fail:
        msg: ignored failure
      ignore_errors: true  # noqa: ignore-errors
    - name: Fail and be rescued
      block:
        - name: Run a command that fails
          ansible.builtin.command: ls /nonexistent-for-the-test
          changed_when: false
      rescue:
        - name: Carry on
          ansible.builtin.debug:
            msg: rescued
    - name: Fail in a loop
      ansible.builtin.fail:
        msg: "item {{ item }} is bad"
      loop: [one]
"""


def playbook_output(tmp_path: Path, result_format: str = "yaml") -> str:
    """The output of PLAYBOOK with the project's ansible.cfg: results in YAML, as site.yml prints them, or in JSON,
    as Molecule's runs print them."""
    playbook = tmp_path / "fail.yml"
    playbook.write_text(PLAYBOOK, encoding="utf-8")
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_CALLBACK_RESULT_FORMAT": result_format}
    result = subprocess.run([str(ANSIBLE_PLAYBOOK), "-i", "localhost,", "-c", "local", str(playbook)], env=env,
                            cwd=PROJECT, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 2, result.stdout + result.stderr
    return result.stdout


def failed_tasks(tmp_path: Path, text: str) -> list[str]:
    log = tmp_path / "run.log"
    log.write_text(text, encoding="utf-8")
    result = subprocess.run([sys.executable, str(SCRIPT), str(log)], capture_output=True, text=True, timeout=60,
                            check=True)
    return result.stdout.splitlines()


@pytest.mark.parametrize("result_format", ["yaml", "json"])
def test_reports_rescued_and_final_failures_not_ignored_ones(tmp_path: Path, result_format: str) -> None:
    lines = failed_tasks(tmp_path, playbook_output(tmp_path, result_format))
    assert lines[0] == f"failed tasks in {tmp_path / 'run.log'}:"
    assert lines[1].startswith("  - Run a command that fails [localhost]: non-zero return code: ls: cannot access")
    assert lines[2] == "  - Fail in a loop [localhost] (item one): item one is bad"
    assert len(lines) == 3


def test_reads_only_the_failed_actions_of_a_molecule_log(tmp_path: Path) -> None:
    output = playbook_output(tmp_path, "json")
    # Molecule's lines around each action's playbook: the scenario's checks of bad input fail tasks in actions
    # that pass, which are not why the scenario failed.
    log = "\n".join(["INFO     [demo > verify] Executing", output, "INFO     [demo > verify] Executed: Successful",
                     "INFO     [demo > converge] Executing", output,
                     "CRITICAL Ansible return code was 2, command was: ansible-playbook converge.yml",
                     "ERROR    [demo > converge] Executed: Failed (Ansible return code was 2)",
                     "INFO     [demo > idempotence] Executing",
                     "CRITICAL Idempotence test failed because of the following tasks:",
                     "*  => demo : Write the file",
                     "ERROR    [demo > idempotence] Executed: Failed (idempotence)"])
    lines = failed_tasks(tmp_path, log)
    assert [line.split(" [localhost]")[0] for line in lines[1:3]] == [
        "  - demo > converge: Run a command that fails", "  - demo > converge: Fail in a loop"]
    assert lines[3:] == ["  - demo > idempotence: CRITICAL Idempotence test failed because of the following tasks:",
                         "  - demo > idempotence: *  => demo : Write the file"]


def test_quotes_the_failures_of_a_playbook_run_inside_a_task(tmp_path: Path) -> None:
    inner = playbook_output(tmp_path)
    outer = "\n".join(["TASK [Check that site.yml succeeded] ***",
                       'fatal: [localhost]: FAILED! => {"changed": false, "msg": ' + json.dumps(inner) + "}"])
    lines = failed_tasks(tmp_path, outer)
    assert lines[1].startswith("  - Check that site.yml succeeded [localhost]: Run a command that fails [localhost]:")
    assert lines[1].endswith("Fail in a loop [localhost] (item one): item one is bad")


def test_prints_nothing_when_nothing_failed(tmp_path: Path) -> None:
    assert failed_tasks(tmp_path, "TASK [Pass] ***\nok: [localhost]\n") == []

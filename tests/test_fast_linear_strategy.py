"""gitops.platform.fast_linear: linear through Mitogen when it is importable, plain linear when it is not.

The same playbook (two hosts, loops, conditions, a rescued and an ignored failure, a file written twice) runs
once with the project's Mitogen and once with Mitogen made unimportable by a PYTHONPATH entry that shadows
`ansible_mitogen`; the results and the recap must be the same. Which path ran is visible from outside: under
Mitogen every module of a host runs in one persistent interpreter, so two commands share their parent process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
STRATEGY = "gitops.platform.fast_linear"

PLAYBOOK = """\
---
- name: Exercise the strategy on two hosts
  hosts: all
  gather_facts: false
  vars:
    letters: [a, b, c]
  tasks:
    - name: Run a command that reports a change
      ansible.builtin.command: echo "{{ inventory_hostname }}"
      register: echoed
      changed_when: true

    - name: Collect the letters but b, per host
      ansible.builtin.set_fact:
        picked: "{{ picked | default([]) + [item ~ '-' ~ inventory_hostname] }}"
      loop: "{{ letters }}"
      when: item != 'b'

    - name: Skip on one host only
      ansible.builtin.command: "true"
      register: second_only
      changed_when: false
      when: inventory_hostname == 'second'

    - name: Write a file
      ansible.builtin.copy:
        content: "{{ inventory_hostname }}\\n"
        dest: "{{ workdir }}/{{ inventory_hostname }}.txt"
        mode: "0644"
      register: written

    - name: Write the same file again
      ansible.builtin.copy:
        content: "{{ inventory_hostname }}\\n"
        dest: "{{ workdir }}/{{ inventory_hostname }}.txt"
        mode: "0644"
      register: rewritten

    - name: Fail and be rescued
      block:
        - name: Fail
          ansible.builtin.command: "false"
          changed_when: false
      rescue:
        - name: Note the rescue
          ansible.builtin.set_fact:
            rescued: "{{ ansible_failed_result.rc }}"

    - name: Fail and be ignored
      ansible.builtin.command: sh -c 'exit 3'
      register: ignored
      changed_when: false
      ignore_errors: true

    - name: Report a module's parent process
      ansible.builtin.command: sh -c 'echo $PPID'
      register: parent_1
      changed_when: false

    - name: Report the next module's parent process
      ansible.builtin.command: sh -c 'echo $PPID'
      register: parent_2
      changed_when: false

    - name: Report how many CPUs a command may run on
      ansible.builtin.command: nproc
      register: cpus
      changed_when: false

    - name: Print the results
      ansible.builtin.debug:
        msg:
          echoed: "{{ echoed.stdout }}"
          changed: "{{ echoed.changed }}"
          picked: "{{ picked }}"
          second_only: "{{ second_only is skipped }}"
          written: "{{ written.changed }}"
          rewritten: "{{ rewritten.changed }}"
          rescued: "{{ rescued }}"
          ignored: "{{ [ignored.failed, ignored.rc] }}"
          one_interpreter: "{{ parent_1.stdout == parent_2.stdout }}"
          cpus: "{{ cpus.stdout | int }}"
"""

CLASS_PROBE = """\
import json, sys
from ansible.plugins.loader import init_plugin_loader, strategy_loader
init_plugin_loader([sys.argv[1]])
cls = strategy_loader.get(sys.argv[2], class_only=True)
print(json.dumps([f"{c.__module__}.{c.__name__}" for c in cls.__mro__]))
"""


def environment(tmp_path: Path, mitogen: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_") and k != "PYTHONPATH"}
    config = tmp_path / "ansible.cfg"
    config.write_text("[defaults]\nretry_files_enabled = false\n")
    env.update(ANSIBLE_CONFIG=str(config), ANSIBLE_COLLECTIONS_PATH=str(ROOT / "collections"),
               ANSIBLE_STRATEGY=STRATEGY, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    if not mitogen:
        shim = tmp_path / "no-mitogen" / "ansible_mitogen"
        shim.mkdir(parents=True)
        (shim / "__init__.py").write_text('raise ImportError("ansible_mitogen is hidden by the test")\n')
        env["PYTHONPATH"] = str(shim.parent)
    return env


def run_playbook(tmp_path: Path, mitogen: bool) -> tuple[dict, str]:
    workdir = tmp_path / "files"
    workdir.mkdir(parents=True)
    (tmp_path / "playbook.yml").write_text(PLAYBOOK)
    (tmp_path / "hosts.ini").write_text(
        "".join(f"{host} ansible_connection=local ansible_python_interpreter={sys.executable}\n"
                for host in ("first", "second"))
    )
    run = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", "hosts.ini", "playbook.yml", "-e", f"workdir={workdir}"],
        cwd=tmp_path, env=environment(tmp_path, mitogen), capture_output=True, text=True, timeout=300, check=False,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    report = json.loads(run.stdout)
    results = {host: outcome["msg"] for task in report["plays"][0]["tasks"] if task["task"]["name"] == "Print the results"
               for host, outcome in task["hosts"].items()}
    assert set(results) == {"first", "second"}, run.stdout
    return {"results": results, "stats": report["stats"]}, run.stdout + run.stderr


@pytest.mark.parametrize("mitogen", [True, False], ids=["with-mitogen", "without-mitogen"])
def test_plugin_loads(tmp_path: Path, mitogen: bool) -> None:
    probe = subprocess.run(
        [sys.executable, "-c", CLASS_PROBE, str(ROOT / "collections"), STRATEGY],
        env=environment(tmp_path, mitogen), capture_output=True, text=True, timeout=120, check=False,
    )
    assert probe.returncode == 0, probe.stderr
    mro = json.loads(probe.stdout.strip().splitlines()[-1])
    # Either way the linear strategy does the work; with Mitogen, under its mixin.
    assert "ansible.plugins.strategy.linear.StrategyModule" in mro, mro
    assert ("ansible_mitogen.strategy.StrategyMixin" in mro) is mitogen, mro
    if not mitogen:
        assert mro[0] == "ansible.plugins.strategy.linear.StrategyModule", mro


def test_same_results_with_and_without_mitogen(tmp_path: Path) -> None:
    with_mitogen, output_with = run_playbook(tmp_path / "with", mitogen=True)
    without, output_without = run_playbook(tmp_path / "without", mitogen=False)

    # Mitogen ran the modules in one interpreter per host; plain linear started one per task.
    for host in ("first", "second"):
        assert with_mitogen["results"][host].pop("one_interpreter") is True, output_with
        assert without["results"][host].pop("one_interpreter") is False, output_without
    # Every CPU this test may use, also for what a task starts (Mitogen's own policy confined it to one of two).
    for host in ("first", "second"):
        assert with_mitogen["results"][host]["cpus"] == len(os.sched_getaffinity(0)), output_with
    assert with_mitogen == without
    assert with_mitogen["results"]["first"] == {
        "echoed": "first", "changed": True, "picked": ["a-first", "c-first"], "second_only": True,
        "written": True, "rewritten": False, "rescued": 1, "ignored": [True, 3],
        "cpus": len(os.sched_getaffinity(0)),
    }
    assert with_mitogen["results"]["second"]["second_only"] is False
    assert {host: {key: stats[key] for key in ("ok", "changed", "failures", "skipped", "rescued", "ignored")}
            for host, stats in with_mitogen["stats"].items()} == {
        "first": {"ok": 10, "changed": 2, "failures": 0, "skipped": 1, "rescued": 1, "ignored": 1},
        "second": {"ok": 11, "changed": 2, "failures": 0, "skipped": 0, "rescued": 1, "ignored": 1},
    }

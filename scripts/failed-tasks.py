#!/usr/bin/env python3
"""Print the Ansible tasks that failed in the given logs (Molecule's, ansible-playbook's), one line each.

A failed Molecule scenario's log ends with its destroy playbook, so its last lines rarely show why it failed, and CI
keeps only the end of the run's output. `make test` therefore ends a failure with this: per failed task the task's
name and the message Ansible gave, cut to MESSAGE_CHARS. In a Molecule log only the actions Molecule reports failed
are read (the scenarios' own checks of bad input fail tasks on purpose in actions that pass); when such an action
failed without a failed task (idempotence), Molecule's own lines about it are printed. Failures Ansible ignored
(`...ignoring`) are left out; one a `rescue` handled stays, since it is the cause of the rescue's own message.

Usage: failed-tasks.py LOG...   (exit code 0; nothing printed when no task failed)
"""

from __future__ import annotations

import json
import re
import sys
import textwrap
from pathlib import Path

import yaml

MESSAGE_CHARS = 600
ANSI = re.compile(r"\x1b\[[0-9;]*m")
TASK = re.compile(r"^TASK \[(?P<name>.*)\] \**$")
ACTION_START = re.compile(r"^INFO +\[(?P<scenario>[^ ]+) > (?P<action>\w+)\] Executing$")
ACTION_FAILED = re.compile(r"^\w+ +\[[^ ]+ > \w+\] Executed: Failed")
MOLECULE_ERROR = re.compile(r"^(CRITICAL|ERROR) |^\* ")
FAILURE = re.compile(r"^(fatal|failed): \[(?P<host>[^\]]+)\](?: \(item=(?P<item>.*?)\))?"
                     r"(?:: (?:FAILED|UNREACHABLE)!)? =>(?P<result>.*)$")


def parse(result: str) -> dict | None:
    """A task result as Ansible printed it: JSON on the line, or YAML (callback_result_format = yaml) below it."""
    for load in (json.loads, yaml.safe_load):
        try:
            data = load(result)
        except (ValueError, yaml.YAMLError):
            continue
        if isinstance(data, dict):
            return data
    return None


def message(result: str) -> str:
    """The result's msg, with stderr when the msg only says a command failed; the raw text if it cannot be read."""
    data = parse(result)
    if data is None:
        return result
    text = str(data.get("msg", "")).strip()
    # A check of a playbook run inside the task (Molecule's existing_cluster runs site.yml) quotes its output.
    if inner := failed_tasks(text.splitlines()):
        return "; ".join(inner)
    stderr = str(data.get("stderr", "")).strip()
    if stderr and (not text or text == "non-zero return code"):
        text = f"{text}: {stderr}" if text else stderr
    return text or result


def failed_tasks(lines: list[str]) -> list[str]:
    """One line per failure Ansible did not ignore: 'task name [host]: message'."""
    found: list[str] = []
    task = "?"
    for index, line in enumerate(lines):
        if match := TASK.match(line):
            task = match.group("name")
            continue
        match = FAILURE.match(line)
        if not match:
            continue
        result, end = match.group("result"), index + 1
        if not result.strip():  # the YAML result format: the result is the indented block below
            while end < len(lines) and (lines[end].startswith(" ") or not lines[end].strip()):
                end += 1
            result = textwrap.dedent("\n".join(lines[index + 1:end]))
        if end < len(lines) and lines[end].startswith("...ignoring"):
            continue
        item = f" (item {match.group('item')})" if match.group("item") else ""
        text = " ".join(message(result).split())
        if len(text) > MESSAGE_CHARS:
            text = text[:MESSAGE_CHARS] + " [...]"
        found.append(f"{task} [{match.group('host')}]{item}: {text}")
    return found


def failed_actions(lines: list[str]) -> list[tuple[str, list[str]]]:
    """A Molecule log's failed actions as (label, their lines); a log without Molecule's markers is one action."""
    actions: list[tuple[str, list[str]]] = []
    label, start, molecule = "", None, False
    for index, line in enumerate(lines):
        if match := ACTION_START.match(line):
            label, start, molecule = f"{match.group('scenario')} > {match.group('action')}: ", index, True
        elif start is not None and ACTION_FAILED.match(line):
            actions.append((label, lines[start:index + 1]))
            start = None
    return actions if molecule else [("", lines)]


def failures_in(lines: list[str]) -> list[str]:
    found = []
    for label, action in failed_actions(lines):
        tasks = failed_tasks(action)
        # The action's last line is Molecule's "Executed: Failed".
        molecule_says = [label + line for line in action[:-1] if MOLECULE_ERROR.match(line)]
        found += [label + task for task in tasks] or molecule_says[:10]
    return found


def main(paths: list[str]) -> int:
    for path in paths:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
        failures = failures_in(ANSI.sub("", text).splitlines())
        if failures:
            print(f"failed tasks in {path}:")
            print(*(f"  - {failure}" for failure in failures), sep="\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

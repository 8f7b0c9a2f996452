"""What the benchmark scripts share: running a project playbook as a user does, and the table."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLAYBOOK = str(Path(sys.executable).with_name("ansible-playbook"))


def run(args: list[str], env: dict, expect_failure: bool = False) -> tuple[float, str]:
    """Run ansible-playbook from the project root; return its wall time and output. Exit when it fails, or, with
    expect_failure, when it does not."""
    start = time.perf_counter()
    result = subprocess.run([PLAYBOOK, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if expect_failure:
        if result.returncode == 0:
            raise SystemExit(f"ansible-playbook {' '.join(args)} succeeded, a failure was expected")
        return seconds, result.stdout
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-4000:] + result.stderr[-2000:])
        raise SystemExit(f"ansible-playbook {' '.join(args)} failed (rc={result.returncode})")
    return seconds, result.stdout


def changed(output: str) -> str:
    """The changed= count of localhost in a run's PLAY RECAP (the last one)."""
    count = "?"
    for line in output.splitlines():
        if line.startswith("localhost") and "changed=" in line:
            count = line.split("changed=")[1].split()[0]
    return count


def print_table(rows: list[tuple], note: str) -> None:
    """Print rows of (measure, result, target[, extra columns...]) as a Markdown table."""
    headers = ["measure", "result", "target", *(["seed"] if rows and len(rows[0]) > 3 else [])]
    widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(len(headers))]
    for row in [headers, ["-" * w for w in widths], *rows]:
        print("| " + " | ".join(str(cell).ljust(w) for cell, w in zip(row, widths)) + " |")
    print(f"({note}; host: {os.cpu_count()} cores)")

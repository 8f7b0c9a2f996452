"""What the benchmark scripts share: running a project playbook as a user does, and the table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
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


# The offline git server's push account as site.yml generated it, passed as a CI job passes it; the promotion's
# arguments for it, with the sync a webhook would trigger online.
SECRETS = Path.home() / ".config" / "gitops-platform"
PROMOTE_ARGS = ["-e", "gitops_repo=http://127.0.0.1:8418/gitops.git", "-e", "argocd_refresh=true"]


def git_env(env: dict) -> dict:
    """env plus the push account promotions read (GITOPS_GIT_USERNAME / _PASSWORD)."""
    return {**env, "GITOPS_GIT_USERNAME": "gitops",
            "GITOPS_GIT_PASSWORD": (SECRETS / "gitops-git-password").read_text().strip()}


def served_version(url: str) -> str:
    """The version an environment's /version reports, or "" when it does not answer."""
    try:
        with urllib.request.urlopen(f"{url}/version", timeout=2) as response:
            return json.load(response).get("version", "")
    except (OSError, ValueError):
        return ""


def until_served(url: str, version: str, start: float, timeout: float = 300) -> float:
    """Seconds from start until url serves version (polling every 0.25 s); exit after timeout."""
    while served_version(url) != version:
        if time.perf_counter() - start > timeout:
            raise SystemExit(f"{url} did not serve version {version} within {timeout:.0f} s")
        time.sleep(0.25)
    return time.perf_counter() - start


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

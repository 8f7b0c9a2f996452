#!/usr/bin/env python3
"""Benchmark the whole GitOps loop offline: bootstrap, no-op re-run, promotion and rollback to served.

Each measure is a real run of the project's playbooks as a user or CI runs them (GITOPS_OFFLINE=true):
  * `site.yml` from no platform (teardown first) to the app Healthy and served, images cached;
  * `site.yml` again with nothing to do (changed must be 0);
  * a release built and pushed (not timed), then `promote.yml -e argocd_refresh=true` until the new
    version is served on http://127.0.0.1:30080/version;
  * `rollback.yml -e argocd_refresh=true` until the previous version is served again.
The platform is left running (--teardown removes it). Prints the table with the seed's figures and
the targets beside the measurements; exits non-zero when a step fails.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.request
from pathlib import Path

from playbook_runs import changed, print_table, run

APP_URL = "http://127.0.0.1:30080/version"
SECRETS = Path.home() / ".config" / "gitops-platform"


def served_version() -> str:
    try:
        with urllib.request.urlopen(APP_URL, timeout=2) as response:
            return json.load(response).get("version", "")
    except (OSError, ValueError):
        return ""


def until_served(version: str, start: float, timeout: float = 300) -> float:
    """Seconds from start until the app serves version (polling every 0.25 s)."""
    while served_version() != version:
        if time.perf_counter() - start > timeout:
            raise SystemExit(f"version {version} was not served within {timeout:.0f} s")
        time.sleep(0.25)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tag", default=f"0.3.{int(time.time())}", help="the release to build and promote")
    parser.add_argument("--teardown", action="store_true", help="remove the platform at the end")
    args = parser.parse_args()

    env = {**os.environ, "GITOPS_OFFLINE": "true", "ANSIBLE_NOCOLOR": "1"}
    rows = []

    run(["playbooks/teardown.yml"], env)
    seconds, out = run(["site.yml"], env)
    rows.append(("site.yml cold, images cached, to app Healthy", f"{seconds:.0f} s", "<= 3 min", "5-7 min"))
    initial = served_version()

    seconds, out = run(["site.yml"], env)
    rows.append(("site.yml re-run, nothing to do", f"{seconds:.0f} s, changed={changed(out)}",
                 "<= 30 s, changed=0", "-"))

    run(["playbooks/build-app-image.yml", "-e", f"app_image_version={args.tag}", "-e", "app_image_push=true"], env)
    git_env = {**env, "GITOPS_GIT_USERNAME": "gitops",
               "GITOPS_GIT_PASSWORD": (SECRETS / "gitops-git-password").read_text().strip()}
    common = ["-e", "gitops_repo=http://127.0.0.1:8418/gitops.git", "-e", "argocd_refresh=true"]

    start = time.perf_counter()
    run(["playbooks/promote.yml", "-e", f"image_tag={args.tag}", "-e", "image_promotion_verify_image=true", *common],
        git_env)
    rows.append(("promotion commit -> new version served", f"{until_served(args.tag, start):.0f} s", "<= 60 s",
                 "10-15 min (3-min poll)"))

    start = time.perf_counter()
    run(["playbooks/rollback.yml", *common], git_env)
    rows.append(("rollback -> old version served", f"{until_served(initial, start):.0f} s", "<= 60 s", "< 5 min"))

    if args.teardown:
        run(["playbooks/teardown.yml"], env)
    print_table(rows, "offline, GITOPS_OFFLINE=true; promotion and rollback timed from the start of the playbook")
    return 0


if __name__ == "__main__":
    sys.exit(main())

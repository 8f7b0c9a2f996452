#!/usr/bin/env python3
"""Benchmark canary releases offline: a good release through staging's canary steps, a bad one aborted by the
analysis and reverted in git, what staging's users saw meanwhile, and the observability stack's memory.

Each measure is a real run of the project's playbooks as CI runs them (GITOPS_OFFLINE=true), on the running platform
(`site.yml` first, which is a no-op re-run when it is up):
  * a good release built and pushed (not timed) and promoted to dev; then `-e promote_from=dev` to staging with
    `-e argocd_refresh=true`: from the start of the promotion until the playbook returns with staging Synced and Healthy,
    that is through every canary step with its analysis passing;
  * a bad release (the same app with app_image_fault_error_rate=0.3: it starts and is ready) promoted to dev, then to
    staging: from the start of the promotion until the playbook has failed with the canary aborted and git reverted
    and staging serves the good release; meanwhile a request loop on staging (10 a second, loopback) counts failed
    requests, and a second one for 15 s after the abort must see none;
  * the working-set memory of the observability stack and the Rollouts controller (metrics.k8s.io).
Dev gets the good release back at the end. Prints the table with the targets; exits non-zero when a step fails.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playbook_runs import PROMOTE_ARGS, ROOT, git_env, print_table, run, until_served

STAGING = "http://127.0.0.1:30081"
CONTEXT = "kind-gitops-demo"
ERROR_RATE = 0.3
# At the first step (20 % of staging's two pods) one canary pod serves beside the two stable ones.
CANARY_SHARE = 1 / 3


def request_loop(url: str, seconds: int, stop: Path | None, out: Path) -> subprocess.Popen:
    argv = [sys.executable, str(ROOT / "scripts" / "request-loop.py"), f"{url}/", "--rate=10", f"--max-seconds={seconds}",
            f"--out={out}"] + ([f"--stop-file={stop}"] if stop else [])
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def memory_mib(namespace: str) -> float:
    """The working set of the namespace's pods, in MiB, as metrics-server reports it."""
    raw = subprocess.run(["kubectl", "--context", CONTEXT, "get", "--raw",
                          f"/apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods"],
                         capture_output=True, text=True, check=True).stdout
    total = 0.0
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024}
    for pod in json.loads(raw)["items"]:
        for container in pod["containers"]:
            value = container["usage"]["memory"]
            unit = next((u for u in units if value.endswith(u)), "")
            total += float(value[: -len(unit)] if unit else value) * (units[unit] if unit else 1 / 1024 / 1024)
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tag", default=f"0.4.{int(time.time())}", help="the good release to build and promote")
    args = parser.parse_args()

    env = {**os.environ, "GITOPS_OFFLINE": "true", "ANSIBLE_NOCOLOR": "1"}
    rows = []

    run(["site.yml"], env)
    promote_env = git_env(env)
    bad = f"{args.tag}-bad"
    run(["playbooks/build-app-image.yml", "-e", f"app_image_version={args.tag}", "-e", "app_image_push=true"], env)
    run(["playbooks/build-app-image.yml", "-e", f"app_image_version={bad}", "-e", f"app_image_fault_error_rate={ERROR_RATE}",
         "-e", "app_image_push=true"], env)

    run(["playbooks/promote.yml", "-e", f"image_tag={args.tag}", *PROMOTE_ARGS], promote_env)
    seconds, _ = run(["playbooks/promote.yml", "-e", "environment=staging", "-e", "promote_from=dev", *PROMOTE_ARGS], promote_env)
    rows.append(("good release through staging's canary steps (20 %, 50 %), analyses passing", f"{seconds:.0f} s", "<= 3 min"))

    run(["playbooks/promote.yml", "-e", f"image_tag={bad}", *PROMOTE_ARGS], promote_env)
    with tempfile.TemporaryDirectory() as work:
        stop, during, after = Path(work) / "stop", Path(work) / "during.json", Path(work) / "after.json"
        loop = request_loop(STAGING, 300, stop, during)
        start = time.perf_counter()
        _, out = run(["playbooks/promote.yml", "-e", "environment=staging", "-e", "promote_from=dev", *PROMOTE_ARGS], promote_env,
                     expect_failure=True)
        if "was reverted" not in out or "error-rate Failed" not in out:
            sys.stderr.write(out[-3000:])
            raise SystemExit("the bad release's promotion failed, but not by its canary analysis and a revert")
        seconds = until_served(STAGING, args.tag, start)
        stop.touch()
        loop.wait(timeout=60)
        request_loop(STAGING, 15, None, after).wait(timeout=60)
        during_summary, after_summary = json.loads(during.read_text()), json.loads(after.read_text())
    rows.append(("bad release: promotion start -> aborted, reverted in git, stable serving", f"{seconds:.0f} s", "<= 3 min"))
    bound = during_summary["sent"] * CANARY_SHARE * ERROR_RATE
    rows.append(("requests failed during the bad canary (10 req/s, loopback)",
                 f"{during_summary['failed']} of {during_summary['sent']}; {after_summary['failed']} of "
                 f"{after_summary['sent']} after the abort", f"<= {bound:.0f} (1/3 x 30 %), 0 after"))

    run(["playbooks/promote.yml", "-e", f"image_tag={args.tag}", *PROMOTE_ARGS], promote_env)

    rows.append(("memory of the observability stack (Prometheus, Alertmanager, receiver)",
                 f"{memory_mib('monitoring'):.0f} MiB", "measured"))
    rows.append(("memory of the Argo Rollouts controller", f"{memory_mib('argo-rollouts'):.0f} MiB", "measured"))
    print_table(rows, "offline, GITOPS_OFFLINE=true; promotions timed from the start of the playbook")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Benchmark the whole GitOps loop offline: bootstrap, no-op re-run, a release through the environments, a broken
release reverted, production scaling under load, and a rollback.

Each measure is a real run of the project's playbooks as a user or CI runs them (GITOPS_OFFLINE=true):
  * `site.yml` from no platform (teardown first) to dev, staging and production Healthy and served, images cached;
  * `site.yml` again with nothing to do (changed must be 0), through Mitogen and through plain `linear`, and once
    more with `-e platform_recheck=true`, which runs every step instead of trusting the stamp of the last run;
  * a release built and pushed (not timed), then promoted as release.yml does: `promote.yml` to dev, then
    `-e promote_from=dev` to staging, then `-e promote_from=staging` with an approval to production, each with
    `-e argocd_refresh=true`: from the start of the first promotion until production serves it;
  * a broken release (its server never answers /readyz) promoted to dev: from the start of the promotion until
    the playbook has reverted it in git and dev serves the previous release again;
  * bounded load on production's URL (three request loops of 50 requests a second on loopback): from its start
    until the HorizontalPodAutoscaler wants more pods (scripts/watch-autoscaler.py);
  * `rollback.yml -e argocd_refresh=true` on dev until the previous version is served again (then unpinned).
The platform is left running (--teardown removes it). Prints the table with the targets beside the measurements;
exits non-zero when a step fails.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playbook_runs import PROMOTE_ARGS, ROOT, changed, git_env, print_table, run, served_version, until_served

URLS = {"dev": "http://127.0.0.1:30082", "staging": "http://127.0.0.1:30081", "production": "http://127.0.0.1:30080"}
REGISTRY = "localhost:5001/demo-flask-app"


def build_broken(good: str, broken: str) -> None:
    """The good release with a server that never answers /readyz, pushed as the broken release."""
    dockerfile = f'FROM {REGISTRY}:{good}\nCMD ["python3", "-m", "http.server", "8000"]\n'
    subprocess.run(["docker", "build", "--quiet", "--tag", f"{REGISTRY}:{broken}", "-"], input=dockerfile, text=True,
                   check=True, capture_output=True)
    subprocess.run(["docker", "push", "--quiet", f"{REGISTRY}:{broken}"], check=True, capture_output=True)


def scale_out(env: dict) -> float:
    """Seconds from the start of a bounded load on production until its autoscaler wants more pods."""
    with tempfile.TemporaryDirectory() as work:
        stop = Path(work) / "stop"
        loops = [subprocess.Popen([sys.executable, str(ROOT / "scripts" / "request-loop.py"), f"{URLS['production']}/version",
                                   "--rate=50", "--max-seconds=200", f"--stop-file={stop}", f"--out={work}/{n}.json"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for n in range(3)]
        start = time.perf_counter()
        try:
            watch = subprocess.run([sys.executable, str(ROOT / "scripts" / "watch-autoscaler.py"), "--context=kind-gitops-demo",
                                    "--namespace=demo-production", "--name=demo-flask-app-production", "--want=out",
                                    "--timeout=180"], env=env, capture_output=True, text=True, check=False)
            seconds = time.perf_counter() - start
        finally:
            stop.touch()
            for loop in loops:
                loop.wait(timeout=60)
        if watch.returncode != 0:
            raise SystemExit(f"production did not scale out: {watch.stderr.strip()}")
        return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tag", default=f"0.3.{int(time.time())}", help="the release to build and promote")
    parser.add_argument("--teardown", action="store_true", help="remove the platform at the end")
    args = parser.parse_args()

    env = {**os.environ, "GITOPS_OFFLINE": "true", "ANSIBLE_NOCOLOR": "1"}
    rows = []

    run(["playbooks/teardown.yml"], env)
    seconds, out = run(["site.yml"], env)
    rows.append(("site.yml cold with three environments, images cached", f"{seconds:.0f} s", "<= 3 min", "5-7 min"))
    initial = served_version(URLS["dev"])

    # Both strategies: Mitogen's (ansible.cfg) and ansible-core's plain linear, which must be fast on its own.
    for strategy in ("gitops.platform.fast_linear", "ansible.builtin.linear"):
        seconds, out = run(["site.yml"], {**env, "ANSIBLE_STRATEGY": strategy})
        rows.append((f"site.yml re-run, nothing to do ({strategy.rsplit('.', 1)[1]})",
                     f"{seconds:.0f} s, changed={changed(out)}", "<= 30 s, changed=0", "-"))
    seconds, out = run(["site.yml", "-e", "platform_recheck=true"], {**env, "ANSIBLE_STRATEGY": "ansible.builtin.linear"})
    rows.append(("site.yml re-run, every step checked (-e platform_recheck=true, linear)",
                 f"{seconds:.0f} s, changed={changed(out)}", "changed=0", "-"))

    run(["playbooks/build-app-image.yml", "-e", f"app_image_version={args.tag}", "-e", "app_image_push=true"], env)
    promote_env = git_env(env)

    start = time.perf_counter()
    run(["playbooks/promote.yml", "-e", f"image_tag={args.tag}", "-e", "image_promotion_verify_image=true", *PROMOTE_ARGS],
        promote_env)
    dev = until_served(URLS["dev"], args.tag, start)
    rows.append(("promotion to dev: commit -> new version served", f"{dev:.0f} s", "<= 60 s", "10-15 min (3-min poll)"))
    run(["playbooks/promote.yml", "-e", "environment=staging", "-e", "promote_from=dev", *PROMOTE_ARGS], promote_env)
    run(["playbooks/promote.yml", "-e", "environment=production", "-e", "promote_from=staging",
         "-e", "image_promotion_approved_by=benchmark", *PROMOTE_ARGS], promote_env)
    rows.append(("good release dev -> staging -> production (approved), to served in production",
                 f"{until_served(URLS['production'], args.tag, start):.0f} s", "<= 90 s", "-"))

    broken = f"{args.tag}-broken"
    build_broken(args.tag, broken)
    start = time.perf_counter()
    seconds, out = run(["playbooks/promote.yml", "-e", f"image_tag={broken}", "-e", "image_promotion_tag_policy=", *PROMOTE_ARGS],
                       promote_env, expect_failure=True)
    if "was reverted" not in out:
        sys.stderr.write(out[-3000:])
        raise SystemExit("the broken release's promotion failed, but not by being reverted")
    rows.append(("broken release: promotion start -> reverted in git, previous version served",
                 f"{until_served(URLS['dev'], args.tag, start):.0f} s", "<= 120 s", "-"))

    rows.append(("HPA: load start -> scaled out", f"{scale_out(env):.0f} s", "<= 90 s", "-"))

    start = time.perf_counter()
    run(["playbooks/rollback.yml", "-e", "environment=dev", *PROMOTE_ARGS], promote_env)
    rows.append(("rollback of dev -> previous version served", f"{until_served(URLS['dev'], initial, start):.0f} s", "<= 60 s",
                 "< 5 min"))
    run(["playbooks/unpin.yml", "-e", "environment=dev", "-e", "gitops_repo=http://127.0.0.1:8418/gitops.git"], promote_env)

    if args.teardown:
        run(["playbooks/teardown.yml"], env)
    print_table(rows, "offline, GITOPS_OFFLINE=true; promotions and rollback timed from the start of the playbook")
    return 0


if __name__ == "__main__":
    sys.exit(main())

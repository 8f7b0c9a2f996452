#!/usr/bin/env python3
"""Benchmark the promotion path as CI uses it: `ansible-playbook playbooks/promote.yml`.

Measures, against a real bare git remote on local disk seeded with the project's chart:
  * one promotion's wall time (median of several sequential runs, each a new tag);
  * N concurrent promotions of distinct tags: total wall time, and how many landed in the remote.
Prints a table with the targets beside the measurements. Exits non-zero if a promotion was lost.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLAYBOOK = str(Path(sys.executable).with_name("ansible-playbook"))
VALUES = "helm/demo-flask-app/values.yaml"


def git(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def seed_remote(workdir: Path) -> Path:
    bare = workdir / "gitops.git"
    git("init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    seed = workdir / "seed"
    git("clone", "--quiet", str(bare), str(seed))
    shutil.copytree(ROOT / "helm", seed / "helm")
    git("add", "-A", cwd=seed)
    git("-c", "user.name=bench", "-c", "user.email=bench@localhost", "commit", "--quiet", "-m", "Seed", cwd=seed)
    git("push", "--quiet", "origin", "HEAD:main", cwd=seed)
    return bare


def promote(remote: Path, tag: str) -> tuple[float, int]:
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1"}
    start = time.perf_counter()
    result = subprocess.run(
        [PLAYBOOK, "playbooks/promote.yml", "-e", json.dumps({"image_tag": tag, "gitops_repo": str(remote)})],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )
    return time.perf_counter() - start, result.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequential", type=int, default=5, help="single promotions to time")
    parser.add_argument("--concurrent", type=int, default=20, help="promotions to race")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="promotion-bench-") as tmp:
        remote = seed_remote(Path(tmp))
        singles = []
        for n in range(args.sequential):
            seconds, rc = promote(remote, f"1.0.{n}")
            if rc != 0:
                print(f"promotion of 1.0.{n} failed (rc={rc})", file=sys.stderr)
                return 1
            singles.append(seconds)

        tags = [f"0a1b2c3-{n}" for n in range(args.concurrent)]
        start = time.perf_counter()
        with ThreadPoolExecutor(len(tags)) as pool:
            outcomes = list(pool.map(lambda tag: promote(remote, tag), tags))
        total = time.perf_counter() - start
        landed_log = git("log", "--format=%(trailers:key=Promoted-To,valueonly)", "main", "--", VALUES, cwd=remote)
        landed = set(landed_log.split()) & set(tags)
        failed = sum(1 for _, rc in outcomes if rc != 0)

    lost = len(tags) - len(landed)
    rows = [
        ("one promotion (median of %d)" % len(singles), f"{statistics.median(singles):.2f} s", "<= 5 s",
         statistics.median(singles) <= 5),
        (f"{len(tags)} concurrent promotions, total", f"{total:.2f} s", "<= 30 s", total <= 30),
        (f"{len(tags)} concurrent promotions, landed", f"{len(landed)}/{len(tags)} ({failed} failed)", "0 lost",
         lost == 0),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"| {'measure'.ljust(width)} | result | target | met |")
    print(f"|{'-' * (width + 2)}|---|---|---|")
    for name, value, target, met in rows:
        print(f"| {name.ljust(width)} | {value} | {target} | {'yes' if met else 'NO'} |")
    print(f"(host: {os.cpu_count()} cores; each promotion is a full ansible-playbook run: clone, edit, commit, push)")
    return 0 if lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

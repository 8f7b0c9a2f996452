#!/usr/bin/env python3
"""`make test`: every check CI runs, with the slow builds overlapped by the checks that do not need them.

On a machine with empty caches the offline builds (make prerequisites, make bundle) take about half an hour, and
most of the suite does not need what they build. So two tracks run side by side:
- in the background, `make prerequisites` (Docker, helm, kind, the test tools), then `make bundle` (the images);
  output in build/logs/prerequisites.log and build/logs/bundle.log;
- in the foreground, `make lint`, then, once the prerequisites are installed, the tests that need neither the
  Docker engine nor the bundle (`pytest -m "not bundle"`, with the app's coverage gate).
Then, once the bundle is built, the tests that need it (`pytest -m bundle`) and every Molecule scenario.

Warm (everything cached) the background track only checks its caches. The first failure stops the run: a failed
background step prints the last lines of its log. Each step says when it started and how long it took; the last
lines are a table of the steps, which is where the cold figure in the README comes from.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOG_DIR = ROOT / "build" / "logs"
TAIL_LINES = 60
MAKE = os.environ.get("MAKE", "make")

FOREGROUND_PYTEST = ["pytest", "-m", "not bundle", "--cov", "--cov-report=term", "--cov-fail-under=90"]
BUNDLE_PYTEST = ["pytest", "-m", "bundle", "-p", "no:cacheprovider"]


def took(seconds: float) -> str:
    return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"


def say(message: str) -> None:
    print(f"[run-tests {time.strftime('%H:%M:%S')}] {message}", flush=True)


class Background(threading.Thread):
    """Runs `make <target>` for each target in turn, output to build/logs/<target>.log, and records each end."""

    def __init__(self, targets: list[str]) -> None:
        super().__init__(daemon=True)
        self.targets = targets
        self.done: dict[str, threading.Event] = {target: threading.Event() for target in targets}
        self.failed: str | None = None
        self.process: subprocess.Popen | None = None
        self.times: dict[str, float] = {}
        self.stopping = False

    def run(self) -> None:
        for target in self.targets:
            started = time.monotonic()
            log_path = LOG_DIR / f"{target}.log"
            with open(log_path, "w", encoding="utf-8") as log:
                self.process = subprocess.Popen([MAKE, "--no-print-directory", target], cwd=ROOT, stdout=log,
                                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                                start_new_session=True)
                rc = self.process.wait()
            self.times[target] = time.monotonic() - started
            if rc != 0:
                self.failed = target
                if not self.stopping:
                    say(f"background: make {target} FAILED after {took(self.times[target])}; last {TAIL_LINES} "
                        f"lines of {log_path.relative_to(ROOT)}:")
                    lines = log_path.read_text(encoding="utf-8", errors="replace").splitlines()
                    print(*lines[-TAIL_LINES:], sep="\n", flush=True)
                for event in self.done.values():
                    event.set()
                return
            say(f"background: make {target} done in {took(self.times[target])}")
            self.done[target].set()

    def wait_for(self, target: str) -> bool:
        if not self.done[target].is_set():
            say(f"waiting for the background make {target} (log: build/logs/{target}.log)")
        self.done[target].wait()
        return self.failed is None

    def stop(self) -> None:
        self.stopping = True
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait()


def step(name: str, argv: list[str], times: dict[str, float], env: dict[str, str] | None = None) -> bool:
    say(f"{name}: {' '.join(argv)}")
    started = time.monotonic()
    rc = subprocess.run(argv, cwd=ROOT, check=False, env={**os.environ, **env} if env else None).returncode
    times[name] = time.monotonic() - started
    say(f"{name}: {'passed' if rc == 0 else 'FAILED'} in {took(times[name])}")
    return rc == 0


def report(times: dict[str, float], background: Background, started: float, ok: bool) -> None:
    print("\nStep                          Time", flush=True)
    for name, seconds in [*(("make " + t, s) for t, s in background.times.items()), *times.items()]:
        print(f"  {name:<28}{took(seconds)}")
    print(f"  {'make test (wall clock)':<28}{took(time.monotonic() - started)}  {'passed' if ok else 'FAILED'}",
          flush=True)


def main() -> int:
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    background = Background(["prerequisites", "bundle"])
    say("background: make prerequisites, then make bundle (logs in build/logs/); foreground: lint, then the "
        "tests that need no Docker and no bundle")
    background.start()
    times: dict[str, float] = {}
    ok = False
    try:
        ok = (step("lint", [MAKE, "--no-print-directory", "lint"], times)
              and background.wait_for("prerequisites")
              # A test that reaches for Docker or promtool here fails, saying it needs the mark `bundle`.
              and step("pytest (no bundle)", FOREGROUND_PYTEST, times, {"GITOPS_TESTS_WITHOUT_BUNDLE": "1"})
              and background.wait_for("bundle")
              and step("pytest (bundle)", BUNDLE_PYTEST, times)
              and step("molecule", [MAKE, "--no-print-directory", "-o", "bundle", "molecule"], times))
    finally:
        background.stop()
    report(times, background, started, ok)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

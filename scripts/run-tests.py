#!/usr/bin/env python3
"""`make test`: every check CI runs, arranged so that a fresh machine spends its CPUs where they are idle.

On a machine with empty caches `make bundle` compiles for about half an hour with both CPUs busy, while Molecule,
which needs the bundle, then spends most of its 40 minutes waiting on the cluster with a CPU to spare. The tests that
need neither Docker nor the bundle (most of pytest, CPU-bound) are therefore run beside Molecule, not beside the
builds, where they would only slow the compile down (measured: both CPUs busy throughout the builds). So:
- in the background, `make prerequisites` (Docker, helm, kind, the test tools), then `make bundle` (the images);
  output in build/logs/prerequisites.log and build/logs/bundle.log; `make lint` runs beside the prerequisites;
- once the bundle is built: `pytest -m "not bundle"` (with the app's coverage gate) starts beside the rest at a
  lower CPU priority (nice 10), output in build/logs/pytest-no-bundle.log, its summary printed when it ends;
  in the foreground, `pytest -m bundle`, then every Molecule scenario.

Warm (everything cached) the background only checks its caches. A failed background step prints the last lines of
its log; after a failure in the foreground nothing more starts (the tests beside are still awaited and reported).
Each step says when it started and how long it took; the last lines are a table of the steps, which is where the
cold figure in the README comes from.
"""

from __future__ import annotations

import os
import re
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

NO_BUNDLE_PYTEST = ["pytest", "-m", "not bundle", "-p", "no:cacheprovider", "--cov", "--cov-report=term",
                    "--cov-fail-under=90"]
BUNDLE_PYTEST = ["pytest", "-m", "bundle", "-p", "no:cacheprovider"]
# A test that reaches for Docker or promtool in the run beside the rest fails, saying it needs the mark `bundle`.
NO_BUNDLE_ENV = {"GITOPS_TESTS_WITHOUT_BUNDLE": "1"}
NICE = 10
SUMMARY_LINE = re.compile(r"^(=+ .*(passed|failed|error).* =+|Required test coverage.*|FAILED .*|ERROR .*|SKIPPED .*)$")


def took(seconds: float) -> str:
    return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"


def say(message: str) -> None:
    # One write per line: the thread that watches the run beside may speak while the foreground does.
    sys.stdout.write(f"[run-tests {time.strftime('%H:%M:%S')}] {message}\n")
    sys.stdout.flush()


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


class Beside:
    """A step run beside the foreground, niced, its output in a log; `finish` waits and prints its summary."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_name: str) -> None:
        self.name = name
        self.log_path = LOG_DIR / log_name
        self.started = time.monotonic()
        say(f"{name}: {' '.join(argv)} (beside the rest, nice {NICE}; log: {self.log_path.relative_to(ROOT)})")
        with open(self.log_path, "w", encoding="utf-8") as log:
            self.process = subprocess.Popen(["nice", "-n", str(NICE), *argv], cwd=ROOT, stdout=log,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            env={**os.environ, **env}, start_new_session=True)
        # Its own time, not the time until the foreground is done and asks for it.
        self.ended: float | None = None
        self.watcher = threading.Thread(target=self._watch, daemon=True)
        self.watcher.start()

    def _watch(self) -> None:
        self.process.wait()
        self.ended = time.monotonic()
        say(f"{self.name}: ended (rc {self.process.returncode}) after {took(self.ended - self.started)}")

    def finish(self, times: dict[str, float]) -> bool:
        if self.process.poll() is None:
            say(f"waiting for {self.name} (log: {self.log_path.relative_to(ROOT)})")
        rc = self.process.wait()
        self.watcher.join()
        times[self.name] = (self.ended or time.monotonic()) - self.started
        lines = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        # pytest's closing lines: the coverage gate, the short summary and the counts.
        shown = lines[-TAIL_LINES:] if rc != 0 else [line for line in lines if SUMMARY_LINE.search(line)]
        say(f"{self.name}: {'passed' if rc == 0 else 'FAILED'} in {took(times[self.name])}; "
            f"{'its last lines' if rc != 0 else 'its summary'}:")
        print(*shown, sep="\n", flush=True)
        return rc == 0

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait()


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
    say("background: make prerequisites, then make bundle (logs in build/logs/); meanwhile lint; then the tests "
        "that need no bundle beside the rest")
    background.start()
    times: dict[str, float] = {}
    beside: Beside | None = None
    ok = False
    try:
        ok = step("lint", [MAKE, "--no-print-directory", "lint"], times) and background.wait_for("bundle")
        if ok:
            beside = Beside("pytest (no bundle)", NO_BUNDLE_PYTEST, NO_BUNDLE_ENV, "pytest-no-bundle.log")
            ok = (step("pytest (bundle)", BUNDLE_PYTEST, times)
                  and step("molecule", [MAKE, "--no-print-directory", "-o", "bundle", "molecule"], times))
            ok = beside.finish(times) and ok
    finally:
        background.stop()
        if beside is not None:
            beside.stop()
    report(times, background, started, ok)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

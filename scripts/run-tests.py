#!/usr/bin/env python3
"""`make test`: every check CI runs, arranged so that a fresh machine spends its CPUs where they are idle.

On a machine with empty caches `make bundle` compiles for about half an hour with both CPUs busy, while Molecule,
which needs the bundle, then spends most of its 40 minutes waiting on the cluster with a CPU to spare. The tests that
need neither Docker nor the bundle (most of pytest, CPU-bound) are therefore run beside Molecule, not beside the
builds, where they would only slow the compile down (measured: both CPUs busy throughout the builds). So:
- from the start, beside everything, the scenarios in EARLY_SCENARIOS at nice 10 (log:
  build/logs/molecule-early.log);
- in the background, `make prerequisites` (Docker, helm, kind, the test tools), then `make bundle` (the images);
  output in build/logs/prerequisites.log and build/logs/bundle.log; `make lint-static` runs beside the prerequisites,
  `make lint-workflows` (actionlint, which the prerequisites build) after them;
- once the bundle is built, Molecule's scenarios one after the other in the foreground, and beside them:
  `pytest -m "not bundle"` (with the app's coverage gate) at nice 10, and at nice 5 `make sbom` (syft
  compiled, the images' SBOMs) and `pytest -m bundle` (mostly waiting on Docker; its registries, containers and
  images are its own) followed by the scenarios in
  BESIDE_SCENARIOS, which share nothing with the foreground ones; output in build/logs/pytest-no-bundle.log,
  build/logs/pytest-bundle.log and build/logs/molecule-beside.log, their summaries printed at the end.

Warm (everything cached) the background only checks its caches. A failed background step prints the last lines of
its log; after a failure in the foreground nothing more starts (the tests beside are still awaited and reported).
Each step says when it started and how long it took; the last lines are a table of the steps, which is where the
cold figure in the README comes from. A failed run lists, just before that table, the Ansible tasks that failed
(scripts/failed-tasks.py): CI keeps only the end of the output, and a failed scenario's log ends with its destroy.
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
NO_BUNDLE_NAME = "pytest (no bundle)"
NO_BUNDLE_LOG = "pytest-no-bundle.log"
BUNDLE_NAME = "pytest (bundle)"
BUNDLE_LOG = "pytest-bundle.log"
# syft (built from its Go module) and the SBOMs of every image the bundle built: the bundle's tests read
# them. Beside Molecule, which needs neither, rather than on the builds' path to it.
SBOM_NAME = "make sbom"
SBOM_LOG = "sbom.log"
# A test that reaches for Docker or promtool in the unmarked run fails, saying it needs the mark `bundle`.
NO_BUNDLE_ENV = {"GITOPS_TESTS_WITHOUT_BUNDLE": "1"}
# The playbooks run beside the foreground generate passwords into a secrets directory of their own, not the one the
# foreground's platform uses and its teardown checks (~/.config/gitops-platform): seen when a test's promotion
# re-created the registry password just after `default`'s teardown removed it.
BESIDE_ENV = {"GITOPS_SECRETS_DIR": str(ROOT / "build" / "secrets-beside")}
# CPU priorities beside the foreground scenarios (the run's longest path): the CPU-bound tests lowest, the
# Docker-bound tests and the scenario beside a little lower than the foreground.
NICE = 10
NICE_BESIDE = 5
# Scenarios whose containers, ports and files are their own (promotion: a bare remote on disk; registry_login: a
# registry of its own), run beside the others, which share the platform's kind cluster name. existing_cluster's
# platform is a second one too, but beside `default` its cluster's components (Argo Rollouts) were still not
# Healthy after 420 s: two platforms and the tests do not fit on two CPUs, and default's autoscaler test needs
# the CPU it measures.
BESIDE_SCENARIOS = ("promotion", "registry_login")
# Scenarios that need neither a cluster, nor Docker, nor the bundle (the roles' failures without a cluster, against a
# dead kubeconfig): run from the start beside the lint and the builds, at nice 10 so that those keep their CPUs,
# instead of on the run's longest path after the bundle.
EARLY_SCENARIOS = ("argocd", "argocd_app")
# The logs of the tracks that run Molecule: they only repeat the tails of the scenarios' own logs.
TRACK_LOGS = ("molecule-beside.log", "molecule-early.log")
SUMMARY_LINE = re.compile(r"^(=+ .*(passed|failed|error).* =+|Required test coverage.*|FAILED .*|ERROR .*|SKIPPED .*"
                          r"|molecule \S+: (passed|FAILED) in \d+s.*)$")


def took(seconds: float) -> str:
    return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"


def say(message: str) -> None:
    # One write per line: the tracks beside the foreground may speak while it does.
    sys.stdout.write(f"[run-tests {time.strftime('%H:%M:%S')}] {message}\n")
    sys.stdout.flush()


class Track(threading.Thread):
    """Runs its steps one after the other beside the foreground, each a command whose output goes to a log in
    build/logs, and records when each ended. A failed step prints the last lines of its log and ends the track,
    unless the steps are independent (keep_going: only run one after the other to share the CPUs)."""

    def __init__(self, steps: list[tuple[str, list[str], str]], env: dict[str, str] | None = None,
                 keep_going: bool = False) -> None:
        super().__init__(daemon=True)
        self.steps = steps  # (name, argv, log file name)
        self.keep_going = keep_going
        self.env = {**os.environ, **env} if env else None
        self.done: dict[str, threading.Event] = {name: threading.Event() for name, _, _ in steps}
        self.failed: str | None = None
        self.process: subprocess.Popen | None = None
        self.times: dict[str, float] = {}
        self.results: dict[str, int] = {}  # step name -> exit code, for the steps that ended
        self.stopping = False

    def run(self) -> None:
        try:
            self._run_steps()
        except BaseException:
            # A step that could not even start (say, a missing program) fails the track instead of leaving
            # wait_for waiting forever.
            self.failed = self.failed or "a step"
            raise
        finally:
            for event in self.done.values():
                event.set()

    def _run_steps(self) -> None:
        for name, argv, log_name in self.steps:
            started = time.monotonic()
            log_path = LOG_DIR / log_name
            with open(log_path, "w", encoding="utf-8") as log:
                # A process group of its own, to stop the step with everything it started; but the same session,
                # because the kernel's autogroup scheduling shares the CPUs equally between sessions whatever their
                # processes' nice values (measured: with a session per track, Molecule's short scenarios took 5 to
                # 7 times as long beside the two pytest runs, nice 10 notwithstanding).
                self.process = subprocess.Popen(argv, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                                stdin=subprocess.DEVNULL, env=self.env, process_group=0)
                rc = self.process.wait()
            self.times[name] = time.monotonic() - started
            self.results[name] = rc
            if rc != 0:
                self.failed = self.failed or name
                if not self.stopping:
                    say(f"{name}: FAILED after {took(self.times[name])}; last {TAIL_LINES} lines of "
                        f"{log_path.relative_to(ROOT)}:")
                    print(*log_lines(log_path)[-TAIL_LINES:], sep="\n", flush=True)
                if self.stopping or not self.keep_going:
                    return
            else:
                say(f"{name}: done in {took(self.times[name])}")
            self.done[name].set()

    def wait_for(self, name: str) -> bool:
        """Waits until the step `name` ended; True when every step so far passed."""
        if not self.done[name].is_set():
            say(f"waiting for {name} (log: build/logs/{self._log_name(name)})")
        self.done[name].wait()
        return self.failed is None

    def _log_name(self, name: str) -> str:
        return next(log_name for step_name, _, log_name in self.steps if step_name == name)

    def stop(self) -> None:
        self.stopping = True
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait()


def log_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8", errors="replace").splitlines()


def make_step(target: str, *flags: str) -> list[str]:
    return [MAKE, "--no-print-directory", *flags, target]


def step(name: str, argv: list[str], times: dict[str, float]) -> bool:
    say(f"{name}: {' '.join(argv)}")
    started = time.monotonic()
    rc = subprocess.run(argv, cwd=ROOT, check=False).returncode
    times[name] = time.monotonic() - started
    say(f"{name}: {'passed' if rc == 0 else 'FAILED'} in {took(times[name])}")
    return rc == 0


def report(tracks: list[Track], times: dict[str, float], started: float, ok: bool) -> None:
    rows = [*(item for track in tracks for item in track.times.items()), *times.items()]
    total = "make test (wall clock)"
    width = max(len(name) for name in [total, *(name for name, _ in rows)]) + 2
    print(f"\n{'Step':<{width + 2}}Time", flush=True)
    for name, seconds in rows:
        print(f"  {name:<{width}}{took(seconds)}")
    print(f"  {total:<{width}}{took(time.monotonic() - started)}  {'passed' if ok else 'FAILED'}", flush=True)


def explain_failures(tracks: list[Track], started: float) -> None:
    """The failed Ansible tasks, near the end of the output where CI's excerpt of it shows them: from the logs of
    the failed background steps and of this run's Molecule scenarios (scripts/failed-tasks.py reads only their
    failed actions)."""
    # Molecule's per-scenario logs come from the glob below; the tracks' logs only repeat their tails.
    logs = [LOG_DIR / log_name for track in tracks for name, _, log_name in track.steps
            if track.results.get(name, 0) != 0 and not log_name.startswith(("pytest", "molecule"))]
    logs += [path for path in sorted(LOG_DIR.glob("molecule-*.log"))
             if path.name not in TRACK_LOGS and path.stat().st_mtime >= wall_started(started)]
    if logs:
        subprocess.run([sys.executable, str(ROOT / "scripts" / "failed-tasks.py"),
                        *(str(path.relative_to(ROOT)) for path in logs)], cwd=ROOT, check=False)


def wall_started(started: float) -> float:
    """The wall-clock time at the monotonic instant `started` (file times are wall-clock)."""
    return time.time() - (time.monotonic() - started)


def molecule_scenarios() -> list[str]:
    """The scenarios `make molecule` runs: MOLECULE_SCENARIOS from the environment, else the Makefile's list."""
    if os.environ.get("MOLECULE_SCENARIOS"):
        return os.environ["MOLECULE_SCENARIOS"].split()
    match = re.search(r"^MOLECULE_SCENARIOS \?= (.+)$", (ROOT / "Makefile").read_text(encoding="utf-8"), re.MULTILINE)
    if not match:
        raise SystemExit("run-tests: the Makefile sets no MOLECULE_SCENARIOS")
    return match.group(1).split()


def molecule_step(scenarios: list[str]) -> list[str]:
    return make_step("molecule", "-o", "bundle", f"MOLECULE_SCENARIOS={' '.join(scenarios)}")


def main() -> int:
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    builds = Track([("make prerequisites", make_step("prerequisites"), "prerequisites.log"),
                    ("make bundle", make_step("bundle"), "bundle.log")])
    say("background: make prerequisites, then make bundle (logs in build/logs/); meanwhile lint; then Molecule, "
        "with both pytest runs beside it")
    builds.start()
    tracks = [builds]
    scenarios = molecule_scenarios()
    early = [name for name in scenarios if name in EARLY_SCENARIOS]
    reported: list[Track] = []
    if early:
        reported.append(Track([(f"molecule ({' '.join(early)})", ["nice", "-n", str(NICE), *molecule_step(early)],
                                "molecule-early.log")], env=BESIDE_ENV))
        say(f"molecule {' '.join(early)} (no cluster, no bundle): from now on, beside the rest, nice {NICE} (log: "
            "build/logs/molecule-early.log)")
        reported[0].start()
        tracks.append(reported[0])
    times: dict[str, float] = {}
    ok = False
    try:
        # actionlint is one of the tools the prerequisites build: the workflows are linted once they are done.
        ok = (step("lint", make_step("lint-static"), times) and builds.wait_for("make prerequisites")
              and step("lint (workflows)", make_step("lint-workflows"), times) and builds.wait_for("make bundle"))
        if ok:
            foreground = [name for name in scenarios if name not in BESIDE_SCENARIOS + EARLY_SCENARIOS]
            side = [name for name in scenarios if name in BESIDE_SCENARIOS]
            beside = [Track([(NO_BUNDLE_NAME, ["nice", "-n", str(NICE), *NO_BUNDLE_PYTEST], NO_BUNDLE_LOG)],
                            env=NO_BUNDLE_ENV),
                      # pytest's bundle tests mostly wait on Docker; the scenarios after them on the cluster.
                      Track([(SBOM_NAME, ["nice", "-n", str(NICE_BESIDE), *make_step("sbom", "-o", "bundle")], SBOM_LOG),
                             (BUNDLE_NAME, ["nice", "-n", str(NICE_BESIDE), *BUNDLE_PYTEST], BUNDLE_LOG)]
                            + ([(f"molecule ({' '.join(side)})", ["nice", "-n", str(NICE_BESIDE), *molecule_step(side)],
                                 "molecule-beside.log")] if side else []),
                            env=BESIDE_ENV, keep_going=True)]
            say(f"{NO_BUNDLE_NAME}: {' '.join(NO_BUNDLE_PYTEST)} (beside Molecule, nice {NICE}; "
                f"log: build/logs/{NO_BUNDLE_LOG})")
            say(f"{SBOM_NAME}, then {BUNDLE_NAME}: {' '.join(BUNDLE_PYTEST)}, then Molecule {' '.join(side) or '(nothing)'} "
                f"(beside the other scenarios, nice {NICE_BESIDE}; logs: build/logs/{SBOM_LOG}, build/logs/{BUNDLE_LOG}, "
                f"build/logs/molecule-beside.log)")
            for track in beside:
                track.start()
                tracks.append(track)
            reported += beside
            ok = step("molecule", molecule_step(foreground), times) if foreground else True
            for track in reported:
                for name, _, log_name in track.steps:
                    track.wait_for(name)
                    passed = track.results.get(name) == 0
                    ok = ok and passed
                    # pytest's closing lines (the coverage gate, the short summary and the counts); Molecule's line
                    # per scenario.
                    say(f"{name}: {'passed' if passed else 'FAILED'}; its summary:")
                    print(*(line for line in log_lines(LOG_DIR / log_name) if SUMMARY_LINE.search(line)),
                          sep="\n", flush=True)
    finally:
        for track in tracks:
            track.stop()
    if not ok:
        explain_failures(tracks, started)
    report(tracks, times, started, ok)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

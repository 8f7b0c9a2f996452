#!/usr/bin/env python3
"""Build the offline images with both cores busy (make bundle, make up offline).

A compiling `go build` already keeps both cores busy (191 % CPU measured for the VPA recommender on 2 cores), but
the builds also wait: on the Go module proxy (`go get`, about 3.5 minutes of a cold run), on Debian's mirror
(debootstrap of three base images) and on single-threaded links. So the Argo CD images (one large Go program,
two Debian bases) are built in the background while the offline bundle (Kubernetes and the other components)
is built in the foreground, and one half's waits are the other's compile time; then
`playbooks/offline-images.yml` assembles the kind node image, finds everything else cached, builds the app image
if it is missing and stamps the cache. Warm, both halves only check their caches.

The background half's output goes to build/logs/argocd-images.log; its last lines are printed when it fails.
Arguments are passed to every ansible-playbook run (`-e offline_bundle_force=true`). Exits with the first
failure's code.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOG_DIR = ROOT / "build" / "logs"
TAIL_LINES = 60


def minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {int(seconds % 60)} s"


def playbook(name: str) -> list[str]:
    return ["ansible-playbook", str(ROOT / "playbooks" / name), *sys.argv[1:]]


def main() -> int:
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log_path = LOG_DIR / "argocd-images.log"
    started = time.monotonic()
    print(f"Building the Argo CD images in the background (log: {log_path.relative_to(ROOT)}) "
          "and the offline bundle here.", flush=True)
    with open(log_path, "w", encoding="utf-8") as log:
        background = subprocess.Popen(playbook("argocd-images.yml"), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            bundle_rc = subprocess.run(playbook("offline-bundle.yml"), cwd=ROOT, check=False).returncode
            bundle_done = time.monotonic()
            if background.poll() is None:
                print(f"Offline bundle done in {minutes(bundle_done - started)}; waiting for the Argo CD images.",
                      flush=True)
            argocd_rc = background.wait()
        except BaseException:
            os.killpg(background.pid, signal.SIGTERM)
            background.wait()
            raise
    argocd_done = time.monotonic()
    print(f"Argo CD images {'done' if argocd_rc == 0 else 'FAILED'} after {minutes(argocd_done - started)}.", flush=True)
    if argocd_rc != 0:
        lines = log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        print(f"Last {TAIL_LINES} lines of {log_path}:", *lines[-TAIL_LINES:], sep="\n", flush=True)
    if bundle_rc != 0 or argocd_rc != 0:
        return bundle_rc or argocd_rc
    final = subprocess.run(playbook("offline-images.yml"), cwd=ROOT, check=False).returncode
    print(f"Offline images {'ready' if final == 0 else 'FAILED'} after {minutes(time.monotonic() - started)}.",
          flush=True)
    return final


if __name__ == "__main__":
    sys.exit(main())

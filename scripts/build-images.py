#!/usr/bin/env python3
"""Build the offline images with both cores busy (make bundle, make up offline).

A compiling `go build` already keeps both cores busy (191 % CPU measured for the VPA recommender on 2 cores), but
the builds also wait: on the Go module proxy, on Debian's mirror (debootstrap of the base images) and on
single-threaded links. So two halves run side by side and one half's waits are the other's compile time:
- in the foreground, the offline bundle (playbooks/offline-bundle.yml): its Go components from the first
  (Kubernetes) on, then the node's images;
- in the background, first the images of the registry, the git server and the app (playbooks/service-images.yml:
  debootstrap and downloads, mostly waiting, which the compiles beside them do not), then the Argo CD images
  (playbooks/argocd-images.yml), then the bundle's Go components from the last one backwards, binaries only
  (`offline_bundle_reverse`). Each component's lock makes the half that reaches it
  second wait and find it built, so the two halves meet in the middle instead of one idling while the other builds.
Then `playbooks/offline-images.yml` assembles the kind node image, finds everything else cached, builds the app
image if it is missing and stamps the cache. Warm, both halves only check their caches.

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


def playbook(*names: str, extra: tuple[str, ...] = ()) -> list[str]:
    return ["ansible-playbook", *(str(ROOT / "playbooks" / name) for name in names), *extra, *sys.argv[1:]]


# The background half: the services' and the app's images, Argo CD's images, then the bundle's components from the end,
# binaries only.
BACKGROUND = playbook("service-images.yml", "argocd-images.yml", "offline-bundle.yml",
                      extra=("-e", "offline_bundle_images=false", "-e", "offline_bundle_reverse=true"))


def main() -> int:
    # make test stops a failed run's background builds with SIGTERM: end this half's background half too.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log_path = LOG_DIR / "argocd-images.log"
    started = time.monotonic()
    print(f"Building the services', the app's and the Argo CD images and then the bundle's last components in the "
          f"background (log: {log_path.relative_to(ROOT)}), and the offline bundle here.", flush=True)
    with open(log_path, "w", encoding="utf-8") as log:
        background = subprocess.Popen(BACKGROUND, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, process_group=0)
        try:
            bundle_rc = subprocess.run(playbook("offline-bundle.yml"), cwd=ROOT, check=False).returncode
            bundle_done = time.monotonic()
            if background.poll() is None:
                print(f"Offline bundle done in {minutes(bundle_done - started)}; waiting for the background half.",
                      flush=True)
            argocd_rc = background.wait()
        except BaseException:
            os.killpg(background.pid, signal.SIGTERM)
            background.wait()
            raise
    argocd_done = time.monotonic()
    print(f"Background half (service, app and Argo CD images, components from the end) {'done' if argocd_rc == 0 else 'FAILED'} "
          f"after {minutes(argocd_done - started)}.", flush=True)
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

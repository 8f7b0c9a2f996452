#!/usr/bin/env python3
"""Benchmark the offline kind path: bundle and node image (cached), cluster creation, no-op re-run.

Each measure is a real ansible-playbook run as a user would do it, offline (GITOPS_OFFLINE=true):
  * the offline bundle (Kubernetes and images built from source) and the node image, with the cache
    as it is; with --cold, into an empty cache directory and an empty Go build cache (tens of minutes);
  * `kind_cluster` creating a cluster until its node is Ready (the node image cached);
  * the same role again with nothing to do;
then the cluster is deleted. Prints a table with the targets beside the measurements.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

from playbook_runs import changed, print_table, run

CLUSTER = "bench-offline"
HOST_PORT = "39180"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", action="store_true", help="build the bundle into an empty cache (slow)")
    args = parser.parse_args()

    env = {**os.environ, "GITOPS_OFFLINE": "true", "ANSIBLE_NOCOLOR": "1"}
    rows = []
    with tempfile.TemporaryDirectory(prefix="offline-bench-") as tmp:
        if args.cold:
            env.update(GITOPS_CACHE_DIR=f"{tmp}/cache", GOCACHE=f"{tmp}/go-build")
        label = "cold" if args.cold else "cached"
        seconds, out = run(["playbooks/offline-bundle.yml"], env)
        rows.append((f"offline bundle ({label})", f"{seconds:.0f} s, changed={changed(out)}",
                     "<= 45 min cold, <= 1 min cached"))
        node_seconds, out = run(["playbooks/kind-node-image.yml"], env)
        rows.append((f"node image ({label})", f"{node_seconds:.0f} s, changed={changed(out)}", "(part of the above)"))

        cluster = ["playbooks/cluster.yml", "-e", f"kind_cluster_name={CLUSTER}", "-e",
                   f"kind_cluster_app_host_port={HOST_PORT}", "-e", f"kind_cluster_kubeconfig={tmp}/kubeconfig",
                   "-e", f"kind_cluster_cache_dir={tmp}/kind"]
        try:
            seconds, out = run(cluster, env)
            rows.append(("kind create -> node Ready (node image cached)", f"{seconds:.0f} s", "<= 90 s"))
            seconds, out = run(cluster, env)
            rows.append(("kind_cluster re-run, nothing to do", f"{seconds:.1f} s, changed={changed(out)}",
                         "<= 15 s, changed=0"))
        finally:
            run(cluster + ["-e", "kind_cluster_state=absent"], env)

    print_table(rows, "offline, GITOPS_OFFLINE=true")
    return 0


if __name__ == "__main__":
    sys.exit(main())

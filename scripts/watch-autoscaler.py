#!/usr/bin/env python3
"""Watch an environment's HorizontalPodAutoscaler and its Argo CD Application until it has scaled out or back.

Every --interval seconds it reads the autoscaler (autoscaling/v2) and the Application of the same name in argocd,
and prints one JSON line per look: time, current and desired replicas, the Application's sync and health status.

    watch-autoscaler.py --context kind-gitops-demo --namespace demo-production --name demo-flask-app-production \
        --want out --timeout 180

--want out ends when the desired replicas exceed the autoscaler's minReplicas; --want back when the desired and
the current replicas are at minReplicas again. Exit 0 then, with a last line {"replicas", "at", "looks"}; 1 as soon as a look
finds the Application not Synced (self-heal fighting the autoscaler would show here); 2 on timeout.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from kubernetes import client, config


def look(autoscaling: client.AutoscalingV2Api, custom: client.CustomObjectsApi, namespace: str, name: str,
         argocd_namespace: str) -> dict:
    hpa = autoscaling.read_namespaced_horizontal_pod_autoscaler(name, namespace)
    app = custom.get_namespaced_custom_object("argoproj.io", "v1alpha1", argocd_namespace, "applications", name)
    status = app.get("status") or {}
    return {
        "at": time.time(),
        "min": hpa.spec.min_replicas or 1,
        "current": hpa.status.current_replicas or 0,
        "desired": hpa.status.desired_replicas or 0,
        "sync": (status.get("sync") or {}).get("status", "Unknown"),
        "health": (status.get("health") or {}).get("status", "Unknown"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", default=None)
    parser.add_argument("--context", default=None)
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--argocd-namespace", default="argocd")
    parser.add_argument("--want", choices=["out", "back"], required=True)
    parser.add_argument("--timeout", type=float, default=180)
    parser.add_argument("--interval", type=float, default=3)
    args = parser.parse_args()

    config.load_kube_config(config_file=args.kubeconfig, context=args.context)
    autoscaling, custom = client.AutoscalingV2Api(), client.CustomObjectsApi()
    deadline = time.monotonic() + args.timeout
    looks = 0
    while True:
        state = look(autoscaling, custom, args.namespace, args.name, args.argocd_namespace)
        looks += 1
        print(json.dumps(state), flush=True)
        if state["sync"] != "Synced":
            print(f"look {looks}: the Application is {state['sync']}, not Synced", file=sys.stderr)
            return 1
        # The status's current count trails a decision by one sync of the autoscaler: back needs both at the floor.
        done = (state["desired"] > state["min"] if args.want == "out"
                else state["desired"] == state["current"] == state["min"])
        if done:
            print(json.dumps({"replicas": state["desired"] if args.want == "out" else state["current"],
                              "at": state["at"], "looks": looks}))
            return 0
        if time.monotonic() > deadline:
            print(f"not scaled {args.want} within {args.timeout:.0f} s ({looks} looks)", file=sys.stderr)
            return 2
        time.sleep(args.interval)


if __name__ == "__main__":
    sys.exit(main())

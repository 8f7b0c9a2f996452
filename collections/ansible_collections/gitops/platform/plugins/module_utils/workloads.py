# -*- coding: utf-8 -*-
# Copyright: contributors to the gitops platform
# Apache License 2.0
"""Whether Deployments, StatefulSets, DaemonSets and Argo Rollouts' Rollouts have rolled out, as `kubectl rollout
status` (and `kubectl argo rollouts status`) judge it."""

from __future__ import annotations

from typing import Any


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def rollout_problem(workload: dict) -> str:
    """Why `workload` has not rolled out, or "" when it has."""
    kind = workload.get("kind", "")
    metadata = workload.get("metadata") or {}
    spec = workload.get("spec") or {}
    status = workload.get("status") or {}
    if _int(status.get("observedGeneration")) < _int(metadata.get("generation")):
        return "its new spec is not observed yet"
    # A canary in its steps, paused or aborted has not rolled out, whatever its pod counts say.
    if kind == "Rollout" and status.get("phase", "Healthy") != "Healthy":
        return f"{status['phase']}: {status.get('message') or 'canary in progress'}"
    if kind == "DaemonSet":
        want = _int(status.get("desiredNumberScheduled"))
        updated, ready = _int(status.get("updatedNumberScheduled")), _int(status.get("numberAvailable"))
    else:
        want = _int(spec.get("replicas"), 1)
        updated = _int(status.get("updatedReplicas"))
        ready = _int(status.get("availableReplicas" if kind in ("Deployment", "Rollout") else "readyReplicas"))
    if updated < want or ready < want:
        return f"{ready}/{want} ready"
    return ""


def not_ready(workloads: list[dict]) -> list[str]:
    """`name (Kind, n/m ready)` for every workload that has not rolled out."""
    out = []
    for workload in workloads or []:
        problem = rollout_problem(workload)
        if problem:
            out.append(f"{workload['metadata']['name']} ({workload.get('kind', '?')}, {problem})")
    return out

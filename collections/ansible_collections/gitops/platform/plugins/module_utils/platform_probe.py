# -*- coding: utf-8 -*-
# Copyright: contributors to the gitops platform
# Apache License 2.0
"""What a bootstrapped platform looks like from its cluster, and what is wrong with it.

The state is what site.yml's stamp records after a complete run (which cluster, which workloads,
Applications, API services and pull or repository secrets, at which revision); the problems are the
reasons the platform is not healthy now. Pure functions over API objects as the API server returns them.
"""

from __future__ import annotations

from ansible_collections.gitops.platform.plugins.module_utils.workloads import rollout_problem

# Secrets whose edits change what the platform runs: image pull secrets, and Argo CD's repository credentials.
PULL_SECRET_TYPE = "kubernetes.io/dockerconfigjson"
ARGOCD_SECRET_LABEL = "argocd.argoproj.io/secret-type"


def _meta(obj: dict) -> dict:
    return obj.get("metadata") or {}


def _where(obj: dict) -> str:
    meta = _meta(obj)
    return f"{meta.get('namespace', '')}/{obj.get('kind', '?')}/{meta.get('name', '?')}"


def _condition(obj: dict, kind: str) -> dict:
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind:
            return condition
    return {}


def workload_problems(workloads: list[dict]) -> list[str]:
    """`ns/Kind/name: n/m ready` for each Deployment, StatefulSet or DaemonSet that has not rolled out."""
    out = []
    for workload in workloads:
        problem = rollout_problem(workload)
        if problem:
            out.append(f"{_where(workload)}: {problem}")
    return out


def application_problem(app: dict) -> str:
    """Why an Argo CD Application is not settled (Synced, Healthy, no operation running), or ""."""
    status = app.get("status") or {}
    sync = (status.get("sync") or {}).get("status") or "Unknown"
    health = (status.get("health") or {}).get("status") or "Unknown"
    phase = (status.get("operationState") or {}).get("phase") or ""
    if sync != "Synced" or health != "Healthy":
        return f"{sync}, {health}"
    if phase == "Running":
        return "a sync is running"
    return ""


def apiservice_problem(service: dict) -> str:
    """Why an APIService is not Available, or ""."""
    available = _condition(service, "Available")
    if available.get("status") == "True":
        return ""
    return available.get("reason") or available.get("message") or "not Available"


def probe(kube_system: dict, workloads: list[dict], applications: list[dict] | None, apiservices: list[dict],
          secrets: list[dict], namespaces: list[str]) -> tuple[dict, list[str]]:
    """The cluster's state (for a stamp) and its problems (empty when healthy).

    `workloads` and `secrets` may hold objects of any namespace: only those in `namespaces` count.
    `applications` is None when the cluster does not serve Argo CD's Application API.
    """
    wanted = set(namespaces)
    ours = [w for w in workloads if _meta(w).get("namespace") in wanted]
    problems = workload_problems(ours)
    for ns in sorted(wanted - {_meta(w).get("namespace") for w in ours}):
        problems.append(f"namespace {ns} runs no workload")
    if applications is None:
        problems.append("the cluster does not serve Argo CD's Application API")
    for app in applications or []:
        problem = application_problem(app)
        if problem:
            problems.append(f"Application {_meta(app).get('name')}: {problem}")
    for service in apiservices:
        problem = apiservice_problem(service)
        if problem:
            problems.append(f"APIService {_meta(service).get('name')}: {problem}")
    kept = [s for s in secrets if _meta(s).get("namespace") in wanted
            and (s.get("type") == PULL_SECRET_TYPE or ARGOCD_SECRET_LABEL in (_meta(s).get("labels") or {}))]
    state = {
        "cluster": _meta(kube_system).get("uid", ""),
        "workloads": sorted(_where(w) for w in ours),
        "applications": sorted(_meta(a).get("name", "") for a in applications or []),
        "apiservices": sorted(_meta(s).get("name", "") for s in apiservices),
        # resourceVersion changes with every write: an edited or recreated secret is a different state.
        "secrets": sorted(f"{_meta(s).get('namespace')}/{_meta(s).get('name')}@{_meta(s).get('resourceVersion')}"
                          for s in kept),
    }
    return state, problems

# -*- coding: utf-8 -*-
# Copyright: contributors to the gitops platform
# Apache License 2.0
"""The platform's status in a few lines, from what kubernetes.core.k8s_info and ansible.builtin.uri returned.

Each part is judged on its own: a result that failed, was skipped or never ran is reported, not raised.
"""

from __future__ import annotations

import re
from typing import Any

_ERRNO = re.compile(r"\[Errno -?\d+\] ([^\"'()\n]+)")
UNREACHABLE = "unknown (cluster not reachable)"


def truncate(text: str, length: int, end: str = "...", leeway: int = 5) -> str:
    """`text` cut at a word boundary to `length` characters, `end` included; as Jinja's truncate filter does,
    text at most `leeway` characters too long stays whole."""
    if len(text) <= length + leeway:
        return text
    return text[:length - len(end)].rsplit(" ", 1)[0] + end


def _dig(node: Any, *keys: str, default: Any = None) -> Any:
    for key in keys:
        if not isinstance(node, dict) or node.get(key) is None:
            return default
        node = node[key]
    return node


def api_error(result: dict | None, default: str = "no answer", length: int = 200) -> str:
    """Why a kubernetes.core module got no answer from the API server, in one line.

    A refused or failed connection crashes the kubernetes client: its errno text (`Connection refused`), else the
    traceback's last line, else the module's msg, else `default`.
    """
    result = result or {}
    crash = str(result.get("module_stderr") or "").strip()
    found = _ERRNO.search(crash)
    text = found.group(1) if found else crash.splitlines()[-1] if crash else str(result.get("msg") or default)
    text = re.sub(r"\s+", " ", re.sub(r"^Could not create API client: ", "", text))
    return truncate(text, length)


def reachable(nodes: dict | None) -> bool:
    """Whether the API server answered the node list (the other reads are made only then)."""
    return isinstance(nodes, dict) and isinstance(nodes.get("resources"), list)


def nodes_line(nodes: dict | None) -> str:
    if not reachable(nodes):
        return f"not reachable ({api_error(nodes, 'the API server does not answer', 120)})"
    items = nodes["resources"]
    ready = [item for item in items if any(
        condition.get("type") == "Ready" and condition.get("status") == "True"
        for condition in _dig(item, "status", "conditions", default=[]))]
    names = ", ".join(str(_dig(item, "metadata", "name", default="")) for item in items)
    return f"{len(ready)}/{len(items)} Ready: {names}"


def application_line(application: dict | None, name: str, namespace: str) -> str:
    application = application or {}
    if application.get("api_found") is False:
        return "Argo CD is not installed (no Application CRD)"
    found = application.get("resources") or []
    if not found:
        return f"no Application {name} in namespace {namespace}"
    app = found[0]
    revision = str(_dig(app, "status", "sync", "revision", default=""))[:12] or "none"
    return (f"{name}: sync={_dig(app, 'status', 'sync', 'status', default='Unknown')}, "
            f"health={_dig(app, 'status', 'health', 'status', default='Unknown')}, revision={revision}")


def pod_ready(pod: dict) -> bool:
    """A pod is ready when it reports its containers and every one of them is ready."""
    containers = _dig(pod, "status", "containerStatuses", default=[])
    return bool(containers) and all(container.get("ready") for container in containers)


def pods_line(pods: dict | None, namespace: str) -> str:
    items = (pods or {}).get("resources") or []
    if not items:
        return f"none in namespace {namespace}"
    ready = sum(1 for pod in items if pod_ready(pod))
    listed = ", ".join(f"{_dig(pod, 'metadata', 'name', default='')} {_dig(pod, 'status', 'phase', default='Unknown')}"
                       for pod in items)
    return f"{ready}/{len(items)} ready in {namespace}: {listed}"


def served_line(version: dict | None, url: str) -> str:
    version = version or {}
    status = version.get("status")
    status = status if isinstance(status, int) else -1
    if status == 200 and "json" in version:
        served = version["json"].get("version", "?") if isinstance(version["json"], dict) else "?"
        return f"{served} at {url}"
    if status > 0:
        return f"HTTP {status} from {url}: {truncate(str(version.get('content') or '').strip(), 80)}"
    reason = re.sub(r"^.*Request failed: ", "", str(version.get("msg") or "connection failed"))
    return f"no answer from {url} ({truncate(reason, 100)})"


def summary(results: dict, application: str, app_namespace: str, version_url: str,
            argocd_namespace: str = "argocd") -> dict[str, str]:
    """{nodes, application, pods, served}: one line each, from the registered results of the same names."""
    results = results or {}
    up = reachable(results.get("nodes"))
    return {
        "nodes": nodes_line(results.get("nodes")),
        "application": application_line(results.get("application"), application, argocd_namespace) if up else UNREACHABLE,
        "pods": pods_line(results.get("pods"), app_namespace) if up else UNREACHABLE,
        "served": served_line(results.get("served"), version_url),
    }

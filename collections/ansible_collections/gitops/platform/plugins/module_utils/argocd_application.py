# -*- coding: utf-8 -*-
# Copyright: contributors to the gitops platform
# Apache License 2.0
"""The state of an Argo CD Application object (as the Kubernetes API returns it), in the terms the platform
waits on: converged (Synced and Healthy against its current spec, at a revision) and a one-line report."""

from __future__ import annotations

import datetime as dt
from typing import Any

REFRESH_ANNOTATION = "argocd.argoproj.io/refresh"


def _dig(node: Any, *keys: str, default: Any = None) -> Any:
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            return default
        node = node[key]
    return node


def _source_and_destination(source: Any, destination: Any) -> list:
    """The fields the platform sets, so that a status compared against an older spec is not taken as current."""
    source = source if isinstance(source, dict) else {}
    destination = destination if isinstance(destination, dict) else {}
    return [source.get("repoURL", ""), source.get("targetRevision", ""), source.get("path", ""),
            _dig(source, "helm", "valueFiles", default=[]), destination.get("server", ""),
            destination.get("namespace", "")]


def sync_status(app: dict) -> str:
    return str(_dig(app, "status", "sync", "status", default="Unknown"))


def health_status(app: dict) -> str:
    return str(_dig(app, "status", "health", "status", default="Unknown"))


def revision(app: dict) -> str:
    return str(_dig(app, "status", "sync", "revision", default="") or "")


def synced_revision(app: dict) -> str:
    """The revision Argo CD's last sync operation applied (status.sync.revision is the one it compared, which moves to
    a new commit before the sync of it starts)."""
    return str(_dig(app, "status", "operationState", "syncResult", "revision", default="") or "")


def converged(app: dict | None, expected_revision: str = "") -> bool:
    """Synced and Healthy, compared against the current spec, no operation running, no refresh pending, and at
    `expected_revision` (a commit or a prefix of it) when one is given."""
    if not app:
        return False
    status = app.get("status") or {}
    annotations = _dig(app, "metadata", "annotations", default=None) or {}
    compared = _source_and_destination(_dig(status, "sync", "comparedTo", "source"),
                                       _dig(status, "sync", "comparedTo", "destination"))
    wanted = _source_and_destination(_dig(app, "spec", "source"), _dig(app, "spec", "destination"))
    return (sync_status(app) == "Synced" and health_status(app) == "Healthy" and compared == wanted
            and _dig(status, "operationState", "phase", default="") != "Running"
            and revision(app).startswith(expected_revision or "")
            and REFRESH_ANNOTATION not in annotations)


def _moment(value: Any) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def degraded_at(app: dict | None, expected_revision: str) -> bool:
    """Argo CD has synced `expected_revision` and judged it Degraded (a rollout past its progress deadline, a
    crash loop, a canary its analysis aborted) or Suspended (a canary paused because its analysis was
    inconclusive, waiting for a person): waiting longer will not make it Healthy.

    Until the last sync operation applied `expected_revision`, the health is the revision before's (seen: a revert's
    wait ended at once, OutOfSync at the revert commit with the aborted canary still Degraded). A health that last
    changed before that sync finished was judged on the revision before too (a revert of a release past its
    deadline stays Degraded until its rollout is seen): not a judgement of this one."""
    if not (app and expected_revision and revision(app).startswith(expected_revision)
            and synced_revision(app).startswith(expected_revision)
            and health_status(app) in ("Degraded", "Suspended")
            and _dig(app, "status", "operationState", "phase", default="") != "Running"):
        return False
    changed = _moment(_dig(app, "status", "health", "lastTransitionTime", default=""))
    synced = _moment(_dig(app, "status", "operationState", "finishedAt", default=""))
    return not (changed and synced and changed < synced)


def truncate(text: str, length: int) -> str:
    """`text` on one line, at most `length` characters, with "..." where it was cut."""
    text = " ".join(str(text).split())
    return text if len(text) <= length else text[: length - 3].rstrip() + "..."


def _health_parts(app: dict) -> list:
    """The Application's health message and those of its resources that are not Healthy."""
    status = app.get("status") or {}
    parts = []
    health_message = _dig(status, "health", "message", default="")
    if health_message:
        parts.append(str(health_message))
    for resource in status.get("resources") or []:
        health = resource.get("health") or {}
        if health.get("status") not in (None, "Healthy") and health.get("message"):
            parts.append(f"{resource.get('kind')}/{resource.get('name')}: {health['message']}")
    return parts


def reason(app: dict | None) -> str:
    """Why the Application is not Healthy, in Argo CD's words: its health message, the failing resources'
    messages, its conditions, or the last operation's message."""
    if not app:
        return "the Application does not exist"
    status = app.get("status") or {}
    parts = _health_parts(app)
    for condition in status.get("conditions") or []:
        if condition.get("message"):
            parts.append(f"{condition.get('type', 'Condition')}: {condition['message']}")
    operation_message = _dig(status, "operationState", "message", default="")
    if operation_message and _dig(status, "operationState", "phase", default="") not in ("Succeeded", ""):
        parts.append(str(operation_message))
    if not parts:
        parts.append(f"sync={sync_status(app)}, health={health_status(app)}")
    return truncate("; ".join(dict.fromkeys(parts)), 400)


def report(app: dict | None) -> str:
    """One line: sync, health, revision, last operation, conditions."""
    if not app:
        return "no such Application"
    status = app.get("status") or {}
    line = (f"sync={sync_status(app)}, health={health_status(app)}, revision={revision(app)[:12] or 'none'}, "
            f"last operation: {_dig(status, 'operationState', 'phase', default='none')}")
    message = _dig(status, "operationState", "message", default="")
    if message:
        line += " " + truncate(message, 300)
    for condition in status.get("conditions") or []:
        if condition.get("message"):
            line += "; " + truncate(condition["message"], 300)
    return line


def by_name(items: list | None) -> dict:
    return {_dig(item, "metadata", "name", default=""): item for item in items or []}


def pending(items: list | None, names: list, expected_revision: str = "") -> list:
    """The names among `names` whose Application (in `items`) has not converged."""
    live = by_name(items)
    return [name for name in names if not converged(live.get(name), expected_revision)]


def _subset(wanted: Any, live: Any) -> bool:
    if isinstance(wanted, dict):
        return isinstance(live, dict) and all(key in live and live[key] == value for key, value in wanted.items())
    return isinstance(live, list) and all(item in live for item in wanted)


def to_apply(wanted: list, items: list | None) -> list:
    """The objects of `wanted` whose live counterpart (in `items`, matched by kind and name) is missing, has
    another spec, or lacks one of the wanted labels or finalizers: those an apply would change."""
    live = {(item.get("kind"), _dig(item, "metadata", "name")): item for item in items or []}
    out = []
    for obj in wanted:
        current = live.get((obj.get("kind"), _dig(obj, "metadata", "name")))
        if (current is None or current.get("spec") != obj.get("spec")
                or not _subset(_dig(obj, "metadata", "labels", default={}) or {},
                               _dig(current, "metadata", "labels", default={}) or {})
                or not _subset(_dig(obj, "metadata", "finalizers", default=[]) or [],
                               _dig(current, "metadata", "finalizers", default=[]) or [])):
            out.append(obj)
    return out


def lines(items: list | None, names: list) -> list:
    """`<name>: <report>` for each of `names`, in order, followed by ` - <health messages>` of the Application and of
    its resources that are not Healthy (the report already has the conditions and the operation's message)."""
    live = by_name(items)
    out = []
    for name in names:
        app = live.get(name)
        health = _health_parts(app) if app else []
        out.append(f"{name}: {report(app)}" + (f" - {truncate('; '.join(dict.fromkeys(health)), 300)}" if health else ""))
    return out

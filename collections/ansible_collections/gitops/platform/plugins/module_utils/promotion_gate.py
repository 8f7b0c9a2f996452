# -*- coding: utf-8 -*-
# Copyright: contributors to the gitops platform
# Apache License 2.0
"""Whether the tag running in a source environment may be promoted to the next one: the gate's conditions.

The conditions are checked in a fixed order and the first that fails is the one reported, as one sentence:

1. ``application`` - the source environment's Argo CD Application exists;
2. ``status`` - it is Synced and Healthy;
3. ``operation`` - no sync operation is running or waiting to start;
4. ``revision`` - the values file at the synced revision (read from git) carries a tag T;
5. ``pods`` - every Ready pod not being deleted runs an image tagged T, pulled by the digest that the registry
   names for T;
6. ``soak`` - it has been so for at least the soak time.

evaluate() is pure: the git and registry reads come in as callables (or their answers as plain values), so
a table test can feed it any state.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Callable, Union

from ansible_collections.gitops.platform.plugins.module_utils.image_ref import ImageRefError, parse
from ansible_collections.gitops.platform.plugins.module_utils.values_file import ValuesFileError, get_scalar

CONDITIONS = ("application", "status", "operation", "revision", "pods", "soak")
# Longest part of a message that quotes Argo CD (health message, conditions).
DETAIL_LENGTH = 300

_COMMIT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128}")
_TIMESTAMP = re.compile(
    r"(?P<base>\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d)(?P<fraction>\.\d+)?(?P<zone>Z|z|[+-]\d\d:?\d\d)?"
)

Reader = Union[str, Callable[[str], str]]


class GateRefused(Exception):
    """A condition failed. `condition` is one of CONDITIONS, `text` the reason, `details` extra return values."""

    def __init__(self, condition: str, environment: str, text: str, **details: Any) -> None:
        self.condition = condition
        self.text = text
        self.details = details
        super().__init__(f"Refusing to promote from {environment}: {text}. Nothing was committed.")


class Unavailable(Exception):
    """A reader (git, the registry) could not answer; the message is part of a sentence, without a full stop."""


def parse_time(value: object) -> dt.datetime:
    """An RFC 3339 timestamp as Kubernetes writes it (`2024-05-01T12:00:00Z`) as an aware datetime.

    A timestamp without a zone is UTC. Raises ValueError when `value` is not one."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    match = _TIMESTAMP.fullmatch(str(value).strip())
    if not match:
        raise ValueError(f"'{value}' is not an RFC 3339 timestamp")
    zone = match["zone"] or "+00:00"
    zone = "+00:00" if zone in ("Z", "z") else zone
    if ":" not in zone:
        zone = zone[:3] + ":" + zone[3:]
    fraction = (match["fraction"] or "")[:7]  # Python reads at most microseconds
    return dt.datetime.fromisoformat(match["base"].replace(" ", "T") + fraction + zone)


def iso(moment: dt.datetime) -> str:
    """`moment` in UTC, to the second: 2024-05-01T12:00:00Z."""
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _dig(node: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def _one_object(value: Any) -> "dict | None":
    """An object, or the first of a kubernetes.core.k8s_info result's resources; None when there is none."""
    if isinstance(value, dict) and isinstance(value.get("resources"), list):
        value = value["resources"][0] if value["resources"] else None
    return value if isinstance(value, dict) and value else None


def _objects(value: Any) -> list:
    if isinstance(value, dict) and isinstance(value.get("resources"), list):
        value = value["resources"]
    return [item for item in (value or []) if isinstance(item, dict)]


def _short(text: object, length: int = DETAIL_LENGTH) -> str:
    """`text` on one line, cut at a word boundary to about `length` characters, with "..." where it was cut."""
    text = " ".join(str(text).split())
    if len(text) <= length:
        return text
    cut = text[:length - 3]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut) + "..."


def _status_details(app: dict) -> str:
    """The health message and the conditions' messages, for a refusal."""
    parts = []
    health = _dig(app, "status", "health", "message")
    if health:
        parts.append(f"health: {health}")
    for condition in _dig(app, "status", "conditions") or []:
        if isinstance(condition, dict) and condition.get("message"):
            parts.append(f"{condition.get('type', 'Condition')}: {condition['message']}")
    return f" ({_short('; '.join(parts))})" if parts else ""


def _ready(pod: dict) -> bool:
    return any(
        isinstance(c, dict) and c.get("type") == "Ready" and c.get("status") == "True"
        for c in _dig(pod, "status", "conditions") or []
    )


def _tag_of(image: str) -> str:
    try:
        return parse(image).tag
    except ImageRefError:
        return image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""


def _digest_of(image_id: str) -> str:
    """The manifest digest in a container status' imageID (`repo@sha256:...`); "" when it names none."""
    if "@" not in image_id:
        return ""
    digest = image_id.rsplit("@", 1)[1]
    return digest if _DIGEST.fullmatch(digest) else ""


def _call(reader: Reader, argument: str) -> str:
    return reader(argument) if callable(reader) else reader


def _short_digest(digest: str) -> str:
    algorithm, _colon, hexdigits = digest.partition(":")
    return f"{algorithm}:{hexdigits[:12]}"


def evaluate(application: Any, pods: Any, values: Reader, registry_digest: Reader, *, environment: str,
             image: str, key: str = "image.tag", values_file: str = "the values file", soak: int = 0,
             now: "dt.datetime | None" = None) -> dict:
    """Check the gate's conditions in order; return what passed it, or raise GateRefused for the first failure.

    `application` is the source Argo CD Application (or a k8s_info result); `pods` its pods (or a k8s_info
    result); `values(revision)` the values file's text at a commit and `registry_digest(tag)` the digest the
    registry names for `image:tag`, each a callable that may raise Unavailable, or the answer itself.

    Returns tag, revision, digest, since (ISO, or None when nothing tells and no soak is asked for),
    soaked_seconds (None likewise) and gate, one line for a commit trailer.
    """
    now = parse_time(now) if now is not None else dt.datetime.now(dt.timezone.utc)

    def refuse(condition: str, text: str, **details: Any) -> GateRefused:
        return GateRefused(condition, environment, text, **details)

    # 1. The Application exists.
    app = _one_object(application)
    if app is None:
        raise refuse("application", f"the Argo CD Application of {environment} does not exist")
    name = _dig(app, "metadata", "name") or "(unnamed)"

    # 2. Synced and Healthy.
    sync = _dig(app, "status", "sync", "status") or "Unknown"
    health = _dig(app, "status", "health", "status") or "Unknown"
    if (sync, health) != ("Synced", "Healthy"):
        raise refuse("status", f"Application {name} is {sync} and {health}, not Synced and Healthy"
                               + _status_details(app))

    # 3. No sync operation running, or requested and not started.
    operation = _dig(app, "status", "operationState")
    operation = operation if isinstance(operation, dict) else {}
    phase = operation.get("phase")
    if phase in ("Running", "Terminating"):
        started = operation.get("startedAt")
        message = operation.get("message")
        raise refuse("operation", f"Application {name} has a sync operation {phase}"
                                  + (f" since {started}" if started else "")
                                  + (f" ({_short(message)})" if message else ""))
    if app.get("operation"):
        raise refuse("operation", f"Application {name} has a sync operation requested that has not finished")

    # 4. The values file at the synced revision carries a tag.
    revision = _dig(app, "status", "sync", "revision")
    if not isinstance(revision, str) or not revision:
        raise refuse("revision", f"Application {name} reports no synced revision (status.sync.revision); an "
                                 "Application with several sources is not supported")
    if not _COMMIT_ID.fullmatch(revision):
        raise refuse("revision", f"Application {name}'s synced revision '{_short(revision, 80)}' is not a git "
                                 "commit id")
    try:
        text = _call(values, revision)
    except Unavailable as exc:
        raise refuse("revision", str(exc)) from None
    try:
        tag = get_scalar(text, key)
    except ValuesFileError as exc:
        raise refuse("revision", f"{values_file} at {revision[:12]} has no usable '{key}': {exc}") from None
    if tag is None or str(tag) == "" or isinstance(tag, (dict, list)):
        raise refuse("revision", f"{values_file} at {revision[:12]} carries no tag at '{key}'")
    tag = str(tag)

    # 5. Every Ready pod runs :tag, pulled by the digest the registry names for it. A pod being deleted is
    # left out: it stays Ready through its pre-stop delay, after the rollout that replaced it has finished.
    pod_list = [pod for pod in _objects(pods) if not _dig(pod, "metadata", "deletionTimestamp")]
    if not pod_list:
        raise refuse("pods", f"no pods of Application {name} were found in {environment}")
    ready = [pod for pod in pod_list if _ready(pod)]
    if not ready:
        names = ", ".join(_dig(pod, "metadata", "name") or "?" for pod in pod_list)
        raise refuse("pods", f"none of the {len(pod_list)} pods of Application {name} is Ready ({_short(names)})")
    running: list[tuple[str, str, str]] = []  # (pod, container, digest)
    for pod in ready:
        pod_name = _dig(pod, "metadata", "name") or "?"
        containers = [c for c in _dig(pod, "spec", "containers") or [] if isinstance(c, dict)]
        ours = [c for c in containers if _tag_of(str(c.get("image", ""))) == tag]
        if not ours:
            images = ", ".join(str(c.get("image", "?")) for c in containers) or "no containers"
            raise refuse("pods", f"pod {pod_name} runs {_short(images, 200)}, not :{tag} (the tag at "
                                 f"{revision[:12]}): the rollout has not finished")
        statuses = {s.get("name"): s for s in _dig(pod, "status", "containerStatuses") or [] if isinstance(s, dict)}
        for container in ours:
            image_id = str((statuses.get(container.get("name")) or {}).get("imageID") or "")
            digest = _digest_of(image_id)
            if not digest:
                raise refuse("pods", f"pod {pod_name} container {container.get('name')} reports no registry digest "
                                     f"(imageID '{_short(image_id, 120)}'), so what it runs cannot be compared with "
                                     f"{image}:{tag}: was the image loaded into the node rather than pulled?")
            running.append((pod_name, str(container.get("name")), digest))
    try:
        expected = _call(registry_digest, tag)
    except Unavailable as exc:
        raise refuse("pods", f"cannot ask the registry for {image}:{tag}: {exc}") from None
    for pod_name, container_name, digest in running:
        if digest != expected:
            raise refuse("pods", f"pod {pod_name} runs {_short_digest(digest)} but {image}:{tag} is "
                                 f"{_short_digest(expected)} in the registry: the tag was pushed again since, or "
                                 "the pod runs an older build")

    # 6. Soaked: Synced and Healthy for long enough.
    moments = []
    for field, value in (("status.operationState.finishedAt", operation.get("finishedAt")),
                         ("status.health.lastTransitionTime", _dig(app, "status", "health", "lastTransitionTime"))):
        if value:
            try:
                moments.append(parse_time(value))
            except ValueError:
                raise refuse("soak", f"Application {name}'s {field} '{_short(value, 60)}' is not a timestamp") from None
    since = max(moments) if moments else None
    soaked = max(0, int((now - since).total_seconds())) if since else None
    if soak > 0 and since is None:
        raise refuse("soak", f"Application {name} tells no time it became Synced and Healthy (no "
                             f"status.operationState.finishedAt or status.health.lastTransitionTime), so its {soak}s "
                             "soak cannot be checked")
    if soaked is not None and soaked < soak:
        remaining = soak - soaked
        raise refuse("soak", f"Application {name} has been Synced and Healthy for {soaked}s since {iso(since)}, "
                             f"less than the {soak}s soak; {remaining}s remain",
                     soak_remaining=remaining, since=iso(since))

    count = len({pod for pod, _container, _digest in running})
    soak_text = f"soaked {soaked}s" if soaked is not None else "soak not measured"
    gate = (f"{environment} Synced+Healthy at {revision[:12]}, {count} pod{'s' if count != 1 else ''} run "
            f"{tag} {_short_digest(expected)}, {soak_text}" + (f" (min {soak}s)" if soak else ""))
    return {
        "tag": tag,
        "revision": revision,
        "digest": expected,
        "since": iso(since) if since else None,
        "soaked_seconds": soaked,
        "gate": gate,
    }

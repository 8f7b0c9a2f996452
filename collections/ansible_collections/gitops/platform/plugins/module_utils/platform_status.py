# -*- coding: utf-8 -*-
# Copyright: contributors to the gitops platform
# Apache License 2.0
"""The platform's status, one row per environment, from what kubernetes.core.k8s_info,
gitops.platform.values_read and ansible.builtin.uri returned.

Each part is judged on its own: a result that failed, was skipped or never ran is reported, not raised. A cell
reads `?` when its part could not be read (the reason is on a line of its own) and `-` when there is nothing
to show (no Application, no autoscaler, no pin).
"""

from __future__ import annotations

import re
from typing import Any

from ansible_collections.gitops.platform.plugins.module_utils.git_remote import redact
from ansible_collections.gitops.platform.plugins.module_utils.image_ref import ImageRefError, parse as parse_image

_ERRNO = re.compile(r"\[Errno -?\d+\] ([^\"'()\n]+)")
# The uri module's message for a connection that failed: "<url" "open error ...>" (the urllib exception's text).
_URL_ERROR = re.compile("^<url" + r"open error (.*)>$", re.S)

UNKNOWN = "?"
NOTHING = "-"
# Labels of the lines around the table, as wide as the widest ("Gitops repo") and two spaces.
LABEL_WIDTH = 13
# The label argocd_app puts on each environment's Application (besides app.kubernetes.io/part-of=<chart>).
ENVIRONMENT_LABEL = "gitops-platform/environment"
# The keys read from the gitops repository: the tag and pin of values-<environment>.yaml, the tag of values.yaml
# it overrides, and the chart's appVersion the chart falls back to when both are empty.
VALUES_KEYS = ["image.tag", "promotion.pin", "appVersion"]
DEFAULT_VERSION_URL = "http://localhost:{nodeport}/version"
# (key of the row, heading): the table's columns, left to right.
COLUMNS = (
    ("name", "ENVIRONMENT"), ("git_tag", "GIT TAG"), ("running", "RUNNING"), ("pods", "PODS"),
    ("commit", "COMMIT"), ("sync", "SYNC"), ("health", "HEALTH"), ("hpa", "HPA"), ("url", "URL"),
    ("served", "SERVED"), ("pin", "PIN"),
)


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


def pod_ready(pod: dict) -> bool:
    """A pod is ready when it reports its containers and every one of them is ready."""
    containers = _dig(pod, "status", "containerStatuses", default=[])
    return bool(containers) and all(container.get("ready") for container in containers)


def _label(label: str, text: str) -> str:
    return f"{label:<{LABEL_WIDTH - 2}}  {text}"


def _cell(value: Any) -> str:
    """`value` on one line; `-` when empty."""
    text = re.sub(r"\s+", " ", "" if value is None else str(value)).strip()
    return text or NOTHING


def _listed(result: Any) -> list | None:
    """The objects a k8s_info result holds, or None when the read failed, did not run or the API has no such kind."""
    if not isinstance(result, dict) or result.get("api_found") is False:
        return None
    resources = result.get("resources")
    return resources if isinstance(resources, list) else None


def version_url(pattern: str, name: str, nodeport: Any) -> str:
    """`pattern` with {name} and {nodeport} filled in; "" when it needs a node port the environment lacks."""
    if "{nodeport}" in pattern and nodeport in (None, ""):
        return ""
    return pattern.replace("{nodeport}", str(nodeport)).replace("{name}", name)


def environments_of(environments: list, chart: str, namespace_prefix: str = "", url_pattern: str = DEFAULT_VERSION_URL,
                    chart_path: str = "") -> list[dict]:
    """Each environment with what is read about it: {name, namespace, application, url, values_file}.

    An entry may set namespace (else <namespace_prefix>-<name>), application (else <chart>-<name>) and url
    (else `url_pattern` with its nodeport); other keys (approval, ...) are ignored."""
    chart_path = chart_path or f"helm/{chart}"
    out = []
    for index, env in enumerate(environments or []):
        if not isinstance(env, dict) or not env.get("name"):
            raise ValueError(f"environment {index + 1} of the list has no name: {env!r}")
        name = str(env["name"])
        out.append({
            "name": name,
            "namespace": str(env.get("namespace") or (f"{namespace_prefix}-{name}" if namespace_prefix else name)),
            "application": str(env.get("application") or f"{chart}-{name}"),
            # An environment's url is where it is served (platform_environments); its version is at /version.
            "url": (str(env["url"]).rstrip("/") + "/version") if env.get("url") else version_url(url_pattern, name, env.get("nodeport")),
            "values_file": f"{chart_path}/values-{name}.yaml",
        })
    return out


def fullname(release: str, chart: str) -> str:
    """The chart's fullname helper: <release>-<chart>, just <release> when it contains the chart's name."""
    name = release if chart in release else f"{release}-{chart}"
    return name[:63].removesuffix("-")


def _application(env: dict, applications: list) -> dict | None:
    """The environment's Application: named <chart>-<environment>, else labelled with the environment."""
    for app in applications:
        if _dig(app, "metadata", "name") == env["application"]:
            return app
    for app in applications:
        if _dig(app, "metadata", "labels", ENVIRONMENT_LABEL) == env["name"]:
            return app
    return None


def application_cells(app: dict | None) -> dict[str, str]:
    """commit (12 characters), sync and health of an Application; `missing` when there is none."""
    if app is None:
        return {"commit": NOTHING, "sync": "missing", "health": NOTHING}
    revision = _dig(app, "status", "sync", "revision") or (_dig(app, "status", "sync", "revisions", default=[]) or [""])[0]
    return {"commit": _cell(str(revision or "")[:12]),
            "sync": _cell(_dig(app, "status", "sync", "status", default="Unknown")),
            "health": _cell(_dig(app, "status", "health", "status", default="Unknown"))}


def image_tag(image: str) -> str:
    """The tag of an image reference; @<digest> (shortened) when it has none but a digest, latest when neither."""
    try:
        ref = parse_image(image)
    except ImageRefError:
        return image
    if ref.tag:
        return ref.tag
    return f"@{ref.digest[:19]}" if ref.digest else "latest"


def pod_cells(pods: list, container: str) -> dict[str, str]:
    """pods (<ready>/<total>) and running (the tags of the app's container, in the order the pods list them)."""
    tags: list[str] = []
    for pod in pods:
        containers = _dig(pod, "spec", "containers", default=[]) or [{}]
        chosen = next((item for item in containers if item.get("name") == container), containers[0])
        tag = image_tag(str(chosen.get("image") or "")) if chosen.get("image") else UNKNOWN
        if tag not in tags:
            tags.append(tag)
    ready = sum(1 for pod in pods if pod_ready(pod))
    return {"pods": f"{ready}/{len(pods)}", "running": ",".join(tags) or NOTHING}


def hpa_cell(hpa: dict | None) -> str:
    """<current>/<desired> (<min>..<max>) replicas of an autoscaler; `-` when there is none."""
    if hpa is None:
        return NOTHING

    def number(*keys: str, default: Any = UNKNOWN) -> str:
        value = _dig(hpa, *keys)
        return str(value) if isinstance(value, int) else str(default)
    return (f"{number('status', 'currentReplicas')}/{number('status', 'desiredReplicas')} "
            f"({number('spec', 'minReplicas', default=1)}..{number('spec', 'maxReplicas')})")


def _hpa(env: dict, app: dict | None, hpas: list, chart: str) -> dict | None:
    """The autoscaler of the environment's Deployment: in its namespace, named like it or scaling it."""
    release = _dig(app, "spec", "source", "helm", "releaseName") or env["application"]
    target = fullname(str(release), chart)
    for hpa in hpas:
        if _dig(hpa, "metadata", "namespace") == env["namespace"] and target in (
                _dig(hpa, "metadata", "name"), _dig(hpa, "spec", "scaleTargetRef", "name")):
            return hpa
    return None


def served_cell(result: dict | None) -> str:
    """The version an environment answers with, `HTTP <status>: <body>`, or `no answer (<reason>)`."""
    if not isinstance(result, dict) or result.get("skipped"):
        return UNKNOWN
    status = result.get("status")
    status = status if isinstance(status, int) else -1
    if status == 200 and "json" in result:
        return _cell(result["json"].get("version", UNKNOWN) if isinstance(result["json"], dict) else UNKNOWN)
    if status > 0:
        body = _cell(result.get("content"))
        return f"HTTP {status}" + (f": {truncate(body, 40)}" if body != NOTHING else "")
    reason = re.sub(r"^.*Request failed: ", "", str(result.get("msg") or "connection failed"), flags=re.S).strip()
    reason = _URL_ERROR.sub(r"\1", reason)
    errno = _ERRNO.search(reason)
    reason = errno.group(1).strip() if errno else reason
    return f"no answer ({truncate(_cell(reason), 60)})"


def _served_by_name(served: Any) -> dict[str, dict]:
    """The uri loop's results by environment name (the loop's item)."""
    results = served.get("results") if isinstance(served, dict) else None
    return {str(_dig(result, "item", "name")): result for result in results or [] if isinstance(result, dict)}


def desired_tag(env_values: dict, base_values: dict, chart_values: dict) -> str:
    """The tag the chart renders: values-<environment>.yaml's image.tag over values.yaml's, the chart's appVersion
    when that is empty (`.Values.image.tag | default .Chart.AppVersion`)."""
    tag = env_values.get("image.tag")
    if tag is None:
        tag = base_values.get("image.tag")
    if tag in (None, ""):
        tag = chart_values.get("appVersion")
    return UNKNOWN if tag in (None, "") else _cell(tag)


def _git_reason(result: dict) -> str:
    return truncate(re.sub(r"\s+", " ", str(result.get("reason") or api_error(result, "no answer", 1000))), 160)


def _table(rows: list[dict]) -> list[str]:
    """The rows under a heading, each column as wide as its widest cell; no line ends in spaces."""
    grid = [[heading for key, heading in COLUMNS]] + [[_cell(row[key]) for key, heading in COLUMNS] for row in rows]
    widths = [max(len(line[column]) for line in grid) for column in range(len(COLUMNS))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in grid]


def summary(results: dict, environments: list, chart: str, namespace_prefix: str = "",
            version_url: str = DEFAULT_VERSION_URL, argocd_namespace: str = "argocd", gitops_repo: str = "",
            gitops_branch: str = "main", chart_path: str = "") -> dict:
    """The report: {nodes, git, environments, notes, header, lines, values_files, values_keys}.

    `results` holds the registered reads by part: nodes, applications, pods, hpas (kubernetes.core.k8s_info),
    values (gitops.platform.values_read) and served (the ansible.builtin.uri loop over the environments). A
    missing part counts as not read, so `summary({}, ...)` gives what the reads need: each environment's
    namespace, Application, URL and values file, and values_files/values_keys to read.
    """
    results = results or {}
    chart_path = chart_path or f"helm/{chart}"
    envs = environments_of(environments, chart, namespace_prefix, version_url, chart_path)
    notes: list[str] = []

    up = reachable(results.get("nodes"))
    applications = _listed(results.get("applications"))
    if up and applications is None:
        notes.append(_label("Argo CD", "not installed (no Application CRD)")
                     if (results.get("applications") or {}).get("api_found") is False
                     else _label("Argo CD", f"Applications not read ({api_error(results.get('applications'))})"))
    pods = _listed(results.get("pods"))
    if up and pods is None:
        notes.append(_label("Pods", f"not read ({api_error(results.get('pods'))})"))
    hpas = _listed(results.get("hpas"))
    if up and hpas is None:
        notes.append(_label("Autoscalers", "not served (no autoscaling/v2 API)")
                     if (results.get("hpas") or {}).get("api_found") is False
                     else _label("Autoscalers", f"not read ({api_error(results.get('hpas'))})"))

    values = results.get("values") if isinstance(results.get("values"), dict) else {}
    files = values.get("files") if isinstance(values.get("files"), dict) and not values.get("failed") else None
    if not gitops_repo:
        git = "git: no repository given (set platform_gitops_repo, or platform_status_gitops_repo)"
    elif files is None:
        git = f"git: {_git_reason(values)}" if values and not values.get("skipped") else "git: not read"
    else:
        git = f"{redact(gitops_repo)} {gitops_branch} at {str(values.get('commit') or '')[:12] or UNKNOWN}"
        missing = set(values.get("missing") or [])
        for env in envs:
            if env["values_file"] in missing:
                notes.append(_label("Values", f"{env['values_file']} is not in the repository"))
        for path, reason in sorted((values.get("errors") or {}).items()):
            notes.append(_label("Values", f"{path}: {truncate(_cell(reason), 160)}"))

    served = _served_by_name(results.get("served"))
    rows = []
    for env in envs:
        row = dict(env)
        app = _application(env, applications) if applications is not None else None
        if up and applications is not None:
            row.update(application_cells(app))
        else:
            row.update(commit=UNKNOWN, sync=UNKNOWN, health=UNKNOWN)
        if up and pods is not None:
            row.update(pod_cells([pod for pod in pods if _dig(pod, "metadata", "namespace") == env["namespace"]], chart))
        else:
            row.update(pods=UNKNOWN, running=UNKNOWN)
        row["hpa"] = hpa_cell(_hpa(env, app, hpas, chart)) if up and hpas is not None else UNKNOWN
        env_values = (files or {}).get(env["values_file"])
        if files is None or not isinstance(env_values, dict) or env["values_file"] in (values.get("missing") or []):
            row.update(git_tag=UNKNOWN, pin=UNKNOWN)
        else:
            row["git_tag"] = desired_tag(env_values, files.get(f"{chart_path}/values.yaml") or {},
                                         files.get(f"{chart_path}/Chart.yaml") or {})
            row["pin"] = _cell(env_values.get("promotion.pin"))
        row["served"] = served_cell(served.get(env["name"])) if env["url"] else NOTHING
        rows.append(row)

    table = _table(rows)
    for row, line in zip(rows, table[1:]):
        row["line"] = line
    unique_notes = list(dict.fromkeys(notes))
    nodes = nodes_line(results.get("nodes"))
    return {
        "nodes": nodes,
        "git": git,
        "environments": rows,
        "notes": unique_notes,
        "header": table[0],
        "lines": [_label("Nodes", nodes), _label("Gitops repo", git), *table, *unique_notes],
        "values_files": [f"{chart_path}/Chart.yaml", f"{chart_path}/values.yaml"] + [env["values_file"] for env in envs],
        "values_keys": list(VALUES_KEYS),
    }

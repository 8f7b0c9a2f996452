"""A Kubernetes API server in one Python thread, just real enough for kubernetes.core.

It answers discovery (/version, /api, /apis and each group version) and keeps objects in memory:
get, list (in one namespace or all; by label selector when started with label_selectors=True), create (POST),
replace (PUT), server-side apply and merge patches (PATCH), delete. An
object with finalizers is only marked as being deleted, as the real API server does, so a delete
that waits never sees it go. Nothing reconciles: a Deployment is never rolled out and an Argo CD
Application never syncs, unless a test seeds them that way or passes `on_store`, which fills in
what a controller would each time an object is written.

Enough to drive the roles' waits to their timeouts without a cluster. Plain HTTP on 127.0.0.1.
"""

from __future__ import annotations

import copy
import json
import threading
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import yaml

# (group, version) -> [(plural, kind, namespaced)]
RESOURCES: dict[tuple[str, str], list[tuple[str, str, bool]]] = {
    ("", "v1"): [
        ("namespaces", "Namespace", False),
        ("nodes", "Node", False),
        ("secrets", "Secret", True),
        ("configmaps", "ConfigMap", True),
        ("services", "Service", True),
        ("serviceaccounts", "ServiceAccount", True),
        ("pods", "Pod", True),
    ],
    ("apps", "v1"): [
        ("deployments", "Deployment", True),
        ("statefulsets", "StatefulSet", True),
        ("daemonsets", "DaemonSet", True),
    ],
    ("apiregistration.k8s.io", "v1"): [
        ("apiservices", "APIService", False),
    ],
    ("autoscaling", "v2"): [
        ("horizontalpodautoscalers", "HorizontalPodAutoscaler", True),
    ],
    ("apiextensions.k8s.io", "v1"): [
        ("customresourcedefinitions", "CustomResourceDefinition", False),
    ],
    ("rbac.authorization.k8s.io", "v1"): [
        ("clusterroles", "ClusterRole", False),
        ("clusterrolebindings", "ClusterRoleBinding", False),
        ("roles", "Role", True),
        ("rolebindings", "RoleBinding", True),
    ],
    ("argoproj.io", "v1alpha1"): [
        ("applications", "Application", True),
        ("applicationsets", "ApplicationSet", True),
        ("appprojects", "AppProject", True),
    ],
}
VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]

# kind -> (group, version, plural, namespaced); (group, plural) -> (version, kind)
_BY_KIND = {kind: (group, version, plural, namespaced)
            for (group, version), entries in RESOURCES.items() for plural, kind, namespaced in entries}
_BY_PLURAL = {(group, plural): (version, kind)
              for (group, version), entries in RESOURCES.items() for plural, kind, _ in entries}

Key = tuple[str, str, str, str]  # group, plural, namespace ('' when cluster-scoped), name


def _api_version(group: str, version: str) -> str:
    return f"{group}/{version}" if group else version


def selects(selector: str, labels: dict | None) -> bool:
    """Whether `labels` match an equality-based label selector: `k=v`, `k==v`, `k!=v`, `k`, `!k`, comma-separated."""
    labels = labels or {}
    for term in filter(None, (part.strip() for part in selector.split(","))):
        if "!=" in term:
            key, value = (side.strip() for side in term.split("!=", 1))
            matched = labels.get(key) != value
        elif "=" in term:
            key, value = (side.strip() for side in term.replace("==", "=", 1).split("=", 1))
            matched = labels.get(key) == value
        elif term.startswith("!"):
            matched = term[1:].strip() not in labels
        else:
            matched = term in labels
        if not matched:
            return False
    return True


def _merge(base: dict, patch: dict) -> dict:
    """RFC 7386 merge patch: dicts merge recursively, None deletes, anything else replaces."""
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


class FakeKubeAPI:
    """Start with `with FakeKubeAPI() as api:`; `api.url` is the server's address.

    label_selectors=True makes lists honour `?labelSelector=` as the API server does; off by default, where a list
    returns every object of its kind (and namespace), which the tests written before it expect."""

    def __init__(self, on_store: Callable[[dict], None] | None = None, label_selectors: bool = False) -> None:
        self.objects: dict[Key, dict] = {}
        self.label_selectors = label_selectors
        self.requests: list[tuple[str, str]] = []
        self.on_store = on_store
        self.lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.api = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeKubeAPI:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def seed(self, *objects: dict) -> None:
        """Store objects as they are (status included), as if the cluster already had them."""
        for obj in objects:
            group, _, plural, namespaced = _BY_KIND[obj["kind"]]
            meta = obj["metadata"]
            key = (group, plural, meta.get("namespace", "") if namespaced else "", meta["name"])
            self.store(key, copy.deepcopy(obj))

    def get(self, kind: str, name: str, namespace: str = "") -> dict | None:
        group, _, plural, namespaced = _BY_KIND[kind]
        return self.objects.get((group, plural, namespace if namespaced else "", name))

    def store(self, key: Key, obj: dict) -> dict:
        """Write `obj` under `key` with the metadata the API server maintains, then call on_store."""
        group, plural, namespace, name = key
        version, kind = _BY_PLURAL[(group, plural)]
        obj["apiVersion"], obj["kind"] = _api_version(group, version), kind
        meta = obj.setdefault("metadata", {})
        meta["name"] = name
        if namespace:
            meta["namespace"] = namespace
        previous = (self.objects.get(key) or {}).get("metadata", {})
        meta["uid"] = previous.get("uid") or meta.get("uid") or str(uuid.uuid4())
        meta.setdefault("creationTimestamp", "2024-01-01T00:00:00Z")
        meta["resourceVersion"] = str(len(self.requests) + 1)
        unchanged = key in self.objects and self.objects[key].get("spec") == obj.get("spec")
        meta["generation"] = previous.get("generation", 1) if unchanged else previous.get("generation", 0) + 1
        if self.on_store:
            self.on_store(obj)
        self.objects[key] = obj
        return obj


class _Handler(BaseHTTPRequestHandler):
    server: ThreadingHTTPServer
    selector = ""  # the request's labelSelector, when the server honours them

    @property
    def api(self) -> FakeKubeAPI:
        return self.server.api  # type: ignore[attr-defined]

    def log_message(self, *_: object) -> None:  # keeps pytest's output clean
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's names)
        self._route("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._route("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._route("PUT")

    def do_PATCH(self) -> None:  # noqa: N802
        self._route("PATCH")

    def do_DELETE(self) -> None:  # noqa: N802
        self._route("DELETE")

    def _send(self, code: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _status(self, code: int, reason: str, message: str) -> None:
        self._send(code, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                          "message": message, "reason": reason, "code": code})

    def _body(self) -> dict:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        return (yaml.safe_load(raw) if raw else None) or {}  # JSON, or YAML for apply patches

    def _route(self, method: str) -> None:
        split = urlsplit(self.path)
        parts = [part for part in split.path.split("/") if part]
        with self.api.lock:
            self.api.requests.append((method, self.path))
            query = parse_qs(split.query)
            self.selector = query.get("labelSelector", [""])[0] if self.api.label_selectors else ""
            self._dispatch(method, parts, "All" in query.get("dryRun", []))

    def _dispatch(self, method: str, parts: list[str], dry_run: bool) -> None:
        if parts == ["version"]:
            return self._send(200, {"major": "1", "minor": "33", "gitVersion": "v1.33.0", "platform": "linux/amd64"})
        if parts == ["api"]:
            return self._send(200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []})
        if parts == ["apis"]:
            groups = [{"name": group, "versions": [{"groupVersion": f"{group}/{version}", "version": version}],
                       "preferredVersion": {"groupVersion": f"{group}/{version}", "version": version}}
                      for group, version in RESOURCES if group]
            return self._send(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
        if parts[:1] == ["api"] and len(parts) >= 2:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 3:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            return self._status(404, "NotFound", f"no such path {self.path}")
        if (group, version) not in RESOURCES:
            return self._status(404, "NotFound", f"no group version {group}/{version}")
        if not rest:
            resources = [{"name": plural, "singularName": kind.lower(), "namespaced": namespaced, "kind": kind,
                          "verbs": VERBS} for plural, kind, namespaced in RESOURCES[(group, version)]]
            return self._send(200, {"kind": "APIResourceList", "groupVersion": _api_version(group, version),
                                    "resources": resources})
        namespace = ""
        if rest[0] == "namespaces" and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        plural, name = rest[0], (rest[1] if len(rest) > 1 else "")
        if (group, plural) not in _BY_PLURAL:
            return self._status(404, "NotFound", f"the server could not find the requested resource ({plural})")
        if name:
            return self._item(method, (group, plural, namespace, name), dry_run)
        return self._collection(method, group, plural, namespace, dry_run)

    def _collection(self, method: str, group: str, plural: str, namespace: str, dry_run: bool) -> None:
        version, kind = _BY_PLURAL[(group, plural)]
        if method == "GET":
            items = [copy.deepcopy(obj) for (g, p, ns, _), obj in sorted(self.api.objects.items())
                     if (g, p) == (group, plural) and (not namespace or ns == namespace)
                     and selects(self.selector, obj.get("metadata", {}).get("labels"))]
            return self._send(200, {"kind": f"{kind}List", "apiVersion": _api_version(group, version),
                                    "metadata": {"resourceVersion": str(len(self.api.requests))}, "items": items})
        if method == "POST":
            body = self._body()
            key = (group, plural, namespace, body.get("metadata", {}).get("name", ""))
            if key in self.api.objects:
                return self._status(409, "AlreadyExists", f'{plural} "{key[3]}" already exists')
            return self._send(201, copy.deepcopy(body) if dry_run else self.api.store(key, body))
        return self._status(405, "MethodNotAllowed", f"{method} on a collection")

    def _item(self, method: str, key: Key, dry_run: bool) -> None:
        existing = self.api.objects.get(key)
        plural, name = key[1], key[3]
        if existing is None and not (method == "PATCH" and "apply-patch" in (self.headers.get("Content-Type") or "")):
            return self._status(404, "NotFound", f'{plural} "{name}" not found')  # only server-side apply creates
        if method == "GET":
            return self._send(200, existing)
        if method in ("PUT", "PATCH"):
            body = self._body()
            merged = body if method == "PUT" or existing is None else _merge(existing, body)
            if dry_run:
                return self._send(200, merged)
            return self._send(201 if existing is None else 200, self.api.store(key, merged))
        if method == "DELETE":
            if existing.get("metadata", {}).get("finalizers"):
                if not dry_run:
                    existing["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z"
                return self._send(200, existing)
            if not dry_run:
                del self.api.objects[key]
            return self._send(200, {"kind": "Status", "apiVersion": "v1", "status": "Success",
                                    "details": {"name": name, "kind": plural}})
        return self._status(405, "MethodNotAllowed", method)


def write_kubeconfig(path: Path, server: str, context: str = "test") -> Path:
    """A kubeconfig whose one context points at `server` with a dummy token."""
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": {"server": server}}],
        "users": [{"name": context, "user": {"token": "not-a-secret"}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
        "current-context": context,
    }))
    return path

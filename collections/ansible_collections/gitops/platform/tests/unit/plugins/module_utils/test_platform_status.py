from __future__ import annotations

import pytest

from ansible_collections.gitops.platform.plugins.module_utils.platform_status import api_error, summary, truncate

URL = "http://localhost:30080/version"
REFUSED = (
    "Traceback (most recent call last):\n  File \"urllib3/connection.py\", line 73, in create_connection\n"
    "ConnectionRefusedError: [Errno 111] Connection refused\n\nDuring handling ...\n"
    "urllib3.exceptions.MaxRetryError: HTTPConnectionPool(host='127.0.0.1', port=1): Max retries exceeded\n"
)


def node(name: str, ready: str | None = "True") -> dict:
    conditions = [{"type": "MemoryPressure", "status": "False"}] + ([{"type": "Ready", "status": ready}] if ready else [])
    return {"metadata": {"name": name}, "status": {"conditions": conditions}}


def pod(name: str, phase: str | None = "Running", *ready: bool) -> dict:
    status = {"containerStatuses": [{"name": f"c{i}", "ready": value} for i, value in enumerate(ready)]} if ready else {}
    return {"metadata": {"name": name}, "status": status | ({"phase": phase} if phase else {})}


def app(sync: str | None = "Synced", health: str | None = "Healthy", revision: str | None = "0123456789abcdef") -> dict:
    status = {"sync": {"status": sync, "revision": revision}, "health": {"status": health}}
    return {"metadata": {"name": "demo", "namespace": "argocd"}, "status": status}


def found(*resources: dict) -> dict:
    return {"changed": False, "api_found": True, "resources": list(resources)}


UP = found(node("n1"))
SERVED = {"status": 200, "json": {"name": "demo", "version": "1.2.3"}}
DOWN = {"status": -1, "msg": "Status code was -1 and not [200]: Request failed: <urlopen error [Errno 111] Connection refused>"}

# (what a test calls it, registered results, line it checks, expected line)
CASES = [
    # The node list: reachable or not, and why not.
    ("nodes-ready", {"nodes": found(node("n1"), node("n2", "False"), node("n3", None))}, "nodes", "1/3 Ready: n1, n2, n3"),
    ("nodes-empty", {"nodes": found()}, "nodes", "0/0 Ready: "),
    ("nodes-crash", {"nodes": {"failed": True, "module_stderr": REFUSED, "msg": "Module result deserialization failed"}},
     "nodes", "not reachable (Connection refused)"),
    ("nodes-msg", {"nodes": {"failed": True, "msg": "Could not create API client: Invalid kube-config file.\n  No configuration found."}},
     "nodes", "not reachable (Invalid kube-config file. No configuration found.)"),
    ("nodes-nothing", {}, "nodes", "not reachable (the API server does not answer)"),
    ("nodes-long", {"nodes": {"msg": "word " * 40}}, "nodes", f"not reachable ({'word ' * 22}word...)"),
    # The Application, read only when the cluster answered.
    ("app-unreachable", {"nodes": {"msg": "down"}, "application": found(app())}, "application", "unknown (cluster not reachable)"),
    ("app-no-crd", {"nodes": UP, "application": {"api_found": False, "resources": []}}, "application",
     "Argo CD is not installed (no Application CRD)"),
    ("app-missing", {"nodes": UP, "application": found()}, "application", "no Application demo in namespace argocd"),
    ("app-synced", {"nodes": UP, "application": found(app())}, "application",
     "demo: sync=Synced, health=Healthy, revision=0123456789ab"),
    ("app-no-status", {"nodes": UP, "application": found({"metadata": {"name": "demo"}})}, "application",
     "demo: sync=Unknown, health=Unknown, revision=none"),
    ("app-out-of-sync", {"nodes": UP, "application": found(app("OutOfSync", "Degraded", None))}, "application",
     "demo: sync=OutOfSync, health=Degraded, revision=none"),
    # The app's pods: ready means every container reported and ready.
    ("pods-unreachable", {"nodes": {}, "pods": found(pod("p"))}, "pods", "unknown (cluster not reachable)"),
    ("pods-none", {"nodes": UP, "pods": found()}, "pods", "none in namespace demo"),
    ("pods-read-failed", {"nodes": UP, "pods": {"failed": True, "msg": "forbidden"}}, "pods", "none in namespace demo"),
    ("pods-mixed",
     {"nodes": UP, "pods": found(pod("a", "Running", True, True), pod("b", "Pending", True, False), pod("c", "Pending"),
                                 pod("d", None))},
     "pods", "1/4 ready in demo: a Running, b Pending, c Pending, d Unknown"),
    # The version the app serves.
    ("served", {"served": SERVED}, "served", f"1.2.3 at {URL}"),
    ("served-no-version", {"served": {"status": 200, "json": {"name": "demo"}}}, "served", f"? at {URL}"),
    ("served-json-list", {"served": {"status": 200, "json": ["1.2.3"]}}, "served", f"? at {URL}"),
    ("served-not-json", {"served": {"status": 200, "content": "<html>ok</html>"}}, "served", f"HTTP 200 from {URL}: <html>ok</html>"),
    ("served-503", {"served": {"status": 503, "content": "  upstream broke \n"}}, "served", f"HTTP 503 from {URL}: upstream broke"),
    ("served-refused", {"served": DOWN}, "served", f"no answer from {URL} (<urlopen error [Errno 111] Connection refused>)"),
    ("served-no-msg", {"served": {"status": -1}}, "served", f"no answer from {URL} (connection failed)"),
    ("served-skipped", {"served": {"skipped": True}}, "served", f"no answer from {URL} (connection failed)"),
]


@pytest.mark.parametrize(("results", "line", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_summary_line(results: dict, line: str, expected: str) -> None:
    assert summary(results, "demo", "demo", URL)[line] == expected


def test_summary_of_a_running_platform() -> None:
    results = {"nodes": UP, "application": found(app()), "pods": found(pod("demo-1", "Running", True)), "served": SERVED}
    assert summary(results, "demo", "demo", URL, argocd_namespace="gitops") == {
        "nodes": "1/1 Ready: n1",
        "application": "demo: sync=Synced, health=Healthy, revision=0123456789ab",
        "pods": "1/1 ready in demo: demo-1 Running",
        "served": f"1.2.3 at {URL}",
    }
    assert summary({"nodes": UP}, "demo", "demo", URL, argocd_namespace="gitops")["application"] == (
        "no Application demo in namespace gitops")


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        ({"module_stderr": REFUSED}, "Connection refused"),
        ({"module_stderr": "Traceback ...\nkubernetes.config.ConfigException: Invalid kube-config file."},
         "kubernetes.config.ConfigException: Invalid kube-config file."),
        ({"module_stderr": "[Errno -2] Name or service not known"}, "Name or service not known"),
        ({"msg": "Could not create API client: no\n context"}, "no context"),
        ({}, "no answer"),
        (None, "no answer"),
    ],
)
def test_api_error(result: dict | None, expected: str) -> None:
    assert api_error(result) == expected


@pytest.mark.parametrize(
    ("text", "length", "expected"),
    [
        ("short", 10, "short"),
        ("exactly fifteen", 10, "exactly fifteen"),  # within the leeway of 5
        ("one two three four", 10, "one..."),
        ("onetwothreefour!", 10, "onetwot..."),  # no space to cut at
        ("word " * 40, 120, "word " * 22 + "word..."),
    ],
)
def test_truncate_as_jinja_does(text: str, length: int, expected: str) -> None:
    """The lines read as they did when the report was a Jinja template (Jinja's own truncate: ../filter)."""
    assert truncate(text, length) == expected

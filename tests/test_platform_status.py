"""playbooks/status.yml (roles/platform_status) against a cluster that does not answer and a fake API server.

The lines themselves are table-tested with the filter (the collection's test_platform_status.py); these runs prove
that the role feeds it what kubernetes.core and ansible.builtin.uri really return, changes nothing, and runs the same
in check mode. No cluster, no Docker: tests/fake_kube_api.py and an HTTP server on loopback stand in for them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.fake_kube_api import FakeKubeAPI, write_kubeconfig

PROJECT = Path(__file__).resolve().parents[1]
ANSIBLE_PLAYBOOK = Path(sys.executable).with_name("ansible-playbook")
CLOSED = "http://127.0.0.1:1"


class _Version(BaseHTTPRequestHandler):
    """The app's /version."""

    def log_message(self, *_: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's names)
        body = json.dumps({"name": "demo-flask-app", "version": "1.2.3"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture()
def app_port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Version)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()


def _node(name: str, ready: str) -> dict:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
            "status": {"conditions": [{"type": "Ready", "status": ready}]}}


def _pod(name: str, phase: str, *ready: bool) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "demo"},
            "status": {"phase": phase, "containerStatuses": [{"name": "app", "ready": value} for value in ready]}}


PLATFORM = (
    _node("gitops-demo-control-plane", "True"), _node("gitops-demo-worker", "False"),
    {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
     "metadata": {"name": "demo-flask-app", "namespace": "argocd"},
     "status": {"sync": {"status": "Synced", "revision": "5f0c2e1a9b3d7e6f"}, "health": {"status": "Healthy"}}},
    _pod("demo-flask-app-1", "Running", True), _pod("demo-flask-app-2", "Pending", False),
)


def status(tmp_path: Path, server: str, port: int, *flags: str) -> tuple[list[str], str]:
    """The report's lines and the play recap of one run of playbooks/status.yml."""
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", server)
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    env.update(HOME=str(tmp_path), TMPDIR=str(tmp_path), ANSIBLE_NOCOLOR="1", ANSIBLE_CALLBACK_RESULT_FORMAT="json")
    run = subprocess.run(
        [str(ANSIBLE_PLAYBOOK), "playbooks/status.yml", "-e", f"platform_kubeconfig={kubeconfig}",
         "-e", "platform_kube_context=test", "-e", f"platform_app_nodeport={port}", *flags],
        cwd=PROJECT, env=env, capture_output=True, text=True, check=False, timeout=300,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    shown = re.search(r"TASK \[platform_status : Show the platform's status\][^\n]*\nok: \[localhost\] => (\{.*?\n\})\n",
                      run.stdout, re.S)
    assert shown, run.stdout[-4000:]
    recap = re.search(r"localhost\s+: (ok=.*)", run.stdout)
    return json.loads(shown.group(1))["msg"].splitlines(), recap.group(1) if recap else ""


def test_a_cluster_that_does_not_answer(tmp_path: Path) -> None:
    lines, recap = status(tmp_path, CLOSED, 1)
    assert lines == [
        f"Cluster      test (kind, kubeconfig {tmp_path / 'kubeconfig'})",
        "Nodes        not reachable (Connection refused)",
        "Argo CD app  unknown (cluster not reachable)",
        "App pods     unknown (cluster not reachable)",
        "Served       no answer from http://localhost:1/version (<urlopen error [Errno 111] Connection refused>)",
    ]
    assert "changed=0" in recap and "failed=0" in recap


@pytest.mark.parametrize("flags", [(), ("--check",)], ids=["run", "check-mode"])
def test_a_running_platform(tmp_path: Path, app_port: int, flags: tuple[str, ...]) -> None:
    with FakeKubeAPI() as api:
        api.seed(*PLATFORM)
        lines, recap = status(tmp_path, api.url, app_port, *flags)
    assert lines[1:] == [
        "Nodes        1/2 Ready: gitops-demo-control-plane, gitops-demo-worker",
        "Argo CD app  demo-flask-app: sync=Synced, health=Healthy, revision=5f0c2e1a9b3d",
        "App pods     1/2 ready in demo: demo-flask-app-1 Running, demo-flask-app-2 Pending",
        f"Served       1.2.3 at http://localhost:{app_port}/version",
    ]
    assert "changed=0" in recap and "failed=0" in recap

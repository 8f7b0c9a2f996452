"""playbooks/status.yml (roles/platform_status) against a cluster that does not answer and a fake API server.

The rows themselves are table-tested with the filter (the collection's test_platform_status.py); these runs prove
that the role feeds it what kubernetes.core, gitops.platform.values_read and ansible.builtin.uri really return
(label selectors, all-namespace lists, a real git clone, one URL per environment), changes nothing, and runs the
same in check mode. No cluster, no Docker: tests/fake_kube_api.py, a bare git repository and HTTP servers on
loopback stand in for them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.fake_kube_api import FakeKubeAPI, write_kubeconfig
from tests.promotion.conftest import Remote, git, remote  # noqa: F401 (remote is a fixture)

PROJECT = Path(__file__).resolve().parents[1]
ANSIBLE_PLAYBOOK = Path(sys.executable).with_name("ansible-playbook")
CLOSED = "http://127.0.0.1:1"
CHART = "demo-flask-app"
PIN = "rolled back by alice: 0.2.0 broke checkout"


def _answering(status: int, body: dict | str) -> type[BaseHTTPRequestHandler]:
    """An app's /version that answers `status` with `body` (JSON when a dict)."""
    class Answer(BaseHTTPRequestHandler):
        def log_message(self, *_: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 (http.server's names)
            data = (json.dumps(body) if isinstance(body, dict) else body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json" if isinstance(body, dict) else "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
    return Answer


@pytest.fixture()
def serve() -> Iterator[Callable[[int, dict | str], int]]:
    """Starts an app on loopback that answers `status` with `body`; returns its port."""
    servers: list[ThreadingHTTPServer] = []

    def start(status: int, body: dict | str) -> int:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _answering(status, body))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server.server_address[1]
    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _node(name: str, ready: str) -> dict:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
            "status": {"conditions": [{"type": "Ready", "status": ready}]}}


def _application(env: str, sync: str, health: str, revision: str, part_of: str = CHART) -> dict:
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": f"{part_of}-{env}", "namespace": "argocd",
                         "labels": {"app.kubernetes.io/part-of": part_of, "gitops-platform/environment": env}},
            "status": {"sync": {"status": sync, "revision": revision}, "health": {"status": health}}}


def _pod(name: str, namespace: str, tag: str, phase: str, ready: bool, app: str = CHART) -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": {"app.kubernetes.io/name": app}},
            "spec": {"containers": [{"name": app, "image": f"registry.example/acme/{app}:{tag}"}]},
            "status": {"phase": phase, "containerStatuses": [{"name": app, "ready": ready}]}}


def _hpa(namespace: str, name: str, current: int, desired: int, low: int, high: int) -> dict:
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": name, "namespace": namespace, "labels": {"app.kubernetes.io/name": CHART}},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                     "minReplicas": low, "maxReplicas": high},
            "status": {"currentReplicas": current, "desiredReplicas": desired}}


PLATFORM = (
    _node("gitops-demo-control-plane", "True"), _node("gitops-demo-worker", "False"),
    _application("dev", "Synced", "Healthy", "5f0c2e1a9b3d7e6f"),
    _application("staging", "OutOfSync", "Progressing", "1234567890abcdef"),
    _application("production", "Synced", "Healthy", "5f0c2e1a9b3d7e6f"),
    _application("dev", "Synced", "Degraded", "ffffffffffffffff", part_of="other"),  # another chart's: not read
    _pod("demo-flask-app-dev-1", "demo-dev", "0.2.0", "Running", True),
    _pod("debug", "demo-dev", "9.9.9", "Running", True, app="busybox"),  # not the app's: not read
    _pod("demo-flask-app-staging-1", "demo-staging", "0.1.0", "Running", True),
    _pod("demo-flask-app-staging-2", "demo-staging", "0.2.0", "Pending", False),
    _pod("demo-flask-app-production-1", "demo-production", "0.1.0", "Running", True),
    _pod("demo-flask-app-production-2", "demo-production", "0.1.0", "Running", True),
    _pod("demo-flask-app-1", "demo", "0.0.9", "Running", True),  # the namespace before environments: no row
    _hpa("demo-production", "demo-flask-app-production", 2, 3, 2, 4),
)


def _set_values(remote: Remote, tmp_path: Path) -> str:
    """dev and staging at 0.2.0 in git, production pinned; returns the commit."""
    work = tmp_path / "work"
    git("clone", "--quiet", str(remote.path), str(work))
    for env, tag, pin in (("dev", "0.2.0", ""), ("staging", "0.2.0", ""), ("production", "0.1.0", PIN)):
        path = work / "helm" / CHART / f"values-{env}.yaml"
        text = re.sub(r'(\n  tag: )"[^"]*"', rf'\g<1>"{tag}"', path.read_text())
        path.write_text(re.sub(r'(\n  pin: )"[^"]*"', rf'\g<1>"{pin}"', text))
    git("-c", "user.name=t", "-c", "user.email=t@localhost", "commit", "--quiet", "-am", "Promote", cwd=work)
    git("push", "--quiet", "origin", "HEAD:main", cwd=work)
    return remote.head()


def status(tmp_path: Path, server: str, extra: dict, *flags: str) -> tuple[list[str], str]:
    """The report's lines and the play recap of one run of playbooks/status.yml."""
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", server)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ANSIBLE_", "GITOPS_"))}
    env.update(HOME=str(tmp_path), TMPDIR=str(tmp_path), ANSIBLE_NOCOLOR="1", ANSIBLE_CALLBACK_RESULT_FORMAT="json")
    variables = {"platform_kubeconfig": str(kubeconfig), "platform_kube_context": "test", **extra}
    run = subprocess.run(
        [str(ANSIBLE_PLAYBOOK), "playbooks/status.yml", "-e", json.dumps(variables), *flags],
        cwd=PROJECT, env=env, capture_output=True, text=True, check=False, timeout=300,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    shown = re.search(r"TASK \[platform_status : Show the platform's status\][^\n]*\nok: \[localhost\] => (\{.*?\n\})\n",
                      run.stdout, re.S)
    assert shown, run.stdout[-4000:]
    recap = re.search(r"localhost\s+: (ok=.*)", run.stdout)
    return json.loads(shown.group(1))["msg"].splitlines(), recap.group(1) if recap else ""


def test_a_cluster_that_does_not_answer(tmp_path: Path) -> None:
    environments = [{"name": "dev", "nodeport": 1}, {"name": "production", "nodeport": 1, "approval": True}]
    lines, recap = status(tmp_path, CLOSED, {"platform_environments": environments,
                                              "platform_status_gitops_repo": f"{CLOSED}/gitops.git"})
    assert lines[:2] == [
        f"Cluster      test (kind, kubeconfig {tmp_path / 'kubeconfig'})",
        "Nodes        not reachable (Connection refused)",
    ]
    assert lines[2].startswith(f"Gitops repo  git: could not clone {CLOSED}/gitops.git (branch main): "), lines[2]
    assert lines[3:] == [
        "ENVIRONMENT  GIT TAG  RUNNING  PODS  COMMIT  SYNC  HEALTH  HPA  URL                         SERVED                          PIN",
        "dev          ?        ?        ?     ?       ?     ?       ?    http://localhost:1/version  no answer (Connection refused)  ?",
        "production   ?        ?        ?     ?       ?     ?       ?    http://localhost:1/version  no answer (Connection refused)  ?",
    ]
    assert "changed=0" in recap and "failed=0" in recap


@pytest.mark.parametrize("flags", [(), ("--check",)], ids=["run", "check-mode"])
def test_a_running_platform(tmp_path: Path, remote: Remote, serve: Callable[[int, dict | str], int],
                            flags: tuple[str, ...]) -> None:
    commit = _set_values(remote, tmp_path)
    dev = serve(200, {"name": CHART, "version": "0.2.0"})
    staging = serve(503, "upstream broke")
    production = serve(200, {"name": CHART, "version": "0.1.0"})
    environments = [{"name": "dev", "nodeport": dev}, {"name": "staging", "nodeport": staging},
                    {"name": "production", "nodeport": production, "approval": True},
                    {"name": "qa"}]  # no node port: no URL; no values file, no Application
    with FakeKubeAPI(label_selectors=True) as api:
        api.seed(*PLATFORM)
        lines, recap = status(tmp_path, api.url, {"platform_environments": environments,
                                                  "platform_status_gitops_repo": str(remote.path)}, *flags)
    width = max(len(f"http://localhost:{port}/version") for port in (dev, staging, production))

    def url(port: int) -> str:
        return f"http://localhost:{port}/version".ljust(width)
    assert lines[1:] == [
        "Nodes        1/2 Ready: gitops-demo-control-plane, gitops-demo-worker",
        f"Gitops repo  {remote.path} main at {commit[:12]}",
        "ENVIRONMENT  GIT TAG  RUNNING      PODS  COMMIT        SYNC       HEALTH       HPA         "
        + "URL".ljust(width) + "  SERVED                    PIN",
        f"dev          0.2.0    0.2.0        1/1   5f0c2e1a9b3d  Synced     Healthy      -           {url(dev)}  "
        "0.2.0                     -",
        f"staging      0.2.0    0.1.0,0.2.0  1/2   1234567890ab  OutOfSync  Progressing  -           {url(staging)}  "
        "HTTP 503: upstream broke  -",
        f"production   0.1.0    0.1.0        2/2   5f0c2e1a9b3d  Synced     Healthy      2/3 (2..4)  {url(production)}  "
        f"0.1.0                     {PIN}",
        "qa           ?        -            0/0   -             missing    -            -           "
        + "-".ljust(width) + "  -                         ?",
        f"Values       helm/{CHART}/values-qa.yaml is not in the repository",
    ]
    assert "changed=0" in recap and "failed=0" in recap

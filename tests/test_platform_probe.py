"""gitops.platform.platform_probe and the gitops.platform.settings lookup, through a real ansible-playbook.

The probe reads a Kubernetes API server over HTTP (tests/fake_kube_api.py, which keeps what a test seeds) and
asks real HTTP servers on loopback; the lookup runs in a play with settings that cannot be templated there.
"""

from __future__ import annotations

import json
import os
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

PROBE = """\
- name: Probe
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Read the platform
      gitops.platform.platform_probe:
        kubeconfig: "{{ kubeconfig }}"
        namespaces: [argocd, demo-dev]
        urls: "{{ urls }}"
        timeout: 3
      register: probed

    - name: Show it
      ansible.builtin.debug:
        msg: "PROBED {{ probed | to_json }}"
"""


def _run(workdir: Path, playbook: str, variables: dict) -> dict:
    (workdir / "play.yml").write_text(playbook)
    (workdir / "vars.json").write_text(json.dumps({"ansible_python_interpreter": sys.executable, **variables}))
    env = {**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(PROJECT / "collections"), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json"}
    proc = subprocess.run([str(ANSIBLE_PLAYBOOK), "-i", "localhost,", "-c", "local", str(workdir / "play.yml"),
                           "-e", f"@{workdir / 'vars.json'}"], cwd=workdir, env=env, capture_output=True, text=True,
                          check=False, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    last_task = json.loads(proc.stdout)["plays"][0]["tasks"][-1]
    return json.loads(last_task["hosts"]["localhost"]["msg"].split(" ", 1)[1])


class _Answer(BaseHTTPRequestHandler):
    def log_message(self, *_: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's names)
        body = b"version 0.1.0" if self.path == "/ok" else b"down"
        self.send_response(200 if self.path == "/ok" else 503)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture()
def web() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _deployment(namespace: str, name: str, available: int) -> dict:
    return {"kind": "Deployment", "metadata": {"namespace": namespace, "name": name, "generation": 1},
            "spec": {"replicas": 1},
            "status": {"observedGeneration": 1, "updatedReplicas": 1, "availableReplicas": available}}


def _seed(api: FakeKubeAPI, app_ready: int = 1) -> None:
    api.seed(
        {"kind": "Namespace", "metadata": {"name": "kube-system", "uid": "uid-of-this-cluster"}},
        _deployment("argocd", "argocd-server", 1),
        _deployment("demo-dev", "app", app_ready),
        {"kind": "Application", "metadata": {"namespace": "argocd", "name": "app-dev"},
         "status": {"sync": {"status": "Synced"}, "health": {"status": "Healthy"}}},
        {"kind": "APIService", "metadata": {"name": "v1beta1.metrics.k8s.io"},
         "status": {"conditions": [{"type": "Available", "status": "True"}]}},
        {"kind": "Secret", "type": "kubernetes.io/dockerconfigjson", "metadata": {"namespace": "demo-dev", "name": "regcred"}},
    )


def test_a_healthy_platform(tmp_path: Path, web: str) -> None:
    with FakeKubeAPI() as api:
        _seed(api)
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", api.url)
        probed = _run(tmp_path, PROBE, {"kubeconfig": str(kubeconfig),
                                        "urls": [{"url": f"{web}/ok", "contains": "0.1.0"}]})
    assert probed["problems"] == [] and probed["healthy"] is True and probed["changed"] is False
    assert probed["state"]["cluster"] == "uid-of-this-cluster"
    assert probed["state"]["workloads"] == ["argocd/Deployment/argocd-server", "demo-dev/Deployment/app"]
    assert probed["state"]["applications"] == ["app-dev"]
    assert probed["state"]["apiservices"] == ["v1beta1.metrics.k8s.io"]
    assert [entry.split("@")[0] for entry in probed["state"]["secrets"]] == ["demo-dev/regcred"]


def test_each_problem_is_reported(tmp_path: Path, web: str) -> None:
    with FakeKubeAPI() as api:
        _seed(api, app_ready=0)
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", api.url)
        probed = _run(tmp_path, PROBE, {"kubeconfig": str(kubeconfig), "urls": [
            {"url": f"{web}/down"}, {"url": f"{web}/ok", "contains": "0.2.0"}, {"url": "http://127.0.0.1:1/"}]})
    assert probed["healthy"] is False
    assert probed["problems"][0] == "demo-dev/Deployment/app: 0/1 ready"
    assert probed["problems"][1] == f"{web}/down answers HTTP 503, not 200"
    assert probed["problems"][2] == f"{web}/ok does not show '0.2.0'"
    assert probed["problems"][3].startswith("http://127.0.0.1:1/ does not answer")


def test_a_cluster_that_does_not_answer_is_a_problem_not_a_failure(tmp_path: Path) -> None:
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", "http://127.0.0.1:1")
    probed = _run(tmp_path, PROBE, {"kubeconfig": str(kubeconfig), "urls": []})
    assert probed["state"] == {} and probed["healthy"] is False
    assert probed["problems"][0].startswith("the cluster of context (current) does not answer: ")


SETTINGS = """\
- name: Settings
  hosts: localhost
  gather_facts: false
  vars:
    demo_plain: plain
    demo_templated: "{{ demo_plain }}-templated"
    # Built from a variable only a role would define: not templatable here, kept as its text.
    demo_from_role: "{{ role_only_default }}/file"
    demo_started_at: "{{ now() }}"
    other_setting: not matched
  tasks:
    - name: Show the settings
      ansible.builtin.debug:
        msg: "SETTINGS {{ lookup('gitops.platform.settings', '^demo_', exclude='^demo_started_at$') | to_json }}"
"""


def test_settings_lookup_keeps_what_it_cannot_template_as_text(tmp_path: Path) -> None:
    settings = _run(tmp_path, SETTINGS, {"demo_extra": "given with -e"})
    assert settings == {"demo_plain": "plain", "demo_templated": "plain-templated",
                        "demo_from_role": "{{ role_only_default }}/file", "demo_extra": "given with -e"}

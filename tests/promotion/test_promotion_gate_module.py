"""gitops.platform.promotion_gate run as Ansible runs it, reading a real git remote (on disk and over the project's
HTTP git server) and a stand-in registry on loopback that serves manifest digests.

The real registry is asked in test_verify_image.py (it needs Docker)."""

from __future__ import annotations

import base64
import http.server
import threading
from pathlib import Path

import pytest

from .conftest import CHART, Remote
from .test_promote_module import change_remote, run_module

DEV = f"helm/{CHART}/values-devtest.yaml"
DIGEST = "sha256:" + "0123456789abcdef" * 4
USER, PASSWORD = "reader", "gate-registry-pw-31"
BASIC = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
FINISHED = "2024-05-01T12:00:00Z"
NOW = "2024-05-01T12:10:00Z"


class Registry(http.server.BaseHTTPRequestHandler):
    """Answers HEAD /v2/demo-flask-app/manifests/<tag> with a digest for the tags in TAGS, to basic auth only."""

    tags = {"1.2.3": DIGEST}

    def log_message(self, *args) -> None:
        pass

    def do_HEAD(self) -> None:
        tag = self.path.rsplit("/", 1)[-1]
        if self.headers.get("Authorization") != BASIC:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="registry"')
        elif tag in self.tags:
            self.send_response(200)
            self.send_header("Docker-Content-Digest", self.tags[tag])
        else:
            self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture(scope="module")
def registry():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Registry)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def write(text: str):
    def change(work: Path) -> None:
        (work / DEV).write_text(text)
    return change


@pytest.fixture
def synced(remote: Remote, tmp_path: Path) -> str:
    """The revision dev synced (tag 1.2.3); the branch has moved on since (tag 1.2.4, not deployed yet)."""
    revision = change_remote(remote, tmp_path, write('image:\n  tag: "1.2.3"\n'), "Promote 1.2.3 to dev")
    change_remote(remote, tmp_path, write('image:\n  tag: "1.2.4"\n'), "Promote 1.2.4 to dev")
    return revision


def application(revision: str, **status) -> dict:
    return {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": f"{CHART}-dev", "namespace": "argocd"},
        "status": {
            "sync": {"status": "Synced", "revision": revision},
            "health": {"status": "Healthy"},
            "operationState": {"phase": "Succeeded", "finishedAt": FINISHED},
            **status,
        },
    }


def pod(name: str, tag: str = "1.2.3", digest: str = DIGEST) -> dict:
    image = f"kind-registry:5000/{CHART}:{tag}"
    return {"metadata": {"name": name}, "spec": {"containers": [{"name": "app", "image": image}]},
            "status": {"conditions": [{"type": "Ready", "status": "True"}],
                       "containerStatuses": [{"name": "app", "image": image,
                                              "imageID": f"kind-registry:5000/{CHART}@{digest}"}]}}


def gate(tmp_path: Path, repo: str, registry: str, revision: str, **args):
    arguments = {
        "application": application(revision), "pods": [pod("app-1"), pod("app-2")], "source_environment": "dev",
        "repo": repo, "values_file": DEV, "image": f"{registry}/{CHART}", "registry_insecure": True,
        "registry_username": USER, "registry_password": PASSWORD, "soak": 300, "now": NOW, **args,
    }
    return run_module("promotion_gate", arguments, tmp_path)


@pytest.mark.parametrize("check_mode", [False, True], ids=["run", "check"])
def test_the_gate_reads_the_synced_revision_not_the_branch_head(check_mode, remote, synced, registry, tmp_path):
    result = gate(tmp_path, str(remote.path), registry, synced, _ansible_check_mode=check_mode)
    assert result.rc == 0, result.output
    assert result.data["changed"] is False
    assert result.data["tag"] == "1.2.3"
    assert result.data["revision"] == synced
    assert result.data["digest"] == DIGEST
    assert result.data["since"] == FINISHED
    assert result.data["soaked_seconds"] == 600
    assert result.data["gate"] == (f"dev Synced+Healthy at {synced[:12]}, 2 pods run 1.2.3 sha256:0123456789ab, "
                                   "soaked 600s (min 300s)")
    assert PASSWORD not in result.output


def test_over_http_with_credentials(http_remote, remote, synced, registry, tmp_path):
    result = gate(tmp_path, http_remote.url, registry, synced, git_username=http_remote.username,
                  git_password=http_remote.password)
    assert result.rc == 0, result.output
    assert result.data["tag"] == "1.2.3"
    assert http_remote.password not in result.output


def test_a_revision_that_is_not_on_the_branch_is_refused(remote, synced, registry, tmp_path):
    elsewhere = change_remote(remote, tmp_path, write('image:\n  tag: "1.2.3"\n'), "On another branch",
                              "refs/heads/feature")
    result = gate(tmp_path, str(remote.path), registry, elsewhere)
    assert result.rc != 0
    assert result.msg == (f"Refusing to promote from dev: the synced revision {elsewhere[:12]} is not on branch main "
                          f"of {remote.path}: Argo CD deploys a commit that the branch does not hold (another "
                          "branch, or rewritten history). Nothing was committed."), result.output
    assert result.data["failed_condition"] == "revision"


def test_an_unknown_revision_is_refused(remote, synced, registry, tmp_path):
    result = gate(tmp_path, str(remote.path), registry, "0" * 40)
    assert result.rc != 0
    assert "the synced revision 000000000000 is not on branch main" in result.msg, result.output


def test_a_values_file_missing_at_the_revision_is_refused(remote, synced, registry, tmp_path):
    first = remote.log(fmt="%H")[-1]  # the seed commit, before the dev values file existed
    result = gate(tmp_path, str(remote.path), registry, first)
    assert result.rc != 0
    assert f"{DEV} does not exist at revision {first[:12]}" in result.msg, result.output


def test_a_pod_on_an_older_build_is_refused(remote, synced, registry, tmp_path):
    old = "sha256:" + "f" * 64
    result = gate(tmp_path, str(remote.path), registry, synced, pods=[pod("app-1"), pod("app-2", digest=old)])
    assert result.rc != 0
    assert result.data["failed_condition"] == "pods"
    assert f"pod app-2 runs sha256:ffffffffffff but {registry}/{CHART}:1.2.3 is sha256:0123456789ab" in result.msg


def test_a_wrong_registry_password_is_refused_without_showing_it(remote, synced, registry, tmp_path):
    result = gate(tmp_path, str(remote.path), registry, synced, registry_password="wrong-gate-pw-58")
    assert result.rc != 0
    assert "check the registry username and password" in result.msg, result.output
    assert "wrong-gate-pw-58" not in result.output


def test_a_tag_missing_from_the_registry_is_refused(remote, registry, tmp_path):
    revision = change_remote(remote, tmp_path, write('image:\n  tag: "7.7.7"\n'), "Promote 7.7.7 to dev")
    result = gate(tmp_path, str(remote.path), registry, revision, pods=[pod("a", tag="7.7.7")])
    assert result.rc != 0
    assert f"cannot ask the registry for {registry}/{CHART}:7.7.7: {CHART}:7.7.7 does not exist" in result.msg


def test_a_soak_that_is_not_over_says_how_long_remains(remote, synced, registry, tmp_path):
    result = gate(tmp_path, str(remote.path), registry, synced, soak=900)
    assert result.rc != 0
    assert result.data["failed_condition"] == "soak"
    assert result.data["soak_remaining"] == 300
    assert result.data["since"] == FINISHED
    assert result.msg.endswith("less than the 900s soak; 300s remain. Nothing was committed."), result.output


def test_an_application_that_is_not_healthy_is_refused_before_git_is_read(registry, tmp_path):
    # The repository does not exist: a refusal about health proves git was not read first.
    result = gate(tmp_path, str(tmp_path / "missing.git"), registry, "a" * 40,
                  application=application("a" * 40, health={"status": "Degraded", "message": "Back-off pulling"}))
    assert result.rc != 0
    assert result.msg == (f"Refusing to promote from dev: Application {CHART}-dev is Synced and Degraded, not Synced "
                          "and Healthy (health: Back-off pulling). Nothing was committed."), result.output
    assert result.data["failed_condition"] == "status"


def test_a_missing_application_is_refused(registry, tmp_path):
    result = gate(tmp_path, str(tmp_path / "missing.git"), registry, "a" * 40, application={"resources": []})
    assert result.rc != 0
    assert result.msg == ("Refusing to promote from dev: the Argo CD Application of dev does not exist. Nothing was "
                          "committed.")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ({"image": "localhost:5001/demo-flask-app:1.2.3"}, "image must be a repository without tag or digest"),
        ({"soak": -1}, "soak must be 0 or a positive number of seconds"),
        ({"now": "noon"}, "now: 'noon' is not an RFC 3339 timestamp"),
        ({"branch": "a..b"}, "not a valid branch name"),
        ({"values_file": "../x.yaml"}, "'..'"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_read(args, words, registry, tmp_path):
    result = gate(tmp_path, str(tmp_path / "missing.git"), registry, "a" * 40, **args)
    assert result.rc != 0
    assert result.msg.startswith("Refusing to promote from dev: "), result.output
    assert words in result.msg
    assert "could not clone" not in result.msg

from __future__ import annotations

import copy

import pytest

from ansible_collections.gitops.platform.plugins.module_utils.argocd_application import (
    converged,
    degraded_at,
    lines,
    pending,
    reason,
    report,
    to_apply,
)

SOURCE = {"repoURL": "http://git/gitops.git", "targetRevision": "main", "path": "helm/app",
          "helm": {"valueFiles": ["values.yaml", "values-dev.yaml"]}}
DESTINATION = {"server": "https://kubernetes.default.svc", "namespace": "demo-dev"}


def application(name: str = "app-dev", sync: str = "Synced", health: str = "Healthy", revision: str = "abc123def456",
                phase: str = "Succeeded", compared: dict | None = None, annotations: dict | None = None, **status) -> dict:
    return {
        "kind": "Application",
        "metadata": {"name": name, "annotations": annotations},
        "spec": {"source": SOURCE, "destination": DESTINATION},
        "status": {"sync": {"status": sync, "revision": revision,
                            "comparedTo": compared if compared is not None else {"source": SOURCE, "destination": DESTINATION}},
                   "health": {"status": health},
                   "operationState": {"phase": phase, "syncResult": {"revision": revision}}, **status},
    }


CONVERGED = [
    (application(), "", True),
    (application(), "abc123", True),
    (application(), "fff", False),
    (application(sync="OutOfSync"), "", False),
    (application(health="Progressing"), "", False),
    (application(phase="Running"), "", False),
    (application(annotations={"argocd.argoproj.io/refresh": "hard"}), "", False),
    # Synced against an older spec (another values file) is not converged on the current one.
    (application(compared={"source": {**SOURCE, "helm": {"valueFiles": ["values.yaml"]}}, "destination": DESTINATION}),
     "", False),
    ({}, "", False),
    (None, "", False),
    ({"metadata": {"name": "app-dev"}, "spec": {"source": SOURCE, "destination": DESTINATION}}, "", False),
]


@pytest.mark.parametrize("app, revision, expected", CONVERGED)
def test_converged(app, revision, expected) -> None:
    assert converged(app, revision) is expected


def unsynced(app: dict, last_synced: str | None) -> dict:
    """`app` whose last sync operation applied `last_synced` (None: no operation recorded)."""
    if last_synced is None:
        del app["status"]["operationState"]
    else:
        app["status"]["operationState"]["syncResult"]["revision"] = last_synced
    return app


def degraded_since(changed: str, synced: str) -> dict:
    """Degraded since `changed`, after a sync that finished at `synced`."""
    app = application(health="Degraded")
    app["status"]["health"]["lastTransitionTime"] = changed
    app["status"]["operationState"]["finishedAt"] = synced
    return app


@pytest.mark.parametrize("app, revision, expected", [
    (application(health="Degraded"), "abc123", True),
    (application(health="Degraded"), "", False),
    (application(health="Degraded"), "fff", False),
    (application(health="Degraded", phase="Running"), "abc123", False),
    # A canary paused on an inconclusive analysis waits for a person; a Progressing one is still being judged.
    (application(health="Suspended"), "abc123", True),
    (application(health="Progressing"), "abc123", False),
    (application(health="Progressing"), "abc123", False),
    (None, "abc123", False),
    # Judged after the sync finished: Degraded at this revision.
    (degraded_since("2026-11-30T08:50:10Z", synced="2026-11-30T08:49:00Z"), "abc123", True),
    # Still the judgement of the revision before (a revert right after a release past its deadline): not yet.
    (degraded_since("2026-11-30T08:48:00Z", synced="2026-11-30T08:49:00Z"), "abc123", False),
    (degraded_since("not a time", synced="2026-11-30T08:49:00Z"), "abc123", True),
    # Compared at the new commit, not synced yet: the health is still the revision before's.
    (unsynced(application(sync="OutOfSync", health="Degraded"), "0ld0ld"), "abc123", False),
    (unsynced(application(sync="OutOfSync", health="Degraded"), None), "abc123", False),
])
def test_degraded_at(app, revision, expected) -> None:
    assert degraded_at(app, revision) is expected


def test_reason_gathers_argo_cds_words_once() -> None:
    app = application(health="Degraded", resources=[
        {"kind": "Deployment", "name": "app-dev",
         "health": {"status": "Degraded", "message": 'Deployment "app-dev" exceeded its progress deadline'}},
        {"kind": "Service", "name": "app-dev", "health": {"status": "Healthy"}},
    ], conditions=[{"type": "SyncError", "message": "one"}])
    app["status"]["health"]["message"] = 'Deployment "app-dev" exceeded its progress deadline'
    text = reason(app)
    assert text.count("exceeded its progress deadline") == 2  # the app's and the resource's, each once
    assert "Deployment/app-dev: " in text and "Service/app-dev" not in text
    assert text.endswith("SyncError: one")


def test_reason_without_messages_says_the_state() -> None:
    assert reason(application(sync="OutOfSync", health="Missing")) == "sync=OutOfSync, health=Missing"
    assert reason(None) == "the Application does not exist"


def test_reason_is_bounded() -> None:
    app = application(conditions=[{"type": "X", "message": "word " * 500}])
    assert len(reason(app)) == 400


def test_report_and_lines() -> None:
    app = application(conditions=[{"message": "repository not accessible"}])
    assert report(app) == ("sync=Synced, health=Healthy, revision=abc123def456, last operation: Succeeded; "
                           "repository not accessible")
    assert report(None) == "no such Application"
    assert lines([app], ["app-dev", "app-prod"]) == [f"app-dev: {report(app)}", "app-prod: no such Application"]
    degraded = application(health="Degraded", resources=[
        {"kind": "Deployment", "name": "app-dev", "health": {"status": "Degraded", "message": "exceeded its progress deadline"}}])
    assert lines([degraded], ["app-dev"]) == [f"app-dev: {report(degraded)} - Deployment/app-dev: exceeded its progress deadline"]
    assert lines([application(sync="OutOfSync")], ["app-dev"]) == [f"app-dev: {report(application(sync='OutOfSync'))}"]


def test_pending_keeps_the_order_of_the_names() -> None:
    items = [application("b", health="Progressing"), application("a")]
    assert pending(items, ["c", "b", "a"]) == ["c", "b"]
    assert pending(items, ["a"], "abc") == []
    assert pending(None, ["a"]) == ["a"]


def test_to_apply() -> None:
    wanted = [{"kind": "AppProject", "metadata": {"name": "app", "labels": {"x": "1"}, "finalizers": ["f"]},
               "spec": {"sourceRepos": ["r"]}},
              {"kind": "Application", "metadata": {"name": "app-dev", "labels": {"x": "1"}}, "spec": {"a": 1}}]
    live = copy.deepcopy(wanted)
    # Controllers add labels, annotations and finalizers of their own: not a difference.
    live[0]["metadata"]["labels"]["extra"] = "y"
    live[0]["metadata"]["finalizers"].append("other")
    live[1]["status"] = {"sync": {}}
    assert to_apply(wanted, live) == []
    assert to_apply(wanted, live[:1]) == [wanted[1]]
    live[0]["spec"]["sourceRepos"] = ["other"]
    assert to_apply(wanted, live) == [wanted[0]]
    live[0]["spec"]["sourceRepos"] = ["r"]
    del live[0]["metadata"]["labels"]["x"]
    assert to_apply(wanted, live) == [wanted[0]]
    # Same name, other kind: no match.
    assert to_apply(wanted[1:], [{**wanted[1], "kind": "AppProject"}]) == [wanted[1]]

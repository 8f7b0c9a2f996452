from __future__ import annotations

import pytest

from ansible_collections.gitops.platform.plugins.module_utils.platform_probe import (
    apiservice_problem, application_problem, probe)

NAMESPACES = ["argocd", "demo-dev"]


def deployment(namespace: str, name: str, ready: int = 1) -> dict:
    return {"kind": "Deployment", "metadata": {"namespace": namespace, "name": name, "generation": 1},
            "spec": {"replicas": 1},
            "status": {"observedGeneration": 1, "updatedReplicas": 1, "availableReplicas": ready}}


def application(name: str, sync: str = "Synced", health: str = "Healthy", phase: str = "Succeeded") -> dict:
    return {"kind": "Application", "metadata": {"namespace": "argocd", "name": name},
            "status": {"sync": {"status": sync}, "health": {"status": health}, "operationState": {"phase": phase}}}


def apiservice(name: str, available: str = "True", reason: str = "") -> dict:
    return {"kind": "APIService", "metadata": {"name": name},
            "status": {"conditions": [{"type": "Available", "status": available, "reason": reason}]}}


def secret(namespace: str, name: str, version: str, kind: str = "kubernetes.io/dockerconfigjson",
           labels: dict | None = None) -> dict:
    return {"kind": "Secret", "type": kind,
            "metadata": {"namespace": namespace, "name": name, "resourceVersion": version, "labels": labels or {}}}


KUBE_SYSTEM = {"metadata": {"name": "kube-system", "uid": "cluster-1"}}
HEALTHY = dict(
    kube_system=KUBE_SYSTEM,
    workloads=[deployment("argocd", "argocd-server"), deployment("demo-dev", "app"), deployment("other", "x", 0)],
    applications=[application("app-dev")],
    apiservices=[apiservice("v1.apps"), apiservice("v1beta1.metrics.k8s.io")],
    secrets=[secret("demo-dev", "regcred", "7"), secret("other", "regcred", "9"),
             secret("argocd", "repo", "5", "Opaque", {"argocd.argoproj.io/secret-type": "repository"}),
             secret("argocd", "argocd-secret", "3", "Opaque")],
    namespaces=NAMESPACES,
)


def test_a_healthy_platform_has_no_problems_and_records_only_its_own_namespaces() -> None:
    state, problems = probe(**HEALTHY)
    assert problems == []
    assert state == {
        "cluster": "cluster-1",
        "workloads": ["argocd/Deployment/argocd-server", "demo-dev/Deployment/app"],
        "applications": ["app-dev"],
        "apiservices": ["v1.apps", "v1beta1.metrics.k8s.io"],
        "secrets": ["argocd/repo@5", "demo-dev/regcred@7"],
    }


@pytest.mark.parametrize(("change", "problem"), [
    ({"workloads": [deployment("argocd", "argocd-server", 0), deployment("demo-dev", "app")]},
     "argocd/Deployment/argocd-server: 0/1 ready"),
    ({"workloads": [deployment("argocd", "argocd-server")]}, "namespace demo-dev runs no workload"),
    ({"applications": None}, "the cluster does not serve Argo CD's Application API"),
    ({"applications": [application("app-dev", "OutOfSync")]}, "Application app-dev: OutOfSync, Healthy"),
    ({"applications": [application("app-dev", phase="Running")]}, "Application app-dev: a sync is running"),
    ({"apiservices": [apiservice("v1beta1.metrics.k8s.io", "False", "MissingEndpoints")]},
     "APIService v1beta1.metrics.k8s.io: MissingEndpoints"),
])
def test_each_problem_is_named(change: dict, problem: str) -> None:
    problems = probe(**(HEALTHY | change))[1]
    assert problems == [problem]


def test_an_edited_secret_is_another_state() -> None:
    before = probe(**HEALTHY)[0]
    after = probe(**(HEALTHY | {"secrets": [secret("demo-dev", "regcred", "8")]}))[0]
    assert before["secrets"] != after["secrets"]


@pytest.mark.parametrize(("app", "problem"), [
    (application("a"), ""),
    (application("a", health="Progressing"), "Synced, Progressing"),
    ({"metadata": {"name": "a"}}, "Unknown, Unknown"),
])
def test_application_problem(app: dict, problem: str) -> None:
    assert application_problem(app) == problem


@pytest.mark.parametrize(("service", "problem"), [
    (apiservice("v1.apps"), ""),
    (apiservice("v1beta1.metrics.k8s.io", "False", "FailedDiscoveryCheck"), "FailedDiscoveryCheck"),
    ({"metadata": {"name": "x"}}, "not Available"),
])
def test_apiservice_problem(service: dict, problem: str) -> None:
    assert apiservice_problem(service) == problem

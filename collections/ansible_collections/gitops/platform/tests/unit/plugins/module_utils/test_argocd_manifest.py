from __future__ import annotations

import copy

import pytest

from ansible_collections.gitops.platform.plugins.module_utils.argocd_manifest import key, patch


def deployment(name: str, *images: str, init: tuple[str, ...] = ()) -> dict:
    pod: dict = {"containers": [{"name": f"c{i}", "image": image} for i, image in enumerate(images)]}
    if init:
        pod["initContainers"] = [{"name": f"i{i}", "image": image} for i, image in enumerate(init)]
    return {"kind": "Deployment", "metadata": {"name": name}, "spec": {"replicas": 1, "template": {"spec": pod}}}


MANIFEST = [
    {"kind": "CustomResourceDefinition", "metadata": {"name": "applications.argoproj.io"}},
    deployment("argocd-server", "quay.io/argoproj/argocd:v3.1.9"),
    deployment("argocd-dex-server", "ghcr.io/dexidp/dex:v2.43.0", init=("quay.io/argoproj/argocd:v3.1.9",)),
    {"kind": "StatefulSet", "metadata": {"name": "argocd-application-controller"},
     "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "quay.io/argoproj/argocd:v3.1.9"}]}}}},
    {"kind": "ClusterRoleBinding", "metadata": {"name": "argocd-server"},
     "subjects": [{"kind": "ServiceAccount", "name": "argocd-server", "namespace": "argocd"}]},
    None,
    "a stray scalar",
]


def images(docs: list, name: str) -> list[str]:
    doc = next(d for d in docs if d["metadata"]["name"] == name)
    pod = doc["spec"]["template"]["spec"]
    return [c["image"] for key in ("initContainers", "containers") for c in pod.get(key, [])]


@pytest.mark.parametrize(
    ("overrides", "workload", "expected"),
    [
        ({}, "argocd-server", ["quay.io/argoproj/argocd:v3.1.9"]),
        ({"quay.io/argoproj/argocd:v3.1.9": "mirror/argocd:exact"}, "argocd-server", ["mirror/argocd:exact"]),
        ({"quay.io/argoproj/argocd": "mirror/argocd:any"}, "argocd-dex-server", ["mirror/argocd:any", "ghcr.io/dexidp/dex:v2.43.0"]),
        ({"quay.io/argoproj/argocd": "by-name", "quay.io/argoproj/argocd:v3.1.9": "by-ref"}, "argocd-server", ["by-ref"]),
    ],
)
def test_image_overrides_by_reference_or_name(overrides: dict, workload: str, expected: list[str]) -> None:
    assert images(patch(MANIFEST, image_override=overrides), workload) == expected


def test_pull_policy_replicas_namespace_and_no_mutation() -> None:
    before = copy.deepcopy(MANIFEST)
    docs = patch(MANIFEST, pull_policy="IfNotPresent", replicas={"argocd-dex-server": "0"}, namespace="gitops")
    assert MANIFEST == before
    assert [d["kind"] for d in docs] == ["CustomResourceDefinition", "Deployment", "Deployment", "StatefulSet", "ClusterRoleBinding"]
    dex = docs[2]
    assert dex["spec"]["replicas"] == 0 and docs[1]["spec"]["replicas"] == 1
    assert {c["imagePullPolicy"] for c in dex["spec"]["template"]["spec"]["initContainers"] + dex["spec"]["template"]["spec"]["containers"]} == {"IfNotPresent"}
    assert "replicas" not in docs[3]["spec"]
    assert docs[4]["subjects"][0]["namespace"] == "gitops"


def test_no_pull_policy_leaves_the_manifests_own() -> None:
    docs = patch(MANIFEST)
    assert all("imagePullPolicy" not in c for c in docs[1]["spec"]["template"]["spec"]["containers"])


BASE = {"checksum": "sha256-of-the-file", "image_override": {"quay.io/argoproj/argocd": "mirror/argocd:v1"},
        "pull_policy": "IfNotPresent", "replicas": {"argocd-dex-server": 0}, "namespace": "argocd"}


@pytest.mark.parametrize(
    ("change", "same"),
    [
        ({}, True),
        # The same inputs spelled differently: a count as text, empty values as None.
        ({"replicas": {"argocd-dex-server": "0"}}, True),
        ({"checksum": "another-file"}, False),
        ({"image_override": {}}, False),
        ({"image_override": {"quay.io/argoproj/argocd": "mirror/argocd:v2"}}, False),
        ({"pull_policy": ""}, False),
        ({"replicas": {"argocd-dex-server": 1}}, False),
        ({"replicas": {}}, False),
        ({"namespace": "gitops"}, False),
    ],
)
def test_key_changes_with_every_input_of_the_patch(change: dict, same: bool) -> None:
    assert (key(**{**BASE, **change}) == key(**BASE)) is same
    assert len(key(**BASE)) == 64


def test_key_of_empty_options_is_that_of_the_defaults() -> None:
    assert key("x", None, "", None) == key("x", {}, "", {}, "argocd")

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.gitops.platform.plugins.filter.platform import FilterModule

FILTERS = FilterModule().filters()

TEXT = """\
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: applications.argoproj.io}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: argocd-server}
spec:
  replicas: 1
  template:
    spec:
      containers:
        - {name: server, image: "quay.io/argoproj/argocd:v3.1.9"}
---
"""


@pytest.mark.parametrize(
    ("arguments", "image", "policy"),
    [
        ((), "quay.io/argoproj/argocd:v3.1.9", None),
        (({"quay.io/argoproj/argocd": "mirror/argocd:v3.1.9"}, "IfNotPresent"), "mirror/argocd:v3.1.9", "IfNotPresent"),
    ],
)
def test_patch_reads_the_manifests_text(arguments: tuple, image: str, policy: str | None) -> None:
    docs = FILTERS["argocd_manifest_patch"](TEXT, *arguments)
    assert [doc["kind"] for doc in docs] == ["CustomResourceDefinition", "Deployment"]
    container = docs[1]["spec"]["template"]["spec"]["containers"][0]
    assert (container["image"], container.get("imagePullPolicy")) == (image, policy)


def test_patch_of_text_that_is_not_yaml_names_the_problem() -> None:
    with pytest.raises(AnsibleFilterError, match="not valid YAML"):
        FILTERS["argocd_manifest_patch"]("kind: [\n")


def test_key_filter_is_the_module_utils_key() -> None:
    assert FILTERS["argocd_manifest_key"]("abc", {}, "IfNotPresent", {"argocd-dex-server": 0}) != FILTERS["argocd_manifest_key"]("abc")

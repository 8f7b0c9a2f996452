from __future__ import annotations

import jinja2
from ansible.errors import AnsibleFilterError
import pytest

from ansible_collections.gitops.platform.plugins.filter.platform import FilterModule
from ansible_collections.gitops.platform.plugins.module_utils.platform_status import truncate

FILTERS = FilterModule().filters()
URL = "http://localhost:30080/version"


def test_platform_status_filter_reads_registered_results() -> None:
    results = {"nodes": {"resources": [{"metadata": {"name": "n1"}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}}]},
               "applications": {"api_found": False, "resources": []}, "pods": {"skipped": True},
               "served": {"results": [{"item": {"name": "dev"}, "status": 200, "json": {"version": "0.2.0"}}]}}
    report = FILTERS["platform_status"](results, [{"name": "dev", "nodeport": 30080}], "demo", "demo")
    assert report["nodes"] == "1/1 Ready: n1"
    assert report["notes"][0] == "Argo CD      not installed (no Application CRD)"
    row = report["environments"][0]
    assert (row["sync"], row["pods"], row["served"], row["url"]) == ("?", "?", "0.2.0", URL)


@pytest.mark.parametrize(
    ("result", "arguments", "expected"),
    [
        ({"module_stderr": "ConnectionRefusedError: [Errno 111] Connection refused\n"}, (), "Connection refused"),
        ({}, ("the API server does not answer",), "the API server does not answer"),
        ({"msg": "a b c d e f g h i j k l m n o p"}, ("", 10), "a b c..."),
    ],
)
def test_kube_api_error_filter(result: dict, arguments: tuple, expected: str) -> None:
    assert FILTERS["kube_api_error"](result, *arguments) == expected


@pytest.mark.parametrize("length", [5, 10, 80, 120])
@pytest.mark.parametrize("text", ["", "short", "one two three four five six", "onetwothreefourfivesixseven", "word " * 40])
def test_truncate_is_jinjas(text: str, length: int) -> None:
    """The report's lines are cut exactly as the Jinja template that they replace cut them."""
    environment = jinja2.Environment()
    assert truncate(text, length) == environment.filters["truncate"](environment, text, length)


# Two images as `docker image inspect` prints them: Docker lists Docker Hub's without docker.io/ and library/.
IMAGES = [
    {"Id": "sha256:aaa", "RepoTags": ["registry:2", "localhost:5001/registry:2"],
     "RepoDigests": ["registry@sha256:" + "1" * 64]},
    {"Id": "sha256:bbb", "RepoTags": ["quay.io/argoproj/argocd:v3.1.0", "bitnami/kubectl:1.33"], "RepoDigests": []},
    {"Id": "sha256:ccc", "RepoTags": None, "RepoDigests": None},
    {"Id": "sha256:ddd", "RepoTags": ["app:latest"]},
]


@pytest.mark.parametrize(
    ("references", "expected"),
    [
        (["docker.io/library/registry:2", "registry:2", "library/registry:2"],
         {"docker.io/library/registry:2": "sha256:aaa", "registry:2": "sha256:aaa", "library/registry:2": "sha256:aaa"}),
        (["localhost:5001/registry:2", "quay.io/argoproj/argocd:v3.1.0", "docker.io/bitnami/kubectl:1.33"],
         {"localhost:5001/registry:2": "sha256:aaa", "quay.io/argoproj/argocd:v3.1.0": "sha256:bbb",
          "docker.io/bitnami/kubectl:1.33": "sha256:bbb"}),
        (["docker.io/library/registry@sha256:" + "1" * 64, "app"],
         {"docker.io/library/registry@sha256:" + "1" * 64: "sha256:aaa", "app": "sha256:ddd"}),
        # Not carried: another tag, another registry, the digest asked as a tag, a Docker Hub path under another user.
        (["registry:3", "ghcr.io/argoproj/argocd:v3.1.0", "docker.io/other/registry:2", "app:1"], {}),
        ([], {}),
    ],
)
def test_docker_image_ids_matches_references_as_docker_lists_them(references: list, expected: dict) -> None:
    assert FILTERS["docker_image_ids"](IMAGES, references) == expected


def test_docker_image_ids_names_an_invalid_reference() -> None:
    with pytest.raises(AnsibleFilterError, match="invalid tag"):
        FILTERS["docker_image_ids"](IMAGES, ["registry:not a tag"])


def test_docker_image_ids_finds_an_image_by_its_id_or_a_digest_as_written() -> None:
    assert FILTERS["docker_image_ids"](IMAGES, ["sha256:bbb", "registry@sha256:" + "1" * 64, "sha256:eee"]) == {
        "sha256:bbb": "sha256:bbb", "registry@sha256:" + "1" * 64: "sha256:aaa"}

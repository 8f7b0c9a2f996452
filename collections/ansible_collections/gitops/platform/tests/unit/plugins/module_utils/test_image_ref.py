from __future__ import annotations

import pytest

from ansible_collections.gitops.platform.plugins.module_utils.image_ref import ImageRefError, parse
from ansible_collections.gitops.platform.plugins.module_utils.registry_v2 import split_image

DIGEST = "sha256:" + "a" * 64

# reference -> (registry, path, tag, digest, name, registry_host, registry_path)
PARSED = [
    ("redis", ("", "redis", "", "", "redis", "docker.io", "library/redis")),
    ("redis:7.2", ("", "redis", "7.2", "", "redis", "docker.io", "library/redis")),
    ("bitnami/redis:7", ("", "bitnami/redis", "7", "", "bitnami/redis", "docker.io", "bitnami/redis")),
    ("quay.io/argoproj/argocd:v3.1.9", ("quay.io", "argoproj/argocd", "v3.1.9", "", "quay.io/argoproj/argocd", "quay.io", "argoproj/argocd")),
    ("localhost:5001/demo-flask-app:0.1.0",
     ("localhost:5001", "demo-flask-app", "0.1.0", "", "localhost:5001/demo-flask-app", "localhost:5001", "demo-flask-app")),
    ("localhost/app", ("localhost", "app", "", "", "localhost/app", "localhost", "app")),
    (f"ghcr.io/dexidp/dex:v2.43.0@{DIGEST}", ("ghcr.io", "dexidp/dex", "v2.43.0", DIGEST, "ghcr.io/dexidp/dex", "ghcr.io", "dexidp/dex")),
    (f"kindest/node@{DIGEST}", ("", "kindest/node", "", DIGEST, "kindest/node", "docker.io", "kindest/node")),
    ("public.ecr.aws/docker/library/redis:7.2.11-alpine",
     ("public.ecr.aws", "docker/library/redis", "7.2.11-alpine", "", "public.ecr.aws/docker/library/redis", "public.ecr.aws",
      "docker/library/redis")),
    ("registry:5000/a/b/c:1", ("registry:5000", "a/b/c", "1", "", "registry:5000/a/b/c", "registry:5000", "a/b/c")),
]


@pytest.mark.parametrize(("reference", "expected"), PARSED)
def test_parse(reference: str, expected: tuple) -> None:
    ref = parse(reference)
    assert (ref.registry, ref.path, ref.tag, ref.digest, ref.name, ref.registry_host, ref.registry_path) == expected


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("", "empty"),
        ("Quay.io/Upper/Case", "invalid repository path"),
        ("app:bad tag", "invalid tag"),
        ("app:-dash", "invalid tag"),
        ("app@sha256:short", "invalid digest"),
        ("ghcr.io/", "invalid repository path"),
        ("a//b", "invalid repository path"),
    ],
)
def test_refused(reference: str, message: str) -> None:
    with pytest.raises(ImageRefError, match=message):
        parse(reference)


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("ghcr.io/org/app", ("ghcr.io", "org/app")),
        ("localhost:5001/demo-flask-app", ("localhost:5001", "demo-flask-app")),
        ("redis", ("registry-1.docker.io", "library/redis")),
        ("org/app", ("registry-1.docker.io", "org/app")),
    ],
)
def test_registry_v2_split_image_uses_the_same_rules(image: str, expected: tuple) -> None:
    assert split_image(image) == expected

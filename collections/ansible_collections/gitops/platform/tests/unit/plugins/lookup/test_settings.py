from __future__ import annotations

import pytest

from ansible_collections.gitops.platform.plugins.lookup.settings import matching

NAMES = ["platform_name", "platform_started_at", "argocd_version", "argocd_images_dir", "my_platform_x", "kind_cluster_name"]


@pytest.mark.parametrize(("patterns", "exclude", "names"), [
    (["^platform_"], "", ["platform_name", "platform_started_at"]),
    (["^platform_"], "^platform_started_at$", ["platform_name"]),
    (["platform_"], "", ["platform_name", "platform_started_at"]),  # matched at the start, as varnames does
    (["^argocd_", "^kind_cluster_"], "", ["argocd_images_dir", "argocd_version", "kind_cluster_name"]),
    (["^nothing_"], "", []),
])
def test_matching(patterns: list[str], exclude: str, names: list[str]) -> None:
    assert matching(NAMES, patterns, exclude) == names

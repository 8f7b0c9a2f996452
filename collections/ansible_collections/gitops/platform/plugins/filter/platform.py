# -*- coding: utf-8 -*-
# Copyright: contributors to the gitops platform
# Apache License 2.0
"""Filters that replace Jinja programs in the roles: image references, rollout state, Argo CD's manifest, the
platform's status report."""

from __future__ import annotations

import yaml
from ansible.errors import AnsibleFilterError
from ansible_collections.gitops.platform.plugins.module_utils import argocd_manifest, platform_status as status, workloads
from ansible_collections.gitops.platform.plugins.module_utils.image_ref import ImageRef, ImageRefError, parse


def image_reference(reference: str) -> dict:
    ref = _parsed(reference)
    return {"registry": ref.registry, "path": ref.path, "tag": ref.tag, "digest": ref.digest, "name": ref.name,
            "registry_host": ref.registry_host, "registry_path": ref.registry_path}


def docker_image_ids(images: list, references: list) -> dict:
    """Each reference with the ID of the image (docker image inspect's, docker_image_info's) that carries it: as its
    ID, as one of its tags or digests as written, or as Docker lists the reference. Those not found are left out."""
    ids = {}
    for reference in references:
        image = next((image for image in images if _names(image, reference)), None)
        if image is None:
            listed = _parsed(reference).docker_listed
            image = next((image for image in images if _names(image, listed)), None)
        if image is not None:
            ids[reference] = image["Id"]
    return ids


def _names(image: dict, name: str) -> bool:
    return name == image.get("Id") or name in (image.get("RepoTags") or []) or name in (image.get("RepoDigests") or [])


def _parsed(reference: str) -> ImageRef:
    try:
        return parse(reference)
    except ImageRefError as exc:
        raise AnsibleFilterError(str(exc)) from exc


def workloads_not_ready(items: list) -> list:
    return workloads.not_ready(items)


def argocd_manifest_patch(documents: list | str, image_override: dict | None = None, pull_policy: str = "",
                          replicas: dict | None = None, namespace: str = "argocd") -> list:
    if isinstance(documents, str):
        # The manifest's text: Argo CD's install.yaml is about 1.5 MB, which from_yaml_all takes seconds to
        # parse and the patch seconds more to copy; libyaml (when PyYAML has it) parses it in a fraction.
        try:
            documents = list(yaml.load_all(documents, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))
        except yaml.YAMLError as exc:
            raise AnsibleFilterError(f"the manifest is not valid YAML: {exc}") from exc
    return argocd_manifest.patch(documents, image_override, pull_policy, replicas, namespace)


def argocd_manifest_key(checksum: str, image_override: dict | None = None, pull_policy: str = "",
                        replicas: dict | None = None, namespace: str = "argocd") -> str:
    return argocd_manifest.key(checksum, image_override, pull_policy, replicas, namespace)


def platform_status(results: dict, environments: list, chart: str, namespace_prefix: str = "",
                    version_url: str = status.DEFAULT_VERSION_URL, argocd_namespace: str = "argocd",
                    gitops_repo: str = "", gitops_branch: str = "main", chart_path: str = "") -> dict:
    try:
        return status.summary(results, environments, chart, namespace_prefix, version_url, argocd_namespace,
                              gitops_repo, gitops_branch, chart_path)
    except ValueError as exc:
        raise AnsibleFilterError(f"platform_status: {exc}") from exc


def kube_api_error(result: dict, default: str = "no answer", length: int = 200) -> str:
    return status.api_error(result, default, length)


class FilterModule:
    def filters(self) -> dict:
        return {
            "image_reference": image_reference,
            "docker_image_ids": docker_image_ids,
            "workloads_not_ready": workloads_not_ready,
            "argocd_manifest_patch": argocd_manifest_patch,
            "argocd_manifest_key": argocd_manifest_key,
            "platform_status": platform_status,
            "kube_api_error": kube_api_error,
        }

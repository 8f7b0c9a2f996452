# -*- coding: utf-8 -*-
# Copyright: contributors to the gitops platform
# Apache License 2.0
"""Filters that replace Jinja programs in the roles: image references, rollout state, Argo CD's manifest."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.gitops.platform.plugins.module_utils import argocd_manifest, workloads
from ansible_collections.gitops.platform.plugins.module_utils.image_ref import ImageRefError, parse


def image_reference(reference: str) -> dict:
    try:
        ref = parse(reference)
    except ImageRefError as exc:
        raise AnsibleFilterError(str(exc)) from exc
    return {"registry": ref.registry, "path": ref.path, "tag": ref.tag, "digest": ref.digest, "name": ref.name,
            "registry_host": ref.registry_host, "registry_path": ref.registry_path}


def workloads_not_ready(items: list) -> list:
    return workloads.not_ready(items)


def argocd_manifest_patch(documents: list, image_override: dict | None = None, pull_policy: str = "",
                          replicas: dict | None = None, namespace: str = "argocd") -> list:
    return argocd_manifest.patch(documents, image_override, pull_policy, replicas, namespace)


class FilterModule:
    def filters(self) -> dict:
        return {
            "image_reference": image_reference,
            "workloads_not_ready": workloads_not_ready,
            "argocd_manifest_patch": argocd_manifest_patch,
        }

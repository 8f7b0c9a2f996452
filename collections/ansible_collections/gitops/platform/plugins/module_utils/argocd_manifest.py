# -*- coding: utf-8 -*-
# Copyright: contributors to the gitops platform
# Apache License 2.0
"""Adapt Argo CD's release manifest (install.yaml) to a platform, the way a kustomize overlay would."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

from ansible_collections.gitops.platform.plugins.module_utils.image_ref import ImageRefError, parse

_WORKLOADS = ("Deployment", "StatefulSet")


def _image(image: str, overrides: dict[str, str]) -> str:
    """The override for the exact reference, else for its name without tag or digest, else the image."""
    if image in overrides:
        return overrides[image]
    try:
        return overrides.get(parse(image).name, image)
    except ImageRefError:
        return image


def patch(documents: list, image_override: dict | None = None, pull_policy: str = "",
          replicas: dict | None = None, namespace: str = "argocd") -> list[dict]:
    """The manifest's objects with images overridden, the pull policy set, replica counts set by
    workload name, and ClusterRoleBinding subjects moved to `namespace`. Empty documents are dropped;
    the input is not modified."""
    overrides, counts = image_override or {}, replicas or {}
    out = []
    for original in documents or []:
        if not isinstance(original, dict) or "kind" not in original:
            continue
        doc = copy.deepcopy(original)
        if doc["kind"] in _WORKLOADS:
            pod = doc["spec"]["template"]["spec"]
            for key in ("initContainers", "containers"):
                for container in pod.get(key) or []:
                    container["image"] = _image(container["image"], overrides)
                    if pull_policy:
                        container["imagePullPolicy"] = pull_policy
            name = doc["metadata"]["name"]
            if name in counts:
                doc["spec"]["replicas"] = int(counts[name])
        elif doc["kind"] == "ClusterRoleBinding":
            for subject in doc.get("subjects") or []:
                subject["namespace"] = namespace
        out.append(doc)
    return out


def key(checksum: str, image_override: dict | None = None, pull_policy: str = "",
        replicas: dict | None = None, namespace: str = "argocd") -> str:
    """A SHA-256 that changes whenever `patch` would give other objects: the manifest file's checksum, the
    patch's arguments, and this file (the patch's own code). Recorded after an install, it tells a re-run
    that the cluster got this very manifest, without parsing it again."""
    inputs = {"manifest": checksum, "image_override": image_override or {}, "pull_policy": pull_policy or "",
              "replicas": {str(name): int(count) for name, count in (replicas or {}).items()},
              "namespace": namespace, "patch": hashlib.sha256(Path(__file__).read_bytes()).hexdigest()}
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()

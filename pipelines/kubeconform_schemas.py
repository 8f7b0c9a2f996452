"""kubeconform's schema directory for the platform: every kind of the pinned Kubernetes, Argo Rollouts' and the
VerticalPodAutoscaler's CRDs, each a standalone strict JSON schema, written once per version set.

kubeconform fetches schemas from a registry on the internet by default; here they are made from what the Go module
proxy serves: the API server's swagger.json in k8s.io/kubernetes, manifests/crds of github.com/argoproj/argo-rollouts
and deploy/vpa-v1-crd-gen.yaml of k8s.io/autoscaler/vertical-pod-autoscaler (pipelines/k8s_schema.py makes them
strict: unknown fields are errors). Files are named as kubeconform's `{{ .ResourceKind }}{{ .KindSuffix }}.json`
asks: `deployment-apps-v1.json`, `service-v1.json`, `rollout-argoproj-v1alpha1.json`.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from pipelines import k8s_schema
from pipelines.tools import PipelineError, cache_dir, platform_versions

LOCATION_TEMPLATE = "{{ .ResourceKind }}{{ .KindSuffix }}.json"
DRAFT4 = "http://json-schema.org/draft-04/schema#"


def file_name(group: str, version: str, kind: str) -> str:
    """kubeconform's file name: the kind in lower case, the first label of the group (none for the core group), the
    version."""
    suffix = f"-{group.split('.', maxsplit=1)[0].lower()}-{version.lower()}" if group else f"-{version.lower()}"
    return f"{kind.lower()}{suffix}.json"


def referenced(name: str, definitions: Mapping[str, Any]) -> dict[str, Any]:
    """The definition `name` and every definition it reaches through $ref, so that each file stands alone."""
    found: dict[str, Any] = {}
    pending = [name]
    while pending:
        current = pending.pop()
        if current in found or current not in definitions:
            continue
        found[current] = definitions[current]
        pending += [ref.removeprefix(k8s_schema.DEFINITIONS_REF) for ref in refs(definitions[current])]
    return found


def refs(schema: Any) -> Iterable[str]:
    if isinstance(schema, Mapping):
        if isinstance(schema.get("$ref"), str):
            yield schema["$ref"]
        for value in schema.values():
            yield from refs(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from refs(item)


def swagger_schemas(swagger: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """File name -> standalone schema for every kind the swagger document declares."""
    definitions = k8s_schema.strict_definitions(swagger["definitions"])
    schemas: dict[str, dict[str, Any]] = {}
    for name, definition in swagger["definitions"].items():
        for gvk in definition.get(k8s_schema.GVK_EXTENSION, []):
            schemas.setdefault(file_name(gvk["group"], gvk["version"], gvk["kind"]), {
                "$schema": DRAFT4, "$ref": k8s_schema.DEFINITIONS_REF + name,
                "definitions": referenced(name, definitions)})
    return schemas


def crd_schemas(documents: Iterable[Any]) -> dict[str, dict[str, Any]]:
    """File name -> strict schema for each served version of these CustomResourceDefinitions."""
    schemas: dict[str, dict[str, Any]] = {}
    for crd in documents:
        if not isinstance(crd, Mapping) or crd.get("kind") != "CustomResourceDefinition":
            continue
        spec = crd.get("spec") or {}
        for version in spec.get("versions") or []:
            schema = (version.get("schema") or {}).get("openAPIV3Schema")
            if schema and version.get("served", True):
                name = file_name(str(spec["group"]), str(version["name"]), str(spec["names"]["kind"]))
                schemas[name] = k8s_schema.strict_crd_schema(schema)
    return schemas


def yaml_documents(paths: Iterable[Path]) -> list[Any]:
    return [doc for path in paths for doc in yaml.safe_load_all(path.read_text(encoding="utf-8"))]


def crd_documents() -> list[Any]:
    versions = platform_versions()
    try:
        rollouts = k8s_schema.download_module(f"github.com/argoproj/argo-rollouts@{versions['argo_rollouts']}",
                                              env={"GOTOOLCHAIN": str(versions["argo_rollouts_go"])})
        vpa = k8s_schema.download_module(f"k8s.io/autoscaler/vertical-pod-autoscaler@{versions['vpa']}")
        sealed = k8s_schema.download_module(f"github.com/bitnami/sealed-secrets@{versions['sealed_secrets']}")
    except k8s_schema.SwaggerUnavailable as error:
        raise PipelineError(f"cannot get the CRDs the charts use: {error}") from error
    return yaml_documents([*sorted((rollouts / "manifests" / "crds").glob("*.yaml")), vpa / "deploy" / "vpa-v1-crd-gen.yaml",
                           *sorted((sealed / "helm" / "sealed-secrets" / "crds").glob("*.yaml"))])


def schema_dir() -> Path:
    """The directory of schemas for the pinned versions, written on first use (about 300 files)."""
    versions = platform_versions()
    key = (f"{versions['kubernetes']}-rollouts-{versions['argo_rollouts']}-vpa-{versions['vpa']}"
           f"-sealed-secrets-{versions['sealed_secrets']}")
    target = cache_dir() / "kubeconform-schemas" / key
    if (target / "deployment-apps-v1.json").is_file():
        return target
    try:
        swagger = json.loads(k8s_schema.download_swagger(str(versions["kubernetes"])).read_text(encoding="utf-8"))
    except k8s_schema.SwaggerUnavailable as error:
        raise PipelineError(f"cannot get the Kubernetes {versions['kubernetes']} schemas: {error}") from error
    schemas = swagger_schemas(swagger) | crd_schemas(crd_documents())
    target.parent.mkdir(parents=True, exist_ok=True)
    # Written beside and renamed into place: a run stopped half-way leaves no half directory that looks complete.
    scratch = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=target.parent))
    for name, schema in schemas.items():
        (scratch / name).write_text(json.dumps(schema, sort_keys=True), encoding="utf-8")
    try:
        os.rename(scratch, target)
    except OSError:
        # Another run wrote it first.
        shutil.rmtree(scratch, ignore_errors=True)
    return target

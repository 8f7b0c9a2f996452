"""Validate Kubernetes objects against the API server's own OpenAPI schemas, offline.

The k8s.io/kubernetes Go module ships ``api/openapi-spec/swagger.json``: the swagger 2.0 document the
API server publishes. It is fetched through the Go module proxy (``go mod download``), so it works
wherever Go modules can be downloaded, and the Go module cache keeps it for later runs.

Each definition that stands for a top-level object carries ``x-kubernetes-group-version-kind``;
the validator for an object is ``{"$ref": "#/definitions/<that definition>"}`` over all the definitions,
checked with jsonschema's Draft 4 validator (swagger 2.0 schemas are a dialect of draft 4).

Like ``kubeconform -strict``, unknown fields are errors: every definition that lists ``properties``
gets ``additionalProperties: false``. Two string "formats" are really unions and are rewritten so
valid YAML is not rejected: ``IntOrString`` (``format: int-or-string``) accepts an integer or a
string, and ``Quantity`` accepts a string or a number (``cpu: 1``).

Usage::

    swagger = download_swagger("v1.33.4")
    schemas = KubernetesSchemas.from_file(swagger)
    assert schemas.errors(obj) == []

or from a shell: ``python -m pipelines.k8s_schema manifest.yaml [...]`` (Kubernetes version read from
inventory/group_vars/all/versions.yml).

Custom resources are validated by their CustomResourceDefinitions' schemas, made strict the same way
(``schemas.add_crds(documents)``); the chart tests add Argo Rollouts' from its Go module.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
VERSIONS_FILE = REPO_ROOT / "inventory" / "group_vars" / "all" / "versions.yml"
KUBERNETES_MODULE = "k8s.io/kubernetes"
SWAGGER_IN_MODULE = Path("api") / "openapi-spec" / "swagger.json"
GVK_EXTENSION = "x-kubernetes-group-version-kind"
DEFINITIONS_REF = "#/definitions/"

INT_OR_STRING_FORMAT = "int-or-string"
QUANTITY_DEFINITION = "io.k8s.apimachinery.pkg.api.resource.Quantity"


class SwaggerUnavailable(RuntimeError):
    """The swagger document could not be obtained (no Go toolchain, no module proxy, bad version)."""


class SchemaNotFound(LookupError):
    """No definition in the swagger document declares the object's apiVersion and kind."""


def kubernetes_version(versions_file: Path = VERSIONS_FILE) -> str:
    """The pinned Kubernetes version, ``platform_versions.kubernetes`` (for example ``v1.33.4``)."""
    data = yaml.safe_load(versions_file.read_text(encoding="utf-8"))
    return str(data["platform_versions"]["kubernetes"])


def download_swagger(version: str, go: str | None = None) -> Path:
    """Download k8s.io/kubernetes@version into the Go module cache and return its swagger.json path.

    A second call is answered from the module cache without network access.
    """
    module = f"{KUBERNETES_MODULE}@{version}"
    swagger = download_module(module, go) / SWAGGER_IN_MODULE
    if not swagger.is_file():
        raise SwaggerUnavailable(f"{module} has no {SWAGGER_IN_MODULE} (looked in {swagger})")
    return swagger


def download_module(module: str, go: str | None = None, env: Mapping[str, str] | None = None) -> Path:
    """Download a Go module (``path@version``) into the Go module cache and return its directory; ``env`` adds to the
    environment (GOTOOLCHAIN for a module whose go.mod asks for a newer Go)."""
    go = go or shutil.which("go")
    if not go:
        raise SwaggerUnavailable(
            "the Go toolchain ('go') is not on PATH; it is needed to fetch OpenAPI schemas "
            "through the Go module proxy (install Go, or run `ansible-playbook playbooks/prerequisites.yml`)"
        )
    # Run outside any Go module so a go.mod in the working directory cannot interfere.
    with tempfile.TemporaryDirectory(prefix="k8s-schema-") as workdir:
        result = subprocess.run(
            [go, "mod", "download", "-json", module],
            cwd=workdir,
            env={**os.environ, "GO111MODULE": "on", **(env or {})},
            capture_output=True,
            text=True,
            check=False,
        )
    try:
        info = json.loads(result.stdout) if result.stdout.strip() else {}
    except json.JSONDecodeError:
        info = {}
    if result.returncode != 0 or "Error" in info or "Dir" not in info:
        detail = info.get("Error") or result.stderr.strip() or result.stdout.strip()
        raise SwaggerUnavailable(f"`go mod download -json {module}` failed: {detail}")
    return Path(info["Dir"])


def strict_crd_schema(schema: Any) -> Any:
    """Copy of a CRD's openAPIV3Schema with unknown fields rejected, as the API server prunes them: every object that
    lists properties and does not keep unknown fields (x-kubernetes-preserve-unknown-fields) gets
    additionalProperties false."""
    if isinstance(schema, list):
        return [strict_crd_schema(item) for item in schema]
    if not isinstance(schema, Mapping):
        return schema
    strict = {key: strict_crd_schema(value) for key, value in schema.items()}
    if "properties" in strict and "additionalProperties" not in strict and not strict.get("x-kubernetes-preserve-unknown-fields"):
        strict["additionalProperties"] = False
    return strict


def strict_definitions(definitions: Mapping[str, Any]) -> dict[str, Any]:
    """Copy of the swagger definitions made strict (unknown fields rejected) and YAML-friendly."""
    strict: dict[str, Any] = {}
    for name, original in definitions.items():
        definition = copy.deepcopy(dict(original))
        if definition.get("format") == INT_OR_STRING_FORMAT:
            definition.pop("format")
            definition["type"] = ["integer", "string"]
        elif name == QUANTITY_DEFINITION:
            definition["type"] = ["string", "number"]
        elif "properties" in definition and "additionalProperties" not in definition:
            definition["additionalProperties"] = False
        strict[name] = definition
    return strict


def split_api_version(api_version: str) -> tuple[str, str]:
    """``apps/v1`` -> (``apps``, ``v1``); ``v1`` -> (``""``, ``v1``): the core group is empty."""
    group, _, version = api_version.rpartition("/")
    return group, version


class KubernetesSchemas:
    """Strict validators for Kubernetes objects, one per apiVersion/kind, built from a swagger document."""

    def __init__(self, swagger: Mapping[str, Any]) -> None:
        self._definitions = strict_definitions(swagger["definitions"])
        self._by_gvk: dict[tuple[str, str, str], str] = {}
        for name, definition in swagger["definitions"].items():
            for gvk in definition.get(GVK_EXTENSION, []):
                self._by_gvk.setdefault((gvk["group"], gvk["version"], gvk["kind"]), name)
        self._validators: dict[str, jsonschema.Draft4Validator] = {}
        self._crd_schemas: dict[str, Any] = {}

    def add_crds(self, documents: Iterable[Any]) -> list[str]:
        """Validate the kinds of these CustomResourceDefinitions too (each served version's openAPIV3Schema, made
        strict); returns the kinds added as ``group/version/Kind``."""
        added = []
        for crd in documents:
            if not isinstance(crd, Mapping) or crd.get("kind") != "CustomResourceDefinition":
                continue
            spec = crd.get("spec") or {}
            for version in spec.get("versions") or []:
                schema = ((version.get("schema") or {}).get("openAPIV3Schema"))
                if not schema or not version.get("served", True):
                    continue
                gvk = (str(spec["group"]), str(version["name"]), str(spec["names"]["kind"]))
                name = "crd:" + "/".join(gvk)
                self._crd_schemas[name] = strict_crd_schema(schema)
                self._by_gvk[gvk] = name
                added.append("/".join(gvk))
        return added

    @classmethod
    def from_file(cls, swagger: Path) -> KubernetesSchemas:
        return cls(json.loads(Path(swagger).read_text(encoding="utf-8")))

    def definition_for(self, api_version: str, kind: str) -> str:
        """Name of the swagger definition describing apiVersion/kind."""
        group, version = split_api_version(api_version)
        try:
            return self._by_gvk[(group, version, kind)]
        except KeyError:
            raise SchemaNotFound(f"no Kubernetes schema for apiVersion={api_version!r} kind={kind!r}") from None

    def validator(self, api_version: str, kind: str) -> jsonschema.Draft4Validator:
        name = self.definition_for(api_version, kind)
        if name not in self._validators:
            schema = self._crd_schemas.get(name) or {"$ref": DEFINITIONS_REF + name, "definitions": self._definitions}
            self._validators[name] = jsonschema.Draft4Validator(schema)
        return self._validators[name]

    def errors(self, obj: Any) -> list[str]:
        """Every schema violation of one object, as readable lines; [] when the object is valid."""
        if not isinstance(obj, Mapping) or not obj.get("apiVersion") or not obj.get("kind"):
            return ["not a Kubernetes object: a mapping with apiVersion and kind is required"]
        name = (obj.get("metadata") or {}).get("name", "<unnamed>")
        where = f"{obj['apiVersion']}/{obj['kind']} {name}"
        validator = self.validator(str(obj["apiVersion"]), str(obj["kind"]))
        found = sorted(validator.iter_errors(obj), key=lambda error: list(map(str, error.absolute_path)))
        return [f"{where}: at {error.json_path}: {error.message}" for error in found]

    def validate_all(self, objects: Iterable[Any]) -> list[str]:
        """Errors of several objects, concatenated."""
        return [line for obj in objects for line in self.errors(obj)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Validate Kubernetes manifests against the OpenAPI schema, strictly.")
    parser.add_argument("manifests", nargs="+", type=Path, help="YAML files, multi-document allowed")
    parser.add_argument("--kubernetes-version", default=None, help="default: platform_versions.kubernetes")
    parser.add_argument("--swagger", type=Path, default=None, help="a swagger.json to use instead of downloading one")
    args = parser.parse_args(argv)
    swagger = args.swagger or download_swagger(args.kubernetes_version or kubernetes_version())
    schemas = KubernetesSchemas.from_file(swagger)
    problems: list[str] = []
    for manifest in args.manifests:
        documents = [doc for doc in yaml.safe_load_all(manifest.read_text(encoding="utf-8")) if doc is not None]
        try:
            problems += [f"{manifest}: {line}" for line in schemas.validate_all(documents)]
        except SchemaNotFound as error:
            problems.append(f"{manifest}: {error}")
    print("\n".join(problems) if problems else "all objects valid")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

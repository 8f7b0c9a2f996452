"""A server-side dry-run apply of every rendered object on a real cluster: what the API server and its admission
(webhooks, ValidatingAdmissionPolicies, quotas, immutable fields, node ports in use) would say, with nothing changed.

A release whose namespace exists is dry-run there, against the objects it would replace (a node port already taken
by another service is refused there). One whose namespace does not exist yet (a bare CI cluster) is dry-run in a
temporary namespace made for the run, with the labels Argo CD's managedNamespaceMetadata gives, and deleted after.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import yaml

from pipelines.charts import Release
from pipelines.tools import PipelineError

FIELD_MANAGER = "gitops-validate"
TEMP_PREFIX = "gitops-validate-"
# As argocd_app's managedNamespaceMetadata labels the app namespaces.
TEMP_LABELS = {"pod-security.kubernetes.io/enforce": "restricted", "app.kubernetes.io/managed-by": FIELD_MANAGER}


def client_for(context: str) -> Any:
    from kubernetes import config, dynamic
    from kubernetes.client import ApiClient
    from kubernetes.config.config_exception import ConfigException

    try:
        api = config.new_client_from_config(context=context)
    except (ConfigException, OSError) as error:
        raise PipelineError(f"no cluster for context {context!r}: {error} (kubectl config get-contexts lists them; "
                            "make up or kind create cluster makes one)") from error
    assert isinstance(api, ApiClient)
    return dynamic.DynamicClient(api)


def apply_dry_run(client: Any, obj: Mapping[str, Any], namespace: str) -> str | None:
    """None when the API server accepts the object, else its reason."""
    from kubernetes.dynamic.exceptions import DynamicApiError, ResourceNotFoundError

    try:
        resource = client.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
    except ResourceNotFoundError:
        return f"the cluster does not serve {obj['apiVersion']} {obj['kind']} (a CRD missing? make gitops-crds)"
    body = dict(obj, metadata=dict(obj["metadata"], namespace=namespace)) if resource.namespaced else obj
    try:
        resource.server_side_apply(body=body, name=obj["metadata"]["name"], namespace=namespace if resource.namespaced
                                   else None, field_manager=FIELD_MANAGER, force_conflicts=True, dry_run="All")
    except DynamicApiError as error:
        return error.summary()
    return None


def namespace_exists(client: Any, name: str) -> bool:
    from kubernetes.dynamic.exceptions import NotFoundError

    try:
        client.resources.get(api_version="v1", kind="Namespace").get(name=name)
    except NotFoundError:
        return False
    return True


def dry_run(context: str, releases: list[Release], rendered: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """(problems, report lines) of every release's objects."""
    client = client_for(context)
    namespaces = client.resources.get(api_version="v1", kind="Namespace")
    problems: list[str] = []
    lines: list[str] = []
    for release in releases:
        objects = [obj for obj in yaml.safe_load_all(rendered[release.name]) if isinstance(obj, dict)]
        target, temporary = release.namespace, None
        if not namespace_exists(client, target):
            temporary = target = f"{TEMP_PREFIX}{uuid.uuid4().hex[:8]}"
            namespaces.create(body={"apiVersion": "v1", "kind": "Namespace",
                                    "metadata": {"name": target, "labels": TEMP_LABELS}})
        try:
            refused = [(obj, apply_dry_run(client, obj, target)) for obj in objects]
        finally:
            if temporary:
                namespaces.delete(name=temporary)
        where = f"in {target} (temporary: {release.namespace} does not exist)" if temporary else f"in {target}"
        bad = [(obj, reason) for obj, reason in refused if reason]
        lines.append(f"{release.name}: {len(objects) - len(bad)} of {len(objects)} objects accepted {where}")
        problems += [f"{release.name}: {obj['kind']}/{obj['metadata']['name']} refused: {reason}" for obj, reason in bad]
    return problems, lines


def install_crds(context: str, documents: list[Any]) -> list[str]:
    """Applies (for real, server-side) the CustomResourceDefinitions among documents: what a bare CI cluster needs
    before the dry-run of charts that use Rollouts and VerticalPodAutoscalers. Returns their names."""
    client = client_for(context)
    crds = client.resources.get(api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition")
    names = []
    for crd in documents:
        if isinstance(crd, Mapping) and crd.get("kind") == "CustomResourceDefinition":
            crds.server_side_apply(body=crd, name=crd["metadata"]["name"], field_manager=FIELD_MANAGER, force_conflicts=True)
            names.append(crd["metadata"]["name"])
    return names

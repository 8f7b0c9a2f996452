"""Rendered objects are valid for the pinned Kubernetes version, strictly (unknown fields are errors).

The schemas are the API server's own OpenAPI document from the k8s.io/kubernetes Go module, and Argo Rollouts'
CRDs from its module (see pipelines/k8s_schema.py); no cluster is needed.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from chart_helpers import Helm, dig, find_object, k8s_schema

# (values files, --set, --set-json): renderings covering every template branch.
RENDERINGS = [
    pytest.param((), (), (), id="default"),
    pytest.param(("values-staging.yaml",), (), (), id="staging"),
    pytest.param(("values-production.yaml",), (), (), id="production"),
    pytest.param(
        (),
        ("service.type=ClusterIP", "serviceAccount.create=false", "image.tag="),
        ("imagePullSecrets=[]", "config=null"),
        id="minimal",
    ),
    pytest.param(
        (),
        ("service.type=LoadBalancer", "podDisruptionBudget.enabled=true", "podDisruptionBudget.minAvailable=50%"),
        (
            'podAnnotations={"prometheus.io/scrape":"true"}',
            'podLabels={"team":"platform"}',
            'serviceAccount={"annotations":{"example.com/owner":"platform"}}',
            'nodeSelector={"kubernetes.io/os":"linux"}',
            'tolerations=[{"key":"dedicated","operator":"Equal","value":"web","effect":"NoSchedule","tolerationSeconds":60}]',
            'affinity={"podAntiAffinity":{"preferredDuringSchedulingIgnoredDuringExecution":[{"weight":100,'
            '"podAffinityTerm":{"topologyKey":"kubernetes.io/hostname","labelSelector":{"matchLabels":{"app":"x"}}}}]}}',
            'rollingUpdate={"maxSurge":"25%","maxUnavailable":"25%"}',
            'resources={"limits":{"cpu":1,"memory":"1Gi"},"requests":{"cpu":0.25,"memory":"128M"}}',
        ),
        id="everything-set",
    ),
]


@pytest.mark.parametrize(("values", "sets", "set_json"), RENDERINGS)
def test_rendered_objects_match_kubernetes_schema(
    helm: Helm,
    k8s_schemas: k8s_schema.KubernetesSchemas,
    values: tuple[str, ...],
    sets: tuple[str, ...],
    set_json: tuple[str, ...],
) -> None:
    objects = helm.render(values, sets, set_json)

    kinds = {obj["kind"] for obj in objects}
    # Staging and production release by canary: a Rollout and its AnalysisTemplate, checked against Argo Rollouts' CRDs.
    assert "Service" in kinds and ({"Deployment"} <= kinds or {"Rollout", "AnalysisTemplate"} <= kinds)
    assert k8s_schemas.validate_all(objects) == []


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    parent_path, _, key = path.rpartition(".")

    def mutate(obj: dict[str, Any]) -> None:
        parent = dig(obj, parent_path)
        parent[int(key) if isinstance(parent, list) else key] = value

    return mutate


def _delete(path: str) -> Callable[[dict[str, Any]], None]:
    parent_path, _, key = path.rpartition(".")

    def mutate(obj: dict[str, Any]) -> None:
        del dig(obj, parent_path)[key]

    return mutate


CONTAINER = "spec.template.spec.containers.0"

# (kind to break, how, JSON path the error must point at)
BROKEN_OBJECTS = [
    pytest.param("Deployment", _set("spec.replicas", "two"), "$.spec.replicas", id="replicas-not-integer"),
    pytest.param("Deployment", _set("spec.replica", 2), "$.spec", id="unknown-spec-field"),
    pytest.param("Deployment", _set(f"{CONTAINER}.imagePullPolicyy", "Always"), "$.spec.template.spec.containers[0]", id="unknown-container-field"),
    pytest.param("Deployment", _set(f"{CONTAINER}.ports.0.containerPort", "8000"), "containerPort", id="port-not-integer"),
    pytest.param("Deployment", _set(f"{CONTAINER}.securityContext.capabilities.drop", "ALL"), "capabilities.drop", id="drop-not-list"),
    pytest.param("Deployment", _set(f"{CONTAINER}.resources.limits.cpu", True), "limits.cpu", id="quantity-boolean"),
    pytest.param("Deployment", _set("spec.strategy.rollingUpdate.maxSurge", 1.5), "maxSurge", id="int-or-string-float"),
    pytest.param("Deployment", _delete("spec.selector"), "$.spec", id="selector-required"),
    pytest.param("Deployment", _delete(f"{CONTAINER}.name"), "$.spec.template.spec.containers[0]", id="container-name-required"),
    pytest.param("Service", _set("spec.ports.0.nodePort", "30080"), "nodePort", id="nodeport-not-integer"),
    pytest.param("Service", _set("spec.ports.0.targetPort", {"name": "http"}), "targetPort", id="targetport-object"),
    pytest.param("ServiceAccount", _set("automountServiceAccountToken", "false"), "automountServiceAccountToken", id="bool-as-string"),
    pytest.param("ConfigMap", _set("data.WORKERS", 4), "data.WORKERS", id="configmap-value-not-string"),
    pytest.param("ConfigMap", _set("metadata.label", {"a": "b"}), "$.metadata", id="unknown-metadata-field"),
]

# The canary's objects are checked against Argo Rollouts' CRDs as strictly: (kind, how, where the error points).
BROKEN_CANARY_OBJECTS = [
    pytest.param("Rollout", _set("spec.strategy.canary.stepz", []), "$.spec.strategy.canary", id="rollout-unknown-field"),
    pytest.param("Rollout", _set("spec.strategy.canary.steps.0.setWeight", "twenty"), "setWeight", id="weight-not-integer"),
    pytest.param("Rollout", _set(f"{CONTAINER}.imagePullPolicyy", "Always"), "containers[0]", id="rollout-unknown-container-field"),
    pytest.param("AnalysisTemplate", _set("spec.metrics.0.provider.prometheus.address", 9090), "address", id="address-not-string"),
    pytest.param("AnalysisTemplate", _delete("spec.metrics.0.provider"), "$.spec.metrics[0]", id="provider-required"),
]


@pytest.mark.parametrize(("kind", "mutate", "where"), BROKEN_OBJECTS + BROKEN_CANARY_OBJECTS)
def test_broken_objects_are_rejected(
    helm: Helm,
    k8s_schemas: k8s_schema.KubernetesSchemas,
    kind: str,
    mutate: Callable[[dict[str, Any]], None],
    where: str,
) -> None:
    sets = ("canary.enabled=true",) if kind in ("Rollout", "AnalysisTemplate") else ()
    obj = copy.deepcopy(find_object(helm.render((), sets), kind))
    assert k8s_schemas.errors(obj) == [], "the unbroken object must be valid for this test to mean anything"

    mutate(obj)
    errors = k8s_schemas.errors(obj)

    assert errors, f"{kind} accepted after the mutation"
    assert any(where in error for error in errors), errors


# Values the strict schema must still accept: unions the swagger document spells as "string".
ACCEPTED_VARIANTS = [
    pytest.param("spec.strategy.rollingUpdate.maxSurge", 2, id="int-or-string-int"),
    pytest.param("spec.strategy.rollingUpdate.maxSurge", "50%", id="int-or-string-percent"),
    pytest.param(f"{CONTAINER}.resources.limits.cpu", 2, id="quantity-int"),
    pytest.param(f"{CONTAINER}.resources.limits.cpu", 0.5, id="quantity-float"),
    pytest.param(f"{CONTAINER}.resources.limits.memory", "1.5Gi", id="quantity-string"),
    pytest.param(f"{CONTAINER}.livenessProbe.httpGet.port", 8000, id="probe-port-number"),
    pytest.param("spec.template.metadata.annotations", {"any/key": "value"}, id="free-form-map"),
]


@pytest.mark.parametrize(("path", "value"), ACCEPTED_VARIANTS)
def test_valid_variants_are_accepted(helm: Helm, k8s_schemas: k8s_schema.KubernetesSchemas, path: str, value: Any) -> None:
    obj = copy.deepcopy(find_object(helm.render(), "Deployment"))
    _set(path, value)(obj)

    assert k8s_schemas.errors(obj) == []


@pytest.mark.parametrize(
    ("api_version", "kind", "definition"),
    [
        pytest.param("apps/v1", "Deployment", "io.k8s.api.apps.v1.Deployment", id="named-group"),
        pytest.param("v1", "Service", "io.k8s.api.core.v1.Service", id="core-group"),
        pytest.param("policy/v1", "PodDisruptionBudget", "io.k8s.api.policy.v1.PodDisruptionBudget", id="policy"),
    ],
)
def test_definition_lookup(k8s_schemas: k8s_schema.KubernetesSchemas, api_version: str, kind: str, definition: str) -> None:
    assert k8s_schemas.definition_for(api_version, kind) == definition


@pytest.mark.parametrize(
    ("api_version", "kind"),
    [
        pytest.param("policy/v1beta1", "PodDisruptionBudget", id="removed-version"),
        pytest.param("apps/v1", "Deploymnet", id="misspelt-kind"),
        pytest.param("argoproj.io/v1alpha1", "Application", id="custom-resource"),
    ],
)
def test_unknown_kinds_are_reported(k8s_schemas: k8s_schema.KubernetesSchemas, api_version: str, kind: str) -> None:
    with pytest.raises(k8s_schema.SchemaNotFound, match=kind):
        k8s_schemas.errors({"apiVersion": api_version, "kind": kind, "metadata": {"name": "x"}})


def test_not_an_object_is_reported(k8s_schemas: k8s_schema.KubernetesSchemas) -> None:
    assert k8s_schemas.errors({"metadata": {"name": "x"}}) != []

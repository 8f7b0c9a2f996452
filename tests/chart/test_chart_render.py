"""`helm template` renders the objects the platform relies on.

Each row of a table is one rendering (values files, --set, --set-json) and one expectation on an object.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from chart_helpers import VALUES_FILES, VPA_API, Helm, dig, find_object

POD = "spec.template.spec"
CONTAINER = f"{POD}.containers.0"
SELECTOR_LABELS = ("app.kubernetes.io/name", "app.kubernetes.io/instance")
COMMON_LABELS = (
    *SELECTOR_LABELS,
    "app.kubernetes.io/version",
    "app.kubernetes.io/managed-by",
    "helm.sh/chart",
)

# (values files, --set, --set-json, kind, dotted path, expected value), rendered for a cluster that serves the
# VerticalPodAutoscaler API as well as the built-in ones (the platform's does).
FIELD_CASES = [
    # Pod security context: non-root uid/gid 10001, seccomp RuntimeDefault.
    pytest.param((), (), (), "Deployment", f"{POD}.securityContext.runAsNonRoot", True, id="pod-runAsNonRoot"),
    pytest.param((), (), (), "Deployment", f"{POD}.securityContext.runAsUser", 10001, id="pod-runAsUser"),
    pytest.param((), (), (), "Deployment", f"{POD}.securityContext.runAsGroup", 10001, id="pod-runAsGroup"),
    pytest.param((), (), (), "Deployment", f"{POD}.securityContext.fsGroup", 10001, id="pod-fsGroup"),
    pytest.param((), (), (), "Deployment", f"{POD}.securityContext.seccompProfile", {"type": "RuntimeDefault"}, id="pod-seccomp"),
    # Container security context.
    pytest.param((), (), (), "Deployment", f"{CONTAINER}.securityContext.allowPrivilegeEscalation", False, id="no-privilege-escalation"),
    pytest.param((), (), (), "Deployment", f"{CONTAINER}.securityContext.readOnlyRootFilesystem", True, id="read-only-root"),
    pytest.param((), (), (), "Deployment", f"{CONTAINER}.securityContext.capabilities", {"drop": ["ALL"]}, id="drop-all-caps"),
    # Writable /tmp on an emptyDir.
    pytest.param((), (), (), "Deployment", f"{CONTAINER}.volumeMounts", [{"name": "tmp", "mountPath": "/tmp"}], id="tmp-mount"),
    pytest.param((), (), (), "Deployment", f"{POD}.volumes", [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}], id="tmp-emptydir"),
    # Ports: NodePort 30080 -> Service 80 -> container port "http" 8000.
    pytest.param((), (), (), "Service", "spec.type", "NodePort", id="service-type"),
    pytest.param((), (), (), "Service", "spec.ports.0.nodePort", 30080, id="service-nodeport"),
    pytest.param((), (), (), "Service", "spec.ports.0.port", 80, id="service-port"),
    pytest.param((), (), (), "Service", "spec.ports.0.targetPort", "http", id="service-targetport"),
    pytest.param((), ("service.nodePort=31999",), (), "Service", "spec.ports.0.nodePort", 31999, id="service-nodeport-override"),
    pytest.param((), (), (), "Deployment", f"{CONTAINER}.ports", [{"name": "http", "containerPort": 8000, "protocol": "TCP"}], id="container-port"),
    # Probes.
    pytest.param((), (), (), "Deployment", f"{CONTAINER}.livenessProbe.httpGet", {"path": "/healthz", "port": "http"}, id="liveness"),
    pytest.param((), (), (), "Deployment", f"{CONTAINER}.readinessProbe.httpGet", {"path": "/readyz", "port": "http"}, id="readiness"),
    # Image, pull policy, pull secrets, version reported by the app.
    pytest.param((), (), (), "Deployment", f"{CONTAINER}.image", "ghcr.io/example/demo-flask-app:0.1.0", id="image-default"),
    pytest.param((), ("image.tag=1.4.2",), (), "Deployment", f"{CONTAINER}.image", "ghcr.io/example/demo-flask-app:1.4.2", id="image-tag"),
    pytest.param(
        (),
        ("image.repository=localhost:5001/demo-flask-app", "image.tag=sha-0a1b2c3"),
        (),
        "Deployment",
        f"{CONTAINER}.image",
        "localhost:5001/demo-flask-app:sha-0a1b2c3",
        id="image-local-registry",
    ),
    pytest.param((), ("image.pullPolicy=Always",), (), "Deployment", f"{CONTAINER}.imagePullPolicy", "Always", id="pull-policy"),
    pytest.param(
        (),
        (),
        (),
        "Deployment",
        f"{CONTAINER}.env",
        [{"name": "APP_VERSION", "value": "0.1.0"}, {"name": "GUNICORN_GRACEFUL_TIMEOUT", "value": "20"}],
        id="app-version-default",
    ),
    # Graceful shutdown: serve through endpoint removal (preStop sleep), drain, all inside the grace period.
    pytest.param((), (), (), "Deployment", f"{CONTAINER}.lifecycle", {"preStop": {"sleep": {"seconds": 5}}}, id="prestop-sleep"),
    pytest.param((), (), (), "Deployment", f"{POD}.terminationGracePeriodSeconds", 30, id="grace-period"),
    pytest.param(
        (),
        ("shutdown.drainSeconds=40", "shutdown.terminationGracePeriodSeconds=50"),
        (),
        "Deployment",
        f"{CONTAINER}.env.1",
        {"name": "GUNICORN_GRACEFUL_TIMEOUT", "value": "40"},
        id="drain-seconds",
    ),
    pytest.param(
        (),
        ("image.tag=2.0.0-rc.1",),
        (),
        "Deployment",
        f"{CONTAINER}.env",
        [{"name": "APP_VERSION", "value": "2.0.0-rc.1"}, {"name": "GUNICORN_GRACEFUL_TIMEOUT", "value": "20"}],
        id="app-version-follows-tag",
    ),
    pytest.param((), (), (), "Deployment", f"{POD}.imagePullSecrets", [{"name": "regcred"}], id="pull-secret-default"),
    pytest.param(
        (),
        (),
        ('imagePullSecrets=[{"name":"ghcr-pull"}]',),
        "Deployment",
        f"{POD}.imagePullSecrets",
        [{"name": "ghcr-pull"}],
        id="pull-secret-custom",
    ),
    # Resources.
    pytest.param((), (), (), "Deployment", f"{CONTAINER}.resources.requests", {"cpu": "50m", "memory": "64Mi"}, id="requests"),
    pytest.param((), (), (), "Deployment", f"{CONTAINER}.resources.limits", {"cpu": "500m", "memory": "256Mi"}, id="limits"),
    pytest.param(
        ("values-production.yaml",),
        (),
        (),
        "Rollout",
        f"{CONTAINER}.resources.limits",
        {"cpu": "1", "memory": "256Mi"},
        id="limits-production",
    ),
    # Replicas and rollout.
    pytest.param((), (), (), "Deployment", "spec.replicas", 1, id="replicas-default"),
    pytest.param(("values-staging.yaml",), (), (), "Rollout", "spec.replicas", 2, id="replicas-staging"),
    pytest.param(("values-dev.yaml",), (), (), "Deployment", "spec.replicas", 1, id="replicas-dev"),
    pytest.param((), ("replicaCount=0",), (), "Deployment", "spec.replicas", 0, id="replicas-zero"),
    pytest.param((), (), (), "Deployment", "spec.revisionHistoryLimit", 3, id="revision-history"),
    pytest.param((), (), (), "Deployment", "spec.progressDeadlineSeconds", 120, id="progress-deadline"),
    pytest.param(("values-dev.yaml",), (), (), "Deployment", "spec.progressDeadlineSeconds", 45, id="progress-deadline-dev"),
    # Each environment on its own node port (platform_environments maps them to the host).
    pytest.param(("values-dev.yaml",), (), (), "Service", "spec.ports.0.nodePort", 30082, id="nodeport-dev"),
    pytest.param(("values-staging.yaml",), (), (), "Service", "spec.ports.0.nodePort", 30081, id="nodeport-staging"),
    pytest.param(("values-production.yaml",), (), (), "Service", "spec.ports.0.nodePort", 30080, id="nodeport-production"),
    # Autoscaling in production: the HPA owns the replica count.
    pytest.param(
        ("values-production.yaml",),
        (),
        (),
        "HorizontalPodAutoscaler",
        "spec",
        {"scaleTargetRef": {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": "demo-demo-flask-app"},
         "minReplicas": 2, "maxReplicas": 4,
         "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}],
         "behavior": {"scaleDown": {"stabilizationWindowSeconds": 60}}},
        id="hpa-production",
    ),
    # Each environment's budget and container defaults.
    pytest.param(
        ("values-dev.yaml",),
        (),
        (),
        "ResourceQuota",
        "spec.hard",
        {"requests.cpu": "500m", "requests.memory": "512Mi", "limits.cpu": "2", "limits.memory": "1Gi", "pods": "4"},
        id="quota-dev",
    ),
    pytest.param(
        ("values-production.yaml",),
        (),
        (),
        "LimitRange",
        "spec.limits",
        [{"type": "Container", "default": {"cpu": "500m", "memory": "256Mi"},
          "defaultRequest": {"cpu": "50m", "memory": "64Mi"}, "max": {"cpu": "1", "memory": "512Mi"}}],
        id="limitrange-production",
    ),
    pytest.param(
        (),
        (),
        (),
        "Deployment",
        "spec.strategy",
        {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
        id="strategy",
    ),
    pytest.param(
        (),
        ("rollingUpdate.maxSurge=25%",),
        (),
        "Deployment",
        "spec.strategy.rollingUpdate.maxSurge",
        "25%",
        id="strategy-percent",
    ),
    # Service account without an API token.
    pytest.param((), (), (), "ServiceAccount", "automountServiceAccountToken", False, id="sa-no-token"),
    pytest.param((), (), (), "Deployment", f"{POD}.automountServiceAccountToken", False, id="pod-no-token"),
    pytest.param((), (), (), "Deployment", f"{POD}.serviceAccountName", "demo-demo-flask-app", id="pod-service-account"),
    # Configuration and scheduling.
    pytest.param((), (), (), "ConfigMap", "data", {"LOG_LEVEL": "INFO"}, id="config-default"),
    pytest.param(("values-staging.yaml",), (), (), "ConfigMap", "data", {"APP_ENVIRONMENT": "staging", "LOG_LEVEL": "DEBUG"}, id="config-staging"),
    pytest.param(
        (),
        (),
        (),
        "Deployment",
        f"{CONTAINER}.envFrom",
        [{"configMapRef": {"name": "demo-demo-flask-app"}}],
        id="config-envfrom",
    ),
    pytest.param((), ("podAnnotations.team=platform",), (), "Deployment", "spec.template.metadata.annotations.team", "platform", id="pod-annotation"),
    pytest.param(
        (),
        ("nodeSelector.kubernetes\\.io/os=linux",),
        (),
        "Deployment",
        f"{POD}.nodeSelector",
        {"kubernetes.io/os": "linux"},
        id="node-selector",
    ),
    pytest.param(
        (),
        (),
        ('tolerations=[{"key":"dedicated","operator":"Exists","effect":"NoSchedule"}]',),
        "Deployment",
        f"{POD}.tolerations",
        [{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}],
        id="tolerations",
    ),
    # PodDisruptionBudget in the overlays.
    pytest.param(("values-staging.yaml",), (), (), "PodDisruptionBudget", "spec.minAvailable", 1, id="pdb-staging"),
    pytest.param(("values-production.yaml",), (), (), "PodDisruptionBudget", "spec.maxUnavailable", 1, id="pdb-production"),
    # Names.
    pytest.param((), ("fullnameOverride=web",), (), "Service", "metadata.name", "web", id="fullname-override"),
    # The VerticalPodAutoscaler (the cases render for a cluster that serves its API).
    pytest.param(
        ("values-production.yaml",),
        (),
        (),
        "VerticalPodAutoscaler",
        "spec",
        {"targetRef": {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": "demo-demo-flask-app"},
         "updatePolicy": {"updateMode": "Off"},
         "resourcePolicy": {"containerPolicies": [{"containerName": "demo-flask-app", "controlledResources": ["cpu", "memory"]}]}},
        id="vpa-production",
    ),
    # Recommendations only: the HorizontalPodAutoscaler scales the same Deployment on CPU. A string, not YAML's false.
    pytest.param(("values-production.yaml",), (), (), "VerticalPodAutoscaler", "spec.updatePolicy.updateMode", "Off", id="vpa-production-off"),
    pytest.param(("values-production.yaml",), (), (), "VerticalPodAutoscaler", "metadata.name", "demo-demo-flask-app", id="vpa-name"),
    pytest.param(
        ("values-production.yaml",),
        ("fullnameOverride=web", "canary.enabled=false"),
        (),
        "VerticalPodAutoscaler",
        "spec.targetRef",
        {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
        id="vpa-target-follows-fullname",
    ),
    pytest.param(
        (),
        ("verticalPodAutoscaler.enabled=true", "verticalPodAutoscaler.updateMode=Initial"),
        (
            'verticalPodAutoscaler.controlledResources=["memory"]',
            'verticalPodAutoscaler.minAllowed={"memory":"64Mi"}',
            'verticalPodAutoscaler.maxAllowed={"cpu":1,"memory":"512Mi"}',
        ),
        "VerticalPodAutoscaler",
        "spec",
        {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "demo-demo-flask-app"},
         "updatePolicy": {"updateMode": "Initial"},
         "resourcePolicy": {"containerPolicies": [{"containerName": "demo-flask-app", "controlledResources": ["memory"],
                                                   "minAllowed": {"memory": "64Mi"}, "maxAllowed": {"cpu": 1, "memory": "512Mi"}}]}},
        id="vpa-bounds",
    ),
]


@pytest.mark.parametrize(("values", "sets", "set_json", "kind", "path", "expected"), FIELD_CASES)
def test_rendered_field(
    helm: Helm,
    values: tuple[str, ...],
    sets: tuple[str, ...],
    set_json: tuple[str, ...],
    kind: str,
    path: str,
    expected: Any,
) -> None:
    obj = find_object(helm.render(values, sets, set_json, [VPA_API]), kind)

    assert dig(obj, path) == expected


# (values files, --set, --set-json, kind, dotted path whose last key must be absent)
ABSENT_CASES = [
    pytest.param((), (), ("imagePullSecrets=[]",), "Deployment", f"{POD}.imagePullSecrets", id="no-pull-secrets"),
    pytest.param((), ("service.type=ClusterIP",), (), "Service", "spec.ports.0.nodePort", id="clusterip-no-nodeport"),
    pytest.param((), (), ("config=null",), "Deployment", f"{CONTAINER}.envFrom", id="no-config-no-envfrom"),
    pytest.param((), (), ("config=null",), "Deployment", "spec.template.metadata.annotations", id="no-config-no-checksum"),
    pytest.param((), (), (), "Deployment", f"{POD}.nodeSelector", id="no-node-selector"),
    pytest.param((), (), (), "Deployment", f"{POD}.affinity", id="no-affinity"),
    pytest.param((), (), (), "Deployment", f"{POD}.tolerations", id="no-tolerations"),
    pytest.param((), ("shutdown.preStopSleepSeconds=0",), (), "Deployment", f"{CONTAINER}.lifecycle", id="prestop-off"),
    pytest.param(("values-production.yaml",), (), (), "PodDisruptionBudget", "spec.minAvailable", id="pdb-one-of-min-max"),
    # With the autoscaler on, Argo CD's self-heal must not reset the replica count it chose.
    pytest.param(("values-production.yaml",), (), (), "Rollout", "spec.replicas", id="hpa-no-replicas"),
    pytest.param(("values-production.yaml",), ("canary.enabled=false",), (), "Deployment", "spec.replicas", id="hpa-no-replicas-deployment"),
]


@pytest.mark.parametrize(("values", "sets", "set_json", "kind", "path"), ABSENT_CASES)
def test_rendered_field_absent(
    helm: Helm,
    values: tuple[str, ...],
    sets: tuple[str, ...],
    set_json: tuple[str, ...],
    kind: str,
    path: str,
) -> None:
    obj = find_object(helm.render(values, sets, set_json), kind)
    parent_path, _, key = path.rpartition(".")

    assert key not in dig(obj, parent_path)


# (values files, --set, --set-json, API versions the cluster serves besides the built-in ones, kinds rendered)
KINDS_CASES = [
    pytest.param((), (), (), (), ["ConfigMap", "Deployment", "NetworkPolicy", "NetworkPolicy", "Service", "ServiceAccount"],
                 id="default"),
    # Only production enables the VerticalPodAutoscaler: the other environments render none even where the cluster
    # serves its API.
    pytest.param(
        ("values-dev.yaml",),
        (),
        (),
        (VPA_API,),
        ["ConfigMap", "Deployment", "LimitRange", "NetworkPolicy", "NetworkPolicy", "ResourceQuota", "Service",
         "ServiceAccount"],
        id="dev",
    ),
    pytest.param(
        ("values-staging.yaml",),
        (),
        (),
        (VPA_API,),
        ["AnalysisTemplate", "ConfigMap", "LimitRange", "NetworkPolicy", "NetworkPolicy", "NetworkPolicy",
         "PodDisruptionBudget", "ResourceQuota", "Rollout", "Service", "ServiceAccount"],
        id="staging",
    ),
    # A cluster without the VPA CRDs: no VerticalPodAutoscaler, so the sync does not fail on an unknown kind.
    pytest.param(
        ("values-production.yaml",),
        (),
        (),
        (),
        ["AnalysisTemplate", "ConfigMap", "HorizontalPodAutoscaler", "LimitRange", "NetworkPolicy", "NetworkPolicy",
         "NetworkPolicy", "PodDisruptionBudget", "ResourceQuota", "Rollout", "Service", "ServiceAccount"],
        id="production",
    ),
    pytest.param(
        ("values-production.yaml",),
        (),
        (),
        (VPA_API,),
        ["AnalysisTemplate", "ConfigMap", "HorizontalPodAutoscaler", "LimitRange", "NetworkPolicy", "NetworkPolicy",
         "NetworkPolicy", "PodDisruptionBudget", "ResourceQuota", "Rollout", "Service", "ServiceAccount",
         "VerticalPodAutoscaler"],
        id="production-vpa-api",
    ),
    pytest.param((), ("verticalPodAutoscaler.enabled=true",), (), (),
                 ["ConfigMap", "Deployment", "NetworkPolicy", "NetworkPolicy", "Service", "ServiceAccount"], id="vpa-no-api"),
    pytest.param((), ("serviceAccount.create=false",), ("config=null",), (),
                 ["Deployment", "NetworkPolicy", "NetworkPolicy", "Service"], id="minimal"),
]


@pytest.mark.parametrize(("values", "sets", "set_json", "api_versions", "kinds"), KINDS_CASES)
def test_rendered_kinds(
    helm: Helm,
    values: tuple[str, ...],
    sets: tuple[str, ...],
    set_json: tuple[str, ...],
    api_versions: tuple[str, ...],
    kinds: list[str],
) -> None:
    assert sorted(obj["kind"] for obj in helm.render(values, sets, set_json, api_versions)) == kinds


def test_network_policies_deny_all_but_the_apps_port_in_and_dns_out(helm: Helm) -> None:
    policies = {obj["metadata"]["name"]: obj["spec"] for obj in helm.render(("values-staging.yaml",), (), (), (VPA_API,))
                if obj["kind"] == "NetworkPolicy"}
    deny, app = policies["demo-demo-flask-app-default-deny"], policies["demo-demo-flask-app"]
    traffic = policies["demo-demo-flask-app-canary-traffic"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    assert app["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "demo-flask-app", "app.kubernetes.io/instance": "demo"}
    assert app["ingress"] == [{"ports": [{"port": "http", "protocol": "TCP"}]}]
    dns = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
           "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}
    dns_ports = [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]
    assert app["egress"] == [{"to": [dns], "ports": dns_ports}]
    # The canary's synthetic traffic reaches the app's pods (their container port) and DNS, nothing else.
    assert traffic["egress"] == [{"to": [{"podSelector": app["podSelector"]}], "ports": [{"port": 8000, "protocol": "TCP"}]},
                                 {"to": [dns], "ports": dns_ports}]
    assert "ingress" not in traffic


def test_staging_and_production_prefer_their_replicas_on_different_nodes(helm: Helm) -> None:
    for values in ("values-staging.yaml", "values-production.yaml"):
        workload = find_object(helm.render((values,)), "Rollout")
        term = dig(workload, f"{POD}.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution.0")
        assert term["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname", values
        assert term["podAffinityTerm"]["labelSelector"]["matchLabels"]["app.kubernetes.io/instance"] == "demo"
    assert "affinity" not in dig(find_object(helm.render(("values-dev.yaml",)), "Deployment"), POD)
    # Rules of the user's own replace the preference.
    own = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]}]}}}
    rendered = helm.render(("values-production.yaml",), (), (f"affinity={json.dumps(own)}",))
    assert dig(find_object(rendered, "Rollout"), f"{POD}.affinity") == own


def test_network_policies_can_be_left_out(helm: Helm) -> None:
    assert "NetworkPolicy" not in {obj["kind"] for obj in helm.render(sets=["networkPolicy.enabled=false"])}


def test_service_account_default_when_not_created(helm: Helm) -> None:
    deployment = find_object(helm.render(sets=["serviceAccount.create=false"]), "Deployment")

    assert dig(deployment, f"{POD}.serviceAccountName") == "default"


def test_empty_tag_falls_back_to_app_version(helm: Helm, chart_metadata: dict[str, Any]) -> None:
    deployment = find_object(helm.render(sets=["image.tag="]), "Deployment")
    app_version = str(chart_metadata["appVersion"])

    assert dig(deployment, f"{CONTAINER}.image") == f"ghcr.io/example/demo-flask-app:{app_version}"
    assert dig(deployment, f"{CONTAINER}.env.0") == {"name": "APP_VERSION", "value": app_version}


@pytest.mark.parametrize("values_file", VALUES_FILES)
def test_every_object_has_the_common_labels(helm: Helm, values_file: str, chart_metadata: dict[str, Any]) -> None:
    for obj in helm.render([values_file], api_versions=[VPA_API]):
        labels = obj["metadata"]["labels"]
        missing = [label for label in COMMON_LABELS if label not in labels]
        assert not missing, f"{obj['kind']} lacks {missing}"
        assert labels["app.kubernetes.io/name"] == chart_metadata["name"]
        assert labels["app.kubernetes.io/instance"] == "demo"
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        assert labels["helm.sh/chart"] == f"{chart_metadata['name']}-{chart_metadata['version']}"


@pytest.mark.parametrize(
    ("tag", "label"),
    [
        pytest.param("1.4.2", "1.4.2", id="semver"),
        pytest.param("_build.7_", "build.7", id="trimmed-to-alphanumeric-ends"),
        pytest.param("a" * 100, "a" * 63, id="truncated-to-63"),
    ],
)
def test_version_label_is_the_deployed_tag(helm: Helm, tag: str, label: str) -> None:
    for obj in helm.render(sets=[f"image.tag={tag}"]):
        assert obj["metadata"]["labels"]["app.kubernetes.io/version"] == label


@pytest.mark.parametrize("values_file", VALUES_FILES)
def test_selectors_match_pod_labels(helm: Helm, values_file: str) -> None:
    objects = helm.render([values_file])
    # Staging and production release by canary: their pods are the Rollout's.
    deployment = next(obj for obj in objects if obj["kind"] in ("Deployment", "Rollout"))
    match_labels = deployment["spec"]["selector"]["matchLabels"]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]

    assert sorted(match_labels) == sorted(SELECTOR_LABELS)
    assert match_labels.items() <= pod_labels.items()
    assert find_object(objects, "Service")["spec"]["selector"] == match_labels
    for pdb in (obj for obj in objects if obj["kind"] == "PodDisruptionBudget"):
        assert pdb["spec"]["selector"]["matchLabels"] == match_labels


def test_config_checksum_tracks_the_configmap(helm: Helm) -> None:
    """Changing config changes the pod template, so Argo CD's sync rolls the pods."""

    def checksum_and_configmap(level: str) -> tuple[str, str]:
        result = helm.template(sets=[f"config.LOG_LEVEL={level}"])
        deployment = find_object(result.objects(), "Deployment")
        configmap_source = result.stdout.split("# Source: demo-flask-app/templates/configmap.yaml\n", 1)[1].split("\n---", 1)[0]
        return deployment["spec"]["template"]["metadata"]["annotations"]["checksum/config"], configmap_source

    info, info_source = checksum_and_configmap("INFO")
    debug, _ = checksum_and_configmap("DEBUG")

    assert info != debug
    # The template's own rendering ends with the newline after `{{- end }}`; helm's output separators drop it.
    assert info == hashlib.sha256((info_source.rstrip("\n") + "\n").encode()).hexdigest()


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (("shutdown.terminationGracePeriodSeconds=25",), "shutdown.terminationGracePeriodSeconds (25) must exceed"),
        (("shutdown.drainSeconds=30",), "must exceed preStopSleepSeconds + drainSeconds (35)"),
    ],
)
def test_grace_period_shorter_than_prestop_plus_drain_is_refused(helm: Helm, sets: tuple[str, ...], message: str) -> None:
    result = helm.template([], sets)
    assert result.returncode != 0 and message in result.stderr, result.stderr

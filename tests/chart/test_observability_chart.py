"""helm/platform-observability renders a Prometheus that scrapes what the rules and the canary analysis select on,
an Alertmanager that sends to the platform's receiver, and objects valid for the pinned Kubernetes version."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import yaml
from chart_helpers import OBSERVABILITY_CHART_DIR, Helm, find_object, k8s_schema

NAMESPACE = "demo"


@pytest.fixture(scope="module")
def chart(helm: Helm) -> Helm:
    return dataclasses.replace(helm, chart_dir=OBSERVABILITY_CHART_DIR)


def named(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (found,) = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


def prometheus_config(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return yaml.safe_load(named(objects, "ConfigMap", "prometheus-config")["data"]["prometheus.yml"])


def test_lint_strict_and_every_object_valid_for_kubernetes(chart: Helm, k8s_schemas: k8s_schema.KubernetesSchemas) -> None:
    assert chart.lint().returncode == 0
    objects = chart.render()
    assert sorted((o["kind"], o["metadata"]["name"]) for o in objects if o["kind"] in {"Deployment", "Service"}) == [
        ("Deployment", "alert-receiver"), ("Deployment", "alertmanager"), ("Deployment", "prometheus"),
        ("Service", "alert-receiver"), ("Service", "alertmanager"), ("Service", "prometheus")]
    assert k8s_schemas.validate_all(objects) == []


def test_the_app_is_scraped_in_every_environment_with_the_labels_the_analysis_selects_on(chart: Helm) -> None:
    config = prometheus_config(chart.render())
    (app,) = [job for job in config["scrape_configs"] if job["job_name"] == "demo-flask-app"]
    assert app["kubernetes_sd_configs"] == [{"role": "pod", "namespaces": {"names": ["demo-dev", "demo-staging", "demo-production"]}}]
    targets = {rule.get("target_label"): rule["source_labels"] for rule in app["relabel_configs"] if rule.get("target_label")}
    assert targets["namespace"] == ["__meta_kubernetes_namespace"]
    assert targets["rollouts_pod_template_hash"] == ["__meta_kubernetes_pod_label_rollouts_pod_template_hash"]
    kept = [(rule["source_labels"], rule["regex"]) for rule in app["relabel_configs"] if rule.get("action") == "keep"]
    assert kept == [(["__meta_kubernetes_pod_label_app_kubernetes_io_name"], "demo-flask-app"),
                    (["__meta_kubernetes_pod_container_port_name"], "http")]
    assert config["global"]["scrape_interval"] == "5s"
    assert config["rule_files"] == ["/etc/prometheus/rules/*.rules.yml"]


def test_argocd_and_the_kubelets_are_scraped_and_tls_is_verified(chart: Helm) -> None:
    jobs = {job["job_name"]: job for job in prometheus_config(chart.render())["scrape_configs"]}
    assert set(jobs) == {"prometheus", "demo-flask-app", "argocd", "kubelet-cadvisor"}
    assert jobs["argocd"]["kubernetes_sd_configs"][0]["namespaces"] == {"names": ["argocd"]}
    cadvisor = jobs["kubelet-cadvisor"]
    assert cadvisor["scheme"] == "https" and "insecure_skip_verify" not in cadvisor["tls_config"]
    assert cadvisor["tls_config"]["ca_file"].endswith("/serviceaccount/ca.crt")
    paths = [rule for rule in cadvisor["relabel_configs"] if rule.get("target_label") == "__metrics_path__"]
    assert paths[0]["replacement"] == "/api/v1/nodes/$1/proxy/metrics/cadvisor"


def test_every_rules_file_is_loaded_and_alertmanager_sends_to_the_receiver(chart: Helm) -> None:
    objects = chart.render()
    rules = named(objects, "ConfigMap", "prometheus-rules")["data"]
    assert set(rules) == {path.name for path in (OBSERVABILITY_CHART_DIR / "rules").glob("*.rules.yml")}
    for name, text in rules.items():
        assert text == (OBSERVABILITY_CHART_DIR / "rules" / name).read_text(), name
    alertmanager = yaml.safe_load(named(objects, "ConfigMap", "alertmanager-config")["data"]["alertmanager.yml"])
    (receiver,) = alertmanager["receivers"]
    assert alertmanager["route"]["receiver"] == receiver["name"]
    assert receiver["webhook_configs"] == [{"url": f"http://alert-receiver.{NAMESPACE}.svc:8080/alerts", "send_resolved": True}]
    prometheus = prometheus_config(objects)
    assert prometheus["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == [f"alertmanager.{NAMESPACE}.svc:9093"]


def test_pods_meet_the_restricted_pod_security_standard(chart: Helm) -> None:
    for deployment in (o for o in chart.render() if o["kind"] == "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] and pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        for container in pod["containers"]:
            context = container["securityContext"]
            assert context == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}}
            assert container["resources"]["limits"] and container["readinessProbe"]


@pytest.mark.parametrize(("sets", "service_type"), [((), "NodePort"), (("prometheus.nodePort=0",), "ClusterIP")])
def test_node_port_or_cluster_ip(chart: Helm, sets: tuple[str, ...], service_type: str) -> None:
    service = named(chart.render([], sets), "Service", "prometheus")
    assert service["spec"]["type"] == service_type
    assert ("nodePort" in service["spec"]["ports"][0]) == (service_type == "NodePort")


@pytest.mark.parametrize(
    ("sets", "set_json", "message"),
    [
        (("prometheus.retention=6",), (), "got number, want string"),
        (("prometheus.scrapeInterval=fast",), (), "does not match pattern"),
        (("prometheus.nodePort=80",), (), "anyOf"),
        (("receiver.keep=0",), (), "minimum"),
        ((), ('prometheus.appNamespaces=["Demo"]',), "does not match pattern"),
        (("alertmanager.image=Quay.io/x",), (), "does not match pattern"),
        (("prometheus.typo=1",), (), "additional properties"),
    ],
)
def test_bad_values_are_refused(chart: Helm, sets: tuple[str, ...], set_json: tuple[str, ...], message: str) -> None:
    result = chart.template([], sets, set_json)
    assert result.returncode != 0 and message in result.stderr, result.stderr

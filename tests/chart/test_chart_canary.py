"""canary.enabled renders an Argo Rollouts Rollout judged by an AnalysisTemplate on Prometheus, instead of the
Deployment: the same pods, canary steps with an analysis after each weight, the autoscalers pointed at it."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from chart_helpers import VPA_API, Helm, dig, find_object, promtool_path

CANARY = ("canary.enabled=true",)
ROLLOUTS_API = "argoproj.io/v1alpha1"


def metric(template: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [m for m in template["spec"]["metrics"] if m["name"] == name]
    return found


def test_the_rollout_replaces_the_deployment_with_the_same_pods(helm: Helm) -> None:
    plain = helm.render(["values-staging.yaml"], ("canary.enabled=false",))
    canary = helm.render(["values-staging.yaml"], CANARY)
    assert "Deployment" not in {o["kind"] for o in canary} and "Rollout" not in {o["kind"] for o in plain}
    deployment, rollout = find_object(plain, "Deployment"), find_object(canary, "Rollout")
    assert rollout["apiVersion"] == ROLLOUTS_API and rollout["metadata"]["name"] == deployment["metadata"]["name"]
    for path in ("template", "selector", "replicas", "revisionHistoryLimit", "progressDeadlineSeconds"):
        assert dig(rollout, f"spec.{path}") == dig(deployment, f"spec.{path}"), path
    assert rollout["spec"]["progressDeadlineAbort"] is True


@pytest.mark.parametrize(("weights", "expected"), [("{20,50}", [20, 50]), ("{10,30,60}", [10, 30, 60]), ("{50}", [50])])
def test_each_weight_is_followed_by_an_analysis_of_the_canary_pods(helm: Helm, weights: str, expected: list[int]) -> None:
    objects = helm.render([], (*CANARY, f"canary.weights={weights}"))
    steps = find_object(objects, "Rollout")["spec"]["strategy"]["canary"]["steps"]
    assert [s["setWeight"] for s in steps[0::2]] == expected
    name = find_object(objects, "AnalysisTemplate")["metadata"]["name"]
    for step in steps[1::2]:
        assert step["analysis"]["templates"] == [{"templateName": name}]
        assert step["analysis"]["args"] == [{"name": "canary-hash", "valueFrom": {"podTemplateHashValue": "Latest"}}]


@pytest.mark.parametrize(
    ("sets", "set_json", "message"),
    [
        (("canary.weights={50,20}",), (), "canary.weights must rise strictly between 1 and 99"),
        (("canary.weights={20,20}",), (), "canary.weights must rise strictly"),
        ((), ("canary.weights=[]",), "minItems"),
        (("canary.weights={100}",), (), "maximum"),
        (("canary.analysis.maxErrorRate=5",), (), "maximum"),
        (("canary.analysis.prometheusAddress=prometheus:9090",), (), "does not match pattern"),
        (("canary.traffic.requestsPerSecond=0",), (), "minimum"),
    ],
)
def test_bad_canary_settings_are_refused(helm: Helm, sets: tuple[str, ...], set_json: tuple[str, ...], message: str) -> None:
    result = helm.template([], (*CANARY, *sets), set_json)
    assert result.returncode != 0 and message in result.stderr, result.stderr


def test_the_analysis_judges_error_rate_and_p95_of_the_canary_hash_and_no_data_is_not_success(helm: Helm) -> None:
    template = find_object(helm.render([], CANARY, ("canary.analysis.maxErrorRate=0.05",)), "AnalysisTemplate")
    assert template["spec"]["args"] == [{"name": "canary-hash"}]
    errors, latency = metric(template, "error-rate"), metric(template, "p95-latency")
    selector = 'namespace="demo",rollouts_pod_template_hash="{{args.canary-hash}}",endpoint!~"/healthz|/readyz|/metrics"'
    assert errors["provider"]["prometheus"]["query"] == (
        f'(sum(rate(http_requests_total{{{selector},status=~"5.."}}[30s])) or vector(0))'
        f' / sum(rate(http_requests_total{{{selector}}}[30s]))')
    assert latency["provider"]["prometheus"]["query"] == (
        f"histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{{{selector}}}[30s])))")
    assert errors["successCondition"] == "len(result) > 0 && !isNaN(result[0]) && result[0] <= 0.05"
    assert errors["failureCondition"] == "len(result) > 0 && !isNaN(result[0]) && result[0] > 0.05"
    assert latency["successCondition"].endswith("result[0] <= 0.5") and latency["failureCondition"].endswith("result[0] > 0.5")
    for judged in (errors, latency):
        # Empty result or NaN matches neither condition: Inconclusive, never Successful.
        assert judged["successCondition"].startswith("len(result) > 0 && !isNaN(result[0])")
        assert judged["failureCondition"].startswith("len(result) > 0 && !isNaN(result[0])")
        assert (judged["interval"], judged["initialDelay"], judged["count"]) == ("10s", "10s", 3)
        assert (judged["failureLimit"], judged["inconclusiveLimit"]) == (0, 1)
        assert judged["provider"]["prometheus"]["address"] == "http://prometheus.monitoring.svc.cluster.local:9090"


def test_synthetic_traffic_runs_beside_the_measurements_in_a_restricted_pod(helm: Helm) -> None:
    objects = helm.render(["values-production.yaml"], (*CANARY, "canary.traffic.requestsPerSecond=8", "image.tag=2.0.0"))
    job = metric(find_object(objects, "AnalysisTemplate"), "synthetic-traffic")["provider"]["job"]["spec"]
    pod = job["template"]["spec"]
    (container,) = pod["containers"]
    script = container["args"][0]
    assert 'url, rate, seconds = "http://demo-demo-flask-app.demo.svc:80/", 8, 40' in script
    assert container["image"] == "ghcr.io/example/demo-flask-app:2.0.0" and container["command"] == ["python3", "-c"]
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]} and pod["securityContext"]["runAsNonRoot"]
    assert container["resources"]["limits"] and pod["restartPolicy"] == "Never" and job["backoffLimit"] == 0
    assert job["activeDeadlineSeconds"] > 40
    # Not one of the app's pods: the Service must not send users to it.
    service = find_object(objects, "Service")
    assert job["template"]["metadata"]["labels"]["app.kubernetes.io/name"] != service["spec"]["selector"]["app.kubernetes.io/name"]
    quiet = helm.render([], (*CANARY, "canary.traffic.enabled=false"))
    assert [m["name"] for m in find_object(quiet, "AnalysisTemplate")["spec"]["metrics"]] == ["error-rate", "p95-latency"]


def test_the_autoscalers_act_on_the_rollout(helm: Helm) -> None:
    objects = helm.render(["values-production.yaml"], CANARY, api_versions=(VPA_API,))
    target = {"apiVersion": ROLLOUTS_API, "kind": "Rollout", "name": "demo-demo-flask-app"}
    assert find_object(objects, "HorizontalPodAutoscaler")["spec"]["scaleTargetRef"] == target
    assert find_object(objects, "VerticalPodAutoscaler")["spec"]["targetRef"] == target
    assert "replicas" not in find_object(objects, "Rollout")["spec"]


# 1 request a second for 2 minutes, scraped every 5 s: the canary pod's (hash abc) and a stable pod's (hash old).
PER_SCRAPE = 5


def series(status: str, pod_hash: str, per_scrape: int) -> dict:
    return {"series": (f'http_requests_total{{namespace="demo",rollouts_pod_template_hash="{pod_hash}",endpoint="/",'
                       f'status="{status}"}}'),
            "values": f"0+{per_scrape}x24"}


@pytest.mark.bundle  # promtool comes from the bundle
@pytest.mark.parametrize(("inputs", "expected"), [
    # Every request answered 200: an error rate of 0, not "no data" (an empty 5xx series used to leave it empty).
    ([series("200", "abc", PER_SCRAPE)], [{"labels": "{}", "value": 0}]),
    # 30 % 5xx.
    ([series("200", "abc", 7), series("500", "abc", 3)], [{"labels": "{}", "value": 0.3}]),
    # The stable pods' errors are not the canary's.
    ([series("200", "abc", PER_SCRAPE), series("500", "old", PER_SCRAPE)], [{"labels": "{}", "value": 0}]),
    # No request reached the canary: nothing, which the analysis calls Inconclusive.
    ([series("200", "old", PER_SCRAPE)], []),
], ids=["all-ok", "thirty-percent", "stable-errors-ignored", "no-traffic"])
def test_the_error_rate_query_measures_the_canary_in_prometheus(helm: Helm, tmp_path: Path, inputs: list,
                                                                 expected: list) -> None:
    """The rendered query, evaluated by promtool (built from the Prometheus module with the bundle) on recorded series."""
    promtool = promtool_path.promtool()
    template = find_object(helm.render([], CANARY), "AnalysisTemplate")
    query = metric(template, "error-rate")["provider"]["prometheus"]["query"].replace("{{args.canary-hash}}", "abc")
    suite = {"evaluation_interval": "5s", "rule_files": [], "tests": [{
        "interval": "5s", "input_series": inputs,
        "promql_expr_test": [{"expr": query, "eval_time": "2m", "exp_samples": expected}]}]}
    (tmp_path / "query.test.yml").write_text(yaml.safe_dump(suite), encoding="utf-8")
    result = subprocess.run([promtool, "test", "rules", "query.test.yml"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_traffic_pods_are_not_counted_as_the_apps(helm: Helm) -> None:
    """The promotion gate, the Service and Prometheus select the app's pods by name and instance: the synthetic
    traffic pods, which run a canary's image, must match none of them."""
    objects = helm.render([], CANARY)
    (traffic,) = [m for m in find_object(objects, "AnalysisTemplate")["spec"]["metrics"] if m["name"] == "synthetic-traffic"]
    labels = traffic["provider"]["job"]["spec"]["template"]["metadata"]["labels"]
    app_labels = find_object(objects, "Rollout")["spec"]["template"]["metadata"]["labels"]
    assert "app.kubernetes.io/instance" not in labels
    assert labels["app.kubernetes.io/name"] != app_labels["app.kubernetes.io/name"]
    assert not find_object(objects, "Service")["spec"]["selector"].items() <= labels.items()

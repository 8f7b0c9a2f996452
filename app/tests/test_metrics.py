"""/metrics exposes request counts, latency and build info from the app's own registry."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families


def scrape(client: Any) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Return every sample of one scrape as {(sample name, labels): value}."""
    response = client.get("/metrics")
    assert response.status_code == 200
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def requests_total(samples: dict, method: str, endpoint: str, status: str) -> float:
    key = ("http_requests_total", frozenset({"method": method, "endpoint": endpoint, "status": status}.items()))
    return samples.get(key, 0.0)


def test_exposition_format(client: Any) -> None:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.headers["Content-Type"] == CONTENT_TYPE_LATEST
    text = response.get_data(as_text=True)
    for line in (
        "# TYPE http_requests_total counter",
        "# TYPE http_request_duration_seconds histogram",
        "# TYPE app_build_info gauge",
        'app_build_info{name="demo-flask-app",version="1.2.3"} 1.0',
    ):
        assert line in text


@pytest.mark.parametrize(
    ("method", "path", "endpoint", "status"),
    [
        ("GET", "/", "/", "200"),
        ("GET", "/healthz", "/healthz", "200"),
        ("GET", "/version", "/version", "200"),
        ("POST", "/version", "unmatched", "405"),
        # Unknown paths share one label value, so scanners cannot blow up the series count.
        ("GET", "/wp-login.php", "unmatched", "404"),
    ],
)
def test_request_counter_increments(client: Any, method: str, path: str, endpoint: str, status: str) -> None:
    before = requests_total(scrape(client), method, endpoint, status)
    for _ in range(3):
        client.open(path, method=method)
    after = requests_total(scrape(client), method, endpoint, status)
    assert after - before == 3


def test_latency_histogram_counts_requests(client: Any) -> None:
    for _ in range(4):
        client.get("/version")
    samples = scrape(client)
    labels = frozenset({"method": "GET", "endpoint": "/version"}.items())
    assert samples[("http_request_duration_seconds_count", labels)] == 4
    assert samples[("http_request_duration_seconds_sum", labels)] > 0
    inf_bucket = ("http_request_duration_seconds_bucket", labels | {("le", "+Inf")})
    assert samples[inf_bucket] == 4


def test_scrapes_are_counted(client: Any) -> None:
    scrape(client)
    samples = scrape(client)
    assert requests_total(samples, "GET", "/metrics", "200") == 1  # the first scrape, seen by the second


def test_process_metrics_are_exposed(client: Any) -> None:
    names = {name for name, _ in scrape(client)}
    assert "process_resident_memory_bytes" in names


def test_each_app_has_its_own_registry(make_app: Any) -> None:
    first = make_app(APP_VERSION="1.0.0").test_client()
    second = make_app(APP_VERSION="2.0.0").test_client()
    for _ in range(5):
        first.get("/healthz")
    assert requests_total(scrape(first), "GET", "/healthz", "200") == 5
    second_samples = scrape(second)
    assert requests_total(second_samples, "GET", "/healthz", "200") == 0
    build = ("app_build_info", frozenset({"name": "demo-flask-app", "version": "2.0.0"}.items()))
    assert second_samples[build] == 1.0

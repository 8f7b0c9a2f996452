"""A release built with faults is bad for its users only: the probes, /metrics and /version stay healthy."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from demo_app.faults import Faults


@pytest.mark.parametrize(("rate", "requests", "failures"), [(0.0, 100, 0), (0.2, 100, 20), (0.25, 10, 2),
                                                           (0.3, 10, 3), (0.5, 7, 3), (1.0, 5, 5)])
def test_exactly_the_share_fails(rate: float, requests: int, failures: int) -> None:
    faults = Faults(rate, 0)
    assert sum(faults.next_fails() for _ in range(requests)) == failures


def test_failures_are_spread_evenly() -> None:
    faults = Faults(0.2, 0)
    assert [faults.next_fails() for _ in range(10)] == [False, False, False, False, True] * 2


def test_the_share_holds_under_concurrent_requests() -> None:
    faults = Faults(0.1, 0)
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(lambda _: faults.next_fails(), range(1000)))
    assert sum(outcomes) == 100


def test_user_requests_fail_while_probes_metrics_and_version_stay_healthy(make_app: Any, logs: Any) -> None:
    app = make_app(APP_VERSION="2.0.0-bad", FAULT_ERROR_RATE="0.5")
    client = app.test_client()
    statuses = [client.get("/", headers={"Accept": "application/json"}).status_code for _ in range(10)]
    assert statuses.count(500) == 5 and statuses.count(200) == 5
    failed = client.get("/")  # the 11th: 11 * 0.5 does not cross a whole number
    assert failed.status_code == 200
    failed = client.get("/")
    assert failed.status_code == 500 and failed.get_json()["description"] == "Fault injected (FAULT_ERROR_RATE)."
    for path in ("/healthz", "/readyz", "/metrics", "/version") * 5:
        assert client.get(path).status_code == 200, path
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'http_requests_total{endpoint="/",method="GET",status="500"} 6.0' in metrics
    assert 'http_requests_total{endpoint="/",method="GET",status="200"} 6.0' in metrics
    warnings = [r for r in logs.records() if r["level"] == "WARNING"]
    assert warnings and warnings[0]["message"].startswith("faults injected on purpose") and warnings[0]["error_rate"] == 0.5


def test_added_latency_shows_in_the_histogram_but_not_on_the_probes(make_app: Any) -> None:
    client = make_app(FAULT_LATENCY_MS="120").test_client()
    started = time.perf_counter()
    assert client.get("/").status_code == 200
    assert time.perf_counter() - started >= 0.12
    # The probe is not delayed: on a loaded machine it may take tens of milliseconds, never the fault's 120 ms more
    # than that (a delayed probe takes at least 0.12 s of sleep alone, so the bound is the sleep, not a speed).
    started = time.perf_counter()
    for _ in range(5):
        assert client.get("/readyz").status_code == 200
    assert time.perf_counter() - started < 5 * 0.12
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'http_request_duration_seconds_bucket{endpoint="/",le="0.1",method="GET"} 0.0' in metrics
    assert 'http_request_duration_seconds_bucket{endpoint="/",le="0.25",method="GET"} 1.0' in metrics


def test_no_faults_by_default(client: Any, logs: Any) -> None:
    assert all(client.get("/").status_code == 200 for _ in range(50))
    assert not [r for r in logs.records() if r["level"] == "WARNING"]


def test_a_bad_setting_fails_the_start(make_app: Any) -> None:
    with pytest.raises(ValueError, match="FAULT_ERROR_RATE must be between 0 and 1"):
        make_app(FAULT_ERROR_RATE="20")

"""The platform's webhook receiver (helm/platform-observability/files/alert_receiver.py), run for real on loopback
with the notification Alertmanager's webhook sends."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "helm" / "platform-observability" / "files" / "alert_receiver.py"
# The shape of Alertmanager's webhook payload (version 4).
NOTIFICATION = {
    "version": "4", "status": "firing", "receiver": "platform-webhook", "groupKey": '{}:{alertname="AppErrorRateHigh"}',
    "groupLabels": {"alertname": "AppErrorRateHigh"}, "commonLabels": {"severity": "critical"},
    "alerts": [{"status": "firing", "labels": {"alertname": "AppErrorRateHigh", "namespace": "demo-staging"},
                "annotations": {"summary": "demo-staging: 20% of requests fail"}, "startsAt": "2026-11-30T10:00:00Z"}],
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def call(url: str, body: bytes | None = None) -> tuple[int, object]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"} if body else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 (loopback only)
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture
def receiver() -> Iterator[tuple[str, subprocess.Popen]]:
    port = free_port()
    process = subprocess.Popen([sys.executable, str(SCRIPT)], env={"PORT": str(port), "KEEP": "2"},
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while True:
        try:
            call(f"{url}/healthz")
            break
        except OSError:
            assert time.monotonic() < deadline and process.poll() is None, "the receiver did not start"
            time.sleep(0.1)
    try:
        yield url, process
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_keeps_the_last_notifications_and_logs_each_alert(receiver: tuple[str, subprocess.Popen]) -> None:
    url, process = receiver
    assert call(f"{url}/alerts") == (200, [])
    for index in range(3):
        assert call(f"{url}/alerts", json.dumps(dict(NOTIFICATION, groupKey=str(index))).encode()) == (200, {"status": "received"})
    status, kept = call(f"{url}/alerts")
    assert status == 200 and [n["groupKey"] for n in kept] == ["1", "2"]  # KEEP=2, newest last
    assert kept[-1]["alerts"][0]["labels"]["namespace"] == "demo-staging" and kept[-1]["receivedAt"].endswith("Z")
    process.terminate()
    lines = [json.loads(line) for line in process.communicate(timeout=10)[0].splitlines()]
    assert lines[0]["message"] == "alert receiver listening"
    alerts = [line for line in lines if line["message"] == "alert received"]
    assert len(alerts) == 3 and alerts[0]["labels"]["alertname"] == "AppErrorRateHigh" and alerts[0]["status"] == "firing"


@pytest.mark.parametrize(("path", "body", "status"), [("/alerts", b"not json", 400), ("/alerts", b"", 400),
                                                      ("/other", b"{}", 404)])
def test_refuses_what_is_not_a_notification(receiver: tuple[str, subprocess.Popen], path: str, body: bytes, status: int) -> None:
    url, _ = receiver
    request = urllib.request.Request(f"{url}{path}", data=body, method="POST")
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=5)  # noqa: S310 (loopback only)
    assert error.value.code == status
    assert call(f"{url}/alerts") == (200, [])

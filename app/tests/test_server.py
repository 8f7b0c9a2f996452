"""The real server: gunicorn with app/gunicorn.conf.py serving wsgi:app on a loopback port."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("gunicorn")

APP_DIR = Path(__file__).resolve().parents[1]
START_TIMEOUT = 20


class Server:
    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in list(self.lines)]

    def wait_for(self, pattern: str, timeout: float = START_TIMEOUT) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                match = re.search(pattern, line)
                if match:
                    return match
            if self.process.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.05)
        raise AssertionError(f"no log line matched {pattern!r}; output so far:\n" + "\n".join(self.lines))


@pytest.fixture
def server() -> Iterator[Server]:
    env = {
        **os.environ,
        "GUNICORN_BIND": "127.0.0.1:0",
        "APP_VERSION": "4.5.6-server",
        "LOG_LEVEL": "info",
        "GUNICORN_GRACEFUL_TIMEOUT": "5",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=APP_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    running = Server(process)
    try:
        yield running
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (loopback only)
        return response.status, response.read().decode()


def test_gunicorn_serves_the_app_and_logs_json(server: Server) -> None:
    port = server.wait_for(r"Listening at: http://127\.0\.0\.1:(\d+)").group(1)
    server.wait_for("application ready")
    base = f"http://127.0.0.1:{port}"

    assert get(f"{base}/healthz") == (200, '{"status":"ok"}\n')
    status, html = get(f"{base}/")
    assert status == 200
    assert "4.5.6-server" in html
    status, metrics = get(f"{base}/metrics")
    assert 'app_build_info{name="demo-flask-app",version="4.5.6-server"} 1.0' in metrics
    assert 'http_requests_total{endpoint="/",method="GET",status="200"} 1.0' in metrics

    server.wait_for('"path": "/"')
    records = server.records()  # every line, gunicorn's own included, is JSON
    assert {"gunicorn.error", "demo_app"} <= {r["logger"] for r in records}
    (request,) = [r for r in records if r.get("path") == "/"]
    assert request["status"] == 200 and request["method"] == "GET"

    # Graceful shutdown: readiness is withdrawn, then the server exits cleanly.
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=15) == 0
    server.wait_for("marked not ready")

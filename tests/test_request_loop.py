"""scripts/request-loop.py against real servers on loopback: counts, stop file, and the loopback-only rule."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "request-loop.py"


class _Flaky(BaseHTTPRequestHandler):
    calls = 0

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        type(self).calls += 1
        self.send_response(503 if type(self).calls % 4 == 0 else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture()
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout, check=False)


def test_counts_every_status_and_stops_at_max_requests(server: int) -> None:
    result = run(f"http://127.0.0.1:{server}/version", "--rate", "50", "--max-requests", "20")
    summary = json.loads(result.stdout)
    assert result.returncode == 0, result.stderr
    assert (summary["sent"], summary["ok"], summary["failed"]) == (20, 15, 5)
    assert summary["outcomes"] == {"200": 15, "503": 5}


def test_refused_connections_are_failures() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again below: nothing listens there
    result = run(f"http://127.0.0.1:{port}/", "--rate", "50", "--max-requests", "5")
    summary = json.loads(result.stdout)
    assert summary["failed"] == 5 and summary["outcomes"] == {"ConnectionRefusedError": 5}


def test_stop_file_ends_the_loop(server: int, tmp_path: Path) -> None:
    stop, out = tmp_path / "stop", tmp_path / "result.json"
    stop.touch()
    result = run(f"http://localhost:{server}/", "--stop-file", str(stop), "--out", str(out), "--max-seconds", "30")
    assert result.returncode == 0 and json.loads(out.read_text())["sent"] == 0


@pytest.mark.parametrize(
    ("url", "extra", "message"),
    [
        ("http://10.0.0.1/", [], "not a loopback address"),
        ("http://192.168.1.10:8080/", [], "not a loopback address"),
        ("https://127.0.0.1/", [], "not an http:// URL"),
        ("http://127.0.0.1:1/", ["--rate", "500"], "--rate must be above 0 and at most 50"),
    ],
)
def test_refuses_other_hosts_and_high_rates(url: str, extra: list[str], message: str) -> None:
    result = run(url, *extra, "--max-requests", "1")
    assert result.returncode != 0 and message in result.stderr + result.stdout

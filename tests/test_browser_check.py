"""scripts/browser-check.py judges a page by what headless Chromium rendered: a text the page's JavaScript writes is
found although the served HTML lacks it, a text nowhere on the page fails the check, and a screenshot is a PNG.

Real Chromium (Debian's package, installed by `make prerequisites`) against a page served on loopback.
"""

from __future__ import annotations

import http.server
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "browser-check.py"
# The series text appears only once the script has run, a moment after load, as in a single-page application.
PAGE = b"""<!doctype html><html><head><title>Series</title></head><body><div id="out">loading</div>
<script>setTimeout(function () {
  document.getElementById("out").innerHTML = 'up{<b>namespace</b>="demo-dev"} 1';
}, 300);</script></body></html>"""


class _Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the standard library's name
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def page_url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()


def check(*args: str) -> tuple[int, dict]:
    result = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=180, check=False)
    return result.returncode, json.loads(result.stdout)


def test_a_text_the_pages_script_renders_is_found_though_the_served_html_lacks_it(page_url: str, tmp_path: Path) -> None:
    shot = tmp_path / "page.png"
    code, summary = check(page_url, '--expect=namespace="demo-dev"', f"--screenshot={shot}", "--budget-ms=3000")
    assert summary.get("error") is None, summary
    assert code == 0 and summary["found"] == ['namespace="demo-dev"'] and summary["missing"] == []
    assert summary["in_served_html"] == []
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_text_missing_from_the_rendered_page_fails_the_check(page_url: str) -> None:
    code, summary = check(page_url, '--expect=namespace="demo-staging"', "--budget-ms=3000")
    assert code == 1 and summary["missing"] == ['namespace="demo-staging"']


def test_a_page_that_does_not_answer_is_an_error_not_a_pass() -> None:
    code, summary = check("http://127.0.0.1:9/", "--expect=anything", "--budget-ms=1000", "--timeout=60")
    assert code in (1, 2) and summary.get("found", []) == []

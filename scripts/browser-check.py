#!/usr/bin/env python3
"""Open a page in headless Chromium, let its scripts run, and check what it shows.

A page built by JavaScript (Prometheus' UI) is judged by the DOM the browser rendered, not by the HTML the server
sent: the check fails when a text is missing from the rendered page's visible text, and reports whether the served
HTML alone had it. It also saves a screenshot of the rendered page.

    browser-check.py 'http://127.0.0.1:30090/query?g0.expr=up' --expect 'namespace="demo-dev"' \
        --screenshot build/screenshots/prometheus.png

Prints a JSON summary (url, found, missing, screenshot) and exits 1 when a text is missing, 2 when the browser
could not run. Chromium comes from Debian's package (`make prerequisites` installs it).
"""

from __future__ import annotations

import argparse
import html.parser
import json
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


class _TextOf(html.parser.HTMLParser):
    """The visible text of a document: script and style contents left out, tags joined without spaces, so that
    `<b>namespace</b>="demo-dev"` reads `namespace="demo-dev"` as on screen."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("script", "style", "noscript", "template"):
            self._hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "noscript", "template") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def visible_text(document: str) -> str:
    parser = _TextOf()
    parser.feed(document)
    return " ".join("".join(parser.parts).split())


def find_browser() -> str | None:
    return next((path for path in map(shutil.which, BROWSERS) if path), None)


def chromium_args(browser: str, profile: str, budget_ms: int, width: int, height: int) -> list[str]:
    # --no-sandbox: the tests run as root, where Chromium refuses its sandbox.
    return [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
            f"--user-data-dir={profile}", f"--virtual-time-budget={budget_ms}", f"--window-size={width},{height}"]


def render(url: str, screenshot: Path | None, budget_ms: int, width: int, height: int, timeout: int) -> str:
    browser = find_browser()
    if browser is None:
        raise RuntimeError(f"no headless browser ({', '.join(BROWSERS)}) on PATH: `make prerequisites` installs chromium")
    with tempfile.TemporaryDirectory(prefix="browser-check.") as profile:
        base = chromium_args(browser, profile, budget_ms, width, height)
        dom = subprocess.run([*base, "--dump-dom", url], capture_output=True, text=True, timeout=timeout, check=False)
        if dom.returncode != 0 or not dom.stdout.strip():
            raise RuntimeError(f"{browser} could not render {url} (exit {dom.returncode}): {dom.stderr.strip()[-400:]}")
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            shot = subprocess.run([*base, f"--screenshot={screenshot}", url], capture_output=True, text=True,
                                  timeout=timeout, check=False)
            if shot.returncode != 0 or not screenshot.is_file():
                raise RuntimeError(f"{browser} could not take a screenshot of {url}: {shot.stderr.strip()[-400:]}")
    return dom.stdout


def served_html(url: str, timeout: int) -> str:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310 - the caller's own URL
            return answer.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("--expect", action="append", default=[], help="a text the rendered page must show (repeatable)")
    parser.add_argument("--screenshot", type=Path, help="save a PNG of the rendered page here")
    parser.add_argument("--budget-ms", type=int, default=15000, help="virtual time the page's scripts get")
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=900)
    parser.add_argument("--timeout", type=int, default=120, help="seconds the browser may take")
    args = parser.parse_args(argv)
    try:
        text = visible_text(render(args.url, args.screenshot, args.budget_ms, args.width, args.height, args.timeout))
    except (RuntimeError, subprocess.TimeoutExpired) as error:
        print(json.dumps({"url": args.url, "error": str(error)}))
        return 2
    served = visible_text(served_html(args.url, args.timeout))
    missing = [expected for expected in args.expect if expected not in text]
    print(json.dumps({
        "url": args.url,
        "found": [expected for expected in args.expect if expected in text],
        "missing": missing,
        # What the server's HTML showed without a browser: a page that needs its scripts shows none of it.
        "in_served_html": [expected for expected in args.expect if expected in served],
        "screenshot": str(args.screenshot) if args.screenshot else None,
        "text_start": text[:300],
    }))
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())

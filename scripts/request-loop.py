#!/usr/bin/env python3
"""Send GET requests to a URL on this machine at a fixed rate and count the ones that fail.

Measures what users of a Service see while it changes (a rolling update, a scale-out): every request
opens a new connection, as separate users do, so a pod that stops accepting while it is still an
endpoint shows up as a refused connection. Bounded in rate, count and time, and only for loopback
addresses: it is a measuring tool, not a load generator for other hosts.

    request-loop.py http://127.0.0.1:30080/version --rate 10 --max-seconds 300 \
        --stop-file /tmp/stop --out /tmp/result.json

It stops when the stop file appears, after --max-seconds, or after --max-requests, then writes a JSON
summary: sent, ok, failed, the first failures (time, error) and the count of each status or error.
"""

from __future__ import annotations

import argparse
import http.client
import ipaddress
import json
import os
import socket
import sys
import time
from collections import Counter
from urllib.parse import urlsplit

MAX_RATE = 50.0


def loopback_only(url: str) -> tuple[str, int, str]:
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise SystemExit(f"request-loop: {url} is not an http:// URL")
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, parts.port or 80)}
    except socket.gaierror as exc:
        raise SystemExit(f"request-loop: cannot resolve {parts.hostname}: {exc}") from exc
    if not all(ipaddress.ip_address(address).is_loopback for address in addresses):
        raise SystemExit(f"request-loop: {parts.hostname} is not a loopback address; this tool only measures this machine")
    return parts.hostname, parts.port or 80, (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def one_request(host: str, port: int, path: str, timeout: float) -> str:
    """'200', another status, or the error's class name."""
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"Connection": "close"})
        response = connection.getresponse()
        response.read()
        return str(response.status)
    except (OSError, http.client.HTTPException) as exc:
        return type(exc).__name__
    finally:
        connection.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url")
    parser.add_argument("--rate", type=float, default=10.0, help=f"requests per second (at most {MAX_RATE:g})")
    parser.add_argument("--max-seconds", type=float, default=300.0)
    parser.add_argument("--max-requests", type=int, default=10_000)
    parser.add_argument("--timeout", type=float, default=2.0, help="seconds one request may take")
    parser.add_argument("--stop-file", default="", help="stop as soon as this file exists")
    parser.add_argument("--out", default="", help="write the JSON summary here (default: standard output)")
    args = parser.parse_args()
    if not 0 < args.rate <= MAX_RATE:
        parser.error(f"--rate must be above 0 and at most {MAX_RATE:g}")
    host, port, path = loopback_only(args.url)

    interval = 1.0 / args.rate
    started = time.monotonic()
    outcomes: Counter[str] = Counter()
    failures: list[dict] = []
    sent = 0
    next_at = started
    while sent < args.max_requests and time.monotonic() - started < args.max_seconds:
        if args.stop_file and os.path.exists(args.stop_file):
            break
        outcome = one_request(host, port, path, args.timeout)
        sent += 1
        outcomes[outcome] += 1
        if outcome != "200" and len(failures) < 50:
            failures.append({"at": round(time.monotonic() - started, 2), "outcome": outcome})
        next_at += interval
        time.sleep(max(0.0, next_at - time.monotonic()))

    summary = {
        "url": args.url, "seconds": round(time.monotonic() - started, 1), "sent": sent,
        "ok": outcomes["200"], "failed": sent - outcomes["200"], "outcomes": dict(outcomes), "failures": failures,
    }
    text = json.dumps(summary, indent=2) + "\n"
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

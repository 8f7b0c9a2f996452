"""Faults a release can carry on purpose, so that a canary analysis has a real bad release to judge.

A bad release built with ``FAULT_ERROR_RATE`` and ``FAULT_LATENCY_MS`` starts, passes its probes and
serves its version; only its users (and so its metrics) see it fail or slow down. Both are off by default.
"""

from __future__ import annotations

import threading
import time

# Probes, scrapes and the version endpoint stay healthy: the platform must find the fault in the metrics,
# not in a failed readiness probe or a version check.
EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/version"})
# The error rate is kept in parts per million, so the share of failures is exact integer arithmetic.
PPM = 1_000_000


class Faults:
    """Deterministic fault injection: of every affected request stream, exactly the configured share fails,
    spread evenly (no randomness to make a test or a canary flaky), and each request waits the added latency."""

    def __init__(self, error_rate: float, latency_ms: int) -> None:
        self.error_ppm = round(error_rate * PPM)
        self.latency_seconds = latency_ms / 1000
        self._handled = 0
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        return self.error_ppm > 0 or self.latency_seconds > 0

    def applies_to(self, path: str) -> bool:
        return self.active and path not in EXEMPT_PATHS

    def delay(self) -> None:
        if self.latency_seconds:
            time.sleep(self.latency_seconds)

    def next_fails(self) -> bool:
        """Whether the next affected request fails: the n-th fails when n * rate crosses a whole number."""
        with self._lock:
            count = self._handled
            self._handled += 1
        return (count + 1) * self.error_ppm // PPM > count * self.error_ppm // PPM

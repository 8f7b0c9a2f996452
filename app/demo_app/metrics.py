"""Prometheus metrics kept in a registry that belongs to one app instance."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, Info, generate_latest
from prometheus_client.process_collector import ProcessCollector

# Seconds; a demo service answers in milliseconds, so the buckets are finer at the low end.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """Request counter, latency histogram and build info, plus the process collector.

    Each instance has its own ``CollectorRegistry``: two apps in one process (tests) never share
    or double-register series. Under gunicorn each worker process has its own numbers, which is
    why the image runs one worker with threads by default.
    """

    def __init__(self, name: str, version: str, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.requests = Counter(
            "http_requests",
            "HTTP requests handled, by method, route and status code.",
            ("method", "endpoint", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "Time spent handling HTTP requests, by method and route.",
            ("method", "endpoint"),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.build = Info("app_build", "Name and version of the running application.", registry=self.registry)
        self.build.info({"name": name, "version": version})
        ProcessCollector(registry=self.registry)

    def observe(self, method: str, endpoint: str, status: int, seconds: float) -> None:
        """Record one handled request."""
        self.requests.labels(method, endpoint, str(status)).inc()
        self.latency.labels(method, endpoint).observe(seconds)

    def render(self) -> tuple[bytes, str]:
        """Return the exposition text and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

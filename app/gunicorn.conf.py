"""Gunicorn settings for the demo app; every knob can be changed through the environment."""

from __future__ import annotations

import os
import signal
from typing import Any


def _int_env(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# One process with threads by default: each worker keeps its own Prometheus registry, so with
# several workers a scrape would only see the numbers of whichever worker answered it.
workers = _int_env("GUNICORN_WORKERS", _int_env("WEB_CONCURRENCY", 1))
threads = _int_env("GUNICORN_THREADS", 4)
worker_class = "gthread"
timeout = _int_env("GUNICORN_TIMEOUT", 30)
# Below Kubernetes' default terminationGracePeriodSeconds (30 s), so in-flight requests finish
# before the kubelet sends SIGKILL.
graceful_timeout = _int_env("GUNICORN_GRACEFUL_TIMEOUT", 25)
keepalive = _int_env("GUNICORN_KEEPALIVE", 5)
# The heartbeat file lives in memory; a disk-backed tmp can stall workers under I/O load.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# No ~/.gunicorn control socket: the container's user has no writable home and nobody uses it.
control_socket_disable = True
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# The app logs every request itself as JSON (method, path, status, duration_ms); gunicorn's own
# access log would only repeat it in another format.
accesslog = None
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
logconfig_dict: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "root": {"level": loglevel.upper(), "handlers": ["json"]},
    "loggers": {
        "gunicorn.error": {"level": loglevel.upper(), "handlers": [], "propagate": True},
        "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": False},
    },
    "handlers": {
        "json": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"},
    },
    "formatters": {"json": {"()": "demo_app.jsonlog.JsonFormatter"}},
}


def post_worker_init(worker: Any) -> None:
    """Flip readiness to 503 as soon as the worker is asked to stop, then shut down as usual."""
    from demo_app import mark_not_ready

    app = worker.wsgi
    previous = signal.getsignal(signal.SIGTERM)

    def on_sigterm(signum: int, frame: Any) -> None:
        mark_not_ready(app)
        if callable(previous):
            previous(signum, frame)

    signal.signal(signal.SIGTERM, on_sigterm)

"""Demo Flask service deployed by the GitOps platform.

``create_app()`` builds the app from the environment (see ``demo_app.config``); gunicorn loads it
through ``wsgi:app``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import time
from collections.abc import Mapping
from http import HTTPStatus
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, g, jsonify, request

from .config import load_config
from .faults import Faults
from .jsonlog import configure_logging
from .metrics import Metrics

__all__ = ["AppState", "DemoFlask", "create_app", "mark_not_ready", "session_key", "state"]

EXTENSION_KEY = "demo_app"
# Probes and scrapes arrive every few seconds; they are logged at DEBUG to keep INFO readable.
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
UNMATCHED_ENDPOINT = "unmatched"


@dataclass
class AppState:
    """Per-app runtime state, kept in ``app.extensions``."""

    metrics: Metrics
    logger: logging.Logger
    faults: Faults
    ready: bool = False
    started_at: float = field(default_factory=time.time)


class DemoFlask(Flask):
    """Flask with unhandled exceptions logged as one structured record."""

    def log_exception(self, exc_info: Any) -> None:
        self.logger.error(
            "unhandled exception",
            exc_info=exc_info,
            extra={"method": request.method, "path": request.path},
        )


def state(app: Flask) -> AppState:
    """Return the runtime state of an app made by ``create_app``."""
    return app.extensions[EXTENSION_KEY]


def mark_not_ready(app: Flask) -> None:
    """Make ``/readyz`` answer 503 from now on, e.g. when the server starts a graceful shutdown."""
    app_state = state(app)
    if app_state.ready:
        app_state.ready = False
        app_state.logger.info("marked not ready, no new traffic expected")


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app. ``config`` overrides values read from the environment.

    Recognised keys: APP_NAME, APP_VERSION, APP_ENVIRONMENT, LOG_LEVEL, FAULT_ERROR_RATE, FAULT_LATENCY_MS,
    SESSION_KEY (environment variables of the same names), LOG_STREAM (where JSON log lines go, stdout by default)
    and any Flask setting.
    """
    settings = load_config(config)
    app = DemoFlask(__name__)
    app.config.update(settings)
    app.config["SECRET_KEY"], app.config["SESSION_KEY_FINGERPRINT"] = session_key(config)
    app.json.sort_keys = False

    logger = configure_logging(__name__, app.config["LOG_LEVEL"], app.config.get("LOG_STREAM"))
    app_state = AppState(
        metrics=Metrics(app.config["APP_NAME"], app.config["APP_VERSION"]),
        logger=logger,
        faults=Faults(app.config["FAULT_ERROR_RATE"], app.config["FAULT_LATENCY_MS"]),
    )
    app.extensions[EXTENSION_KEY] = app_state

    _register_request_hooks(app, app_state)

    from .views import bp

    app.register_blueprint(bp)

    app_state.ready = True
    if app_state.faults.active:
        logger.warning(
            "faults injected on purpose: this is a bad release for testing",
            extra={"error_rate": app.config["FAULT_ERROR_RATE"], "latency_ms": app.config["FAULT_LATENCY_MS"]},
        )
    logger.info(
        "application ready",
        extra={"app_name": app.config["APP_NAME"], "version": app.config["APP_VERSION"]},
    )
    return app


def session_key(config: Mapping[str, Any] | None = None) -> tuple[str, str | None]:
    """Flask's SECRET_KEY and what /version may say of it.

    SESSION_KEY (from ``config`` or the environment; on the platform, the Secret the Sealed Secrets controller
    decrypted) is shared by every pod of a release, so a session signed by one is valid on the others. Its
    fingerprint (``sha256:`` and 12 hex digits) tells which key runs without telling the key. Without one, the
    pod makes a random key of its own and the fingerprint is None.
    """
    given = (config or {}).get("SESSION_KEY") or os.environ.get("SESSION_KEY") or ""
    if not given:
        return secrets.token_hex(32), None
    return given, "sha256:" + hashlib.sha256(given.encode()).hexdigest()[:12]


def _register_request_hooks(app: Flask, app_state: AppState) -> None:
    @app.before_request
    def _start_timer() -> None:
        g.demo_app_started = time.perf_counter()

    # Registered after the timer, so the added latency is measured like any slow handler.
    @app.before_request
    def _inject_faults() -> tuple[Response, int] | None:
        faults = app_state.faults
        if not faults.applies_to(request.path):
            return None
        faults.delay()
        if faults.next_fails():
            return jsonify(error="Internal Server Error", status=500, description="Fault injected (FAULT_ERROR_RATE)."), 500
        return None

    @app.after_request
    def _record_request(response: Response) -> Response:
        started = g.pop("demo_app_started", None)
        if started is None:  # pragma: no cover - only when another before_request hook failed first
            return response
        seconds = time.perf_counter() - started
        endpoint = request.url_rule.rule if request.url_rule is not None else UNMATCHED_ENDPOINT
        app_state.metrics.observe(request.method, endpoint, response.status_code, seconds)
        app_state.logger.log(
            logging.DEBUG if request.path in QUIET_PATHS and response.status_code < HTTPStatus.BAD_REQUEST else logging.INFO,
            "request handled",
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round(seconds * 1000, 3),
                "remote_addr": request.remote_addr,
            },
        )
        return response

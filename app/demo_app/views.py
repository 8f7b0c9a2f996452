"""HTTP routes: the demo page, probes, version and metrics."""

from __future__ import annotations

import socket

from flask import Blueprint, Response, current_app, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

from . import state

bp = Blueprint("demo", __name__)


def _identity() -> dict[str, str]:
    return {
        "name": current_app.config["APP_NAME"],
        "version": current_app.config["APP_VERSION"],
        "environment": current_app.config["APP_ENVIRONMENT"],
    }


def _wants_json() -> bool:
    return request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"


@bp.get("/")
def index() -> Response | str:
    page = {
        "message": f"Hello from {current_app.config['APP_NAME']}",
        **_identity(),
        "hostname": socket.gethostname(),
    }
    if _wants_json():
        return jsonify(page)
    return render_template("index.html", **page)


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    if state(current_app).ready:
        return jsonify(status="ready"), 200
    return jsonify(status="not ready"), 503


@bp.get("/version")
def version() -> Response:
    # Which session key runs (its fingerprint, never the key): the same in every pod, kept across a rebuilt cluster.
    return jsonify({**_identity(), "session_key": current_app.config["SESSION_KEY_FINGERPRINT"]})


@bp.get("/metrics")
def metrics() -> Response:
    body, content_type = state(current_app).metrics.render()
    return Response(body, content_type=content_type)


@bp.app_errorhandler(HTTPException)
def http_error(error: HTTPException) -> tuple[Response, int]:
    code = error.code or 500
    return jsonify(error=error.name, status=code, description=error.description), code


@bp.app_errorhandler(InternalServerError)
def server_error(error: InternalServerError) -> tuple[Response, int]:
    # The exception itself was already logged by DemoFlask.log_exception; hide its details here.
    return jsonify(error=error.name, status=500, description="The server hit an unexpected error."), 500

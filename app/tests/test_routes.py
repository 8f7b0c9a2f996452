"""The HTTP interface: demo page, probes, version, errors."""

from __future__ import annotations

import hashlib
import json
import socket
from typing import Any

import pytest

from demo_app import create_app, mark_not_ready, state


@pytest.mark.parametrize(
    ("path", "status", "body"),
    [
        ("/healthz", 200, {"status": "ok"}),
        ("/readyz", 200, {"status": "ready"}),
        ("/version", 200, {"name": "demo-flask-app", "version": "1.2.3", "environment": "test", "session_key": None}),
    ],
)
def test_json_endpoints(client: Any, path: str, status: int, body: dict[str, str]) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert response.mimetype == "application/json"
    assert response.get_json() == body


@pytest.mark.parametrize("accept", [None, "*/*", "text/html", "text/html,application/xhtml+xml,*/*;q=0.8"])
def test_index_serves_html_with_the_version(client: Any, accept: str | None) -> None:
    headers = {"Accept": accept} if accept else {}
    response = client.get("/", headers=headers)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert '<code id="version">1.2.3</code>' in html
    assert "<title>demo-flask-app 1.2.3</title>" in html
    assert socket.gethostname() in html


@pytest.mark.parametrize("accept", ["application/json", "application/json, text/plain, */*"])
def test_index_serves_json_when_asked(client: Any, accept: str) -> None:
    response = client.get("/", headers={"Accept": accept})
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json() == {
        "message": "Hello from demo-flask-app",
        "name": "demo-flask-app",
        "version": "1.2.3",
        "environment": "test",
        "hostname": socket.gethostname(),
    }


def test_version_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch, logs: Any) -> None:
    monkeypatch.setenv("APP_VERSION", "9.8.7")
    monkeypatch.setenv("APP_NAME", "other-app")
    client = create_app({"LOG_STREAM": logs.stream}).test_client()
    assert client.get("/version").get_json() == {"name": "other-app", "version": "9.8.7", "environment": "local",
                                                 "session_key": None}
    assert "9.8.7" in client.get("/").get_data(as_text=True)


def test_defaults_without_environment(make_app: Any) -> None:
    assert make_app().test_client().get("/version").get_json()["version"] == "dev"


def test_page_escapes_configured_values(make_app: Any) -> None:
    html = make_app(APP_VERSION="<script>x</script>").test_client().get("/").get_data(as_text=True)
    assert "<script>x</script>" not in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html


def test_readiness_turns_503_when_marked_not_ready(app: Any, client: Any, logs: Any) -> None:
    assert client.get("/readyz").status_code == 200
    mark_not_ready(app)
    mark_not_ready(app)  # idempotent: logged once
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "not ready"}
    # Liveness is unaffected: the process is healthy, it just should not get new traffic.
    assert client.get("/healthz").status_code == 200
    assert state(app).ready is False
    assert [r["message"] for r in logs.records()].count("marked not ready, no new traffic expected") == 1


@pytest.mark.parametrize(
    ("method", "path", "status", "error"),
    [
        ("GET", "/does-not-exist", 404, "Not Found"),
        ("POST", "/healthz", 405, "Method Not Allowed"),
        ("DELETE", "/version", 405, "Method Not Allowed"),
    ],
)
def test_http_errors_are_json(client: Any, method: str, path: str, status: int, error: str) -> None:
    response = client.open(path, method=method)
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["status"] == status
    assert body["error"] == error
    assert body["description"]


def test_unhandled_exception_is_a_json_500_and_logged(make_app: Any, logs: Any) -> None:
    app = make_app(TESTING=False)  # TESTING would re-raise the exception into the test

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("kaboom")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert response.get_json() == {
        "error": "Internal Server Error",
        "status": 500,
        "description": "The server hit an unexpected error.",
    }
    errors = [r for r in logs.records() if r["level"] == "ERROR"]
    assert len(errors) == 1
    assert errors[0]["message"] == "unhandled exception"
    assert errors[0]["path"] == "/boom"
    assert errors[0]["method"] == "GET"
    assert "RuntimeError: kaboom" in errors[0]["exception"]


def test_abort_500_is_handled_without_an_original_exception(make_app: Any, logs: Any) -> None:
    from flask import abort

    app = make_app(TESTING=False)

    @app.get("/abort")
    def aborted() -> str:
        abort(500)

    response = app.test_client().get("/abort")
    assert response.status_code == 500
    assert response.get_json()["error"] == "Internal Server Error"
    assert [r for r in logs.records() if r["level"] == "ERROR"] == []  # no exception, nothing to report


def test_session_key_is_shared_by_every_app_and_shown_only_as_its_fingerprint(
    monkeypatch: pytest.MonkeyPatch, logs: Any
) -> None:
    monkeypatch.setenv("SESSION_KEY", "a key sealed in git")
    first, second = (create_app({"LOG_STREAM": logs.stream}) for _ in range(2))
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"] == "a key sealed in git"
    # sha256("a key sealed in git"), first 12 hex digits.
    expected = "sha256:" + hashlib.sha256(b"a key sealed in git").hexdigest()[:12]
    body = first.test_client().get("/version").get_data(as_text=True)
    assert json.loads(body)["session_key"] == expected
    assert "a key sealed in git" not in body and "a key sealed in git" not in logs.stream.getvalue()


def test_without_a_session_key_each_app_makes_its_own(monkeypatch: pytest.MonkeyPatch, make_app: Any) -> None:
    monkeypatch.delenv("SESSION_KEY", raising=False)
    first, second = make_app(), make_app()
    assert len(first.config["SECRET_KEY"]) == 64 and first.config["SECRET_KEY"] != second.config["SECRET_KEY"]
    assert first.test_client().get("/version").get_json()["session_key"] is None


def test_a_given_session_key_overrides_the_environment(monkeypatch: pytest.MonkeyPatch, make_app: Any) -> None:
    monkeypatch.setenv("SESSION_KEY", "from the environment")
    assert make_app(SESSION_KEY="given").config["SECRET_KEY"] == "given"

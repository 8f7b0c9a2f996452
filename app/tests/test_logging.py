"""Logs are one JSON object per line, with per-request fields."""

from __future__ import annotations

import io
import json
import logging
import sys
from datetime import datetime
from typing import Any

import pytest

from demo_app.jsonlog import JsonFormatter, configure_logging

BASE_FIELDS = {"timestamp", "level", "logger", "message"}


def test_every_line_is_a_json_object(client: Any, logs: Any) -> None:
    client.get("/")
    client.get("/missing")
    lines = logs.lines()
    assert len(lines) >= 3  # startup + two requests
    for line in lines:
        record = json.loads(line)
        assert isinstance(record, dict)
        assert BASE_FIELDS <= record.keys()
        assert record["logger"] == "demo_app"
        datetime.fromisoformat(record["timestamp"].replace("Z", "+00:00"))


def test_startup_is_logged(logs: Any, app: Any) -> None:
    first = logs.records()[0]
    assert first["message"] == "application ready"
    assert first["level"] == "INFO"
    assert first["version"] == "1.2.3"
    assert first["app_name"] == "demo-flask-app"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/", 200), ("GET", "/version", 200), ("GET", "/nope", 404), ("PUT", "/", 405)],
)
def test_request_line_fields(client: Any, logs: Any, method: str, path: str, status: int) -> None:
    client.open(path, method=method)
    (record,) = logs.requests()
    assert record["level"] == "INFO"
    assert record["method"] == method
    assert record["path"] == path
    assert record["status"] == status
    assert isinstance(record["duration_ms"], float)
    assert record["duration_ms"] >= 0


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_probes_are_debug_only(make_app: Any, logs: Any, path: str) -> None:
    make_app(LOG_LEVEL="INFO").test_client().get(path)
    assert logs.requests() == []
    make_app(LOG_LEVEL="DEBUG").test_client().get(path)
    (record,) = logs.requests()
    assert record["level"] == "DEBUG"
    assert record["path"] == path


def test_failing_probe_is_logged_at_info(app: Any, client: Any, logs: Any) -> None:
    from demo_app import mark_not_ready

    mark_not_ready(app)
    client.get("/readyz")
    (record,) = logs.requests()
    assert record["status"] == 503
    assert record["level"] == "INFO"


def test_log_level_filters(make_app: Any, logs: Any) -> None:
    make_app(LOG_LEVEL="WARNING").test_client().get("/")
    assert logs.lines() == []


def test_repeated_factory_calls_do_not_duplicate_lines(make_app: Any, logs: Any) -> None:
    for _ in range(3):
        app = make_app()
    logs.stream.truncate(0)
    logs.stream.seek(0)
    app.test_client().get("/")
    assert len(logs.requests()) == 1
    ours = [h for h in logging.getLogger("demo_app").handlers if isinstance(h.formatter, JsonFormatter)]
    assert len(ours) == 1


def test_formatter_adds_extras_and_exceptions() -> None:
    formatter = JsonFormatter()
    try:
        raise ValueError("bad value")
    except ValueError:
        record = logging.getLogger("x").makeRecord(
            "x", logging.ERROR, __file__, 1, "failed %s", ("job",), sys.exc_info(), extra={"job_id": 7, "obj": object()}
        )
    record.stack_info = "Stack (most recent call last): here"
    payload = json.loads(formatter.format(record))
    assert payload["message"] == "failed job"
    assert payload["level"] == "ERROR"
    assert payload["job_id"] == 7
    assert payload["obj"].startswith("<object object")  # not JSON-serialisable: rendered with str()
    assert "ValueError: bad value" in payload["exception"]
    assert payload["stack"].startswith("Stack")
    assert payload["timestamp"].endswith("Z")


def test_configure_logging_defaults_to_stdout(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_stdout = io.StringIO()
    monkeypatch.setattr(sys, "stdout", fake_stdout)
    logger = configure_logging("demo_app.test_stdout", logging.INFO)
    logger.info("hello", extra={"answer": 42})
    record = json.loads(fake_stdout.getvalue())
    assert record["message"] == "hello"
    assert record["answer"] == 42
    assert logger.propagate is False

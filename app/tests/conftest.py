"""Shared fixtures. Makes ``demo_app`` importable however pytest is started (repo root or app/)."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

APP_DIR = Path(__file__).resolve().parents[1]
if str(APP_DIR) not in sys.path:
    sys.path.insert(0, str(APP_DIR))

from demo_app import create_app  # noqa: E402  (needs the path above)

# Keep the developer's shell from leaking into the app's configuration.
APP_ENV_VARS = ("APP_NAME", "APP_VERSION", "APP_ENVIRONMENT", "LOG_LEVEL", "FAULT_ERROR_RATE", "FAULT_LATENCY_MS")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in APP_ENV_VARS:
        monkeypatch.delenv(name, raising=False)


class LogCapture:
    """The stream an app logs to, read back as parsed JSON lines."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    def lines(self) -> list[str]:
        return self.stream.getvalue().splitlines()

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines()]

    def requests(self) -> list[dict[str, Any]]:
        return [record for record in self.records() if record["message"] == "request handled"]


@pytest.fixture
def logs() -> LogCapture:
    return LogCapture()


@pytest.fixture
def make_app(logs: LogCapture) -> Callable[..., Any]:
    """Build an app whose logs go to ``logs``; keyword arguments override configuration keys."""

    def factory(**overrides: Any) -> Any:
        config = {"TESTING": True, "LOG_STREAM": logs.stream, **overrides}
        return create_app(config)

    return factory


@pytest.fixture
def app(make_app: Callable[..., Any]) -> Any:
    return make_app(APP_VERSION="1.2.3", APP_ENVIRONMENT="test")


@pytest.fixture
def client(app: Any) -> Iterator[Any]:
    with app.test_client() as test_client:
        yield test_client

"""Configuration comes from the environment, with defaults and explicit overrides."""

from __future__ import annotations

import logging

import pytest

from demo_app.config import ENV_DEFAULTS, load_config, parse_log_level


def test_defaults_without_environment() -> None:
    config = load_config(environ={})
    assert config == {
        "APP_NAME": "demo-flask-app",
        "APP_VERSION": "dev",
        "APP_ENVIRONMENT": "local",
        "LOG_LEVEL": logging.INFO,
    }


@pytest.mark.parametrize(
    ("environ", "key", "expected"),
    [
        ({"APP_VERSION": "2.0.1"}, "APP_VERSION", "2.0.1"),
        ({"APP_NAME": "shop"}, "APP_NAME", "shop"),
        ({"APP_ENVIRONMENT": "prod"}, "APP_ENVIRONMENT", "prod"),
        ({"LOG_LEVEL": "debug"}, "LOG_LEVEL", logging.DEBUG),
        # An empty variable (a Helm value left blank) means "use the default".
        ({"APP_VERSION": ""}, "APP_VERSION", ENV_DEFAULTS["APP_VERSION"]),
    ],
)
def test_environment_is_read(environ: dict[str, str], key: str, expected: object) -> None:
    assert load_config(environ=environ)[key] == expected


def test_process_environment_is_the_default_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_VERSION", "from-env")
    assert load_config()["APP_VERSION"] == "from-env"


def test_overrides_win_over_environment() -> None:
    config = load_config({"APP_VERSION": "override", "EXTRA": 1}, environ={"APP_VERSION": "env"})
    assert config["APP_VERSION"] == "override"
    assert config["EXTRA"] == 1


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("DEBUG", logging.DEBUG),
        ("info", logging.INFO),
        (" Warning ", logging.WARNING),
        ("error", logging.ERROR),
        ("CRITICAL", logging.CRITICAL),
        (logging.ERROR, logging.ERROR),
    ],
)
def test_parse_log_level(value: str | int, expected: int) -> None:
    assert parse_log_level(value) == expected


@pytest.mark.parametrize("value", ["verbose", "WARN ING", "10", "trace"])
def test_unknown_log_level_is_rejected(value: str) -> None:
    with pytest.raises(ValueError, match="LOG_LEVEL must be one of"):
        load_config(environ={"LOG_LEVEL": value})

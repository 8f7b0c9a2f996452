"""Configuration comes from the environment, with defaults and explicit overrides."""

from __future__ import annotations

import logging

import pytest

from demo_app.config import ENV_DEFAULTS, load_config, parse_error_rate, parse_latency_ms, parse_log_level


def test_defaults_without_environment() -> None:
    config = load_config(environ={})
    assert config == {
        "APP_NAME": "demo-flask-app",
        "APP_VERSION": "dev",
        "APP_ENVIRONMENT": "local",
        "LOG_LEVEL": logging.INFO,
        "FAULT_ERROR_RATE": 0.0,
        "FAULT_LATENCY_MS": 0,
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


@pytest.mark.parametrize(("value", "expected"), [("0", 0.0), ("0.2", 0.2), ("1", 1.0), (" 0.5 ", 0.5), (0.25, 0.25)])
def test_parse_error_rate(value: str | float, expected: float) -> None:
    assert parse_error_rate(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [("20", "a share, not a percentage"), ("-0.1", "between 0 and 1"), ("a lot", "a number between 0 and 1"),
     ("nan", "between 0 and 1")],
)
def test_parse_error_rate_rejects(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_error_rate(value)


@pytest.mark.parametrize(("value", "expected"), [("0", 0), ("250", 250), (" 600 ", 600), (10_000, 10_000)])
def test_parse_latency_ms(value: str | int, expected: int) -> None:
    assert parse_latency_ms(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [("0.5", "whole milliseconds"), ("-1", "between 0 and 10000"), ("50000", "between 0 and 10000"), ("", "whole")],
)
def test_parse_latency_ms_rejects(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_latency_ms(value)


def test_fault_settings_are_read_from_the_environment() -> None:
    config = load_config(environ={"FAULT_ERROR_RATE": "0.3", "FAULT_LATENCY_MS": "700"})
    assert (config["FAULT_ERROR_RATE"], config["FAULT_LATENCY_MS"]) == (0.3, 700)

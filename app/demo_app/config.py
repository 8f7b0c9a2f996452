"""Configuration read from the environment, with explicit overrides for tests and embedding."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

# Environment variable -> default. The environment variable names are also the config keys.
ENV_DEFAULTS: dict[str, str] = {
    "APP_NAME": "demo-flask-app",
    "APP_VERSION": "dev",
    "APP_ENVIRONMENT": "local",
    "LOG_LEVEL": "INFO",
    # A bad release on purpose (demo_app.faults): the share of requests answered 500, and the milliseconds
    # added to each. Build-time settings of a test image (Dockerfile ARGs); 0 is off.
    "FAULT_ERROR_RATE": "0",
    "FAULT_LATENCY_MS": "0",
}
# Longer than any probe or canary step would wait: a typo such as 50000 for 500 fails at start instead.
MAX_FAULT_LATENCY_MS = 10_000


def load_config(
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Return the app configuration: defaults, then the environment, then ``overrides``.

    Empty environment values count as unset, so ``APP_VERSION=`` falls back to the default.
    Raises ``ValueError`` for a LOG_LEVEL that the logging module does not know, or a fault setting out
    of range.
    """
    env = os.environ if environ is None else environ
    config: dict[str, Any] = {key: env.get(key) or default for key, default in ENV_DEFAULTS.items()}
    if overrides:
        config.update(overrides)
    config["LOG_LEVEL"] = parse_log_level(config["LOG_LEVEL"])
    config["FAULT_ERROR_RATE"] = parse_error_rate(config["FAULT_ERROR_RATE"])
    config["FAULT_LATENCY_MS"] = parse_latency_ms(config["FAULT_LATENCY_MS"])
    return config


def parse_error_rate(value: str | float) -> float:
    """A share of requests between 0 and 1 (0.2 is one request in five)."""
    try:
        rate = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"FAULT_ERROR_RATE must be a number between 0 and 1, got {value!r}") from None
    if not 0 <= rate <= 1:
        raise ValueError(f"FAULT_ERROR_RATE must be between 0 and 1 (a share, not a percentage), got {value!r}")
    return rate


def parse_latency_ms(value: str | int) -> int:
    """Whole milliseconds between 0 and MAX_FAULT_LATENCY_MS."""
    try:
        latency = int(str(value).strip())
    except ValueError:
        raise ValueError(f"FAULT_LATENCY_MS must be whole milliseconds, got {value!r}") from None
    if not 0 <= latency <= MAX_FAULT_LATENCY_MS:
        raise ValueError(f"FAULT_LATENCY_MS must be between 0 and {MAX_FAULT_LATENCY_MS}, got {value!r}")
    return latency


def parse_log_level(value: str | int) -> int:
    """Turn a level name (any case) or number into a logging level number."""
    if isinstance(value, int):
        return value
    name = str(value).strip().upper()
    if name not in LOG_LEVELS:
        raise ValueError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {value!r}")
    return logging.getLevelName(name)

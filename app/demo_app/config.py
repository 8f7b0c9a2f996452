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
}


def load_config(
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Return the app configuration: defaults, then the environment, then ``overrides``.

    Empty environment values count as unset, so ``APP_VERSION=`` falls back to the default.
    Raises ``ValueError`` for a LOG_LEVEL that the logging module does not know.
    """
    env = os.environ if environ is None else environ
    config: dict[str, Any] = {key: env.get(key) or default for key, default in ENV_DEFAULTS.items()}
    if overrides:
        config.update(overrides)
    config["LOG_LEVEL"] = parse_log_level(config["LOG_LEVEL"])
    return config


def parse_log_level(value: str | int) -> int:
    """Turn a level name (any case) or number into a logging level number."""
    if isinstance(value, int):
        return value
    name = str(value).strip().upper()
    if name not in LOG_LEVELS:
        raise ValueError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {value!r}")
    return logging.getLevelName(name)

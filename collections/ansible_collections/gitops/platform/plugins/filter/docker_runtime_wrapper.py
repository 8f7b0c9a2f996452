# -*- coding: utf-8 -*-
# Copyright: contributors to the gitops platform
# Apache License 2.0
"""Filter: plan the daemon.json change that puts an OCI runtime wrapper in front of Docker's default runtime."""

from __future__ import annotations

from ansible_collections.gitops.platform.plugins.module_utils.docker_daemon_config import plan


def docker_runtime_wrapper(
    current: str | None, state: str, name: str, path: str, saved: dict | str | None = None
) -> dict:
    return plan(current, state, name, path, saved)


class FilterModule:
    def filters(self) -> dict:
        return {"docker_runtime_wrapper": docker_runtime_wrapper}

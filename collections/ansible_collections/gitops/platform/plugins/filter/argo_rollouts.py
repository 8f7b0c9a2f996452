# -*- coding: utf-8 -*-
# Copyright: contributors to the gitops platform
# Apache License 2.0
"""Filters over Argo Rollouts objects: what the analysis that stopped a canary found."""

from __future__ import annotations

from ansible_collections.gitops.platform.plugins.module_utils import analysis_run


def analysis_run_summary(runs: list | dict | None) -> str:
    items = runs.get("resources", []) if isinstance(runs, dict) else runs
    return analysis_run.summary(analysis_run.stopping_run(items))


class FilterModule:
    def filters(self) -> dict:
        return {"analysis_run_summary": analysis_run_summary}

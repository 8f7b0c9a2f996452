# -*- coding: utf-8 -*-
# Copyright: contributors to the gitops platform
# Apache License 2.0
"""What an Argo Rollouts AnalysisRun found, in one line: the words a revert commit records as its Analysis trailer."""

from __future__ import annotations

from ansible_collections.gitops.platform.plugins.module_utils.argocd_application import truncate

# The phases of a judgement that stopped a canary, worst first (Argo Rollouts' own order).
STOPPING = ("Error", "Failed", "Inconclusive")
LIMIT = 400


def _last_value(metric: dict) -> str:
    """The last measurement's value, without the brackets Prometheus results come in ('[0.31]' -> '0.31')."""
    measurements = metric.get("measurements") or []
    if not measurements:
        return ""
    value = str(measurements[-1].get("value") or measurements[-1].get("message") or "").strip()
    if value.startswith("[") and value.endswith("]"):
        value = value[1:-1]
    try:
        return f"{float(value):.4g}"
    except ValueError:
        return value


def _metric_line(metric: dict) -> str:
    counts = [f"{metric[key]} {key}" for key in ("failed", "inconclusive", "error") if metric.get(key)]
    value = _last_value(metric)
    return " ".join(part for part in (
        str(metric.get("name", "?")), str(metric.get("phase", "?")),
        f"last {value}" if value else "", f"({', '.join(counts)})" if counts else "") if part)


def stopping_run(runs: list | None) -> dict:
    """The newest AnalysisRun whose phase stops a canary (Failed, Error, Inconclusive); {} when there is none."""
    stopped = [run for run in runs or [] if (run.get("status") or {}).get("phase") in STOPPING]
    return max(stopped, key=lambda run: (run.get("metadata") or {}).get("creationTimestamp") or "", default={})


def summary(run: dict | None) -> str:
    """'<run> <phase>: <metric> <phase> last <value> (<n> failed); ...', metrics that stopped the run first; ''
    for no run."""
    if not run:
        return ""
    status = run.get("status") or {}
    metrics = sorted(status.get("metricResults") or [],
                     key=lambda metric: (metric.get("phase") not in STOPPING, str(metric.get("name", ""))))
    text = f"{(run.get('metadata') or {}).get('name', '?')} {status.get('phase', '?')}"
    if metrics:
        text += ": " + "; ".join(_metric_line(metric) for metric in metrics)
    return truncate(text, LIMIT)

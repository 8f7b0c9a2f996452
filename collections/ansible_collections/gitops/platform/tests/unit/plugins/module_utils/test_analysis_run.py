# -*- coding: utf-8 -*-
# Copyright: contributors to the gitops platform
# Apache License 2.0
from __future__ import annotations

from ansible_collections.gitops.platform.plugins.filter.argo_rollouts import analysis_run_summary
from ansible_collections.gitops.platform.plugins.module_utils.analysis_run import stopping_run, summary


def run(name: str, phase: str, created: str, metrics: list | None = None) -> dict:
    return {"metadata": {"name": name, "creationTimestamp": created},
            "status": {"phase": phase, "metricResults": metrics or []}}


ERROR_RATE = {"name": "error-rate", "phase": "Failed", "failed": 1,
              "measurements": [{"phase": "Failed", "value": "[0.30123]"}]}
LATENCY = {"name": "p95-latency", "phase": "Successful", "successful": 2,
           "measurements": [{"phase": "Successful", "value": "[0.000977054736002734]"}]}
TRAFFIC = {"name": "synthetic-traffic", "phase": "Inconclusive", "inconclusive": 1,
           "measurements": [{"phase": "Inconclusive", "message": "Metric Terminated"}]}


def test_summary_names_the_run_and_puts_the_metrics_that_stopped_it_first() -> None:
    text = summary(run("app-2-1", "Failed", "2026-11-30T18:08:37Z", [LATENCY, ERROR_RATE, TRAFFIC]))
    assert text == ("app-2-1 Failed: error-rate Failed last 0.3012 (1 failed); synthetic-traffic Inconclusive last "
                    "Metric Terminated (1 inconclusive); p95-latency Successful last 0.0009771")


def test_an_empty_measurement_is_said_as_empty_not_as_zero() -> None:
    empty = {"name": "error-rate", "phase": "Inconclusive", "inconclusive": 2, "measurements": [{"value": "[]"}]}
    assert summary(run("r", "Inconclusive", "t", [empty])) == "r Inconclusive: error-rate Inconclusive (2 inconclusive)"


def test_the_newest_run_that_stopped_a_canary_is_chosen() -> None:
    runs = [run("old-failed", "Failed", "2026-11-30T10:00:00Z"),
            run("new-failed", "Failed", "2026-11-30T12:00:00Z"),
            run("newest-running", "Running", "2026-11-30T13:00:00Z"),
            run("passed", "Successful", "2026-11-30T14:00:00Z")]
    assert stopping_run(runs)["metadata"]["name"] == "new-failed"
    assert analysis_run_summary({"resources": runs}) == "new-failed Failed"


def test_no_stopping_run_is_an_empty_summary() -> None:
    assert analysis_run_summary([run("passed", "Successful", "t")]) == ""
    assert analysis_run_summary(None) == ""
    assert summary({}) == ""


def test_the_summary_is_one_bounded_line() -> None:
    long = {"name": "x" * 600, "phase": "Failed", "measurements": [{"value": "line\nbreak"}]}
    text = summary(run("r", "Failed", "t", [long]))
    assert len(text) == 400 and text.endswith("...") and "\n" not in text

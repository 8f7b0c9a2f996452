# -*- coding: utf-8 -*-
# Copyright: contributors to the gitops platform
# Apache License 2.0
from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.gitops.platform.plugins.filter.scan_summary import scan_summary


def match(ident, severity, name, version, fixes=()):
    return {"vulnerability": {"id": ident, "severity": severity, "fix": {"versions": list(fixes)}},
            "artifact": {"name": name, "version": version}}


def test_counts_per_severity_and_lists_what_crosses_the_threshold_worst_first():
    report = {"matches": [
        match("GO-1", "High", "golang.org/x/net", "v0.20.0", ["0.23.0"]),
        match("GO-2", "Critical", "stdlib", "go1.26.8", ["1.26.9", "1.27.2"]),
        match("GO-2", "Critical", "stdlib", "go1.26.8", ["1.26.9", "1.27.2"]),  # the same finding twice: one
        match("GO-3", "Unknown", "stdlib", "go1.26.8"),
    ]}
    summary = scan_summary([report, {"matches": []}], ["a:1", "b:2"], "high")
    assert summary["lines"] == ["a:1: 1 critical, 1 high, 1 unknown", "b:2: no finding"]
    assert summary["failing"] == ["a:1 (2: GO-2 in stdlib go1.26.8 (fixed in 1.26.9), "
                                  "GO-1 in golang.org/x/net v0.20.0 (fixed in 0.23.0))"]
    assert summary["counts"]["a:1"]["critical"] == 1 and summary["counts"]["b:2"]["unknown"] == 0


def test_shows_three_findings_and_says_there_are_more():
    report = {"matches": [match(f"GO-{n}", "Critical", "m", "v1") for n in range(5)]}
    failing = scan_summary([report], ["a:1"])["failing"]
    assert failing == ["a:1 (5: GO-0 in m v1 (no fix yet), GO-1 in m v1 (no fix yet), GO-2 in m v1 (no fix yet), ...)"]


def test_unknown_severity_never_fails():
    assert scan_summary([{"matches": [match("GO-1", "Unknown", "m", "v1")]}], ["a:1"], "negligible")["failing"] == []


@pytest.mark.parametrize(("reports", "references", "fail_on", "message"), [
    ([{}], ["a:1"], "critical", "no grype JSON report"),
    ([], ["a:1"], "critical", "one grype JSON report per image"),
    ([{"matches": []}], ["a:1"], "unknown", "fail_on is unknown"),
    ([{"matches": []}], ["a:1"], "severe", "fail_on is severe"),
])
def test_refuses_what_it_cannot_read(reports, references, fail_on, message):
    with pytest.raises(AnsibleFilterError, match=message):
        scan_summary(reports, references, fail_on)

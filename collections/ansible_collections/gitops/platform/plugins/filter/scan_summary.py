# -*- coding: utf-8 -*-
# Copyright: contributors to the gitops platform
# Apache License 2.0
"""Filters of grype's reports (roles/image_scan)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

# grype's order, lowest first; a finding whose record carries no severity is Unknown, below them all.
SEVERITIES = ("Unknown", "Negligible", "Low", "Medium", "High", "Critical")
SHOWN = 3


def _finding(match: dict) -> tuple[str, str, str, str, str]:
    vulnerability, artifact = match.get("vulnerability") or {}, match.get("artifact") or {}
    fixes = (vulnerability.get("fix") or {}).get("versions") or []
    return (vulnerability.get("id", "?"), vulnerability.get("severity") or "Unknown", artifact.get("name", "?"),
            artifact.get("version", "?"), fixes[0] if fixes else "")


def scan_summary(reports: list, references: list, fail_on: str = "critical") -> dict:
    """One line per image (its findings counted per severity) and, for the images with a finding at `fail_on` or
    worse, what those findings are: the first few as `ID in package version (fixed in version)`."""
    if not isinstance(reports, list) or not isinstance(references, list) or len(reports) != len(references):
        raise AnsibleFilterError("scan_summary expects one grype JSON report per image reference, in the same order")
    threshold = next((index for index, name in enumerate(SEVERITIES) if name.lower() == str(fail_on).lower()), None)
    if threshold is None or threshold == 0:
        raise AnsibleFilterError(f"scan_summary: fail_on is {fail_on}; it takes one of "
                                 f"{', '.join(name.lower() for name in SEVERITIES[1:])}")
    lines, failing, counts_by_image = [], [], {}
    for reference, report in zip(references, reports):
        if not isinstance(report, dict) or not isinstance(report.get("matches"), list):
            raise AnsibleFilterError(f"scan_summary: the report of {reference} is no grype JSON report (no matches)")
        findings = sorted({_finding(match) for match in report["matches"]},
                          key=lambda finding: (-SEVERITIES.index(finding[1]) if finding[1] in SEVERITIES else 0,
                                               finding[0], finding[2]))
        counts = {name: sum(1 for finding in findings if finding[1] == name) for name in reversed(SEVERITIES)}
        counts_by_image[reference] = {name.lower(): count for name, count in counts.items()}
        shown = ", ".join(f"{count} {name.lower()}" for name, count in counts.items() if count)
        lines.append(f"{reference}: {shown or 'no finding'}")
        over = [finding for finding in findings if finding[1] in SEVERITIES and SEVERITIES.index(finding[1]) >= threshold]
        if over:
            listed = ", ".join(f"{ident} in {package} {version}" + (f" (fixed in {fix})" if fix else " (no fix yet)")
                               for ident, _severity, package, version, fix in over[:SHOWN])
            failing.append(f"{reference} ({len(over)}: {listed}{', ...' if len(over) > SHOWN else ''})")
    return {"lines": lines, "failing": failing, "counts": counts_by_image}


class FilterModule:
    def filters(self) -> dict:
        return {"scan_summary": scan_summary}

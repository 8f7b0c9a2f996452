# -*- coding: utf-8 -*-
# Copyright: contributors to the gitops platform
# Apache License 2.0
"""Filters over Argo CD Application objects: whether one has converged, whether it is stuck Degraded at a revision,
and why, in one line each; which of several have not converged; which objects an apply would change."""

from __future__ import annotations

from ansible_collections.gitops.platform.plugins.module_utils import argocd_application as application


def argocd_app_converged(app: dict | None, expected_revision: str = "") -> bool:
    return application.converged(app, expected_revision)


def argocd_app_degraded(app: dict | None, expected_revision: str) -> bool:
    return application.degraded_at(app, expected_revision)


def argocd_app_report(app: dict | None) -> str:
    return application.report(app)


def argocd_app_reason(app: dict | None) -> str:
    return application.reason(app)


def argocd_app_pending(items: list | None, names: list, expected_revision: str = "") -> list:
    return application.pending(items, names, expected_revision)


def k8s_objects_to_apply(wanted: list, items: list | None) -> list:
    return application.to_apply(wanted, items)


def argocd_app_lines(result: dict | list | None, names: list) -> list:
    items = result.get("resources", []) if isinstance(result, dict) else result
    return application.lines(items, names)


class FilterModule:
    def filters(self) -> dict:
        return {
            "argocd_app_converged": argocd_app_converged,
            "argocd_app_degraded": argocd_app_degraded,
            "argocd_app_report": argocd_app_report,
            "argocd_app_reason": argocd_app_reason,
            "argocd_app_pending": argocd_app_pending,
            "k8s_objects_to_apply": k8s_objects_to_apply,
            "argocd_app_lines": argocd_app_lines,
        }

"""`helm lint --strict` passes with every values file shipped with the chart."""

from __future__ import annotations

import pytest
from chart_helpers import VALUES_FILES, Helm


@pytest.mark.parametrize("values_file", VALUES_FILES)
def test_lint_strict_passes(helm: Helm, values_file: str) -> None:
    result = helm.lint(values=[values_file])

    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 chart(s) failed" in result.stdout
    assert "[WARNING]" not in result.stdout, result.stdout
    assert "[ERROR]" not in result.stdout, result.stdout


def test_lint_strict_rejects_unknown_value(helm: Helm) -> None:
    result = helm.lint(sets=["imagee.tag=1.0.0"])

    assert result.returncode != 0
    assert "additional properties 'imagee' not allowed" in result.stdout + result.stderr

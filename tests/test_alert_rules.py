"""The alert rules of helm/platform-observability pass `promtool check rules` and their unit tests
(`promtool test rules`), every rule has a test, and promtool can fail: a broken rule or a wrong expectation does.

promtool is built from the Prometheus module with the offline bundle (make bundle), the same build as the image's.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from tests import promtool_path

# Needs the Docker engine or what `make bundle` builds: `make test` runs it once the bundle is built.
pytestmark = pytest.mark.bundle

REPO = Path(__file__).resolve().parents[1]
RULES_DIR = REPO / "helm" / "platform-observability" / "rules"
RULE_FILES = sorted(RULES_DIR.glob("*.rules.yml"))
TEST_FILES = sorted((RULES_DIR / "tests").glob("*.test.yml"))


@pytest.fixture(scope="module")
def promtool() -> str:
    return promtool_path.promtool()


def run(*args: str, cwd: Path = RULES_DIR) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, timeout=300, check=False)


def rules() -> list[dict]:
    return [rule for path in RULE_FILES for group in yaml.safe_load(path.read_text())["groups"] for rule in group["rules"]]


def test_the_rules_are_valid(promtool: str) -> None:
    result = run(promtool, "check", "rules", *map(str, RULE_FILES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(RULE_FILES)


def test_the_rule_unit_tests_pass(promtool: str) -> None:
    result = run(promtool, "test", "rules", *map(str, TEST_FILES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(TEST_FILES)


def test_every_rule_has_a_test() -> None:
    tested_alerts, tested_exprs, loaded = set(), set(), set()
    for path in TEST_FILES:
        suite = yaml.safe_load(path.read_text())
        loaded |= {(path.parent / name).resolve() for name in suite["rule_files"]}
        for case in suite["tests"]:
            tested_alerts |= {test["alertname"] for test in case.get("alert_rule_test", []) if test.get("exp_alerts")}
            tested_exprs |= {test["expr"] for test in case.get("promql_expr_test", [])}
    assert loaded == {path.resolve() for path in RULE_FILES}
    alerts = {rule["alert"] for rule in rules() if "alert" in rule}
    records = {rule["record"] for rule in rules() if "record" in rule}
    assert alerts - tested_alerts == set(), "alerts without a test that sees them fire"
    assert records - tested_exprs == set(), "recording rules without a promql_expr_test"
    assert {"AppErrorRateHigh", "AppLatencyP95High", "AppAvailabilityBelowTarget", "AppDown", "ContainerRestarting",
            "ContainerMemoryNearLimit", "ArgoCDApplicationOutOfSync", "ArgoCDApplicationDegraded"} <= alerts


def test_promtool_fails_a_broken_rule_and_a_wrong_expectation(promtool: str, tmp_path: Path) -> None:
    broken = tmp_path / "broken.rules.yml"
    broken.write_text("groups:\n  - name: x\n    rules:\n      - alert: Broken\n        expr: sum(rate(x[5m]) by\n")
    result = run(promtool, "check", "rules", str(broken))
    assert result.returncode != 0 and "Broken" in result.stdout + result.stderr
    suite = yaml.safe_load((RULES_DIR / "tests" / "app.test.yml").read_text())
    suite["rule_files"] = [str(RULES_DIR / "app.rules.yml")]
    suite["tests"][1]["alert_rule_test"][-1]["exp_alerts"][0]["exp_labels"]["namespace"] = "demo-production"
    wrong = tmp_path / "wrong.test.yml"
    wrong.write_text(yaml.safe_dump(suite))
    result = run(promtool, "test", "rules", str(wrong), cwd=tmp_path)
    assert result.returncode != 0 and "AppDown" in result.stdout + result.stderr

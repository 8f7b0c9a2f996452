"""Helpers shared by the chart tests: the real helm binary, rendering, and object lookups."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

TESTS_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = TESTS_DIR.parent
CHART_DIR = REPO_ROOT / "helm" / "demo-flask-app"
OBSERVABILITY_CHART_DIR = REPO_ROOT / "helm" / "platform-observability"
VERSIONS_FILE = REPO_ROOT / "inventory" / "group_vars" / "all" / "versions.yml"
HELM_FALLBACK = Path.home() / ".cache" / "gitops-platform" / "bin" / "helm"
RELEASE = "demo"
NAMESPACE = "demo"

# promtool_path lives in tests/ so that other test suites can import it too.
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

import promtool_path  # noqa: E402, F401  (re-exported to the tests; needs the sys.path entry above)
from pipelines import k8s_schema  # noqa: E402, F401  (re-exported to the tests; the gitops pipeline's validator)

# Values files shipped with the chart, as `helm -f` arguments relative to the chart directory.
VALUES_FILES = ("values.yaml", "values-dev.yaml", "values-staging.yaml", "values-production.yaml")

# The VerticalPodAutoscaler's API, as `helm --api-versions` takes it: a cluster with the VPA CRDs serves it, and
# Argo CD passes the cluster's API versions to helm. Without it the chart renders no VerticalPodAutoscaler.
VPA_API = "autoscaling.k8s.io/v1/VerticalPodAutoscaler"


def platform_versions() -> dict[str, Any]:
    return yaml.safe_load(VERSIONS_FILE.read_text(encoding="utf-8"))["platform_versions"]


@dataclass(frozen=True)
class HelmResult:
    returncode: int
    stdout: str
    stderr: str

    def objects(self) -> list[dict[str, Any]]:
        """The rendered manifests, one dict per non-empty YAML document."""
        assert self.returncode == 0, f"helm failed ({self.returncode}):\n{self.stderr}"
        return [doc for doc in yaml.safe_load_all(self.stdout) if doc is not None]


@dataclass(frozen=True)
class Helm:
    """The real helm binary, run against a chart (the app's by default) with the platform's Kubernetes version."""

    binary: str
    kube_version: str
    chart_dir: Path = CHART_DIR

    def run(self, *args: str) -> HelmResult:
        result = subprocess.run([self.binary, *args], capture_output=True, text=True, check=False, timeout=120)
        return HelmResult(result.returncode, result.stdout, result.stderr)

    def _value_args(self, values: Sequence[str | Path], sets: Sequence[str], set_json: Sequence[str]) -> list[str]:
        args: list[str] = []
        for values_file in values:
            path = Path(values_file)
            args += ["--values", str(path if path.is_absolute() else self.chart_dir / path)]
        for item in sets:
            args += ["--set", item]
        for item in set_json:
            args += ["--set-json", item]
        return args

    def lint(self, values: Sequence[str | Path] = (), sets: Sequence[str] = (), set_json: Sequence[str] = ()) -> HelmResult:
        return self.run(
            "lint",
            "--strict",
            str(self.chart_dir),
            "--kube-version",
            self.kube_version,
            *self._value_args(values, sets, set_json),
        )

    def template(
        self,
        values: Sequence[str | Path] = (),
        sets: Sequence[str] = (),
        set_json: Sequence[str] = (),
        api_versions: Sequence[str] = (),
    ) -> HelmResult:
        """`helm template`; api_versions are API versions the cluster serves besides the built-in ones."""
        return self._template(tuple(map(str, values)), tuple(sets), tuple(set_json), tuple(api_versions))

    @cache  # noqa: B019  (the instance is a session-wide fixture; rendering is deterministic)
    def _template(
        self, values: tuple[str, ...], sets: tuple[str, ...], set_json: tuple[str, ...], api_versions: tuple[str, ...]
    ) -> HelmResult:
        return self.run(
            "template",
            RELEASE,
            str(self.chart_dir),
            "--namespace",
            NAMESPACE,
            "--kube-version",
            self.kube_version,
            *(arg for api_version in api_versions for arg in ("--api-versions", api_version)),
            *self._value_args(values, sets, set_json),
        )

    def render(
        self,
        values: Sequence[str | Path] = (),
        sets: Sequence[str] = (),
        set_json: Sequence[str] = (),
        api_versions: Sequence[str] = (),
    ) -> list[dict[str, Any]]:
        """Render and parse; fails the test when helm fails."""
        return self.template(values, sets, set_json, api_versions).objects()


def find_helm() -> str | None:
    on_path = shutil.which("helm")
    if on_path:
        return on_path
    if HELM_FALLBACK.is_file() and HELM_FALLBACK.stat().st_mode & 0o111:
        return str(HELM_FALLBACK)
    return None


def find_object(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    """The single object of a kind; fails when there is none or several."""
    matches = [obj for obj in objects if obj.get("kind") == kind]
    assert len(matches) == 1, f"expected one {kind}, rendered {[o.get('kind') for o in objects]}"
    return matches[0]


def dig(obj: Any, path: str) -> Any:
    """Value at a dotted path; integer segments index lists: ``spec.template.spec.containers.0.image``.

    The empty path is the object itself.
    """
    for segment in path.split(".") if path else []:
        obj = obj[int(segment)] if isinstance(obj, list) else obj[segment]
    return obj

"""The releases the gitops repository describes, as Argo CD renders them, and helm's lint and template of each."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pipelines.tools import PipelineError, platform_settings, platform_versions, run, tool

# The APIs the platform's clusters serve beyond Kubernetes' own, as `helm --api-versions` takes them: Argo CD passes
# the cluster's API versions to helm, and the app chart renders a VerticalPodAutoscaler only where its API exists.
EXTRA_APIS = ("autoscaling.k8s.io/v1/VerticalPodAutoscaler", "argoproj.io/v1alpha1/Rollout",
              "argoproj.io/v1alpha1/AnalysisTemplate")
OBSERVABILITY_CHART = "platform-observability"
OBSERVABILITY_NAMESPACE = "monitoring"


@dataclass(frozen=True)
class Release:
    """One Argo CD Application's helm source: its release name, namespace, chart and values."""

    name: str
    namespace: str
    chart: str
    values: tuple[str, ...]
    set_json: tuple[str, ...] = ()

    def value_args(self, helm_dir: Path) -> list[str]:
        args = [arg for values in self.values for arg in ("--values", str(helm_dir / self.chart / values))]
        return args + [arg for item in self.set_json for arg in ("--set-json", item)]


def environments() -> list[str]:
    return [str(environment["name"]) for environment in platform_settings()["platform_environments"]]


def releases() -> list[Release]:
    """The app chart once per environment (its Application, demo-flask-app-<env> in demo-<env>, reads values.yaml and
    values-<env>.yaml) and the observability chart with the app namespaces it scrapes (playbooks/platform-apps.yml)."""
    settings = platform_settings()
    chart, prefix = str(settings["platform_chart"]), str(settings["platform_app_namespace"])
    namespaces = [f"{prefix}-{name}" for name in environments()]
    app = [Release(f"{chart}-{name}", f"{prefix}-{name}", chart, ("values.yaml", f"values-{name}.yaml"))
           for name in environments()]
    return [*app, Release(OBSERVABILITY_CHART, OBSERVABILITY_NAMESPACE, OBSERVABILITY_CHART, ("values.yaml",),
                          (f"prometheus.appNamespaces={json.dumps(namespaces)}",))]


def kube_version() -> str:
    return str(platform_versions()["kubernetes"])


def lint(release: Release, helm_dir: Path) -> tuple[bool, str]:
    """`helm lint --strict` of the release's chart with its values; (passed, helm's output)."""
    result = run([tool("helm"), "lint", "--strict", str(helm_dir / release.chart), "--namespace", release.namespace,
                  "--kube-version", kube_version(), *release.value_args(helm_dir)])
    return result.returncode == 0, (result.stdout + result.stderr).strip()


def render(release: Release, helm_dir: Path) -> str:
    """The release's manifests as Argo CD would apply them; a template error raises with helm's message."""
    if not (helm_dir / release.chart / "Chart.yaml").is_file():
        raise PipelineError(f"{helm_dir / release.chart} is no chart (no Chart.yaml)")
    apis = [arg for api in EXTRA_APIS for arg in ("--api-versions", api)]
    result = run([tool("helm"), "template", release.name, str(helm_dir / release.chart), "--namespace", release.namespace,
                  "--kube-version", kube_version(), *apis, *release.value_args(helm_dir)])
    if result.returncode != 0:
        raise PipelineError(f"helm could not render {release.name}: {result.stderr.strip()}")
    return result.stdout

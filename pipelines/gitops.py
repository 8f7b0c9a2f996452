"""The gitops repository's validation pipeline: one stage after the other over every release, each saying what it
checked and, when it fails, what a reviewer has to change.

Stages (`--stage` picks some; the default is all but dry-run, which needs a cluster and runs when one is named):
  lint      helm lint --strict of every release's chart with its values
  render    helm template of every release, as Argo CD renders it (written to build/gitops-validate/)
  yamllint  the values files with the repository's rules, the rendered manifests with the structural ones
  schema    kubeconform, strict, against the pinned Kubernetes' schemas and the CRDs the charts use
  score     kube-score's best-practice checks (KUBE_SCORE_IGNORED says which are off and why)
  security  pipelines/rules.py: non-root, read-only root, no privilege, no host access, requests and limits
  diff      every release rendered at the base revision and now, object by object
  dry-run   a server-side dry-run apply of every object on a cluster (--kube-context)
"""

from __future__ import annotations

import copy
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipelines import charts, kubeconform_schemas, manifest_diff, rules
from pipelines.tools import ROOT, PipelineError, run, tool

STAGES = ("lint", "render", "yamllint", "schema", "score", "security", "diff", "dry-run")
NEEDS_RENDER = frozenset({"schema", "score", "security", "dry-run"})
OUT_DIR = ROOT / "build" / "gitops-validate"
KUBECONFORM_NOISE = re.compile(r"problem validating schema\. Check JSON formatting: jsonschema validation failed with '[^']*' - ")
# The rendered manifests come from templates: their layout is helm's, so only what changes their meaning counts.
RENDERED_YAMLLINT = ("{extends: default, rules: {line-length: disable, document-start: disable, indentation: disable, "
                     "comments: disable, comments-indentation: disable, trailing-spaces: disable, empty-lines: disable, "
                     "new-line-at-end-of-file: disable, truthy: disable, braces: disable, brackets: disable}}")
# kube-score checks that do not fit these charts, each with its reason:
KUBE_SCORE_IGNORED = {
    # The platform's images are pinned by tag and carried by the nodes or its registry; IfNotPresent is deliberate
    # (offline, Always would ask a registry on every start).
    "container-image-pull-policy": "images are pinned by tag; offline, Always would ask the registry on every start",
    # The app writes only to its /tmp emptyDir, which has a size limit; requests for it would only reserve node disk.
    "container-ephemeral-storage-request-and-limit": "the only writable path is an emptyDir with a sizeLimit",
}


@dataclass
class StageResult:
    name: str
    passed: bool
    lines: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class Context:
    helm_dir: Path
    base: str
    kube_context: str | None
    rendered: dict[str, str] = field(default_factory=dict)  # release name -> manifests
    # Read when the context is made, so that a test can render elsewhere (its own directory, not the command line's).
    out_dir: Path = field(default_factory=lambda: OUT_DIR)
    repo: Path = ROOT  # the git repository the base revision is read from

    def manifest_file(self, name: str) -> Path:
        return self.out_dir / f"{name}.yaml"

    def manifest_files(self) -> list[Path]:
        return [self.manifest_file(name) for name in self.rendered]

    def objects(self) -> list[dict[str, Any]]:
        return [obj for manifest in self.rendered.values() for obj in yaml.safe_load_all(manifest) if isinstance(obj, dict)]


def shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def stage_lint(ctx: Context) -> StageResult:
    result = StageResult("lint", True)
    for release in charts.releases():
        passed, output = charts.lint(release, ctx.helm_dir)
        result.passed &= passed
        if not passed:
            result.lines += [f"{release.name}: helm lint --strict failed:"] + [f"  {line}" for line in output.splitlines()
                                                                             if "[ERROR]" in line or "[WARNING]" in line
                                                                             or "Error" in line]
        else:
            result.lines.append(f"{release.name}: clean")
    return result


def stage_render(ctx: Context) -> StageResult:
    result = StageResult("render", True)
    ctx.out_dir.mkdir(parents=True, exist_ok=True)
    for release in charts.releases():
        try:
            manifest = charts.render(release, ctx.helm_dir)
        except PipelineError as error:
            result.passed = False
            result.lines.append(str(error))
            continue
        ctx.rendered[release.name] = manifest
        written = ctx.manifest_file(release.name)
        written.write_text(manifest, encoding="utf-8")
        count = sum(1 for obj in yaml.safe_load_all(manifest) if obj)
        result.lines.append(f"{release.name}: {count} objects -> {shown(written)}")
    return result


def stage_yamllint(ctx: Context) -> StageResult:
    values = sorted(str(path) for path in ctx.helm_dir.glob("*/values*.yaml"))
    checks = [("values files", ["-c", str(ROOT / ".yamllint"), *values])]
    if ctx.rendered:
        checks.append(("rendered manifests", ["-d", RENDERED_YAMLLINT, *map(str, ctx.manifest_files())]))
    result = StageResult("yamllint", True)
    for what, args in checks:
        output = run([tool("yamllint"), "--strict", "-f", "parsable", *args])
        passed = output.returncode == 0
        result.passed &= passed
        result.lines += [f"{what}: clean"] if passed else [f"{what}:"] + [f"  {line}" for line in output.stdout.splitlines()]
    return result


def stage_schema(ctx: Context) -> StageResult:
    schemas = kubeconform_schemas.schema_dir()
    output = run([tool("kubeconform"), "-strict", "-summary", "-output", "text",
                  "-kubernetes-version", charts.kube_version().removeprefix("v"),
                  "-schema-location", str(schemas / kubeconform_schemas.LOCATION_TEMPLATE),
                  *map(str, ctx.manifest_files())])
    # kubeconform wraps each violation in words about its schema file; the reviewer needs the object, path and reason.
    lines = [KUBECONFORM_NOISE.sub("", line).replace(str(ROOT) + "/", "")
             for line in (output.stdout + output.stderr).splitlines() if line.strip()]
    return StageResult("schema", output.returncode == 0, lines)


def for_kube_score(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """kube-score knows Kubernetes' own kinds only: a Rollout is scored as the Deployment it replaces (same pod
    template), an AnalysisTemplate's job as a Job, and an autoscaler that targets a Rollout as one that targets it."""
    scored = []
    for obj in objects:
        kind = obj.get("kind")
        if kind == "Rollout":
            spec = {key: value for key, value in obj["spec"].items() if key in ("replicas", "selector", "template")}
            scored.append({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": obj["metadata"], "spec": spec})
        elif kind == "AnalysisTemplate":
            for metric in obj["spec"].get("metrics") or []:
                job = ((metric.get("provider") or {}).get("job") or {})
                if job.get("spec"):
                    metadata = {"name": f"{obj['metadata']['name']}-{metric['name']}",
                                "namespace": obj["metadata"].get("namespace", "")}
                    scored.append({"apiVersion": "batch/v1", "kind": "Job", "metadata": metadata, "spec": job["spec"]})
        elif kind in ("HorizontalPodAutoscaler", "VerticalPodAutoscaler"):
            autoscaler = copy.deepcopy(obj)
            target = autoscaler["spec"].get("scaleTargetRef") or autoscaler["spec"].get("targetRef") or {}
            if target.get("kind") == "Rollout":
                target.update({"apiVersion": "apps/v1", "kind": "Deployment"})
            scored.append(autoscaler)
        else:
            scored.append(obj)
    return scored


def stage_score(ctx: Context) -> StageResult:
    manifest = yaml.safe_dump_all(for_kube_score(ctx.objects()), sort_keys=False)
    ignored = [arg for name in KUBE_SCORE_IGNORED for arg in ("--ignore-test", name)]
    output = run([tool("kube-score"), "score", "--output-format", "ci", *ignored, "-"], stdin=manifest)
    findings = [line for line in output.stdout.splitlines() if line.startswith(("[CRITICAL]", "[WARNING]"))]
    lines = [f"{len(findings)} findings (CRITICAL fails the stage; off: {', '.join(KUBE_SCORE_IGNORED)})", *findings]
    if output.returncode not in (0, 1) or (output.returncode == 1 and not findings):
        lines.append(f"kube-score failed: {output.stderr.strip()}")
    return StageResult("score", output.returncode == 0, lines)


def stage_security(ctx: Context) -> StageResult:
    found = rules.findings(ctx.objects())
    return StageResult("security", not found, [str(finding) for finding in found] or ["every pod keeps every rule"])


def stage_diff(ctx: Context) -> StageResult:
    text, changed = manifest_diff.diff(ctx.base, ctx.helm_dir, ctx.repo)
    return StageResult("diff", True, [f"against {ctx.base}: {'changes' if changed else 'no change'}", *text.splitlines()])


def stage_dry_run(ctx: Context) -> StageResult:
    if not ctx.kube_context:
        raise PipelineError("dry-run needs a cluster: pass --kube-context (make gitops-validate KUBE_CONTEXT=...)")
    from pipelines import dry_run  # the Kubernetes client only where a cluster is asked for

    problems, lines = dry_run.dry_run(ctx.kube_context, charts.releases(), ctx.rendered)
    return StageResult("dry-run", not problems, lines + problems)


RUNNERS: dict[str, Callable[[Context], StageResult]] = {
    "lint": stage_lint, "render": stage_render, "yamllint": stage_yamllint, "schema": stage_schema,
    "score": stage_score, "security": stage_security, "diff": stage_diff, "dry-run": stage_dry_run,
}


def default_stages(kube_context: str | None) -> list[str]:
    return [name for name in STAGES if name != "dry-run" or kube_context]


def validate(stages: list[str], helm_dir: Path, base: str, kube_context: str | None,
             *, say: Callable[[str], None] = print, repo: Path = ROOT) -> list[StageResult]:
    """Runs the stages in pipeline order (render first when another needs it); every stage runs even after one failed,
    so that a review sees all that is wrong at once."""
    ctx = Context(helm_dir=helm_dir, base=base, kube_context=kube_context, repo=repo)
    wanted = set(stages) | ({"render"} if (NEEDS_RENDER | {"yamllint"}) & set(stages) else set())
    results = []
    for name in (stage for stage in STAGES if stage in wanted):
        if name in NEEDS_RENDER and len(ctx.rendered) < len(charts.releases()):
            results.append(StageResult(name, False, ["not run: some release did not render (see render)"]))
        else:
            started = time.monotonic()
            try:
                result = RUNNERS[name](ctx)
            except PipelineError as error:
                result = StageResult(name, False, [str(error)])
            result.seconds = time.monotonic() - started
            results.append(result)
        last = results[-1]
        say(f"== {name}: {'passed' if last.passed else 'FAILED'} ({last.seconds:.1f} s)")
        for line in last.lines:
            say(f"   {line}")
    return results

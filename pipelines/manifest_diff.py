"""What a change does to the rendered manifests: each release rendered at a base revision and now, compared object
by object (kind, namespace, name), printed as unified diffs of the YAML a reviewer reads."""

from __future__ import annotations

import difflib
import io
import subprocess
import tarfile
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from pipelines import charts
from pipelines.tools import ROOT, PipelineError

Key = tuple[str, str, str]


def export_helm_dir(revision: str, dest: Path, repo: Path = ROOT) -> Path:
    """helm/ as it is at `revision`, extracted under dest."""
    result = subprocess.run(["git", "-C", str(repo), "archive", "--format=tar", revision, "helm"],
                            capture_output=True, check=False, timeout=120)
    if result.returncode != 0:
        raise PipelineError(f"git cannot read helm/ at {revision!r}: {result.stderr.decode(errors='replace').strip()} "
                            "(give --base a commit, branch or tag of this repository; in CI, fetch it first)")
    with tarfile.open(fileobj=io.BytesIO(result.stdout)) as archive:
        archive.extractall(dest, filter="data")
    return dest / "helm"


def by_key(manifest: str) -> dict[Key, dict[str, Any]]:
    objects = {}
    for obj in yaml.safe_load_all(manifest):
        if isinstance(obj, Mapping) and obj.get("kind"):
            metadata = obj.get("metadata") or {}
            objects[(str(obj["kind"]), str(metadata.get("namespace", "")), str(metadata.get("name", "")))] = obj
    return objects


def label(key: Key) -> str:
    kind, namespace, name = key
    return f"{kind}/{name}" + (f" in {namespace}" if namespace else "")


def as_lines(obj: Mapping[str, Any] | None) -> list[str]:
    return yaml.safe_dump(obj, sort_keys=False, width=1000).splitlines(keepends=True) if obj is not None else []


def diff_manifests(before: str, after: str) -> tuple[str, dict[str, int]]:
    """Unified diffs of every object that was added, removed or changed, and the counts."""
    old, new = by_key(before), by_key(after)
    counts = {"added": 0, "removed": 0, "changed": 0}
    out = []
    for key in sorted(old.keys() | new.keys()):
        if old.get(key) == new.get(key):
            continue
        state = "added" if key not in old else "removed" if key not in new else "changed"
        counts[state] += 1
        out.append(f"# {label(key)}: {state}\n")
        out += difflib.unified_diff(as_lines(old.get(key)), as_lines(new.get(key)), f"base/{label(key)}",
                                    f"change/{label(key)}", n=3)
    return "".join(out), counts


def render_or_empty(release: charts.Release, helm_dir: Path) -> str:
    """A release's chart that does not exist at the base renders to nothing: every object is added."""
    return charts.render(release, helm_dir) if (helm_dir / release.chart / "Chart.yaml").is_file() else ""


def diff(base: str, helm_dir: Path, repo: Path = ROOT) -> tuple[str, bool]:
    """The report of every release against `base`; (text, whether anything changed)."""
    with tempfile.TemporaryDirectory(prefix="gitops-diff-") as scratch:
        base_helm = export_helm_dir(base, Path(scratch), repo)
        sections, changed = [], False
        for release in charts.releases():
            text, counts = diff_manifests(render_or_empty(release, base_helm), charts.render(release, helm_dir))
            summary = ", ".join(f"{count} {state}" for state, count in counts.items() if count) or "no change"
            sections.append(f"{release.name} ({release.namespace}): {summary}\n{text}")
            changed = changed or bool(text)
    return "\n".join(sections), changed

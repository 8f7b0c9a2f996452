"""The gitops validation pipeline (pipelines/gitops.py) with the real helm, yamllint, kubeconform and kube-score.

The current charts pass every static stage; each defect a reviewer must catch, injected into a copy of helm/, fails
the stage that names it, with a message that says what is wrong. The server-side dry-run needs a cluster: Molecule's
default scenario runs it against the platform (molecule/default/pipelines.yml).
"""

from __future__ import annotations

import base64
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from pipelines import gitops, kubeconform_schemas, rules
from pipelines.tools import ROOT

STATIC = ["lint", "render", "yamllint", "schema", "score", "security", "diff"]
APP_CHART = "demo-flask-app"


@pytest.fixture(autouse=True)
def rendered_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test renders into a directory of its own, not build/gitops-validate: the command line writes that one, and
    with it Molecule's dry-run check while these tests run beside it (seen: a render of the current chart read back
    here instead of the test's own)."""
    path = tmp_path / "gitops-validate"
    monkeypatch.setattr(gitops, "OUT_DIR", path)
    return path


@pytest.fixture
def helm_dir(tmp_path: Path) -> Path:
    copy = tmp_path / "helm"
    shutil.copytree(ROOT / "helm", copy)
    return copy


def validate(stages: list[str], helm_dir: Path, base: str = "HEAD", repo: Path = ROOT,
             ) -> tuple[dict[str, gitops.StageResult], str]:
    said: list[str] = []
    results = gitops.validate(stages, helm_dir, base, None, say=said.append, repo=repo)
    return {result.name: result for result in results}, "\n".join(said)


def edit_values(helm_dir: Path, name: str, change: Callable[[dict], None]) -> None:
    path = helm_dir / APP_CHART / name
    values = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(values)
    path.write_text("---\n" + yaml.safe_dump(values, sort_keys=False), encoding="utf-8")


def edit_text(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{path} no longer contains {old!r}: update the test's defect"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def failed(results: dict[str, gitops.StageResult]) -> list[str]:
    return [name for name, result in results.items() if not result.passed]


def test_the_current_charts_pass_every_static_stage(rendered_dir: Path) -> None:
    results, output = validate(STATIC, ROOT / "helm")
    assert failed(results) == [], output
    assert list(results) == STATIC
    # kubeconform saw every object and found each one's schema (the canary's Rollout and AnalysisTemplate too).
    summary = next(line for line in results["schema"].lines if line.startswith("Summary:"))
    valid = int(re.search(r"Valid: (\d+)", summary).group(1))
    assert valid >= 30 and "Invalid: 0" in summary and "Errors: 0" in summary and "Skipped: 0" in summary, summary
    kinds = {obj["kind"] for path in rendered_dir.glob("*.yaml")
             for obj in yaml.safe_load_all(path.read_text(encoding="utf-8")) if obj}
    assert {"Rollout", "AnalysisTemplate", "VerticalPodAutoscaler", "Deployment", "Service"} <= kinds


def test_a_sealed_session_key_passes_the_schema_and_a_plaintext_one_fails_lint(helm_dir: Path, rendered_dir: Path,
                                                                               ) -> None:
    # What kubeseal --raw prints: base64 of the encrypted value (here random bytes of its length).
    sealed = base64.b64encode(secrets.token_bytes(600)).decode()
    edit_values(helm_dir, "values-dev.yaml", lambda values: values.update({"sessionKey": {"sealed": sealed}}))
    results, output = validate(["lint", "render", "schema", "score", "security"], helm_dir)
    assert failed(results) == [], output
    rendered = (rendered_dir / f"{APP_CHART}-dev.yaml").read_text(encoding="utf-8")
    assert "kind: SealedSecret" in rendered and sealed in rendered

    edit_values(helm_dir, "values-dev.yaml", lambda values: values.update({"sessionKey": {"sealed": "not sealed!"}}))
    results, output = validate(["lint"], helm_dir)
    assert failed(results) == ["lint"], output
    assert "at '/sessionKey/sealed'" in output and "does not match pattern" in output, output


def test_a_missing_limit_fails_security_and_score(helm_dir: Path) -> None:
    edit_values(helm_dir, "values.yaml", lambda values: values["resources"].pop("limits"))
    results, output = validate(["score", "security"], helm_dir)
    assert failed(results) == ["score", "security"], output
    assert any("[resources] no limits for cpu and memory: it can starve its node" in line
               for line in results["security"].lines), output
    assert any(line.startswith("[CRITICAL]") and "Memory limit" in line for line in results["score"].lines), output


def test_a_pod_allowed_to_run_as_root_fails_security(helm_dir: Path) -> None:
    edit_values(helm_dir, "values.yaml", lambda values: values["podSecurityContext"].update(runAsNonRoot=False))
    results, output = validate(["security"], helm_dir)
    assert failed(results) == ["security"], output
    assert any("Deployment/demo-flask-app-dev container demo-flask-app: [non-root] runAsNonRoot is not true" in line
               for line in results["security"].lines), output


def test_a_root_uid_is_refused_by_the_values_schema_before_anything_renders(helm_dir: Path) -> None:
    edit_values(helm_dir, "values.yaml", lambda values: values["podSecurityContext"].update(runAsUser=0))
    results, output = validate(["lint", "security"], helm_dir)
    assert failed(results) == ["lint", "render", "security"], output
    assert "runAsUser" in output and "minimum" in output.lower(), output
    assert results["security"].lines == ["not run: some release did not render (see render)"]


def test_a_quoted_port_fails_the_schema(helm_dir: Path, rendered_dir: Path) -> None:
    edit_text(helm_dir / APP_CHART / "templates" / "service.yaml", "port: {{ .Values.service.port }}",
              "port: {{ .Values.service.port | quote }}")
    results, output = validate(["schema"], helm_dir)
    assert failed(results) == ["schema"], output
    for environment in ("dev", "staging", "production"):
        assert (f"{rendered_dir}/demo-flask-app-{environment}.yaml - Service demo-flask-app-{environment} is invalid: "
                "at '/spec/ports/0/port': got string, want integer") in output, output
    assert "Invalid: 3," in output


def test_a_duplicate_key_fails_yamllint(helm_dir: Path) -> None:
    edit_text(helm_dir / APP_CHART / "values-dev.yaml", "replicaCount: 1\n", "replicaCount: 1\nreplicaCount: 2\n")
    results, output = validate(["yamllint"], helm_dir)
    assert not results["yamllint"].passed, output
    assert re.search(r"values-dev\.yaml:\d+:\d+: \[error\] duplication of key \"replicaCount\"", output), output


def test_a_template_error_fails_render_and_names_the_template(helm_dir: Path) -> None:
    edit_text(helm_dir / APP_CHART / "templates" / "service.yaml", "port: {{ .Values.service.port }}",
              "port: {{ .Values.service.missing.port }}")
    results, output = validate(["render"], helm_dir)
    assert failed(results) == ["render"], output
    assert "helm could not render demo-flask-app-dev" in output and "service.yaml" in output, output


def test_an_unknown_value_fails_lint(helm_dir: Path) -> None:
    edit_values(helm_dir, "values-staging.yaml", lambda values: values.update(replicaCuont=3))
    results, output = validate(["lint"], helm_dir)
    assert failed(results) == ["lint"], output
    assert "demo-flask-app-staging: helm lint --strict failed" in output and "replicaCuont" in output, output
    assert "demo-flask-app-dev: clean" in output


def test_the_diff_shows_what_changes_in_one_environment_only(helm_dir: Path) -> None:
    # The base: a repository whose commit holds the charts as they are now.
    repo = helm_dir.parent
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    for args in (["init", "-q"], ["add", "helm"], ["commit", "-q", "-m", "base"]):
        subprocess.run([*git, *args], check=True, capture_output=True)
    edit_values(helm_dir, "values-production.yaml", lambda values: values["autoscaling"].update(maxReplicas=5))
    results, output = validate(["diff"], helm_dir, repo=repo)
    assert results["diff"].passed
    assert "demo-flask-app-production (demo-production): 1 changed" in output, output
    assert "\n   -  maxReplicas: 4\n   +  maxReplicas: 5\n" in output, output
    for environment in ("dev", "staging"):
        assert f"demo-flask-app-{environment} (demo-{environment}): no change" in output


def test_a_base_git_cannot_read_fails_the_diff_with_what_to_do() -> None:
    results, output = validate(["diff"], ROOT / "helm", base="no-such-revision")
    assert failed(results) == ["diff"]
    assert "git cannot read helm/ at 'no-such-revision'" in output and "give --base a commit" in output


def test_the_command_line_exit_codes_and_the_dry_run_without_a_cluster() -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "pipelines", "gitops", *args], cwd=ROOT, capture_output=True,
                              text=True, check=False, timeout=300)

    passed = cli("--stage", "lint", "--stage", "security")
    assert passed.returncode == 0 and "gitops validation: 3 of 3 stages passed" in passed.stdout, passed.stdout
    no_cluster = cli("--stage", "dry-run")
    assert no_cluster.returncode == 1
    assert "dry-run needs a cluster: pass --kube-context" in no_cluster.stdout
    unknown = cli("--stage", "dry-run", "--kube-context", "no-such-context")
    assert unknown.returncode == 1 and "no cluster for context 'no-such-context'" in unknown.stdout, unknown.stdout


@pytest.mark.parametrize(
    ("group", "version", "kind", "name"),
    [("", "v1", "Service", "service-v1.json"), ("apps", "v1", "Deployment", "deployment-apps-v1.json"),
     ("argoproj.io", "v1alpha1", "AnalysisTemplate", "analysistemplate-argoproj-v1alpha1.json"),
     ("autoscaling.k8s.io", "v1", "VerticalPodAutoscaler", "verticalpodautoscaler-autoscaling-v1.json")],
)
def test_schema_files_are_named_as_kubeconform_looks_them_up(group: str, version: str, kind: str, name: str) -> None:
    assert kubeconform_schemas.file_name(group, version, kind) == name


def test_kube_score_sees_a_rollout_as_its_deployment_and_analysis_jobs_as_jobs() -> None:
    template = {"spec": {"containers": [{"name": "c", "image": "i:1"}]}}
    objects = [
        {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "r"},
         "spec": {"replicas": 2, "selector": {}, "template": template, "strategy": {"canary": {}}}},
        {"apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisTemplate", "metadata": {"name": "a", "namespace": "n"},
         "spec": {"metrics": [{"name": "load", "provider": {"job": {"spec": {"template": template}}}},
                              {"name": "rate", "provider": {"prometheus": {}}}]}},
        {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h"},
         "spec": {"scaleTargetRef": {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": "r"}}},
    ]
    scored = gitops.for_kube_score(objects)
    assert [(obj["kind"], obj["metadata"]["name"]) for obj in scored] == [
        ("Deployment", "r"), ("Job", "a-load"), ("HorizontalPodAutoscaler", "h")]
    assert "strategy" not in scored[0]["spec"] and scored[0]["spec"]["template"] == template
    assert scored[2]["spec"]["scaleTargetRef"]["kind"] == "Deployment"
    assert objects[2]["spec"]["scaleTargetRef"]["kind"] == "Rollout", "the input is not changed"


def test_host_access_and_added_capabilities_are_findings() -> None:
    container = {"name": "c", "securityContext": {"runAsNonRoot": True, "readOnlyRootFilesystem": True,
                                                  "allowPrivilegeEscalation": False,
                                                  "capabilities": {"drop": ["ALL"], "add": ["NET_ADMIN"]}},
                 "resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}}
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "n"},
           "spec": {"hostNetwork": True, "volumes": [{"name": "root", "hostPath": {"path": "/"}}], "containers": [container]}}
    assert [str(finding) for finding in rules.findings([pod])] == [
        "Pod/p in n: [host-namespaces] hostNetwork is true: the pod shares the node's namespace",
        "Pod/p in n: [host-path] volume root mounts the node's /",
        "Pod/p in n container c: [no-privilege] capabilities.add gives NET_ADMIN",
    ]

"""The GitHub Actions workflows in .github/workflows: hardening rules and the promote step's input check.

Users copy these workflows, so the rules are checked here rather than left to review:

* every job that runs steps has an integer ``timeout-minutes`` (a job that calls a reusable workflow
  cannot have one: the called workflow's own jobs carry it);
* every ``uses:`` is a local path (``./...``) or ``owner/repo[/path]@<40-hex commit>`` with a trailing
  ``# vX.Y.Z`` comment, and the pair is one of the confirmed release commits in ``PINNED_ACTIONS``;
* ``GITHUB_TOKEN`` permissions are empty at workflow level and minimal per job;
* release.yml is the chain image -> dev -> staging -> production, each promotion one call of promote.yml,
  whose job runs in the GitHub environment it promotes to (production: protected, with required reviewers);
* the promote step validates every input in bash before anything reaches ``ansible-playbook``, and passes
  every value in one JSON extra-vars document, so no input can be split into further variables
  (``-e image_tag=1.0 image_promotion_tag_policy=`` used to set two);
* the step supplies what only GitHub knows: the kubeconfig secret (a 0600 file that exists while the step
  runs), without which the gate fails loudly and argocd_refresh is dropped with a warning, and production's
  approver, read from the run's approvals, without whom production is refused.

The promote step's ``run:`` text is executed with real bash, the way the runner does for
``shell: bash``, in a scratch directory whose ``.venv/bin/ansible-playbook`` only records its argv (and the
kubeconfig file it was handed) and whose ``gh`` on PATH answers with a canned list of approvals.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO / ".github" / "workflows"
ANSIBLE_PLAYBOOK = Path(sys.executable).with_name("ansible-playbook")

# The runner's command line for `shell: bash` (GitHub documents `bash --noprofile --norc -eo pipefail {0}`).
RUNNER_BASH = ["bash", "--noprofile", "--norc", "-eo", "pipefail"]
# GitHub's Ubuntu runners set LANG=C.UTF-8 (and no LC_ALL); the step's checks must not depend on it.
RUNNER_LOCALE = {"LANG": "C.UTF-8"}

# Release commits confirmed from independent public sources (see the report that introduced them).
PINNED_ACTIONS = {
    "actions/checkout": ("11bd71901bbe5b1630ceea73d27597364c9af683", "v4.2.2"),
    "actions/setup-python": ("a26af69be951a213d495a4c3e4e4022e16d87065", "v5.6.0"),
    "actions/setup-go": ("d35c59abb061a4a6fb18e82ac0862c26744d6ab5", "v5.5.0"),
    "actions/cache": ("5a3ec84eff668545956fd18022155c47e93e2684", "v4.2.3"),
    "docker/login-action": ("74a5d142397b4f367a81961eba4e8cd7edddf772", "v3.4.0"),
    "docker/build-push-action": ("263435318d21b8e681c14492fe198d362a7d2c83", "v6.18.0"),
}

# (workflow, job) -> timeout-minutes; None for a job that calls a reusable workflow.
JOB_TIMEOUTS = {
    ("ci.yml", "test"): 90,
    ("ci.yml", "gitops-validation"): 30,
    ("ci.yml", "app"): 40,
    ("release.yml", "image"): 30,
    ("release.yml", "promote-dev"): None,
    ("release.yml", "promote-staging"): None,
    ("release.yml", "promote-production"): None,
    ("promote.yml", "promote"): 15,
}

# (workflow, job) -> the job's GITHUB_TOKEN permissions. Only the image build writes (GHCR push).
PROMOTE_PERMISSIONS = {"contents": "read", "packages": "read", "actions": "read"}
JOB_PERMISSIONS = {
    ("ci.yml", "test"): {"contents": "read"},
    ("ci.yml", "gitops-validation"): {"contents": "read"},
    ("ci.yml", "app"): {"contents": "read"},
    ("release.yml", "image"): {"contents": "read", "packages": "write"},
    # A called workflow can only narrow what its caller grants: the promote job reads GHCR and the run's
    # approvals (production's reviewer), so every call grants exactly that.
    ("release.yml", "promote-dev"): PROMOTE_PERMISSIONS,
    ("release.yml", "promote-staging"): PROMOTE_PERMISSIONS,
    ("release.yml", "promote-production"): PROMOTE_PERMISSIONS,
    ("promote.yml", "promote"): PROMOTE_PERMISSIONS,
}

LOCAL_USES = re.compile(r"\./[^\s@]+")
PINNED_USES = re.compile(r"(?P<action>[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)(?:/[^\s@]+)?@(?P<sha>[0-9a-f]{40})")
USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?P<rest>.*)$")
VERSION_COMMENT = re.compile(r"^\s+#\s+(?P<version>v\d+(?:\.\d+){0,2})\s*$")


def load_workflow(name: str) -> dict[str, Any]:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    """The `on:` mapping; YAML 1.1 reads a bare `on` key as the boolean True."""
    return workflow.get("on", workflow.get(True))


def all_jobs() -> list[tuple[str, str]]:
    return [
        (path.name, job)
        for path in sorted(WORKFLOWS.glob("*.yml"))
        for job in load_workflow(path.name)["jobs"]
    ]


def all_uses() -> list[tuple[str, str, str]]:
    """(workflow, where, uses) for every job-level and step-level `uses:`."""
    found = []
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for job_name, job in load_workflow(path.name)["jobs"].items():
            if "uses" in job:
                found.append((path.name, f"jobs.{job_name}", job["uses"]))
            for index, step in enumerate(job.get("steps", [])):
                if "uses" in step:
                    found.append((path.name, f"jobs.{job_name}.steps[{index}]", step["uses"]))
    return found


# --- structure -----------------------------------------------------------------------------------


def test_the_tables_cover_every_job() -> None:
    assert sorted(all_jobs()) == sorted(JOB_TIMEOUTS)
    assert sorted(all_jobs()) == sorted(JOB_PERMISSIONS)


def test_every_workflow_has_triggers() -> None:
    for path in sorted(WORKFLOWS.glob("*.yml")):
        assert triggers(load_workflow(path.name)), path.name


@pytest.mark.parametrize(("workflow", "job"), sorted(JOB_TIMEOUTS), ids=lambda value: str(value))
def test_job_timeout(workflow: str, job: str) -> None:
    definition = load_workflow(workflow)["jobs"][job]
    expected = JOB_TIMEOUTS[(workflow, job)]
    if expected is None:
        # A reusable-workflow call accepts no timeout-minutes; every job it runs must have one.
        assert "timeout-minutes" not in definition
        called = definition["uses"]
        assert LOCAL_USES.fullmatch(called), called
        for called_job, called_definition in load_workflow(Path(called).name)["jobs"].items():
            timeout = called_definition.get("timeout-minutes")
            assert type(timeout) is int and timeout > 0, f"{called}: {called_job}"
        return
    timeout = definition.get("timeout-minutes")
    assert type(timeout) is int, f"{workflow}: job {job} has no integer timeout-minutes ({timeout!r})"
    assert timeout == expected


@pytest.mark.parametrize(("workflow", "where", "uses"), all_uses(), ids=lambda value: str(value))
def test_uses_is_local_or_pinned_to_a_commit(workflow: str, where: str, uses: str) -> None:
    assert LOCAL_USES.fullmatch(uses) or PINNED_USES.fullmatch(uses), (
        f"{workflow} {where}: `uses: {uses}` is neither ./local nor owner/repo@<40-hex commit>"
    )


@pytest.mark.parametrize("workflow", sorted(path.name for path in WORKFLOWS.glob("*.yml")))
def test_pins_are_confirmed_releases_with_a_version_comment(workflow: str) -> None:
    """Each pinned line reads `owner/repo@<sha> # <version>` with the pair from PINNED_ACTIONS."""
    for number, line in enumerate((WORKFLOWS / workflow).read_text().splitlines(), start=1):
        match = USES_LINE.match(line)
        if not match or LOCAL_USES.fullmatch(match["ref"]):
            continue
        pinned = PINNED_USES.fullmatch(match["ref"])
        assert pinned, f"{workflow}:{number}: {line.strip()} is not pinned to a commit"
        comment = VERSION_COMMENT.match(match["rest"])
        assert comment, f"{workflow}:{number}: {line.strip()} has no trailing `# vX.Y.Z` comment"
        assert pinned["action"] in PINNED_ACTIONS, f"{workflow}:{number}: {pinned['action']} has no confirmed pin"
        assert (pinned["sha"], comment["version"]) == PINNED_ACTIONS[pinned["action"]], f"{workflow}:{number}"


@pytest.mark.parametrize("workflow", sorted(path.name for path in WORKFLOWS.glob("*.yml")))
def test_workflow_level_permissions_are_empty(workflow: str) -> None:
    assert load_workflow(workflow).get("permissions") == {}


@pytest.mark.parametrize(("workflow", "job"), sorted(JOB_PERMISSIONS), ids=lambda value: str(value))
def test_job_permissions_are_minimal(workflow: str, job: str) -> None:
    assert load_workflow(workflow)["jobs"][job].get("permissions") == JOB_PERMISSIONS[(workflow, job)]


def test_checkouts_do_not_persist_the_token() -> None:
    """No job pushes to this repository, so the token is not left in .git/config for later steps."""
    checkouts = [
        (workflow, where) for workflow, where, uses in all_uses() if uses.startswith("actions/checkout@")
    ]
    assert checkouts
    for workflow, where in checkouts:
        job, index = re.fullmatch(r"jobs\.(.+)\.steps\[(\d+)\]", where).groups()
        step = load_workflow(workflow)["jobs"][job]["steps"][int(index)]
        assert step.get("with", {}).get("persist-credentials") is False, f"{workflow} {where}"


def test_promotions_stay_serialised_per_environment() -> None:
    concurrency = load_workflow("promote.yml")["concurrency"]
    assert concurrency == {"group": "promote-${{ inputs.environment }}", "cancel-in-progress": False}


def test_no_expression_is_expanded_in_run_text() -> None:
    """Inputs reach shell steps through env:, never as ${{ }} text the shell would parse."""
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for job_name, job in load_workflow(path.name)["jobs"].items():
            for step in job.get("steps", []):
                assert "${{" not in step.get("run", ""), f"{path.name} {job_name}: {step.get('name')}"


def test_yamllint_strict() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "yamllint", "--strict", ".github/workflows"],
        cwd=REPO, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- the chain and the promote job's interface -----------------------------------------------------

PROMOTE_CALL = "./.github/workflows/promote.yml"
ENVIRONMENTS = ["dev", "staging", "production"]  # platform_environments, in promotion order

# release.yml: job -> (needs, with). Each environment is promoted once the one before it has been.
RELEASE_CHAIN = {
    "promote-dev": ("image", {"image_tag": "${{ needs.image.outputs.tag }}", "environment": "dev"}),
    "promote-staging": ("promote-dev", {"promote_from": "dev", "soak": 300, "environment": "staging"}),
    "promote-production": ("promote-staging", {"promote_from": "staging", "environment": "production"}),
}


@pytest.mark.parametrize("job", sorted(RELEASE_CHAIN))
def test_release_promotes_through_the_environments_in_order(job: str) -> None:
    """Each link is a plain call of promote.yml: the chain has no logic of its own."""
    definition = load_workflow("release.yml")["jobs"][job]
    needs, with_ = RELEASE_CHAIN[job]
    assert definition["needs"] == needs
    assert definition["uses"] == PROMOTE_CALL
    assert definition["with"] == with_
    assert definition["secrets"] == "inherit"
    assert set(definition) == {"needs", "permissions", "uses", "with", "secrets"}, "no if:, no steps of its own"


def test_release_has_one_promotion_per_environment() -> None:
    jobs = load_workflow("release.yml")["jobs"]
    promoted = [job["with"]["environment"] for job in jobs.values() if job.get("uses") == PROMOTE_CALL]
    assert promoted == ENVIRONMENTS


def test_promote_job_runs_in_the_target_environment_on_a_configurable_runner() -> None:
    """`environment:` is what makes production wait for its reviewers; the runner is often self-hosted."""
    job = load_workflow("promote.yml")["jobs"]["promote"]
    assert job["environment"] == "${{ inputs.environment }}"
    assert job["runs-on"] == "${{ vars.PROMOTE_RUNNER || 'ubuntu-24.04' }}"


def test_promote_inputs() -> None:
    on = triggers(load_workflow("promote.yml"))
    called, dispatched = on["workflow_call"]["inputs"], on["workflow_dispatch"]["inputs"]
    assert set(called) == set(dispatched) == {"image_tag", "environment", "promote_from", "soak", "argocd_refresh"}
    assert called["environment"]["required"] is True
    assert dispatched["environment"]["required"] is True
    assert dispatched["environment"]["type"] == "choice"
    assert dispatched["environment"]["options"] == ENVIRONMENTS
    for inputs in (called, dispatched):
        assert inputs["image_tag"].get("required", False) is False
        assert inputs["image_tag"]["default"] == ""
        assert inputs["promote_from"].get("required", False) is False
        assert inputs["promote_from"]["default"] == ""
        assert (inputs["soak"]["type"], inputs["soak"]["default"]) == ("number", 0)
        assert (inputs["argocd_refresh"]["type"], inputs["argocd_refresh"]["default"]) == ("boolean", True)


# --- the promote step, run with real bash ----------------------------------------------------------

PROMOTE_STEP = "Promote through the gitops repository"
GITOPS_REPO_URL = "https://github.com/example-owner/gitops.git"
OWNER = "example-owner"
REPOSITORY = f"{OWNER}/app"
RUN_ID = "4242"
KUBECONFIG = "apiVersion: v1\nkind: Config\ncurrent-context: platform\n# secret: do-not-leak\n"
# As `base64` writes it, wrapped at 76 columns: the step must accept that as well as `base64 -w0`'s one line.
KUBECONFIG_B64 = "\n".join(textwrap.wrap(base64.b64encode(KUBECONFIG.encode()).decode(), 76))
KUBE_CONTEXT = "arn:aws:eks:eu-west-1:123456789012:cluster/platform"
# The placeholder expected_extra_vars uses for the kubeconfig's path, which mktemp picks.
KUBECONFIG_PATH = "<RUNNER_TEMP>/kubeconfig.XXXXXX"


def promote_step() -> dict[str, Any]:
    steps = load_workflow("promote.yml")["jobs"]["promote"]["steps"]
    (step,) = [step for step in steps if step.get("name") == PROMOTE_STEP]
    return step


def step_environment(context: dict[str, str]) -> dict[str, str]:
    """The step's env: with each ${{ }} expression replaced by what the runner would put there."""
    return {
        name: re.sub(r"\$\{\{\s*([^}]+?)\s*\}\}", lambda match: context[match[1]], str(value))
        for name, value in promote_step()["env"].items()
    }


def approval(login: str, environment: str = "production", state: str = "approved") -> dict[str, Any]:
    """One entry of GET /repos/{owner}/{repo}/actions/runs/{run_id}/approvals."""
    return {
        "environments": [{"id": 161088068, "name": environment, "url": f"https://github.com/{REPOSITORY}"}],
        "state": state,
        "comment": "looks good",
        "user": {"login": login, "id": 1, "type": "User"},
    }


class StepRun:
    """What one run of the step did: the bash result, and what ansible-playbook and gh were handed."""

    def __init__(self, result: subprocess.CompletedProcess[str], record: dict[str, Any] | None,
                 gh_calls: list[list[str]], runner_temp: Path) -> None:
        self.result = result
        self.argv: list[str] | None = record["argv"] if record else None
        self.kubeconfig: dict[str, Any] | None = record["kubeconfig"] if record else None
        self.gh_calls = gh_calls
        self.runner_temp = runner_temp

    @property
    def errors(self) -> list[str]:
        return error_lines(self.result.stdout)

    def payload(self) -> dict[str, Any]:
        """The one extra-vars document, with the kubeconfig's path (checked) replaced by KUBECONFIG_PATH."""
        assert self.argv is not None, f"ansible-playbook was not invoked:\n{self.result.stdout}{self.result.stderr}"
        assert self.argv[0] == "playbooks/promote.yml"
        payloads = extra_vars_payloads(self.argv)
        assert len(payloads) == 1, self.argv
        payload = json.loads(payloads[0])
        if "platform_kubeconfig" in payload:
            path = payload["platform_kubeconfig"]
            assert re.fullmatch(re.escape(str(self.runner_temp)) + r"/kubeconfig\.[A-Za-z0-9]{6}", path), path
            payload["platform_kubeconfig"] = KUBECONFIG_PATH
        return payload


def run_promote_step(
    tmp_path: Path,
    image_tag: str = "",
    environment: str = "staging",
    *,
    promote_from: str = "",
    soak: str = "0",
    argocd_refresh: str = "true",
    kubeconfig_b64: str = KUBECONFIG_B64,
    kube_context: str = KUBE_CONTEXT,
    approvals: Any = (),
    gh_exit: int = 0,
    playbook_exit: int = 0,
    umask: int = 0o022,
) -> StepRun:
    """Run the step's script as the runner would, with stand-ins for ansible-playbook and gh."""
    record_file = tmp_path / "ansible-playbook.json"
    fake = tmp_path / ".venv" / "bin" / "ansible-playbook"
    fake.parent.mkdir(parents=True, exist_ok=True)
    fake.write_text(
        f"#!{sys.executable}\n"
        "import json, os, stat, sys\n"
        "argv = sys.argv[1:]\n"
        "locale = {name: os.environ.get(name) for name in ('LANG', 'LC_ALL', 'LC_CTYPE')}\n"
        "try:\n"
        "    payload = json.loads(argv[argv.index('--extra-vars') + 1])\n"
        "except (ValueError, IndexError):\n"
        "    payload = {}\n"
        "path = payload.get('platform_kubeconfig') if isinstance(payload, dict) else None\n"
        "kubeconfig = None\n"
        "if path and os.path.exists(path):\n"
        "    kubeconfig = {'mode': stat.S_IMODE(os.stat(path).st_mode), 'content': open(path).read()}\n"
        "record = {'argv': argv, 'locale': locale, 'kubeconfig': kubeconfig}\n"
        f"json.dump(record, open({str(record_file)!r}, 'w'))\n"
        f"sys.exit({playbook_exit})\n"
    )
    fake.chmod(0o755)
    # gh: records its argv and prints the approvals (the real one would ask the API).
    gh_record = tmp_path / "gh.jsonl"
    gh_answer = tmp_path / "gh.answer"
    gh_answer.write_text(approvals if isinstance(approvals, str) else json.dumps(list(approvals)))
    gh = tmp_path / "bin" / "gh"
    gh.parent.mkdir(exist_ok=True)
    gh.write_text(
        f"#!{sys.executable}\n"
        "import json, sys\n"
        f"open({str(gh_record)!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n"
        f"sys.stdout.write(open({str(gh_answer)!r}).read())\n"
        f"sys.exit({gh_exit})\n"
    )
    gh.chmod(0o755)
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir(exist_ok=True)
    script = tmp_path / "step.sh"
    script.write_text(promote_step()["run"])
    context = {
        "inputs.image_tag": image_tag,
        "inputs.environment": environment,
        "inputs.promote_from": promote_from,
        "inputs.soak": soak,
        "inputs.argocd_refresh": argocd_refresh,
        "vars.GITOPS_REPO_URL": GITOPS_REPO_URL,
        "vars.KUBE_CONTEXT": kube_context,
        "github.repository_owner": OWNER,
        "github.actor": "example-actor",
        "secrets.GITOPS_REPO_TOKEN": "gitops-token",
        "secrets.GITHUB_TOKEN": "github-token",
        "secrets.KUBECONFIG_B64": kubeconfig_b64,
    }
    env = {
        "PATH": f"{gh.parent}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "GITHUB_REPOSITORY": REPOSITORY,
        "GITHUB_RUN_ID": RUN_ID,
        "RUNNER_TEMP": str(runner_temp),
        **RUNNER_LOCALE,
        **step_environment(context),
    }
    result = subprocess.run(
        [*RUNNER_BASH, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=30,
        check=False, umask=umask,
    )
    gh_calls = [json.loads(line) for line in gh_record.read_text().splitlines()] if gh_record.exists() else []
    if not record_file.exists():
        return StepRun(result, None, gh_calls, runner_temp)
    record = json.loads(record_file.read_text())
    # Ansible refuses to start without a UTF-8 locale: the step must hand the runner's on unchanged.
    assert record["locale"] == {"LANG": RUNNER_LOCALE["LANG"], "LC_ALL": None, "LC_CTYPE": None}
    return StepRun(result, record, gh_calls, runner_temp)


def expected_extra_vars(
    environment: str,
    image_tag: str | None = None,
    *,
    promote_from: str | None = None,
    soak: int = 0,
    argocd_refresh: bool = True,
    kubeconfig: bool = True,
    approved_by: str | None = None,
) -> dict[str, Any]:
    expected: dict[str, Any] = {
        "gitops_repo": GITOPS_REPO_URL,
        "gitops_branch": "main",
        "environment": environment,
        "image_promotion_verify_image": True,
        "image_promotion_image": f"ghcr.io/{OWNER}/demo-flask-app",
        "argocd_refresh": argocd_refresh,
    }
    if promote_from is None:
        expected["image_tag"] = image_tag
    else:
        expected |= {"promote_from": promote_from, "image_promotion_soak": soak}
    if kubeconfig:
        expected |= {"platform_kubeconfig": KUBECONFIG_PATH, "platform_kube_context": KUBE_CONTEXT}
    if approved_by is not None:
        expected["image_promotion_approved_by"] = approved_by
    return expected


def extra_vars_payloads(argv: list[str]) -> list[str]:
    payloads = []
    for index, arg in enumerate(argv):
        if arg in ("-e", "--extra-vars"):
            payloads.append(argv[index + 1])
        elif arg.startswith("--extra-vars=") or (arg.startswith("-e") and arg != "-e"):
            payloads.append(arg.split("=", 1)[1] if arg.startswith("--") else arg[2:])
    return payloads


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("::error")]


def warning_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("::warning")]


needs_jq = pytest.mark.skipif(
    shutil.which("jq") is None, reason="jq is not installed (GitHub's Ubuntu runners have it)"
)

GOOD_TAGS = [
    "1.4.2",
    "064193f-32",
    "v1.0.0-rc.1",
    "v2.0.0-rc.1.2",
    "0",
    "_build",
    "latest",  # a valid OCI tag; the promotion policy (in the role) decides whether it is allowed
    "A" + "b" * 127,  # 128 characters, the grammar's maximum
]

BAD_TAGS = [
    pytest.param("1.0 image_promotion_tag_policy=", id="space-injects-a-second-extra-var"),
    pytest.param("1.0\nimage_promotion_tag_policy=", id="newline-injection"),
    pytest.param("{{ lookup('pipe','id') }}", id="jinja-template"),
    pytest.param("{{6*7}}", id="jinja-without-spaces"),
    pytest.param("-e", id="option-like"),
    pytest.param("-1", id="leading-dash"),
    pytest.param(".hidden", id="leading-dot"),
    pytest.param("", id="empty-without-promote-from"),
    pytest.param("a" * 129, id="129-characters"),
    pytest.param("a;b", id="semicolon"),
    pytest.param("$(id)", id="command-substitution"),
    pytest.param("a/b", id="slash"),
    pytest.param("a:b", id="colon"),
    pytest.param("1.0 ", id="trailing-space"),
    pytest.param("a\tb", id="tab"),
    pytest.param("1.0.0+build", id="plus"),
    pytest.param("t\u00e4g", id="non-ascii-letter"),
    pytest.param("{\"image_tag\": 1}", id="json-document"),
]

# The step checks the form; playbooks/promote.yml checks that the name is one of platform_environments.
GOOD_ENVIRONMENTS = ["dev", "staging", "production", "prod-eu-1", "a", "q" + "a" * 30]

# Bad as `environment` and as `promote_from`.
BAD_NAMES = [
    pytest.param("Staging", id="uppercase"),
    pytest.param("../../etc", id="path-traversal"),
    pytest.param("qa env", id="space"),
    pytest.param("qa image_promotion_tag_policy=", id="space-injects-a-second-extra-var"),
    pytest.param("qa\n", id="trailing-newline"),
    pytest.param("1qa", id="leading-digit"),
    pytest.param("-qa", id="leading-dash"),
    pytest.param("qa_1", id="underscore"),
    pytest.param("q" + "a" * 31, id="32-characters"),
    pytest.param("{{ 6 * 7 }}", id="jinja-template"),
    pytest.param("qa;id", id="semicolon"),
    pytest.param("\u00e9t\u00e9", id="non-ascii"),
]
BAD_ENVIRONMENTS = [*BAD_NAMES, pytest.param("", id="empty")]

GOOD_SOAKS = ["0", "1", "300", "9999999"]
BAD_SOAKS = [
    pytest.param("", id="empty"),
    pytest.param("-1", id="negative"),
    pytest.param("1.5", id="fraction"),
    pytest.param("1e3", id="exponent"),
    pytest.param("0300", id="leading-zero"),
    pytest.param("300 ", id="trailing-space"),
    pytest.param("10000000", id="over-115-days"),
    pytest.param("300, \"x\": 1", id="json-injection"),
]


def test_promote_step_runs_in_bash() -> None:
    assert promote_step().get("shell") == "bash"


# --- inputs ----------------------------------------------------------------------------------------


@needs_jq
@pytest.mark.parametrize("image_tag", GOOD_TAGS)
def test_promote_step_accepts_a_valid_tag(tmp_path: Path, image_tag: str) -> None:
    run = run_promote_step(tmp_path, image_tag, "staging")
    assert run.result.returncode == 0, run.result.stdout + run.result.stderr
    assert run.errors == []
    assert run.payload() == expected_extra_vars("staging", image_tag)


@needs_jq
@pytest.mark.parametrize("environment", GOOD_ENVIRONMENTS)
def test_promote_step_accepts_a_valid_environment(tmp_path: Path, environment: str) -> None:
    approvals = [approval("release-manager")] if environment == "production" else []
    run = run_promote_step(tmp_path, "064193f-32", environment, approvals=approvals)
    assert run.result.returncode == 0, run.result.stdout + run.result.stderr
    approved_by = "release-manager" if environment == "production" else None
    assert run.payload() == expected_extra_vars(environment, "064193f-32", approved_by=approved_by)


@pytest.mark.parametrize("image_tag", BAD_TAGS)
def test_promote_step_rejects_a_bad_tag_before_ansible(tmp_path: Path, image_tag: str) -> None:
    run = run_promote_step(tmp_path, image_tag, "staging")
    assert run.result.returncode == 1, run.result.stdout + run.result.stderr
    assert run.argv is None, f"ansible-playbook ran with {run.argv}"
    assert len(run.errors) == 1, run.result.stdout
    assert "image_tag" in run.errors[0]


@pytest.mark.parametrize("environment", BAD_ENVIRONMENTS)
def test_promote_step_rejects_a_bad_environment_before_ansible(tmp_path: Path, environment: str) -> None:
    run = run_promote_step(tmp_path, "1.4.2", environment)
    assert run.result.returncode == 1, run.result.stdout + run.result.stderr
    assert run.argv is None, f"ansible-playbook ran with {run.argv}"
    assert len(run.errors) == 1, run.result.stdout
    assert "environment" in run.errors[0]


@pytest.mark.parametrize("promote_from", BAD_NAMES)
def test_promote_step_rejects_a_bad_promote_from_before_ansible(tmp_path: Path, promote_from: str) -> None:
    run = run_promote_step(tmp_path, "", "staging", promote_from=promote_from)
    assert run.result.returncode == 1, run.result.stdout + run.result.stderr
    assert run.argv is None, f"ansible-playbook ran with {run.argv}"
    assert len(run.errors) == 1, run.result.stdout
    assert "promote_from" in run.errors[0]


def test_promote_step_refuses_image_tag_and_promote_from_together(tmp_path: Path) -> None:
    """promote_from takes the tag the source runs: a tag beside it would be a second, conflicting answer."""
    run = run_promote_step(tmp_path, "064193f-32", "staging", promote_from="dev", soak="300")
    assert run.result.returncode == 1, run.result.stdout + run.result.stderr
    assert run.argv is None, f"ansible-playbook ran with {run.argv}"
    assert len(run.errors) == 1, run.result.stdout
    assert "image_tag" in run.errors[0] and "promote_from" in run.errors[0] and "not both" in run.errors[0]


@needs_jq
@pytest.mark.parametrize("soak", GOOD_SOAKS)
def test_promote_step_accepts_a_valid_soak(tmp_path: Path, soak: str) -> None:
    run = run_promote_step(tmp_path, "", "staging", promote_from="dev", soak=soak)
    assert run.result.returncode == 0, run.result.stdout + run.result.stderr
    assert run.payload() == expected_extra_vars("staging", promote_from="dev", soak=int(soak))


@pytest.mark.parametrize("soak", BAD_SOAKS)
def test_promote_step_rejects_a_bad_soak_before_ansible(tmp_path: Path, soak: str) -> None:
    run = run_promote_step(tmp_path, "", "staging", promote_from="dev", soak=soak)
    assert run.result.returncode == 1, run.result.stdout + run.result.stderr
    assert run.argv is None, f"ansible-playbook ran with {run.argv}"
    assert len(run.errors) == 1, run.result.stdout
    assert "soak" in run.errors[0]


def test_promote_step_refuses_a_soak_without_promote_from(tmp_path: Path) -> None:
    """A soak is asked of the source environment: with a given tag there is none to ask it of."""
    run = run_promote_step(tmp_path, "1.4.2", "staging", soak="300")
    assert run.result.returncode == 1
    assert run.argv is None
    assert len(run.errors) == 1 and "soak applies to promote_from" in run.errors[0]


@pytest.mark.parametrize("argocd_refresh", ["", "yes", "True", "1", "true "])
def test_promote_step_rejects_a_bad_argocd_refresh(tmp_path: Path, argocd_refresh: str) -> None:
    run = run_promote_step(tmp_path, "1.4.2", "staging", argocd_refresh=argocd_refresh)
    assert run.result.returncode == 1
    assert run.argv is None
    assert len(run.errors) == 1 and "argocd_refresh" in run.errors[0]


def test_promote_step_reports_every_bad_input(tmp_path: Path) -> None:
    run = run_promote_step(tmp_path, "a b", "Prod", soak="x", argocd_refresh="maybe")
    assert run.result.returncode == 1
    assert run.argv is None
    assert len(run.errors) == 4, run.result.stdout
    assert ["image_tag" in run.errors[0], "environment" in run.errors[1], "soak" in run.errors[2],
            "argocd_refresh" in run.errors[3]] == [True] * 4


def test_promote_step_does_not_echo_bad_input_as_workflow_commands(tmp_path: Path) -> None:
    """A rejected value is not printed: a newline in it could start a `::command::` line of its own."""
    run = run_promote_step(tmp_path, "x\n::warning::forged", "qa\n::notice::forged", soak="1\n::notice::forged")
    assert run.result.returncode == 1
    assert "forged" not in run.result.stdout + run.result.stderr
    run = run_promote_step(tmp_path, "", "qa", promote_from="dev\n::notice::forged")
    assert run.result.returncode == 1
    assert "forged" not in run.result.stdout + run.result.stderr


# --- the payload of each link of the chain ---------------------------------------------------------


@needs_jq
def test_dev_promotion_payload(tmp_path: Path) -> None:
    """release.yml's first link: the built tag into dev, synced now and waited for."""
    run = run_promote_step(tmp_path, "064193f-32", "dev")
    assert run.result.returncode == 0, run.result.stdout + run.result.stderr
    assert run.errors == [] and warning_lines(run.result.stdout) == []
    assert run.payload() == expected_extra_vars("dev", "064193f-32")
    assert run.gh_calls == [], "only production asks for the approver"


@needs_jq
def test_staging_promote_from_payload(tmp_path: Path) -> None:
    """The second link: no tag of its own, the one dev runs if dev's gate (and its soak) holds."""
    run = run_promote_step(tmp_path, "", "staging", promote_from="dev", soak="300")
    assert run.result.returncode == 0, run.result.stdout + run.result.stderr
    payload = run.payload()
    assert "image_tag" not in payload
    assert payload == expected_extra_vars("staging", promote_from="dev", soak=300)
    assert run.gh_calls == []


@needs_jq
def test_production_payload_carries_the_approver(tmp_path: Path) -> None:
    """The last link: the reviewer who approved this run's production deployment is Approved-By."""
    approvals = [
        approval("alice", environment="staging"),  # another environment's approval
        approval("mallory", state="rejected"),  # a rejection is no approval
        approval("release-manager"),
    ]
    run = run_promote_step(tmp_path, "", "production", promote_from="staging", approvals=approvals)
    assert run.result.returncode == 0, run.result.stdout + run.result.stderr
    assert run.gh_calls == [["api", f"repos/{REPOSITORY}/actions/runs/{RUN_ID}/approvals"]]
    assert run.payload() == expected_extra_vars(
        "production", promote_from="staging", approved_by="release-manager"
    )


@needs_jq
def test_production_takes_the_latest_approval(tmp_path: Path) -> None:
    """A re-run is approved again: the latest approval names who let this attempt through."""
    run = run_promote_step(tmp_path, "1.4.2", "production", approvals=[approval("first"), approval("second")])
    assert run.result.returncode == 0, run.result.stdout + run.result.stderr
    assert run.payload()["image_promotion_approved_by"] == "second"


NO_APPROVAL = [
    pytest.param([], id="unprotected-environment"),
    pytest.param([approval("alice", environment="staging")], id="another-environment"),
    pytest.param([approval("mallory", state="rejected")], id="rejected"),
    pytest.param([approval("x\n::warning::forged")], id="not-a-login"),
    pytest.param([approval("{{ lookup('pipe','id') }}")], id="jinja-login"),
]


@pytest.mark.parametrize("approvals", NO_APPROVAL)
def test_production_without_an_approver_is_refused_before_ansible(tmp_path: Path, approvals: list[Any]) -> None:
    run = run_promote_step(tmp_path, "", "production", promote_from="staging", approvals=approvals)
    assert run.result.returncode == 1, run.result.stdout + run.result.stderr
    assert run.argv is None, f"ansible-playbook ran with {run.argv}"
    assert len(run.errors) == 1, run.result.stdout
    assert "production needs an approval: protect the environment with required reviewers" in run.errors[0]
    assert "forged" not in run.result.stdout + run.result.stderr


@pytest.mark.parametrize(("answer", "gh_exit"), [
    pytest.param('{"message": "Resource not accessible by integration"}', 1, id="api-refuses"),
    pytest.param("<html>", 0, id="not-json"),
    pytest.param('{"message": "Not Found"}', 0, id="an-object"),
])
def test_production_fails_when_the_approvals_cannot_be_read(tmp_path: Path, answer: str, gh_exit: int) -> None:
    run = run_promote_step(tmp_path, "1.4.2", "production", approvals=answer, gh_exit=gh_exit)
    assert run.result.returncode == 1
    assert run.argv is None
    assert len(run.errors) == 1, run.result.stdout
    assert "approvals" in run.errors[0] and "actions: read" in run.errors[0]


@needs_jq
def test_promote_step_fails_when_ansible_playbook_fails(tmp_path: Path) -> None:
    run = run_promote_step(tmp_path, "1.4.2", "staging", playbook_exit=2)
    assert run.argv is not None
    assert run.result.returncode == 2
    assert list(run.runner_temp.iterdir()) == [], "the kubeconfig is removed on failure too"


# --- the kubeconfig --------------------------------------------------------------------------------


@needs_jq
@pytest.mark.parametrize("umask", [0o022, 0o000], ids=["umask-022", "umask-000"])
def test_kubeconfig_is_a_0600_file_while_the_step_runs(tmp_path: Path, umask: int) -> None:
    run = run_promote_step(tmp_path, "064193f-32", "dev", umask=umask)
    assert run.result.returncode == 0, run.result.stdout + run.result.stderr
    assert run.kubeconfig == {"mode": 0o600, "content": KUBECONFIG}
    assert list(run.runner_temp.iterdir()) == [], "the kubeconfig outlives the step"
    assert "do-not-leak" not in run.result.stdout + run.result.stderr


@needs_jq
def test_without_a_kubeconfig_dev_is_pushed_only_with_a_warning(tmp_path: Path) -> None:
    """No cluster access: the push still lands (Argo CD polls), but nobody waits for it or reverts it."""
    run = run_promote_step(tmp_path, "064193f-32", "dev", kubeconfig_b64="", kube_context="")
    assert run.result.returncode == 0, run.result.stdout + run.result.stderr
    assert run.errors == []
    (warning,) = warning_lines(run.result.stdout)
    assert "KUBECONFIG_B64" in warning and "pushed only" in warning
    assert run.payload() == expected_extra_vars("dev", "064193f-32", argocd_refresh=False, kubeconfig=False)
    assert list(run.runner_temp.iterdir()) == [], "no kubeconfig file without the secret"


@needs_jq
def test_without_a_kubeconfig_and_without_refresh_nothing_is_said(tmp_path: Path) -> None:
    run = run_promote_step(tmp_path, "064193f-32", "dev", argocd_refresh="false", kubeconfig_b64="")
    assert run.result.returncode == 0, run.result.stdout + run.result.stderr
    assert warning_lines(run.result.stdout) == []
    assert run.payload() == expected_extra_vars("dev", "064193f-32", argocd_refresh=False, kubeconfig=False)


@pytest.mark.parametrize("argocd_refresh", ["true", "false"])
def test_without_a_kubeconfig_the_gate_fails_loudly(tmp_path: Path, argocd_refresh: str) -> None:
    """promote_from cannot be checked without the cluster: an error, never a silent skip."""
    run = run_promote_step(tmp_path, "", "staging", promote_from="dev", soak="300",
                           argocd_refresh=argocd_refresh, kubeconfig_b64="")
    assert run.result.returncode == 1
    assert run.argv is None
    assert len(run.errors) == 1, run.result.stdout
    assert "KUBECONFIG_B64" in run.errors[0] and "Nothing was promoted" in run.errors[0]


@pytest.mark.parametrize("kube_context", ["", "ctx {{ 6 * 7 }}", "ctx\n::notice::forged"])
def test_a_kubeconfig_needs_a_valid_context(tmp_path: Path, kube_context: str) -> None:
    run = run_promote_step(tmp_path, "1.4.2", "dev", kube_context=kube_context)
    assert run.result.returncode == 1
    assert run.argv is None
    assert len(run.errors) == 1 and "KUBE_CONTEXT" in run.errors[0]
    assert list(run.runner_temp.iterdir()) == []
    assert "forged" not in run.result.stdout + run.result.stderr


def test_a_kubeconfig_that_is_not_base64_is_refused(tmp_path: Path) -> None:
    run = run_promote_step(tmp_path, "1.4.2", "dev", kubeconfig_b64=KUBECONFIG)
    assert run.result.returncode == 1
    assert run.argv is None
    assert len(run.errors) == 1 and "KUBECONFIG_B64 is not base64" in run.errors[0]
    assert list(run.runner_temp.iterdir()) == [], "the half-written file is removed"
    assert "do-not-leak" not in run.result.stdout + run.result.stderr


# --- the payload as Ansible reads it ---------------------------------------------------------------


@needs_jq
def test_ansible_reads_the_payload_as_exactly_these_variables(tmp_path: Path) -> None:
    """Real ansible-playbook parses a production payload into its variables, values intact."""
    run = run_promote_step(tmp_path, "", "production", promote_from="staging", soak="60",
                           approvals=[approval("release-manager")])
    assert run.result.returncode == 0, run.result.stdout + run.result.stderr
    (payload,) = extra_vars_payloads(run.argv)
    expected = expected_extra_vars("production", promote_from="staging", soak=60, approved_by="release-manager")
    out = tmp_path / "vars.json"
    probe = tmp_path / "probe.yml"
    # hostvars: `environment` is also a play keyword, so it is read the way playbooks/promote.yml does.
    names = ", ".join(f"{name!r}: hostvars[inventory_hostname][{name!r}]" for name in expected)
    probe.write_text(
        "- hosts: localhost\n"
        "  gather_facts: false\n"
        "  tasks:\n"
        "    - ansible.builtin.copy:\n"
        f"        dest: {out}\n"
        "        mode: '0600'\n"
        "        content: >-\n"
        f"          {{{{ {{{names},\n"
        "              'tag_policy_defined': image_promotion_tag_policy is defined,\n"
        "              'image_tag_defined': image_tag is defined} | to_json }}\n"
    )
    config = tmp_path / "ansible.cfg"  # not the project's: nothing but the payload sets variables
    config.write_text("[defaults]\n")
    inventory = tmp_path / "inventory.ini"
    inventory.write_text(f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}\n")
    done = subprocess.run(
        [str(ANSIBLE_PLAYBOOK), "-i", str(inventory), str(probe), "-e", payload],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "ANSIBLE_CONFIG": str(config)},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    parsed = json.loads(out.read_text())
    assert parsed.pop("tag_policy_defined") is False
    assert parsed.pop("image_tag_defined") is False
    assert parsed == json.loads(payload)
    assert run.payload() == expected

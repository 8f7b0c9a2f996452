"""The GitHub Actions workflows in .github/workflows: hardening rules and the promote step's input check.

Users copy these workflows, so the rules are checked here rather than left to review:

* every job that runs steps has an integer ``timeout-minutes`` (a job that calls a reusable workflow
  cannot have one: the called workflow's own jobs carry it);
* every ``uses:`` is a local path (``./...``) or ``owner/repo[/path]@<40-hex commit>`` with a trailing
  ``# vX.Y.Z`` comment, and the pair is one of the confirmed release commits in ``PINNED_ACTIONS``;
* ``GITHUB_TOKEN`` permissions are empty at workflow level and minimal per job;
* the promote step validates ``image_tag`` and ``environment`` in bash before anything reaches
  ``ansible-playbook``, and passes every value in one JSON extra-vars document, so no input can be
  split into further variables (``-e image_tag=1.0 image_promotion_tag_policy=`` used to set two).

The promote step's ``run:`` text is executed with real bash, the way the runner does for
``shell: bash``, in a scratch directory whose ``.venv/bin/ansible-playbook`` only records its argv.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
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
    ("release.yml", "image"): 30,
    ("release.yml", "promote-staging"): None,
    ("promote.yml", "promote"): 15,
}

# (workflow, job) -> the job's GITHUB_TOKEN permissions. Only the image build writes (GHCR push).
JOB_PERMISSIONS = {
    ("ci.yml", "test"): {"contents": "read"},
    ("release.yml", "image"): {"contents": "read", "packages": "write"},
    # A called workflow can only narrow what its caller grants: the promote job reads GHCR.
    ("release.yml", "promote-staging"): {"contents": "read", "packages": "read"},
    ("promote.yml", "promote"): {"contents": "read", "packages": "read"},
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


# --- the promote step, run with real bash ----------------------------------------------------------

PROMOTE_STEP = "Promote through the gitops repository"
GITOPS_REPO_URL = "https://github.com/example-owner/gitops.git"
OWNER = "example-owner"


def promote_step() -> dict[str, Any]:
    steps = load_workflow("promote.yml")["jobs"]["promote"]["steps"]
    (step,) = [step for step in steps if step.get("name") == PROMOTE_STEP]
    return step


def step_environment(image_tag: str, environment: str) -> dict[str, str]:
    """The step's env: with each ${{ }} expression replaced by what the runner would put there."""
    context = {
        "inputs.image_tag": image_tag,
        "inputs.environment": environment,
        "vars.GITOPS_REPO_URL": GITOPS_REPO_URL,
        "github.repository_owner": OWNER,
        "github.actor": "example-actor",
        "secrets.GITOPS_REPO_TOKEN": "gitops-token",
        "secrets.GITHUB_TOKEN": "github-token",
    }
    return {
        name: re.sub(r"\$\{\{\s*([^}]+?)\s*\}\}", lambda match: context[match[1]], str(value))
        for name, value in promote_step()["env"].items()
    }


def run_promote_step(
    tmp_path: Path, image_tag: str, environment: str, playbook_exit: int = 0
) -> tuple[subprocess.CompletedProcess[str], list[str] | None]:
    """Run the step's script as the runner would; return the result and the recorded argv (or None)."""
    argv_file = tmp_path / "ansible-playbook.argv.json"
    fake = tmp_path / ".venv" / "bin" / "ansible-playbook"
    fake.parent.mkdir(parents=True, exist_ok=True)
    fake.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        "locale = {name: os.environ.get(name) for name in ('LANG', 'LC_ALL', 'LC_CTYPE')}\n"
        f"json.dump({{'argv': sys.argv[1:], 'locale': locale}}, open({str(argv_file)!r}, 'w'))\n"
        f"sys.exit({playbook_exit})\n"
    )
    fake.chmod(0o755)
    script = tmp_path / "step.sh"
    script.write_text(promote_step()["run"])
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        **RUNNER_LOCALE,
        **step_environment(image_tag, environment),
    }
    result = subprocess.run(
        [*RUNNER_BASH, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=30, check=False
    )
    if not argv_file.exists():
        return result, None
    recorded = json.loads(argv_file.read_text())
    # Ansible refuses to start without a UTF-8 locale: the step must hand the runner's on unchanged.
    assert recorded["locale"] == {"LANG": RUNNER_LOCALE["LANG"], "LC_ALL": None, "LC_CTYPE": None}
    return result, recorded["argv"]


def expected_extra_vars(image_tag: str, environment: str) -> dict[str, Any]:
    return {
        "image_tag": image_tag,
        "gitops_repo": GITOPS_REPO_URL,
        "gitops_branch": "main",
        "environment": environment,
        "image_promotion_verify_image": True,
        "image_promotion_image": f"ghcr.io/{OWNER}/demo-flask-app",
    }


def extra_vars_payloads(argv: list[str]) -> list[str]:
    payloads = []
    for index, arg in enumerate(argv):
        if arg in ("-e", "--extra-vars"):
            payloads.append(argv[index + 1])
        elif arg.startswith("--extra-vars=") or (arg.startswith("-e") and arg != "-e"):
            payloads.append(arg.split("=", 1)[1] if arg.startswith("--") else arg[2:])
    return payloads


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
    pytest.param("", id="empty"),
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

GOOD_ENVIRONMENTS = ["", "staging", "prod", "prod-eu-1", "a", "q" + "a" * 30]

BAD_ENVIRONMENTS = [
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


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("::error")]


def test_promote_step_runs_in_bash() -> None:
    assert promote_step().get("shell") == "bash"


@needs_jq
@pytest.mark.parametrize("image_tag", GOOD_TAGS)
def test_promote_step_accepts_a_valid_tag(tmp_path: Path, image_tag: str) -> None:
    result, argv = run_promote_step(tmp_path, image_tag, "staging")
    assert result.returncode == 0, result.stdout + result.stderr
    assert error_lines(result.stdout) == []
    assert argv is not None, "ansible-playbook was not invoked"
    assert argv[0] == "playbooks/promote.yml"
    payloads = extra_vars_payloads(argv)
    assert len(payloads) == 1, argv
    assert json.loads(payloads[0]) == expected_extra_vars(image_tag, "staging")


@needs_jq
@pytest.mark.parametrize("environment", GOOD_ENVIRONMENTS)
def test_promote_step_accepts_a_valid_environment(tmp_path: Path, environment: str) -> None:
    result, argv = run_promote_step(tmp_path, "064193f-32", environment)
    assert result.returncode == 0, result.stdout + result.stderr
    assert argv is not None, "ansible-playbook was not invoked"
    payloads = extra_vars_payloads(argv)
    assert len(payloads) == 1, argv
    assert json.loads(payloads[0]) == expected_extra_vars("064193f-32", environment)


@pytest.mark.parametrize("image_tag", BAD_TAGS)
def test_promote_step_rejects_a_bad_tag_before_ansible(tmp_path: Path, image_tag: str) -> None:
    result, argv = run_promote_step(tmp_path, image_tag, "staging")
    assert result.returncode == 1, result.stdout + result.stderr
    assert argv is None, f"ansible-playbook ran with {argv}"
    errors = error_lines(result.stdout)
    assert len(errors) == 1, result.stdout
    assert "image_tag" in errors[0]


@pytest.mark.parametrize("environment", BAD_ENVIRONMENTS)
def test_promote_step_rejects_a_bad_environment_before_ansible(tmp_path: Path, environment: str) -> None:
    result, argv = run_promote_step(tmp_path, "1.4.2", environment)
    assert result.returncode == 1, result.stdout + result.stderr
    assert argv is None, f"ansible-playbook ran with {argv}"
    errors = error_lines(result.stdout)
    assert len(errors) == 1, result.stdout
    assert "environment" in errors[0]


def test_promote_step_reports_both_bad_inputs(tmp_path: Path) -> None:
    result, argv = run_promote_step(tmp_path, "a b", "Prod")
    assert result.returncode == 1
    assert argv is None
    errors = error_lines(result.stdout)
    assert len(errors) == 2, result.stdout
    assert "image_tag" in errors[0] and "environment" in errors[1]


def test_promote_step_does_not_echo_bad_input_as_workflow_commands(tmp_path: Path) -> None:
    """A rejected value is not printed: a newline in it could start a `::command::` line of its own."""
    result, _ = run_promote_step(tmp_path, "x\n::warning::forged", "qa\n::notice::forged")
    assert result.returncode == 1
    assert "forged" not in result.stdout + result.stderr


@needs_jq
def test_promote_step_fails_when_ansible_playbook_fails(tmp_path: Path) -> None:
    result, argv = run_promote_step(tmp_path, "1.4.2", "staging", playbook_exit=2)
    assert argv is not None
    assert result.returncode == 2


@needs_jq
def test_ansible_reads_the_payload_as_exactly_these_variables(tmp_path: Path) -> None:
    """Real ansible-playbook parses the recorded payload into the six variables, values intact."""
    result, argv = run_promote_step(tmp_path, "v1.0.0-rc.1", "")
    assert result.returncode == 0, result.stdout + result.stderr
    (payload,) = extra_vars_payloads(argv)
    out = tmp_path / "vars.json"
    probe = tmp_path / "probe.yml"
    probe.write_text(
        "- hosts: localhost\n"
        "  gather_facts: false\n"
        "  tasks:\n"
        "    - ansible.builtin.copy:\n"
        f"        dest: {out}\n"
        "        mode: '0600'\n"
        "        content: >-\n"
        "          {{ {'image_tag': image_tag, 'gitops_repo': gitops_repo, 'gitops_branch': gitops_branch,\n"
        "              'environment': hostvars[inventory_hostname]['environment'],\n"
        "              'image_promotion_verify_image': image_promotion_verify_image,\n"
        "              'image_promotion_image': image_promotion_image,\n"
        "              'tag_policy_defined': image_promotion_tag_policy is defined} | to_json }}\n"
    )
    config = tmp_path / "ansible.cfg"  # not the project's: nothing but the payload sets variables
    config.write_text("[defaults]\n")
    inventory = tmp_path / "inventory.ini"
    inventory.write_text(f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}\n")
    run = subprocess.run(
        [str(ANSIBLE_PLAYBOOK), "-i", str(inventory), str(probe), "-e", payload],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "ANSIBLE_CONFIG": str(config)},
    )
    assert run.returncode == 0, run.stdout + run.stderr
    parsed = json.loads(out.read_text())
    assert parsed.pop("tag_policy_defined") is False
    assert parsed == expected_extra_vars("v1.0.0-rc.1", "")

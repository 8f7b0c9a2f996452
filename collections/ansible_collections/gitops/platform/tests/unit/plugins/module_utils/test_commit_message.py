from __future__ import annotations

import subprocess

import pytest

from ansible_collections.gitops.platform.plugins.modules.image_tag_promote import commit_message

BASE = {
    "tag": "064193f-32", "values_file": "helm/demo-flask-app/values-staging.yaml", "environment": "staging",
    "source_commit": "064193f2c1d", "ci_run_url": "https://ci.example.com/runs/32", "reason": "",
    "action": "promote",
}


@pytest.mark.parametrize(
    ("changes", "previous", "expected_lines"),
    [
        ({}, "0.1.0", ["Promote demo-flask-app to 064193f-32 in staging", "Action: promote",
                       "Promoted-From: 0.1.0", "Promoted-To: 064193f-32", "Environment: staging",
                       "Source-Commit: 064193f2c1d", "CI-Run: https://ci.example.com/runs/32"]),
        ({"environment": "", "source_commit": "", "ci_run_url": ""}, None,
         ["Promote demo-flask-app to 064193f-32", "Promoted-From: (none)"]),
        ({"action": "rollback", "reason": "Rollback from 2.0.0."}, "2.0.0",
         ["Roll back demo-flask-app to 064193f-32 in staging", "Rollback from 2.0.0.", "Action: rollback"]),
    ],
)
def test_commit_message_is_an_audit_record(changes, previous, expected_lines):
    message = commit_message({**BASE, **changes}, previous)
    lines = message.splitlines()
    for expected in expected_lines:
        assert expected in lines
    assert lines[0] == expected_lines[0]
    assert lines[1] == ""


@pytest.mark.parametrize(
    ("changes", "tag", "subject"),
    [
        ({"action": "auto-revert"}, None, "Revert demo-flask-app to 064193f-32 in staging (automatic)"),
        ({"action": "unpin"}, None, "Unpin demo-flask-app in staging"),
        ({"action": "unpin", "tag": ""}, "0.1.0", "Unpin demo-flask-app in staging"),
        ({"action": "rollback", "environment": ""}, None, "Roll back demo-flask-app to 064193f-32"),
        ({"action": "auto-revert", "environment": ""}, None, "Revert demo-flask-app to 064193f-32 (automatic)"),
    ],
)
def test_subjects_of_the_actions(changes, tag, subject):
    message = commit_message({**BASE, **changes}, "0.1.0", tag)
    assert message.splitlines()[0] == subject
    assert f"Action: {changes['action']}" in message.splitlines()


def test_an_unpin_without_a_tag_records_the_tag_it_leaves():
    lines = commit_message({**BASE, "action": "unpin", "tag": ""}, "0.1.0", "0.1.0").splitlines()
    assert "Promoted-From: 0.1.0" in lines
    assert "Promoted-To: 0.1.0" in lines


GATED = {
    "source_environment": "staging", "approved_by": "alice <alice@example.com>",
    "gate": "staging Synced+Healthy at 1a2b3c4d5e6f, 2 pods run 064193f-32 sha256:0123456789ab, soaked 312s",
    "reverts": "5d1f0c3b9e0e4c7f8a1e2b3c4d5e6f708192a3b4",
    "analysis": "app-staging-775f5b984f-2-1 Failed: error-rate Failed last 0.3012 (1 failed)",
}


def test_gate_trailers_follow_the_existing_ones(tmp_path):
    message = commit_message({**BASE, **GATED, "environment": "production"}, "0.1.0")
    parsed = trailers(message, tmp_path)
    assert [line.split(":", 1)[0] for line in parsed] == [
        "Action", "Promoted-From", "Promoted-To", "Values-File", "Environment", "Source-Commit", "CI-Run",
        "Source-Environment", "Approved-By", "Gate", "Reverts", "Analysis",
    ]
    assert f"Analysis: {GATED['analysis']}" in parsed
    assert "Approved-By: alice <alice@example.com>" in parsed
    assert f"Gate: {GATED['gate']}" in parsed
    assert "Source-Environment: staging" in parsed


@pytest.mark.parametrize(
    ("action", "reason_trailer"),
    [("auto-revert", True), ("promote", False), ("rollback", False), ("unpin", False)],
)
def test_the_reason_is_a_trailer_of_an_automatic_revert_only(action, reason_trailer, tmp_path):
    message = commit_message({**BASE, "action": action, "reason": "staging Degraded\nfor 600s"}, "2.0.0")
    lines = message.splitlines()
    assert lines[2] == "staging Degraded for 600s"  # the body line, in every case
    assert ("Reason: staging Degraded for 600s" in trailers(message, tmp_path)) is reason_trailer


def test_absent_trailers_are_left_out():
    message = commit_message({**BASE, "environment": "", "source_commit": "", "ci_run_url": ""}, "1")
    assert "Environment:" not in message
    assert "Source-Commit:" not in message
    assert "CI-Run:" not in message
    for name in ("Source-Environment:", "Approved-By:", "Gate:", "Reverts:", "Analysis:", "Reason:"):
        assert name not in message


INJECTIONS = [
    ({"environment": "staging\nApproved-By: mallory"}, "1.0.0"),
    ({"source_commit": "064193f\nApproved-By: mallory"}, "1.0.0"),
    ({"ci_run_url": "https://ci.example.com/runs/32\r\nApproved-By: mallory"}, "1.0.0"),
    ({"reason": "hotfix\n\nApproved-By: mallory"}, "1.0.0"),
    ({"reason": "hotfix\nApproved-By: mallory"}, "1.0.0"),
    ({"tag": "1.0.0\nApproved-By: mallory"}, "0.9.0"),
    ({"values_file": "helm/app/values.yaml\nApproved-By: mallory"}, "1.0.0"),
    ({}, "0.9.0\nApproved-By: mallory"),
    ({"environment": "staging\u2028Approved-By: mallory"}, "1.0.0"),
    ({"environment": "staging\x0bApproved-By: mallory\x1b[2K"}, "1.0.0"),
    ({"source_environment": "dev\nApproved-By: mallory"}, "1.0.0"),
    ({"gate": "dev Synced+Healthy\r\nApproved-By: mallory"}, "1.0.0"),
    ({"reverts": "5d1f0c3\n\nApproved-By: mallory"}, "1.0.0"),
    ({"analysis": "run Failed\nApproved-By: mallory"}, "1.0.0"),
    ({"action": "auto-revert", "reason": "Degraded\nApproved-By: mallory"}, "1.0.0"),
]


def trailers(message: str, tmp_path) -> list[str]:
    """The trailers git itself reads from `message`, as committed to a real repository."""
    repo = tmp_path / "repo"

    def git(*args: str, stdin: str | None = None) -> str:
        return subprocess.run(["git", *args], cwd=repo, input=stdin, capture_output=True, text=True,
                              check=True).stdout

    repo.mkdir()
    git("init", "--quiet")
    git("-c", "user.name=t", "-c", "user.email=t@localhost", "commit", "--quiet", "--allow-empty",
        "--cleanup=verbatim", "-F", "-", stdin=message)
    body = git("log", "-1", "--format=%B")
    return git("interpret-trailers", "--parse", stdin=body).splitlines()


@pytest.mark.parametrize(("changes", "previous"), INJECTIONS)
def test_values_cannot_inject_a_trailer(changes, previous, tmp_path):
    message = commit_message({**BASE, **changes}, previous)
    lines = message.splitlines()
    assert not any(line.startswith("Approved-By:") for line in lines), message
    assert not any(ord(char) < 32 and char != "\n" for char in message)
    assert "\u2028" not in message
    parsed = trailers(message, tmp_path)
    assert [line.split(":", 1)[0] for line in parsed if line.startswith("Approved-By")] == []
    assert any(line.startswith("Promoted-To: ") for line in parsed)
    assert lines[1] == ""


def test_approved_by_cannot_add_a_trailer(tmp_path):
    message = commit_message({**BASE, "approved_by": "alice\nApproved-By: mallory\u2029Gate: forged"}, "1.0.0")
    parsed = trailers(message, tmp_path)
    assert [line for line in parsed if line.startswith(("Approved-By", "Gate"))] == [
        "Approved-By: alice Approved-By: mallory Gate: forged"]

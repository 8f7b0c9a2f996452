from __future__ import annotations

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


def test_absent_trailers_are_left_out():
    message = commit_message({**BASE, "environment": "", "source_commit": "", "ci_run_url": ""}, "1")
    assert "Environment:" not in message
    assert "Source-Commit:" not in message
    assert "CI-Run:" not in message

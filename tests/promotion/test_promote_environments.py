"""image_tag_promote's environment options against real bare git remotes: pins (rollback, unpin, respect_pin),
automatic reverts (expect_current) and the gate trailers, including races with commits that land meanwhile.

Each test writes its own values file into the remote, so the chart's files as they are being edited play no part.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from .conftest import CHART, Remote, git
from .test_promote_module import change_remote, install_hook, run_module

PROD = f"helm/{CHART}/values-prodtest.yaml"
PINNED_TEXT = """\
---
# -- Container image of the application.
image:
  # -- Image tag running in production.
  tag: "{tag}"

# -- Promotion state, written by the promotion playbooks.
promotion:
  # -- Set by rollback.yml, cleared by unpin.yml.
  pin: "{pin}"
"""
PINNED_MESSAGE = (
    "Refusing to promote: environment production is pinned ({pin}) by a rollback; promote with "
    "-e image_promotion_unpin=true or run playbooks/unpin.yml -e environment=production. Nothing was changed."
)


def values(tag: str = "1.0.0", pin: str = "") -> str:
    return PINNED_TEXT.format(tag=tag, pin=pin)


def seed(remote: Remote, tmp_path: Path, text: str, message: str = "Seed production") -> str:
    return change_remote(remote, tmp_path, lambda work: (work / PROD).write_text(text), message)


def promote(tmp_path: Path, remote: Remote, tag: str = "2.0.0", **args):
    return run_module("image_tag_promote", {"repo": str(remote.path), "values_file": PROD, "tag": tag,
                                            "environment": "production", "retry_delay": 0.01, **args}, tmp_path)


def trailers(remote: Remote, rev: str = "main") -> list[str]:
    """The commit's trailers as git itself parses them."""
    return subprocess.run(["git", "interpret-trailers", "--parse"], input=remote.message(rev), capture_output=True,
                          text=True, check=True).stdout.splitlines()


def changed_lines(remote: Remote, rev: str = "main") -> list[str]:
    """The lines the commit removed and added in the values file."""
    diff = git("show", "--format=", "--unified=0", rev, "--", PROD, cwd=remote.path)
    return [line for line in diff.splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def test_a_rollback_sets_the_tag_and_the_pin_in_one_commit(remote, tmp_path):
    seed(remote, tmp_path, values("2.0.0"))
    before = remote.head()
    result = promote(tmp_path, remote, "1.0.0", action="rollback", reason="5xx above 5 %",
                     pin="rolled back by alice: 5xx above 5 %")
    assert result.rc == 0, result.output
    assert result.data["changed"] is True
    assert (result.data["previous_tag"], result.data["tag"]) == ("2.0.0", "1.0.0")
    assert (result.data["previous_pin"], result.data["pin"]) == (None, "rolled back by alice: 5xx above 5 %")
    assert git("rev-parse", "main~1", cwd=remote.path).strip() == before
    assert remote.show(PROD) == values("1.0.0", "rolled back by alice: 5xx above 5 %")
    assert changed_lines(remote) == ['-  tag: "2.0.0"', '+  tag: "1.0.0"', '-  pin: ""',
                                     '+  pin: "rolled back by alice: 5xx above 5 %"']
    assert remote.message().splitlines()[0] == f"Roll back {CHART} to 1.0.0 in production"
    assert "Action: rollback" in trailers(remote)


@pytest.mark.parametrize("check_mode", [False, True], ids=["run", "check"])
def test_a_pinned_environment_refuses_a_promotion_that_respects_the_pin(check_mode, remote, tmp_path):
    seed(remote, tmp_path, values("1.0.0", "rolled back by alice: 5xx"))
    head = remote.head()
    result = promote(tmp_path, remote, respect_pin=True, _ansible_check_mode=check_mode)
    assert result.rc != 0
    assert result.msg == PINNED_MESSAGE.format(pin="rolled back by alice: 5xx"), result.output
    assert remote.head() == head


def test_a_promotion_that_does_not_respect_the_pin_goes_through_and_keeps_it(remote, tmp_path):
    seed(remote, tmp_path, values("1.0.0", "held"))
    result = promote(tmp_path, remote)
    assert result.rc == 0, result.output
    assert remote.show(PROD) == values("2.0.0", "held")


def test_a_promotion_that_unpins_lands_tag_and_unpin_together(remote, tmp_path):
    seed(remote, tmp_path, values("1.0.0", "held"))
    result = promote(tmp_path, remote, respect_pin=True, pin="", approved_by="bob")
    assert result.rc == 0, result.output
    assert remote.show(PROD) == values("2.0.0", "")
    assert (result.data["previous_pin"], result.data["pin"]) == ("held", None)
    assert "Approved-By: bob" in trailers(remote)


def test_an_unpin_of_an_unchanged_tag_still_commits_and_only_once(remote, tmp_path):
    seed(remote, tmp_path, values("1.0.0", "rolled back by alice"))
    result = promote(tmp_path, remote, "", action="unpin")
    assert result.rc == 0, result.output
    assert result.data["changed"] is True
    assert result.data["commit"] == remote.head()
    assert (result.data["previous_tag"], result.data["tag"]) == ("1.0.0", "1.0.0")
    assert changed_lines(remote) == ['-  pin: "rolled back by alice"', '+  pin: ""']
    assert remote.message().splitlines()[0] == f"Unpin {CHART} in production"
    parsed = trailers(remote)
    assert "Action: unpin" in parsed and "Promoted-To: 1.0.0" in parsed

    head = remote.head()
    again = promote(tmp_path, remote, "", action="unpin")
    assert again.rc == 0, again.output
    assert again.data["changed"] is False
    assert again.data["commit"] == ""
    assert remote.head() == head


def test_an_unpin_cannot_set_a_pin(remote, tmp_path):
    head = seed(remote, tmp_path, values("1.0.0", "held"))
    result = promote(tmp_path, remote, "", action="unpin", pin="something")
    assert result.rc != 0
    assert "action unpin clears the pin" in result.msg
    assert remote.head() == head


def test_a_pin_needs_its_key_in_the_values_file(remote, tmp_path):
    head = seed(remote, tmp_path, 'image:\n  tag: "1.0.0"\n')
    result = promote(tmp_path, remote, "1.0.0", action="rollback", pin="rolled back")
    assert result.rc != 0
    assert f"add `promotion: {{pin: \"\"}}` to {PROD}" in result.msg, result.output
    assert remote.head() == head


def test_an_automatic_revert_records_what_it_reverts_and_why(remote, tmp_path):
    seed(remote, tmp_path, values("1.0.0"))
    bad = promote(tmp_path, remote, "2.0.0")
    assert bad.rc == 0, bad.output
    result = promote(tmp_path, remote, "1.0.0", action="auto-revert", expect_current="2.0.0",
                     reverts=bad.data["commit"], reason="production Degraded 600 s after the promotion")
    assert result.rc == 0, result.output
    assert remote.show(PROD) == values("1.0.0")
    lines = remote.message().splitlines()
    assert lines[0] == f"Revert {CHART} to 1.0.0 in production (automatic)"
    assert lines[2] == "production Degraded 600 s after the promotion"
    parsed = trailers(remote)
    assert f"Reverts: {bad.data['commit']}" in parsed
    assert "Reason: production Degraded 600 s after the promotion" in parsed
    assert "Action: auto-revert" in parsed


def test_a_rollback_after_an_automatic_revert_skips_the_release_that_was_reverted(remote, tmp_path):
    """1.0.0 -> 1.5.0 -> 2.0.0 (broken, reverted to 1.5.0): the tag before the current one is 1.0.0, not 2.0.0."""
    seed(remote, tmp_path, values("1.0.0"))
    assert promote(tmp_path, remote, "1.5.0").rc == 0
    bad = promote(tmp_path, remote, "2.0.0")
    assert promote(tmp_path, remote, "1.5.0", action="auto-revert", expect_current="2.0.0",
                   reverts=bad.data["commit"], reason="Degraded").rc == 0
    history = run_module("image_tag_history", {"repo": str(remote.path), "values_file": PROD}, tmp_path)
    assert history.rc == 0, history.output
    assert (history.data["current"], history.data["previous"]) == ("1.5.0", "1.0.0")
    assert [entry["tag"] for entry in history.data["history"]] == ["1.5.0", "1.0.0"]


def test_an_automatic_revert_never_reverts_a_newer_promotion(remote, tmp_path):
    seed(remote, tmp_path, values("3.0.0"))
    head = remote.head()
    result = promote(tmp_path, remote, "1.0.0", action="auto-revert", expect_current="2.0.0")
    assert result.rc != 0
    assert result.msg == (f"Refusing to revert: {PROD} now carries 3.0.0, not 2.0.0: someone promoted after it; "
                          "nothing was changed."), result.output
    assert remote.head() == head


def test_an_automatic_revert_that_already_happened_is_no_change(remote, tmp_path):
    head = seed(remote, tmp_path, values("1.0.0"))
    result = promote(tmp_path, remote, "1.0.0", action="auto-revert", expect_current="2.0.0")
    assert result.rc == 0, result.output
    assert result.data["changed"] is False
    assert remote.head() == head


def race(remote: Remote, tmp_path: Path, text: str, message: str) -> str:
    """A commit that the server puts on main, once, while it receives our first push: our push then loses."""
    theirs = change_remote(remote, tmp_path, lambda work: (work / PROD).write_text(text), message,
                           "refs/other/concurrent")
    install_hook(remote.path, "update",
                 'if [ ! -e "$GIT_DIR/raced" ]; then\n  touch "$GIT_DIR/raced"\n'
                 "  git update-ref refs/heads/main refs/other/concurrent\nfi\nexit 0\n")
    return theirs


def test_a_rollback_that_lands_while_a_promotion_retries_stops_it(remote, tmp_path):
    seed(remote, tmp_path, values("1.0.0"))
    theirs = race(remote, tmp_path, values("0.9.0", "rolled back by carol: 5xx"), "Roll back")
    result = promote(tmp_path, remote, "2.0.0", respect_pin=True)
    assert (remote.path / "raced").exists()
    assert result.rc != 0
    assert result.msg == PINNED_MESSAGE.format(pin="rolled back by carol: 5xx"), result.output
    assert remote.head() == theirs
    assert remote.show(PROD) == values("0.9.0", "rolled back by carol: 5xx")


def test_a_promotion_that_lands_while_a_revert_retries_stops_it(remote, tmp_path):
    seed(remote, tmp_path, values("2.0.0"))
    theirs = race(remote, tmp_path, values("3.0.0"), "Promote 3.0.0")
    result = promote(tmp_path, remote, "1.0.0", action="auto-revert", expect_current="2.0.0")
    assert (remote.path / "raced").exists()
    assert result.rc != 0
    assert "now carries 3.0.0, not 2.0.0: someone promoted after it" in result.msg, result.output
    assert remote.head() == theirs


def test_gate_trailers_on_the_real_commit(remote, tmp_path):
    seed(remote, tmp_path, values("1.0.0"))
    gate = "staging Synced+Healthy at 1a2b3c4d5e6f, 2 pods run 2.0.0 sha256:0123456789ab, soaked 312s (min 300s)"
    result = promote(tmp_path, remote, "2.0.0", source_environment="staging", gate=gate,
                     approved_by="alice\nApproved-By: mallory", respect_pin=True)
    assert result.rc == 0, result.output
    parsed = trailers(remote)
    assert [line.split(":", 1)[0] for line in parsed] == [
        "Action", "Promoted-From", "Promoted-To", "Values-File", "Environment", "Source-Environment", "Approved-By",
        "Gate"]
    assert "Approved-By: alice Approved-By: mallory" in parsed
    assert f"Gate: {gate}" in parsed
    assert git("log", "-1", "--format=%(trailers:key=Source-Environment,valueonly)", "main",
               cwd=remote.path).strip() == "staging"

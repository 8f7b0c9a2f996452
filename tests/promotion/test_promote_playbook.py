"""playbooks/promote.yml and rollback.yml against real git remotes, invoked as CI invokes them."""

from __future__ import annotations

import difflib
import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from .conftest import CHART, playbook

# Without -e environment a promotion goes to the first environment, dev.
VALUES = f"helm/{CHART}/values-dev.yaml"
STAGING = f"helm/{CHART}/values-staging.yaml"


def flat(output: str) -> str:
    """Ansible folds long messages over lines; compare with whitespace collapsed."""
    return " ".join(output.split())


def tag_of(text: str) -> str:
    line = next(line for line in text.splitlines() if line.strip().startswith("tag:"))
    return json.loads(line.split(":", 1)[1].split("#")[0].strip())


def test_promotion_changes_only_the_tag_line_and_records_an_audit_trail(remote):
    before = remote.show(VALUES)
    ci = {"GITHUB_SHA": "064193f2c1d8", "GITHUB_SERVER_URL": "https://ci.example.com",
          "GITHUB_REPOSITORY": "acme/app", "GITHUB_RUN_ID": "32"}
    run = playbook("promote.yml", {"image_tag": "064193f-32", "gitops_repo": str(remote.path)}, env=ci)
    assert run.rc == 0, run.output
    after = remote.show(VALUES)
    changed = [line for line in difflib.ndiff(before.splitlines(), after.splitlines()) if line[:1] in "+-"]
    assert changed == ['-   tag: "0.1.0"', '+   tag: "064193f-32"']
    message = remote.message()
    assert message.startswith("Promote demo-flask-app to 064193f-32 in dev\n")
    for trailer in ("Action: promote", "Promoted-From: 0.1.0", "Promoted-To: 064193f-32",
                    f"Values-File: {VALUES}", "Source-Commit: 064193f2c1d8",
                    "CI-Run: https://ci.example.com/acme/app/actions/runs/32"):
        assert trailer in message.splitlines()


def test_environment_selects_its_values_file(remote):
    run = playbook("promote.yml", {"image_tag": "1.4.2", "gitops_repo": str(remote.path), "environment": "staging"})
    assert run.rc == 0, run.output
    assert tag_of(remote.show(STAGING)) == "1.4.2"
    assert tag_of(remote.show(VALUES)) == "0.1.0"
    assert "Environment: staging" in remote.message()


def test_same_tag_again_is_unchanged_and_adds_no_commit(remote):
    assert playbook("promote.yml", {"image_tag": "1.0.0", "gitops_repo": str(remote.path)}).rc == 0
    head = remote.head()
    run = playbook("promote.yml", {"image_tag": "1.0.0", "gitops_repo": str(remote.path)})
    assert run.rc == 0, run.output
    assert "changed=0" in run.output
    assert remote.head() == head


def test_check_diff_shows_the_yaml_change_and_commits_nothing(remote):
    head = remote.head()
    run = playbook("promote.yml", {"image_tag": "2.0.0", "gitops_repo": str(remote.path)}, "--check", "--diff")
    assert run.rc == 0, run.output
    assert '-  tag: "0.1.0"' in run.output
    assert '+  tag: "2.0.0"' in run.output
    assert "would change image.tag from 0.1.0 to 2.0.0" in flat(run.output)
    assert remote.head() == head


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"image_tag": ""}, "the image tag is empty"),
        ({"image_tag": "bad tag!"}, "is not a valid OCI image tag"),
        ({"image_tag": "-x"}, "is not a valid OCI image tag"),
        ({"image_tag": "x" * 129}, "is not a valid OCI image tag"),
        ({"image_tag": "latest"}, "does not follow the tag policy"),
        ({"image_tag": "1.2"}, "does not follow the tag policy"),
        ({"image_tag": "1.0.0", "environment": "../../etc"}, "is not a valid name"),
        ({"image_tag": "1.0.0", "chart": "../x"}, "is not a valid chart name"),
        ({"image_tag": "1.0.0", "environment": "qa"}, 'environment "qa" is not one of the environments: dev, staging, production'),
        ({"image_tag": "1.0.0", "environment": "qa", "image_promotion_environments": []}, "values-qa.yaml does not exist"),
        ({"image_tag": "1.0.0", "environment": "production"}, "promotion to production needs an approval"),
        ({"image_tag": "1.0.0", "promote_from": "dev", "environment": "staging"}, "give either image_tag or promote_from"),
        ({"promote_from": "staging", "environment": "staging"}, "promote_from names the environment promoted to"),
        ({"image_tag": "1.0.0", "gitops_branch": "nope"}, "branch 'nope' does not exist"),
        # A deny window open all day, every day: the freeze the AppProject carries, refused with its window.
        ({"image_tag": "1.0.0", "environment": "staging",
          "platform_freeze_windows": [{"kind": "deny", "schedule": "0 0 * * *", "duration": "24h",
                                       "namespaces": ["demo-staging"]}]},
         'staging is frozen by sync window "deny 0 0 * * * for 24h (UTC)" from'),
    ],
)
def test_bad_input_fails_clearly_and_changes_nothing(remote, extra, message):
    head = remote.head()
    run = playbook("promote.yml", {"gitops_repo": str(remote.path), **extra})
    assert run.rc != 0
    assert message in flat(run.output), run.output
    assert remote.head() == head


def test_missing_repository_setting_says_what_to_pass(remote):
    # Offline, platform_gitops_push_repo defaults to the local git server: clear it, so that no
    # repository is configured whatever mode this machine is in.
    run = playbook("promote.yml", {"image_tag": "1.0.0", "platform_gitops_push_repo": ""})
    assert run.rc != 0
    assert "-e gitops_repo=" in run.output


def test_promotion_over_http_with_credentials_out_of_the_url(http_remote, remote):
    env = {"GITOPS_GIT_USERNAME": http_remote.username, "GITOPS_GIT_PASSWORD": http_remote.password}
    run = playbook("promote.yml", {"image_tag": "1.1.0", "gitops_repo": http_remote.url}, "-vvv", env=env)
    assert run.rc == 0, run.output
    assert tag_of(remote.show(VALUES)) == "1.1.0"
    assert http_remote.password not in run.output


def test_wrong_git_password_fails_clearly_without_leaking_it(http_remote, remote):
    head = remote.head()
    env = {"GITOPS_GIT_USERNAME": http_remote.username, "GITOPS_GIT_PASSWORD": "not-the-password-42"}
    run = playbook("promote.yml", {"image_tag": "1.1.0", "gitops_repo": http_remote.url}, "-vvv", env=env)
    assert run.rc != 0
    assert "Authentication failed" in run.output
    assert "not-the-password-42" not in run.output
    assert remote.head() == head


def test_git_server_down_fails_clearly(http_remote, remote):
    http_remote.process.terminate()
    http_remote.process.wait(timeout=10)
    run = playbook("promote.yml", {"image_tag": "1.1.0", "gitops_repo": http_remote.url})
    assert run.rc != 0
    assert "could not clone" in run.output
    assert "Check that the git server is reachable" in flat(run.output)
    assert tag_of(remote.show(VALUES)) == "0.1.0"


def test_concurrent_promotions_over_http_all_land(http_remote, remote):
    env = {"GITOPS_GIT_USERNAME": http_remote.username, "GITOPS_GIT_PASSWORD": http_remote.password}
    tags = [f"abcdef{n}-{n}" for n in range(8)]
    with ThreadPoolExecutor(len(tags)) as pool:
        runs = list(pool.map(
            lambda tag: playbook("promote.yml", {"image_tag": tag, "gitops_repo": http_remote.url}, env=env), tags))
    assert [run.rc for run in runs] == [0] * len(tags), [run.output for run in runs if run.rc]
    landed = remote.log(VALUES, "%(trailers:key=Promoted-To,valueonly)")
    assert sorted(landed[: len(tags)]) == sorted(tags)
    assert tag_of(remote.show(VALUES)) == landed[0]


def test_rollback_sets_the_previous_tag_through_the_promotion_path(remote):
    for tag in ("1.0.0", "1.1.0"):
        assert playbook("promote.yml", {"image_tag": tag, "gitops_repo": str(remote.path)}).rc == 0
    run = playbook("rollback.yml", {"gitops_repo": str(remote.path)})
    assert run.rc == 0, run.output
    assert tag_of(remote.show(VALUES)) == "1.0.0"
    message = remote.message()
    assert message.startswith("Roll back demo-flask-app to 1.0.0")
    assert "Action: rollback" in message
    assert "Promoted-From: 1.1.0" in message


def test_rollback_to_a_given_tag(remote):
    assert playbook("promote.yml", {"image_tag": "1.0.0", "gitops_repo": str(remote.path)}).rc == 0
    run = playbook("rollback.yml", {"gitops_repo": str(remote.path), "image_tag": "0.0.9"})
    assert run.rc == 0, run.output
    assert tag_of(remote.show(VALUES)) == "0.0.9"


def test_rollback_without_history_says_so_and_changes_nothing(remote):
    head = remote.head()
    run = playbook("rollback.yml", {"gitops_repo": str(remote.path), "environment": "staging"})
    assert run.rc != 0
    assert "there is nothing to roll back to" in flat(run.output)
    assert remote.head() == head


def test_a_rollback_pins_the_environment_until_it_is_unpinned(remote):
    """rollback.yml pins in its own commit; promote.yml refuses, committing nothing, until unpin.yml clears it."""
    assert playbook("promote.yml", {"image_tag": "1.0.0", "gitops_repo": str(remote.path)}).rc == 0
    run = playbook("rollback.yml", {"gitops_repo": str(remote.path), "image_promotion_reason": "errors up",
                                    "image_promotion_actor": "alice"})
    assert run.rc == 0, run.output
    pinned = remote.show(VALUES)
    assert tag_of(pinned) == "0.1.0"
    assert 'pin: "rolled back to 0.1.0 by alice on ' in pinned and ': errors up"' in pinned
    head = remote.head()

    refused = playbook("promote.yml", {"image_tag": "1.1.0", "gitops_repo": str(remote.path)})
    assert refused.rc != 0
    assert "environment dev is pinned (rolled back to 0.1.0 by alice" in flat(refused.output)
    assert "playbooks/unpin.yml -e environment=dev" in flat(refused.output)
    assert remote.head() == head

    unpinned = playbook("unpin.yml", {"gitops_repo": str(remote.path), "environment": "dev"})
    assert unpinned.rc == 0, unpinned.output
    assert 'pin: ""' in remote.show(VALUES) and tag_of(remote.show(VALUES)) == "0.1.0"
    assert "Action: unpin" in remote.message()
    assert playbook("promote.yml", {"image_tag": "1.1.0", "gitops_repo": str(remote.path)}).rc == 0
    assert tag_of(remote.show(VALUES)) == "1.1.0"


def test_a_promotion_may_unpin_in_its_own_commit(remote):
    assert playbook("rollback.yml", {"gitops_repo": str(remote.path), "image_tag": "0.0.9"}).rc == 0
    run = playbook("promote.yml", {"image_tag": "1.2.0", "gitops_repo": str(remote.path), "image_promotion_unpin": True})
    assert run.rc == 0, run.output
    assert tag_of(remote.show(VALUES)) == "1.2.0" and 'pin: ""' in remote.show(VALUES)


def test_production_promotion_records_its_approval(remote):
    run = playbook("promote.yml", {"image_tag": "1.3.0", "gitops_repo": str(remote.path), "environment": "production",
                                   "image_promotion_approved_by": "release-manager"})
    assert run.rc == 0, run.output
    assert "Approved-By: release-manager" in remote.message().splitlines()

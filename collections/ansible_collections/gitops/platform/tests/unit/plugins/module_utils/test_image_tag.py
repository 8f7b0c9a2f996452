from __future__ import annotations

import pytest

from ansible_collections.gitops.platform.plugins.module_utils.image_tag import DEFAULT_TAG_POLICY, tag_error

ACCEPTED = [
    ("064193f-32", DEFAULT_TAG_POLICY),
    ("064193f2c1d8e9a0b1c2d3e4f5a6b7c8d9e0f1a2-7", DEFAULT_TAG_POLICY),
    ("1.4.2", DEFAULT_TAG_POLICY),
    ("v2.0.0-rc.1", DEFAULT_TAG_POLICY),
    ("0.0.0", DEFAULT_TAG_POLICY),
    ("latest", ""),
    ("_private", ""),
    ("a" * 128, ""),
    ("release-2024.01", r"release-\d{4}\.\d{2}"),
]

REFUSED = [
    ("", DEFAULT_TAG_POLICY, "empty"),
    (None, DEFAULT_TAG_POLICY, "empty"),
    ("bad tag!", DEFAULT_TAG_POLICY, "not a valid OCI image tag"),
    ("-leading-dash", "", "not a valid OCI image tag"),
    (".leading-dot", "", "not a valid OCI image tag"),
    ("a" * 129, "", "not a valid OCI image tag"),
    ("v1.2.3+build.5", DEFAULT_TAG_POLICY, "not a valid OCI image tag"),
    ("tag/with/slash", "", "not a valid OCI image tag"),
    ("latest", DEFAULT_TAG_POLICY, "does not follow the tag policy"),
    ("1.2", DEFAULT_TAG_POLICY, "does not follow the tag policy"),
    ("01.2.3", DEFAULT_TAG_POLICY, "does not follow the tag policy"),
    ("064193-32", DEFAULT_TAG_POLICY, "does not follow the tag policy"),
    ("064193F-32", DEFAULT_TAG_POLICY, "does not follow the tag policy"),
    ("064193f-", DEFAULT_TAG_POLICY, "does not follow the tag policy"),
    ("release-24", r"release-\d{4}", r"does not match the tag policy pattern release-\d{4}"),
    ("x", "(unclosed", "not a valid regular expression"),
]


@pytest.mark.parametrize(("tag", "policy"), ACCEPTED)
def test_accepted_tags_have_no_error(tag, policy):
    assert tag_error(tag, policy) == ""


@pytest.mark.parametrize(("tag", "policy", "reason"), REFUSED)
def test_refused_tags_say_why(tag, policy, reason):
    assert reason in tag_error(tag, policy)


def test_long_tags_are_shortened_in_messages():
    message = tag_error("x" * 300, "")
    assert "x" * 77 + "..." in message
    assert "x" * 100 not in message

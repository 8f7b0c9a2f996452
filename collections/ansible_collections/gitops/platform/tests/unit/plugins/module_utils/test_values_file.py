from __future__ import annotations

import pytest

from ansible_collections.gitops.platform.plugins.module_utils.values_file import (
    ValuesFileError,
    get_scalar,
    set_scalar,
)

VALUES = """\
# Values for the demo app.
replicaCount: 2

image:
  # Where the image comes from.
  repository: ghcr.io/acme/demo-flask-app   # keep
  # Set by CI through playbooks/promote.yml.
  tag: {tag}  # the deployed version
  pullPolicy: IfNotPresent

service:
  type: NodePort
"""

# (original value as written, new tag, expected value as written)
EDITS = [
    ('"0.1.0"', "064193f-32", '"064193f-32"'),
    ("'0.1.0'", "1.4.2", "'1.4.2'"),
    ("0.1.0", "064193f-32", "064193f-32"),
    ("0.1.0", "1.10", '"1.10"'),  # plain 1.10 would become a float
    ("0.1.0", "12345", '"12345"'),  # and this an integer
    ("0.1.0", "true", '"true"'),
    ('""', "1.0.0", '"1.0.0"'),
    ("'it''s'", "v1", "'v1'"),
    ('"a\\"b"', "v2", '"v2"'),
]


@pytest.mark.parametrize(("written", "tag", "expected"), EDITS)
def test_only_the_value_changes(written, tag, expected):
    before = VALUES.format(tag=written)
    after = set_scalar(before, "image.tag", tag)[0]
    assert after == VALUES.format(tag=expected)
    assert get_scalar(after, "image.tag") == tag


@pytest.mark.parametrize(
    ("text", "tag", "expected"),
    [
        ("image: {repository: x, tag: 'a'}\n", "b", "image: {repository: x, tag: 'b'}\n"),
        ("image:\n  tag:\n  x: 1\n", "b", "image:\n  tag: b\n  x: 1\n"),
        ("image:\n  tag:   # later\n  x: 1\n", "b", "image:\n  tag: b # later\n  x: 1\n"),
        ("image:\n    tag: a\n", "b", "image:\n    tag: b\n"),
        ("image:\r\n  tag: a\r\n", "b", "image:\r\n  tag: b\r\n"),
        ("image:\n  tag: a", "b", "image:\n  tag: b"),
    ],
)
def test_layouts(text, tag, expected):
    assert set_scalar(text, "image.tag", tag)[0] == expected


def test_previous_value_is_returned():
    previous = set_scalar(VALUES.format(tag='"0.1.0"'), "image.tag", "1.0.0")[1]
    assert previous == "0.1.0"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("image:\n  repository: x\n", "key 'image.tag' not found"),
        ("other: 1\n", "key 'image' not found"),
        ("image: [1, 2]\n", "'image' is not a mapping"),
        ("- a\n", "'the document' is not a mapping"),
        ("image:\n  tag: [a, b]\n", "holds a"),
        ("image:\n  tag: |\n    a\n", "block scalar"),
        ("image:\n  tag: \"a\n    b\"\n", "spans lines"),
        ("image: {tag: a\n", "not valid YAML"),
    ],
)
def test_files_that_cannot_be_edited_say_why(text, message):
    with pytest.raises(ValuesFileError, match=message):
        set_scalar(text, "image.tag", "1.0.0")


def test_nothing_else_may_change():
    # A duplicated anchor target: editing the text of one alias would change the other value too.
    text = "base: &t a\nimage:\n  tag: *t\n"
    with pytest.raises(ValuesFileError):
        set_scalar(text, "image.tag", "b")

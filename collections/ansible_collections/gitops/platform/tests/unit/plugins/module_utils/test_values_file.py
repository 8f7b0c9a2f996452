from __future__ import annotations

import pytest

from ansible_collections.gitops.platform.plugins.module_utils.values_file import (
    KeyMissing,
    ValuesFileError,
    get_scalar,
    set_scalar,
    set_scalars,
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


PINNED = """\
image:
  tag: "0.1.0"  # the deployed version

# -- Promotion state.
promotion:
  # -- Set by rollback.yml.
  pin: ""
other: {a: 1}
"""


@pytest.mark.parametrize(
    ("values", "expected_lines", "previous"),
    [
        ({"image.tag": "1.0.0", "promotion.pin": "rolled back by alice: 5xx"},
         ['  tag: "1.0.0"  # the deployed version', '  pin: "rolled back by alice: 5xx"'],
         {"image.tag": "0.1.0", "promotion.pin": ""}),
        ({"promotion.pin": "x"}, ['  tag: "0.1.0"  # the deployed version', '  pin: "x"'], {"promotion.pin": ""}),
        ({"image.tag": "2.0.0"}, ['  tag: "2.0.0"  # the deployed version', '  pin: ""'], {"image.tag": "0.1.0"}),
        ({}, ['  tag: "0.1.0"  # the deployed version', '  pin: ""'], {}),
    ],
)
def test_set_scalars_changes_only_those_values(values, expected_lines, previous):
    after, before = set_scalars(PINNED, values)
    assert before == previous
    changed = [line for old, line in zip(PINNED.splitlines(), after.splitlines()) if old != line]
    assert len(after.splitlines()) == len(PINNED.splitlines())
    assert len(changed) == len(values)
    for line in expected_lines:
        assert line in after.splitlines()
    for key, value in values.items():
        assert get_scalar(after, key) == value


def test_set_scalars_back_and_forth_restores_the_text():
    pinned = set_scalars(PINNED, {"image.tag": "1.0.0", "promotion.pin": "held"})[0]
    assert set_scalars(pinned, {"image.tag": "0.1.0", "promotion.pin": ""})[0] == PINNED


@pytest.mark.parametrize(
    ("values", "error", "message"),
    [
        ({"image.tag": "1.0.0", "promotion.missing": "x"}, KeyMissing, "key 'promotion.missing' not found"),
        ({"image.tag": "1.0.0", "other": "x"}, ValuesFileError, "holds a"),
        ({"nothere.pin": "x"}, KeyMissing, "key 'nothere' not found"),
    ],
)
def test_set_scalars_refuses_as_set_scalar_does(values, error, message):
    with pytest.raises(error, match=message):
        set_scalars(PINNED, values)


def test_a_missing_key_is_told_apart_from_a_file_that_is_not_a_mapping():
    with pytest.raises(KeyMissing):
        get_scalar(PINNED, "promotion.nothere")
    with pytest.raises(ValuesFileError) as raised:
        get_scalar("- a\n", "promotion.pin")
    assert not isinstance(raised.value, KeyMissing)

"""image_tag_promote's decision on one attempt: which keys change, or why nothing may (plan, argument_error)."""

from __future__ import annotations

import pytest

from ansible_collections.gitops.platform.plugins.module_utils.image_tag import DEFAULT_TAG_POLICY
from ansible_collections.gitops.platform.plugins.module_utils.values_file import ValuesFileError
from ansible_collections.gitops.platform.plugins.modules.image_tag_promote import Refused, argument_error, plan

FILE = "helm/demo-flask-app/values-production.yaml"
PARAMS = {
    "key": "image.tag", "pin_key": "promotion.pin", "values_file": FILE, "environment": "production",
    "tag": "2.0.0", "pin": None, "respect_pin": False, "expect_current": "", "action": "promote",
}


def values(tag: str = "1.0.0", pin: "str | None" = "") -> str:
    text = f'image:\n  tag: "{tag}"\n'
    if pin is not None:
        text += f'promotion:\n  pin: "{pin}"\n'
    return text


# (params, file text) -> changes, tag after, pin after
PLANS = [
    ({}, values(), {"image.tag": "2.0.0"}, "2.0.0", None),
    ({"tag": "1.0.0"}, values(), {}, "1.0.0", None),
    ({"pin": "rolled back by bob"}, values(), {"image.tag": "2.0.0", "promotion.pin": "rolled back by bob"},
     "2.0.0", "rolled back by bob"),
    ({"pin": "held"}, values(pin="held"), {"image.tag": "2.0.0"}, "2.0.0", "held"),
    # An unpin of an unchanged tag still changes the pin, so it still commits.
    ({"action": "unpin", "tag": "", "pin": ""}, values(pin="held"), {"promotion.pin": ""}, "1.0.0", None),
    ({"action": "unpin", "tag": "1.0.0", "pin": ""}, values(pin="held"), {"promotion.pin": ""}, "1.0.0", None),
    ({"action": "unpin", "tag": "", "pin": ""}, values(), {}, "1.0.0", None),
    # Clearing a pin the file has no key for: nothing to clear.
    ({"action": "unpin", "tag": "", "pin": ""}, values(pin=None), {}, "1.0.0", None),
    ({"pin": ""}, values(pin=None), {"image.tag": "2.0.0"}, "2.0.0", None),
    # respect_pin: not pinned, or pinned and this very commit unpins.
    ({"respect_pin": True}, values(), {"image.tag": "2.0.0"}, "2.0.0", None),
    ({"respect_pin": True}, values(pin=None), {"image.tag": "2.0.0"}, "2.0.0", None),
    ({"respect_pin": True, "pin": ""}, values(pin="held"), {"image.tag": "2.0.0", "promotion.pin": ""}, "2.0.0", None),
    # expect_current holds, or there is nothing to do anyway.
    ({"action": "auto-revert", "tag": "0.9.0", "expect_current": "1.0.0"}, values(), {"image.tag": "0.9.0"},
     "0.9.0", None),
    ({"action": "auto-revert", "tag": "0.9.0", "expect_current": "1.0.0"}, values("0.9.0"), {}, "0.9.0", None),
    # Another pin key.
    ({"pin_key": "release.hold", "pin": "x"}, 'image:\n  tag: "1.0.0"\nrelease:\n  hold: ""\n',
     {"image.tag": "2.0.0", "release.hold": "x"}, "2.0.0", "x"),
]


@pytest.mark.parametrize(("changes", "text", "expected", "tag", "pin"), PLANS)
def test_plan(changes, text, expected, tag, pin):
    result = plan({**PARAMS, **changes}, text)
    assert result["changes"] == expected
    assert result["tag"] == tag
    assert result["pin"] == pin
    assert result["previous_tag"] == ("0.9.0" if 'tag: "0.9.0"' in text else "1.0.0")


def test_previous_pin_is_returned():
    result = plan({**PARAMS, "action": "unpin", "tag": "", "pin": ""}, values(pin="rolled back by bob: 5xx"))
    assert result["previous_pin"] == "rolled back by bob: 5xx"
    assert result["pin"] is None


PINNED_MESSAGE = (
    "Refusing to promote: environment production is pinned (rolled back by bob: 5xx) by a rollback; promote "
    "with -e image_promotion_unpin=true or run playbooks/unpin.yml -e environment=production. Nothing was changed."
)

# (params, file text) -> the whole message
REFUSALS = [
    ({"respect_pin": True}, values(pin="rolled back by bob: 5xx"), PINNED_MESSAGE),
    # Pinned even when the tag would not change: the refusal does not depend on the tag.
    ({"respect_pin": True, "tag": "1.0.0"}, values(pin="rolled back by bob: 5xx"), PINNED_MESSAGE),
    ({"respect_pin": True, "pin": "another rollback"}, values(pin="rolled back by bob: 5xx"), PINNED_MESSAGE),
    ({"respect_pin": True, "environment": ""}, values(pin="held"),
     f"Refusing to promote: environment {FILE} is pinned (held) by a rollback; promote with "
     f"-e image_promotion_unpin=true or run playbooks/unpin.yml -e environment={FILE}. Nothing was changed."),
    ({"respect_pin": True, "environment": "prod\nx"}, values(pin="held"),
     "Refusing to promote: environment prod x is pinned (held) by a rollback; promote with "
     "-e image_promotion_unpin=true or run playbooks/unpin.yml -e environment=prod x. Nothing was changed."),
    ({"action": "auto-revert", "tag": "0.9.0", "expect_current": "1.0.0"}, values("1.1.0"),
     f"Refusing to revert: {FILE} now carries 1.1.0, not 1.0.0: someone promoted after it; nothing was changed."),
    ({"action": "auto-revert", "tag": "0.9.0", "expect_current": "1.0.0"}, 'image:\n  tag:\n',
     f"Refusing to revert: {FILE} now carries (none), not 1.0.0: someone promoted after it; nothing was changed."),
]


@pytest.mark.parametrize(("changes", "text", "message"), REFUSALS)
def test_refusals(changes, text, message):
    with pytest.raises(Refused) as raised:
        plan({**PARAMS, **changes}, text)
    assert str(raised.value) == message


def test_a_pin_needs_its_key_in_the_file():
    with pytest.raises(ValuesFileError) as raised:
        plan({**PARAMS, "pin": "rolled back"}, values(pin=None))
    assert str(raised.value) == (
        f"{FILE} has no 'promotion.pin' key to record the pin in; add `promotion: {{pin: \"\"}}` to {FILE} "
        "(and to the chart's values schema) first"
    )


ARGUMENTS = {**PARAMS, "tag_policy": DEFAULT_TAG_POLICY, "branch": "main"}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({}, ""),
        ({"action": "unpin", "tag": "", "pin": ""}, ""),
        ({"action": "unpin", "tag": "1.0.0", "pin": ""}, ""),
        ({"action": "unpin", "tag": "", "pin": "x"}, "action unpin clears the pin, so pin must be empty or left out"),
        ({"action": "unpin", "tag": "not a tag", "pin": ""}, "is not a valid OCI image tag"),
        ({"action": "promote", "tag": ""}, "the image tag is empty"),
        ({"action": "rollback", "tag": ""}, "the image tag is empty"),
        ({"action": "auto-revert", "tag": ""}, "the image tag is empty"),
        ({"action": "unpin", "tag": "", "pin": "", "branch": "a..b"}, "not a valid branch name"),
    ],
)
def test_argument_errors(changes, message):
    problem = argument_error({**ARGUMENTS, **changes})
    assert (message in problem and bool(problem)) if message else problem == ""

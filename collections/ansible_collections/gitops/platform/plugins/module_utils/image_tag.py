# -*- coding: utf-8 -*-
# Copyright: contributors to the gitops platform
# Apache License 2.0
"""Rules for image tags that the promotion path accepts."""

from __future__ import annotations

import re

# The OCI distribution spec's grammar for a tag.
OCI_TAG_PATTERN = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"

# The release convention: `<short git sha>-<CI run number>` (064193f-32) or semantic versioning
# with an optional leading v and pre-release part (1.4.2, v2.0.0-rc.1). Build metadata (+...)
# is not allowed in OCI tags, so it is not accepted here either.
DEFAULT_TAG_POLICY = (
    r"[0-9a-f]{7,40}-[0-9]+"
    r"|v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?"
)

_OCI_TAG = re.compile(OCI_TAG_PATTERN)


def tag_error(tag: object, policy: str | None = DEFAULT_TAG_POLICY) -> str:
    """Return why `tag` is not acceptable, or an empty string when it is.

    The tag must be an OCI tag and, when `policy` is a non-empty regular expression, match it
    as a whole.
    """
    if not isinstance(tag, str) or not tag:
        return "the image tag is empty; pass one with -e image_tag=<tag>"
    shown = tag if len(tag) <= 80 else tag[:77] + "..."
    if not _OCI_TAG.fullmatch(tag):
        return (
            f"'{shown}' is not a valid OCI image tag: use 1 to 128 characters of "
            "letters, digits, '_', '.' and '-', not starting with '.' or '-'"
        )
    if policy:
        try:
            matched = re.fullmatch(policy, tag)
        except re.error as exc:
            return f"the tag policy pattern {policy!r} is not a valid regular expression: {exc}"
        if not matched and policy == DEFAULT_TAG_POLICY:
            return (
                f"'{shown}' does not follow the tag policy: expected <short-sha>-<run> "
                "(e.g. 064193f-32) or a semantic version (e.g. 1.4.2)"
            )
        if not matched:
            return f"'{shown}' does not match the tag policy pattern {policy}"
    return ""
